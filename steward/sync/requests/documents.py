"""The signed steps of a sharing request: what each says, its canonical form, its signature, strict parsing.

A step is a header (its kind, the request, its place in the request's chain, the signing key and
department) and a body (what it says: purpose, items, verdicts, reasons). The signature covers the
header and the *hash* of the body, never the body itself, so a step still verifies when its body is
replaced by that hash: the redacted form the other departments receive (redaction.py). Every body
holds a random nonce, so its hash does not let anyone confirm a guess of a short body ("approve",
no conditions). docs/protocol.md § 3a specifies the format.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Any

from steward.catalogue.messages import Phrase
from steward.catalogue.model import new_id
from steward.catalogue.rules import MAX_TEXT, is_valid_uscc, refused_character
from steward.sync.changeset import GENESIS, MAX_SEQ, UUID_PATTERN, FormatProblem, canonical, sha256_hex
from steward.sync.keys import PublicKey, SigningKey, b64, unb64
from steward.sync.requests.refusals import StepInvalid, StepRefused

FORMAT = "steward.sharing-step/1"
# Domain separation: a step's signature is nothing else (not a changeset's, not a request's to the exchange),
# and a body's hash is not the hash of anything else the protocol hashes.
SIGNING_TAG = b"steward-sharing-step-v1\n"
BODY_TAG = b"steward-sharing-body-v1\n"
NONCE_BYTES = 16  # 128 random bits: a body's hash hides the body even when the rest of it is guessed
# The most data items one request names: bounds a document (Shanghai's entries average ~16 items).
MAX_ITEMS = 10_000

_UUID = re.compile(UUID_PATTERN)
_KEY_ID = re.compile(r"[0-9a-f]{32}")
_HASH = re.compile(r"[0-9a-f]{64}")
_NONCE = re.compile(f"[0-9a-f]{{{2 * NONCE_BYTES}}}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{86}==")


class StepKind(StrEnum):
    REQUEST = "request"  # the using department (使用部门) applies
    REVIEW = "review"  # the data authority's compliance check (符合性审查)
    DECISION = "decision"  # the providing department approves or refuses (有条件共享)
    ESCALATION = "escalation"  # the using department asks the authority to settle a refusal (协调)
    OUTCOME = "outcome"  # the authority's final word after an escalation
    WITHDRAWAL = "withdrawal"  # the using department withdraws before an answer


# Signed by a key of the exchange, which the data authority runs; the other kinds by a department's steward.
EXCHANGE_KINDS = frozenset({StepKind.REVIEW, StepKind.OUTCOME})


class ReviewVerdict(StrEnum):
    PASS = "pass"
    REJECT = "reject"


class DecisionVerdict(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"


class OutcomeVerdict(StrEnum):
    GRANT = "grant"
    DENY = "deny"


def new_nonce() -> str:
    return secrets.token_hex(NONCE_BYTES)


# The bodies -------------------------------------------------------------------------------
# Member names on the wire are the field names. Keyword-only: a body is always built by name.


@dataclass(frozen=True, kw_only=True)
class Application:
    """A request's body: which entry and items, why, and until when."""

    entry_id: str
    entry_code: str  # as the applicant saw it, for people; the entry is named by entry_id
    provider: str  # the providing department's 统一社会信用代码: the entry's department
    purpose: str  # 用途
    scenario: str  # 应用场景
    items: tuple[str, ...]  # ids of the entry's data items the using department needs
    until: str  # YYYY-MM-DD: the last day a grant lasts
    author: str  # the steward's name
    nonce: str = field(default_factory=new_nonce)


@dataclass(frozen=True, kw_only=True)
class Review:
    verdict: ReviewVerdict
    reason: str = ""  # required when rejecting
    reviewer: str  # the authority's person: a console account or `--reviewer NAME`
    nonce: str = field(default_factory=new_nonce)


@dataclass(frozen=True, kw_only=True)
class Decision:
    verdict: DecisionVerdict
    conditions: str = ""  # only with an approval
    reason: str = ""  # required when refusing
    author: str
    nonce: str = field(default_factory=new_nonce)


@dataclass(frozen=True, kw_only=True)
class Escalation:
    reason: str  # why the using department still needs the data for its duties
    author: str
    nonce: str = field(default_factory=new_nonce)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    verdict: OutcomeVerdict
    conditions: str = ""  # only with a grant
    reason: str  # the authority explains its final word either way
    reviewer: str
    nonce: str = field(default_factory=new_nonce)


