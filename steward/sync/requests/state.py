"""The state machine of a sharing request: which step may follow which, signed by whom.

`apply` is a pure function from a request's state and a step to the next state, or StepRefused
with a stable code: the exchange runs it before it records a step, and every party's client runs it
again over the steps it receives, so all reach the same state. It checks the signature against the
key the context names, the step's place in the request's chain (replays, reordering), who may sign
it, and whether the request's status allows it. docs/protocol.md § 3a has the table of transitions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from steward.catalogue.messages import Phrase
from steward.catalogue.model import Entry
from steward.catalogue.vocabulary import SharingType, Status
from steward.sync.changeset import GENESIS
from steward.sync.keys import PublicKey
from steward.sync.requests.documents import (
    EXCHANGE_KINDS,
    Application,
    Decision,
    DecisionVerdict,
    Outcome,
    OutcomeVerdict,
    Review,
    ReviewVerdict,
    SealedStep,
    Step,
    StepKind,
)
from steward.sync.requests.refusals import StepRefused


class RequestStatus(StrEnum):
    SUBMITTED = "submitted"  # waiting for the authority's compliance check
    AWAITING_DECISION = "awaiting_decision"  # 有条件共享, passed the check: the provider answers
    GRANTED = "granted"  # 无条件共享 passed the check, or the authority granted it after an escalation
    APPROVED = "approved"  # the provider approved (maybe on conditions)
    REFUSED = "refused"  # the provider refused; the using department may escalate
    ESCALATED = "escalated"  # waiting for the authority's outcome
    DENIED = "denied"  # the authority upheld the refusal
    REJECTED = "rejected"  # failed the compliance check
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # a grant past its end date: never stored, see status_on


GRANTS = frozenset({RequestStatus.GRANTED, RequestStatus.APPROVED})  # the data may flow until `until`
# Where no step may follow: answered for good (a grant only expires), or ended.
SETTLED = frozenset({*GRANTS, RequestStatus.DENIED, RequestStatus.REJECTED, RequestStatus.WITHDRAWN,
                     RequestStatus.EXPIRED})
# Where the using department may still withdraw: nobody has answered (yet, or since the escalation).
AWAITING_ANSWER = frozenset({RequestStatus.SUBMITTED, RequestStatus.AWAITING_DECISION, RequestStatus.ESCALATED})


@dataclass(frozen=True)
class Signer:
    """Who holds a key: an enrolled steward key of a department, or (department None) a key of the exchange."""

    public: PublicKey
    department: str | None


@dataclass(frozen=True)
class EntryFacts:
    """What a request is checked against: the entry as the exchange holds it when the request arrives."""

    entry_id: str
    department: str
    code: str
    sharing_type: str | None
    status: str
    items: Mapping[str, str | None]  # data item id -> its own sharing type (None: as the entry's)

    @classmethod
    def of(cls, entry: Entry, department: str | None = None) -> EntryFacts:
        """The facts of `entry`, of `department` (by default its provider code, which the exchange holds to it)."""
        return cls(entry.id, department or entry.provider_code, entry.code, entry.sharing_type, entry.status,
                   {item.id: item.sharing_type for item in entry.items})


@dataclass(frozen=True)
class Context:
    """What `apply` may know beyond the request: keys, the catalogue, and the exchange's day."""

    find_key: Callable[[str], Signer | None]
    find_entry: Callable[[str], EntryFacts | None]
    today: date  # the exchange's date when it records the step (its clock is authoritative)


@dataclass(frozen=True)
class Link:
    """One recorded step of a request, as the chain needs it."""

    kind: StepKind
    digest: str


@dataclass(frozen=True)
class RequestState:
    request_id: str
    status: RequestStatus
    requester: str  # the using department
    provider: str  # the providing department
    entry_id: str
    items: tuple[str, ...]
    until: date
    conditional: bool  # 有条件共享: the provider decides after the check; otherwise the passed check grants
    trail: tuple[Link, ...]  # every recorded step, in order

    @property
    def seq(self) -> int:
        return len(self.trail)

    @property
    def head(self) -> str:
        return self.trail[-1].digest

    def parties(self) -> frozenset[str]:
        """The two departments that may read the request's steps whole (the authority reads all)."""
        return frozenset({self.requester, self.provider})


def status_on(state: RequestState, day: date) -> RequestStatus:
    """The request's status on `day`: a grant past its end date has expired, whatever steps say."""
    if state.status in GRANTS and day > state.until:
        return RequestStatus.EXPIRED
    return state.status


def apply(state: RequestState | None, step: Step, context: Context) -> RequestState:
    """The state after `step` (state None: no request with its id yet), or StepRefused saying why not.

    The checks run in this order, and the first that fails decides the refusal: the key and the
    signature; the chain (an unknown request, a replay, a second request under one id, a step out
    of order); who signs; whether the status allows the step; for a request, the entry it names.
    """
    if state is not None and state.request_id != step.request_id:
        raise ValueError("the step belongs to another request")
    signer = check_signer(step.sealed, context.find_key)
    link = Link(step.kind, step.digest())
    if state is None:
        if step.kind is not StepKind.REQUEST:
            raise StepRefused("request.unknown", request_id=step.request_id)
        if step.seq != 1 or step.prev != GENESIS:
            raise StepRefused("request.out_of_order", seq=step.seq, expected=1)
        return _open(step, signer, context, link)
    if any(link.digest == earlier.digest for earlier in state.trail):
        raise StepRefused("request.replayed", seq=step.seq)
    if step.kind is StepKind.REQUEST:
        raise StepRefused("request.exists", request_id=step.request_id)
    if step.seq != state.seq + 1 or step.prev != state.head:
        raise StepRefused("request.out_of_order", seq=step.seq, expected=state.seq + 1)
    _check_party(state, step, signer)
    return replace(state, status=_next_status(state, step, context.today), trail=(*state.trail, link))