@dataclass(frozen=True, kw_only=True)
class Withdrawal:
    reason: str = ""
    author: str
    nonce: str = field(default_factory=new_nonce)


Body = Application | Review | Decision | Escalation | Outcome | Withdrawal

BODY_OF: dict[StepKind, type[Body]] = {
    StepKind.REQUEST: Application, StepKind.REVIEW: Review, StepKind.DECISION: Decision,
    StepKind.ESCALATION: Escalation, StepKind.OUTCOME: Outcome, StepKind.WITHDRAWAL: Withdrawal,
}
KIND_OF: dict[type[Body], StepKind] = {body: kind for kind, body in BODY_OF.items()}
_VERDICT: dict[type[Body], type[StrEnum]] = {Review: ReviewVerdict, Decision: DecisionVerdict, Outcome: OutcomeVerdict}


def body_document(body: Body) -> dict[str, Any]:
    """A body as JSON values: the members its hash is computed over."""
    document: dict[str, Any] = {}
    for spec in fields(body):
        value = getattr(body, spec.name)
        document[spec.name] = list(value) if isinstance(value, tuple) else str(value)
    return document


def body_hash(body: Body) -> str:
    """What a step's signature covers in place of its body: hex SHA-256 of the tag and the canonical body.

    Kept on the body once computed (a body is frozen): signing, parsing and Step's own check each ask for it.
    """
    known = body.__dict__.get("_body_sha256")
    if known is None:
        known = sha256_hex(BODY_TAG + canonical(body_document(body)))
        body.__dict__["_body_sha256"] = known
    return known


# The step ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedStep:
    """A step's header, its body's hash and its signature: all that is signed, and the redacted form."""

    kind: StepKind
    request_id: str
    seq: int  # 1 for the request, then each step of the request one more
    prev: str  # the digest of the request's previous step; GENESIS (64 zeros) for the request itself
    key_id: str
    department: str | None  # the signing steward's department; None for the exchange's key
    body_sha256: str
    signature: str = ""

    def unsigned(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": str(self.kind),
            "request_id": self.request_id,
            "seq": self.seq,
            "prev": self.prev,
            "key_id": self.key_id,
            "department": self.department,
            "body_sha256": self.body_sha256,
        }

    def to_dict(self) -> dict[str, Any]:
        """The redacted form: what a department that is not a party to the request receives."""
        return {**self.unsigned(), "signature": self.signature}

    def signed_message(self) -> bytes:
        return SIGNING_TAG + canonical(self.unsigned())

    @cached_property
    def canonical_bytes(self) -> bytes:
        """canonical(self.to_dict()): the redacted form as the log stores it, and what the digest hashes."""
        return canonical(self.to_dict())

    @cached_property
    def _digest(self) -> str:
        return sha256_hex(self.canonical_bytes)

    def digest(self) -> str:
        """SHA-256 of the canonical redacted form: the step's identity, the same whoever holds which form.

        The next step of the request names it as `prev`; the exchange's log records it.
        """
        return self._digest

    def verify(self, public: PublicKey) -> bool:
        """Whether `public` signed exactly this header and body hash."""
        if public.key_id != self.key_id:
            return False
        try:
            signature = unb64(self.signature)
        except ValueError:
            return False
        return public.verify(signature, self.signed_message())


@dataclass(frozen=True)
class Step:
    """A whole step: the sealed header and the body whose hash it carries."""

    sealed: SealedStep
    body: Body

    def __post_init__(self) -> None:
        if KIND_OF[type(self.body)] is not self.sealed.kind or body_hash(self.body) != self.sealed.body_sha256:
            raise ValueError("the body is not the one the step's header seals")

    @property
    def kind(self) -> StepKind:
        return self.sealed.kind

    @property
    def request_id(self) -> str:
        return self.sealed.request_id

    @property
    def seq(self) -> int:
        return self.sealed.seq

    @property
    def prev(self) -> str:
        return self.sealed.prev

    @property
    def key_id(self) -> str:
        return self.sealed.key_id

    @property
    def department(self) -> str | None:
        return self.sealed.department

    def digest(self) -> str:
        return self.sealed.digest()

    def verify(self, public: PublicKey) -> bool:
        return self.sealed.verify(public)

    def to_dict(self) -> dict[str, Any]:
        """The whole form: the header, the body in place of its hash, and the signature."""
        header = {k: v for k, v in self.sealed.unsigned().items() if k != "body_sha256"}
        return {**header, "body": body_document(self.body), "signature": self.sealed.signature}


def sign(body: Body, *, request_id: str, seq: int, prev: str, key: SigningKey, department: str | None) -> Step:
    """A step saying `body`, signed by `key`; refused (StepInvalid, StepRefused) if outside the format.

    What is signed is parsed back, so a client never signs a step the exchange would refuse as malformed.
    """
    kind = KIND_OF[type(body)]
    unsigned = SealedStep(kind, request_id, seq, prev, key.key_id, department, body_hash(body))
    sealed = SealedStep(kind, request_id, seq, prev, key.key_id, department, unsigned.body_sha256,
                        b64(key.sign(unsigned.signed_message())))
    return parse_step(Step(sealed, body).to_dict())


def open_request(application: Application, key: SigningKey, department: str) -> Step:
    """The first step of a new request, under a new request id."""
    return sign(application, request_id=new_id(), seq=1, prev=GENESIS, key=key, department=department)


def follow(previous: Step | SealedStep, body: Body, key: SigningKey, department: str | None) -> Step:
    """The step after `previous` in its request's chain."""
    return sign(body, request_id=previous.request_id, seq=previous.seq + 1, prev=previous.digest(), key=key,
                department=department)


# Parsing what arrives ---------------------------------------------------------------------

_HEADER = ("format", "kind", "request_id", "seq", "prev", "key_id", "department")