def check_signer(step: SealedStep, find_key: Callable[[str], Signer | None]) -> Signer:
    """Who signed `step`, refused unless the key is known, its signature verifies and it may sign this kind.

    Needs only the sealed step, so a department that receives the step redacted checks it the same way.
    """
    signer = find_key(step.key_id)
    if signer is None:
        raise StepRefused("request.key_unknown", key_id=step.key_id)
    if not step.verify(signer.public):
        raise StepRefused("request.bad_signature", key_id=step.key_id)
    if step.kind in EXCHANGE_KINDS:
        if signer.department is not None:
            raise StepRefused("request.not_exchange", step=Phrase(f"request.kind.{step.kind}"), key_id=step.key_id,
                              department=signer.department)
    elif signer.department is None:
        raise StepRefused("request.exchange_key", step=Phrase(f"request.kind.{step.kind}"))
    elif signer.department != step.department:
        raise StepRefused("request.wrong_department", key_id=step.key_id, key_department=signer.department,
                          department=step.department)
    return signer


def _check_party(state: RequestState, step: Step, signer: Signer) -> None:
    if step.kind is StepKind.DECISION and signer.department != state.provider:
        raise StepRefused("request.not_provider", provider=state.provider, department=signer.department)
    if step.kind in (StepKind.ESCALATION, StepKind.WITHDRAWAL) and signer.department != state.requester:
        raise StepRefused("request.not_requester", step=Phrase(f"request.kind.{step.kind}"),
                          requester=state.requester, department=signer.department)


def _next_status(state: RequestState, step: Step, today: date) -> RequestStatus:
    status, kind, body = state.status, step.kind, step.body
    if status is RequestStatus.SUBMITTED and isinstance(body, Review):
        if body.verdict is ReviewVerdict.REJECT:
            return RequestStatus.REJECTED
        return RequestStatus.AWAITING_DECISION if state.conditional else RequestStatus.GRANTED
    if status is RequestStatus.AWAITING_DECISION and isinstance(body, Decision):
        return RequestStatus.APPROVED if body.verdict is DecisionVerdict.APPROVE else RequestStatus.REFUSED
    if status is RequestStatus.REFUSED and kind is StepKind.ESCALATION:
        return RequestStatus.ESCALATED
    if status is RequestStatus.ESCALATED and isinstance(body, Outcome):
        return RequestStatus.GRANTED if body.verdict is OutcomeVerdict.GRANT else RequestStatus.DENIED
    if status in AWAITING_ANSWER and kind is StepKind.WITHDRAWAL:
        return RequestStatus.WITHDRAWN
    raise _not_now(state, kind, status_on(state, today))


def _not_now(state: RequestState, kind: StepKind, status: RequestStatus) -> StepRefused:
    """Why `kind` cannot follow now, in the words that say most: the specific cases before the general."""
    if status is RequestStatus.WITHDRAWN:
        return StepRefused("request.withdrawn")
    if kind is StepKind.DECISION:
        if any(link.kind is StepKind.DECISION for link in state.trail):
            return StepRefused("request.already_decided")
        if status is RequestStatus.SUBMITTED:
            return StepRefused("request.review_pending")
    if status in SETTLED:
        return StepRefused("request.settled", status=Phrase(f"request.status.{status}"))
    if kind is StepKind.REVIEW:
        return StepRefused("request.already_reviewed")
    if kind is StepKind.WITHDRAWAL:
        return StepRefused("request.answered")
    if kind is StepKind.ESCALATION:
        return StepRefused("request.not_refused")
    return StepRefused("request.not_escalated")  # an outcome before any escalation


def _open(step: Step, signer: Signer, context: Context, link: Link) -> RequestState:
    """A new request's state, once the entry and items it names may be asked for."""
    body, requester = step.body, signer.department
    if not isinstance(body, Application) or requester is None:  # Step ties a body to its kind; _signer the key
        raise TypeError("a request's step is an application signed by a department")
    entry = context.find_entry(body.entry_id)
    if entry is None:
        raise StepRefused("request.entry_unknown", entry_id=body.entry_id)
    if body.provider != entry.department:
        raise StepRefused("request.provider_mismatch", entry_code=entry.code, department=entry.department,
                          provider=body.provider)
    if requester == entry.department:
        raise StepRefused("request.own_entry", entry_code=entry.code)
    if entry.status == Status.RETIRED:
        raise StepRefused("request.entry_retired", entry_code=entry.code)
    if entry.sharing_type not in (SharingType.UNCONDITIONAL, SharingType.CONDITIONAL):
        raise StepRefused("request.not_shared", entry_code=entry.code)
    conditional = entry.sharing_type == SharingType.CONDITIONAL
    for item_id in body.items:
        if item_id not in entry.items:
            raise StepRefused("request.item_unknown", entry_code=entry.code, item_id=item_id)
        item_sharing = entry.items[item_id]
        if item_sharing == SharingType.NOT_SHARED:
            raise StepRefused("request.item_not_shared", entry_code=entry.code, item_id=item_id)
        # An item may be more restrictive than its entry: one conditional item puts the request on that path.
        conditional = conditional or item_sharing == SharingType.CONDITIONAL
    until = date.fromisoformat(body.until)
    if until < context.today:
        raise StepRefused("request.until_past", until=body.until, today=context.today.isoformat())
    return RequestState(step.request_id, RequestStatus.SUBMITTED, requester, entry.department,
                        entry.entry_id, body.items, until, conditional, (link,))