@dataclass
class _Check:
    problems: list[FormatProblem] = field(default_factory=list)

    def fail(self, path: str, reason: str) -> None:
        if len(self.problems) < 100:  # a hostile document must not make the answer huge
            self.problems.append(FormatProblem(path, reason))

    def members(self, path: str, value: dict[str, Any], expected: tuple[str, ...]) -> None:
        for name in expected:
            if name not in value:
                self.fail(_join(path, name), "missing")
        for name in value:
            if name not in expected:
                self.fail(_join(path, name if name.isidentifier() else repr(name[:100])), "unknown member")

    def format(self, path: str, value: Any) -> None:
        if value != FORMAT:
            self.fail(path, f"must be {FORMAT}")

    def pattern(self, path: str, value: Any, pattern: re.Pattern[str], what: str) -> None:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.fail(path, f"must be {what}")

    def text(self, path: str, value: Any) -> None:
        if not isinstance(value, str):
            self.fail(path, "must be a string")
        elif len(value) > MAX_TEXT:  # code points, as for changesets (docs/protocol.md § 3)
            self.fail(path, f"longer than {MAX_TEXT} characters")
        elif char := refused_character(value):
            self.fail(path, f"contains the refused character {char}")

    def uscc(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not is_valid_uscc(value):
            self.fail(path, "must be a valid 统一社会信用代码")

    def seq(self, path: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEQ:
            self.fail(path, f"must be an integer from 1 to {MAX_SEQ}")

    def no_department(self, path: str, value: Any) -> None:
        if value is not None:
            self.fail(path, "must be null: the exchange's key signs this kind of step")

    def day(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not _DATE.fullmatch(value) or _date(value) is None:
            self.fail(path, "must be a date that exists, written YYYY-MM-DD")

    def items(self, path: str, value: Any) -> None:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_ITEMS:
            self.fail(path, f"must be a list of 1 to {MAX_ITEMS} data item ids")
            return
        seen: set[str] = set()
        for n, item in enumerate(value):
            self.pattern(f"{path}[{n}]", item, _UUID, "a lowercase UUID")
            if not isinstance(item, str):
                continue
            if item in seen:
                self.fail(f"{path}[{n}]", "appears twice")
            seen.add(item)

    def body(self, kind: StepKind, value: Any) -> Body | None:
        if not isinstance(value, dict):
            self.fail("body", "must be an object")
            return None
        cls = BODY_OF[kind]
        names = tuple(spec.name for spec in fields(cls))
        before = len(self.problems)
        self.members("body", value, names)
        for name in names:
            if name in value:
                self._member(cls, f"body.{name}", name, value[name])
        if len(self.problems) > before:
            return None
        values = {name: tuple(value[name]) if name == "items" else value[name] for name in names}
        if cls in _VERDICT:
            values["verdict"] = _VERDICT[cls](value["verdict"])
        return cls(**values)

    def _member(self, cls: type[Body], path: str, name: str, value: Any) -> None:
        if name == "verdict":
            choices = [str(v) for v in _VERDICT[cls]]
            if value not in choices:
                self.fail(path, f"must be one of {', '.join(choices)}")
        elif name == "entry_id":
            self.pattern(path, value, _UUID, "a lowercase UUID")
        elif name == "provider":
            self.uscc(path, value)
        elif name == "items":
            self.items(path, value)
        elif name == "until":
            self.day(path, value)
        elif name == "nonce":
            self.pattern(path, value, _NONCE, f"{2 * NONCE_BYTES} lowercase hex digits")
        else:
            self.text(path, value)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _header(check: _Check, document: dict[str, Any]) -> StepKind | None:
    """The header's problems (a missing member is reported once, by `members`), and the step's kind if known."""
    kind = document.get("kind")
    if kind not in [str(k) for k in StepKind]:
        if "kind" in document:
            check.fail("kind", f"must be one of {', '.join(StepKind)}")
        kind = None
    checks: dict[str, Callable[[str, Any], None]] = {
        "format": check.format,
        "request_id": lambda path, value: check.pattern(path, value, _UUID, "a lowercase UUID"),
        "seq": check.seq,
        "prev": lambda path, value: check.pattern(path, value, _HASH, "64 lowercase hex digits"),
        "key_id": lambda path, value: check.pattern(path, value, _KEY_ID, "32 lowercase hex digits"),
        "signature": lambda path, value: check.pattern(path, value, _SIGNATURE, "a base64 Ed25519 signature"),
    }
    if kind in EXCHANGE_KINDS:
        checks["department"] = check.no_department
    elif kind is not None:
        checks["department"] = check.uscc
    for name, value in document.items():
        if name in checks:
            checks[name](name, value)
    return StepKind(kind) if kind is not None else None


def _sealed(document: dict[str, Any], kind: StepKind, body_sha256: str) -> SealedStep:
    return SealedStep(kind, document["request_id"], document["seq"], document["prev"], document["key_id"],
                      document["department"], body_sha256, document["signature"])


def parse_step(document: Any) -> Step:
    """A whole step from decoded JSON: StepInvalid naming every problem, StepRefused for a body rule broken."""
    if not isinstance(document, dict):
        raise StepInvalid([FormatProblem("", "a step is a JSON object")])
    check = _Check()
    check.members("", document, (*_HEADER, "body", "signature"))
    kind = _header(check, document)
    body = check.body(kind, document.get("body")) if kind is not None else None
    if check.problems or kind is None or body is None:
        raise StepInvalid(check.problems)
    check_body_rules(body)
    return Step(_sealed(document, kind, body_hash(body)), body)


def parse_sealed(document: Any) -> SealedStep:
    """A redacted step from decoded JSON (StepInvalid naming every problem). Its signature is not checked here."""
    if not isinstance(document, dict):
        raise StepInvalid([FormatProblem("", "a step is a JSON object")])
    check = _Check()
    check.members("", document, (*_HEADER, "body_sha256", "signature"))
    kind = _header(check, document)
    if "body_sha256" in document:
        check.pattern("body_sha256", document["body_sha256"], _HASH, "64 lowercase hex digits")
    if check.problems or kind is None:
        raise StepInvalid(check.problems)
    return _sealed(document, kind, document["body_sha256"])


# The rules a body's content follows -------------------------------------------------------


def is_blank(text: str) -> bool:
    """Whether `text` says nothing: only white space (ideographic space too) and invisible format characters."""
    return all(char.isspace() or unicodedata.category(char) in ("Cf", "Zs", "Zl", "Zp") for char in text)


def _require(text: str, member: str) -> None:
    if is_blank(text):
        raise StepRefused("request.blank", what=Phrase(f"request.member.{member}"))


def check_body_rules(body: Body) -> None:
    """Refuse (StepRefused) a body that says nothing where it must say something, or grants what it refuses."""
    if isinstance(body, Application):
        _require(body.purpose, "purpose")
        _require(body.scenario, "scenario")
    elif isinstance(body, Review):
        _require(body.reviewer, "reviewer")
        if body.verdict is ReviewVerdict.REJECT:
            _require(body.reason, "reason")
    elif isinstance(body, Decision):
        if body.verdict is DecisionVerdict.REFUSE:
            _require(body.reason, "reason")
            if body.conditions:
                raise StepRefused("request.conditions_without_grant")
    elif isinstance(body, Escalation):
        _require(body.reason, "reason")
    elif isinstance(body, Outcome):
        _require(body.reviewer, "reviewer")
        _require(body.reason, "reason")
        if body.verdict is OutcomeVerdict.DENY and body.conditions:
            raise StepRefused("request.conditions_without_grant")
