"""Sharing requests at the exchange: each signed step checked by the state machine, stamped, and logged.

A step is recorded only if `steward.sync.requests.state.apply` accepts it against the request as the
exchange holds it, the enrolled keys, the catalogue and the exchange's date; otherwise nothing is
written and the refusal names the state machine's code. An accepted step becomes a record of the
hash-chained log (after the last changeset or step), stamped with the exchange's time and the due
date of the answer it waits for, counted in working days (steward/sync/working_days.py) under the
exchange's deadline policy and calendar override. The data authority's reviews and outcomes are
steps signed by the exchange's key that name the reviewer (`steward-exchange review`).
"""

from __future__ import annotations

import json
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from exchange.db import reading, writing
from exchange.ledger import KeyRecord, Refused, find_key
from steward.catalogue.errors import StewardError
from steward.sync.changeset import canonical, entry_from_document
from steward.sync.keys import PublicKey, SigningKey, unb64
from steward.sync.protocol import StepRecord
from steward.sync.requests.documents import (
    Body,
    SealedStep,
    Step,
    StepKind,
    body_document,
    follow,
    parse_step,
)
from steward.sync.requests.refusals import StepInvalid, StepRefused
from steward.sync.requests.state import (
    Context,
    EntryFacts,
    Link,
    RequestState,
    RequestStatus,
    Signer,
    apply,
)
from steward.sync.working_days import CalendarOverride, DeadlinePolicy, WorkingCalendar, china_date, due_date

# The HTTP status of each refusal of the state machine: 422 for what the step says, 403 for who signed
# it, 404 for what it names that does not exist, 409 for what the request's history does not allow now.
STATUS_OF = {
    "request.invalid": 422, "request.blank": 422, "request.conditions_without_grant": 422,
    "request.key_unknown": 403, "request.bad_signature": 403, "request.not_exchange": 403,
    "request.exchange_key": 403, "request.wrong_department": 403, "request.not_provider": 403,
    "request.not_requester": 403, "request.own_entry": 403,
    "request.unknown": 404, "request.entry_unknown": 404,
}
CONFLICT = 409
UNPROCESSABLE = 422
# The refusals about what a request asks for: the step is well formed, but asks for what cannot be shared.
ASKING = frozenset({"request.provider_mismatch", "request.entry_retired", "request.not_shared", "request.item_unknown",
                    "request.item_not_shared", "request.until_past"})

# How a step waits for its answer: the status it leaves the request in, and the policy's days for that answer.
_AWAITED: dict[RequestStatus, Callable[[DeadlinePolicy], int]] = {
    RequestStatus.SUBMITTED: lambda policy: policy.review_days,
    RequestStatus.AWAITING_DECISION: lambda policy: policy.decision_days,
}


def http_status(code: str) -> int:
    if code in STATUS_OF:
        return STATUS_OF[code]
    return UNPROCESSABLE if code in ASKING else CONFLICT


def refusal(error: StepRefused, details: list[Any] | None = None) -> Refused:
    """The exchange's answer to a step the state machine refuses: its code, its English message."""
    if isinstance(error, StepInvalid):
        details = [p.to_dict() for p in error.problems]
    return Refused(http_status(error.code), error.code, error.message("en"), details)


# The exchange's configuration: the deadline policy and the calendar override ----------------


@dataclass(frozen=True)
class Deadlines:
    """How many working days each answer may take, and which days are working days: published to clients."""

    policy: DeadlinePolicy
    override: CalendarOverride | None

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.override)

    def due(self, status: RequestStatus, stamped_at: datetime) -> date | None:
        """When the answer awaited in `status` is due, for a step stamped at `stamped_at`; None if none is awaited."""
        days = _AWAITED.get(status)
        return due_date(stamped_at, days(self.policy), self.calendar()) if days else None


def record_deadlines(engine: Engine, deadlines: Deadlines) -> None:
    """Make `deadlines` the exchange's: `serve` records its configuration, which admin commands then read."""
    values = {"deadline_policy": json.dumps(deadlines.policy.to_json()),
              "calendar_override": json.dumps(deadlines.override.to_json() if deadlines.override else None,
                                              ensure_ascii=False)}
    with writing(engine) as conn:
        for key, value in values.items():
            conn.execute(text("INSERT INTO exchange_meta(key, value) VALUES (:k, :v) "
                              "ON CONFLICT (key) DO UPDATE SET value = excluded.value"), {"k": key, "v": value})


def deadlines(engine: Engine) -> Deadlines:
    """The configuration `serve` recorded last (the regulations' defaults before the first serve)."""
    with reading(engine) as conn:
        rows = dict(conn.execute(text("SELECT key, value FROM exchange_meta "
                                      "WHERE key IN ('deadline_policy', 'calendar_override')")).all())
    policy = DeadlinePolicy.from_json(json.loads(rows["deadline_policy"])) if "deadline_policy" in rows \
        else DeadlinePolicy()
    override = json.loads(rows.get("calendar_override") or "null")
    return Deadlines(policy, CalendarOverride.from_json(override) if override is not None else None)


# Checking and recording a step --------------------------------------------------------------


class _Statement:
    """A statement of the step path, run on the database driver's own connection in the transaction `conn` holds.

    Through SQLAlchemy a statement costs about 50 µs more than the driver's own ~8 µs, and a step runs six or
    seven of them, four or five under the write lock. Written with :name parameters: sqlite3 takes them, psycopg
    %(name)s.
    """

    def __init__(self, sql: str) -> None:
        self.named = sql
        self.pyformat = re.sub(r":(\w+)", r"%(\1)s", sql)

    def __call__(self, conn: Connection, params: dict[str, Any]) -> Any:
        """The driver's cursor, holding the rows as tuples."""
        sql = self.named if conn.dialect.name == "sqlite" else self.pyformat
        return conn.connection.driver_connection.execute(sql, params)  # type: ignore[union-attr]


_STATE = _Statement("SELECT requester, provider, entry_id, items, until, conditional, status "
                    "FROM sharing_requests WHERE request_id = :r")
_TRAIL = _Statement("SELECT kind, digest FROM sharing_steps WHERE request_id = :r ORDER BY seq")
# Under the lock, in one statement: the log's head, the exchange key recorded last (has rotate-key run while this
# process served?) and the request's standing (its status, length and head; NULLs when there is no such request).
_LOCKED = _Statement(
    "SELECT h.position, h.hash, (SELECT public_key FROM exchange_keys ORDER BY position DESC LIMIT 1), r.status, "
    "r.seq, r.head, (SELECT revoked_at FROM steward_keys WHERE key_id = :k) "
    "FROM head h LEFT JOIN sharing_requests r ON r.request_id = :r WHERE h.id = 1")
_ENTRY = _Statement("SELECT department_code, version, document FROM entries WHERE id = :i")
_ENTRY_VERSION = _Statement("SELECT version FROM entries WHERE id = :i")
_EXCHANGE_KEYS = text("SELECT public_key FROM exchange_keys")
_NEW_REQUEST = _Statement(
    "INSERT INTO sharing_requests(request_id, requester, provider, entry_id, entry_code, items, until, conditional, "
    "status, seq, head, due, created_at, updated_at) VALUES (:r, :requester, :provider, :entry_id, :entry_code, "
    ":items, :until, :conditional, :status, :seq, :head, :due, :t, :t)")
_NEXT_STATE = _Statement("UPDATE sharing_requests SET status = :status, seq = :seq, head = :head, due = :due, "
                         "updated_at = :t WHERE request_id = :r")
_NEW_STEP = _Statement(
    "INSERT INTO sharing_steps(position, request_id, seq, kind, key_id, department_code, document, sealed, digest, "
    "due, prev_hash, hash, accepted_at) VALUES (:position, :r, :seq, :kind, :key_id, :department, :document, "
    ":sealed, :digest, :due, :prev_hash, :hash, :accepted_at)")
_NEW_HEAD = _Statement("UPDATE head SET position = :p, hash = :h WHERE id = 1")

ENTRY_FACTS_KEPT = 1024  # the entries' facts a process keeps parsed, per database (the most recently asked for)


def parse(document: Any) -> Step:
    try:
        return parse_step(document)
    except StepRefused as error:
        raise refusal(error) from error


def load_state(conn: Connection, request_id: str) -> RequestState | None:
    row = _STATE(conn, {"r": request_id}).fetchone()
    if row is None:
        return None
    trail = tuple(Link(StepKind(kind), digest) for kind, digest in _TRAIL(conn, {"r": request_id}))
    requester, provider, entry_id, items, until, conditional, status = row
    return RequestState(request_id, RequestStatus(status), requester, provider, entry_id, tuple(json.loads(items)),
                        date.fromisoformat(until), bool(conditional), trail)


class _Cache:
    """What a server process keeps of one database between steps: only facts that a later write cannot make untrue.

    The exchange's keys: rotate-key adds one and nothing changes or removes them, so the keys read stay the
    exchange's; a key added since (by another process) is read at its first use, when the lookup misses.
    The entries' facts, by entry and version: every write of an entry gives it the next version
    (ledger._write_entries), so the facts of a version are those of its document for good.
    """

    def __init__(self) -> None:
        self.exchange_keys: dict[str, PublicKey] | None = None
        self.entries: OrderedDict[tuple[str, int], EntryFacts] = OrderedDict()
        self.lock = threading.Lock()

    def exchange_key(self, conn: Connection, key_id: str, *, again: bool = False) -> PublicKey | None:
        """The exchange's key `key_id`, or None if the exchange never had it (`again`: read the keys anew first)."""
        keys = self.exchange_keys
        if keys is None or again:
            keys = {public.key_id: public for public in
                    (PublicKey(unb64(row[0])) for row in conn.execute(_EXCHANGE_KEYS))}
            self.exchange_keys = keys
        return keys.get(key_id)

    def entry_facts(self, key: tuple[str, int], make: Callable[[], EntryFacts]) -> EntryFacts:
        with self.lock:
            facts = self.entries.get(key)
            if facts is not None:
                self.entries.move_to_end(key)
                return facts
        facts = make()  # outside the lock: two threads may both parse one entry, and keep the same facts
        with self.lock:
            self.entries[key] = facts
            while len(self.entries) > ENTRY_FACTS_KEPT:
                self.entries.popitem(last=False)
        return facts


_caches: weakref.WeakKeyDictionary[Engine, _Cache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache(conn: Connection) -> _Cache:
    with _caches_lock:
        return _caches.setdefault(conn.engine, _Cache())


def signers(conn: Connection, known: KeyRecord | None = None) -> Callable[[str], Signer | None]:
    """Who holds a key, as the state machine asks: any key the exchange has had, or an enrolled steward key.

    `known` is a steward key already read (the one that authenticated the request): a key's public key and
    department never change once enrolled, so it is not read again.
    """
    cache = _cache(conn)

    def find(key_id: str) -> Signer | None:
        exchange_key = cache.exchange_key(conn, key_id)
        if exchange_key is not None:
            return Signer(exchange_key, None)
        key = known if known is not None and known.key_id == key_id else find_key(conn, key_id)
        if key is not None:
            return Signer(key.public, key.department)
        exchange_key = cache.exchange_key(conn, key_id, again=True)  # rotated to since the keys were read?
        return Signer(exchange_key, None) if exchange_key is not None else None

    return find


def _entry(conn: Connection, entry_id: str) -> tuple[EntryFacts, int] | None:
    """The entry's facts and the version they are of, or None if there is no such entry."""
    row = _ENTRY(conn, {"i": entry_id}).fetchone()
    if row is None:
        return None
    department, version, document = row
    facts = _cache(conn).entry_facts(
        (entry_id, version), lambda: EntryFacts.of(entry_from_document(entry_id, json.loads(document)), department))
    return facts, version


def entry_facts(conn: Connection, entry_id: str) -> EntryFacts | None:
    found = _entry(conn, entry_id)
    return found[0] if found else None


@dataclass(frozen=True)
class Checked:
    """A step the state machine accepted, and what that relied on that a later step or push may change."""

    before: RequestState | None  # the request as it stood (None: a new request)
    after: RequestState
    day: date  # the exchange's date the step was checked on
    entries: dict[str, int | None]  # the entries it named, by the version they had (None: there was none)


def _check(conn: Connection, step: Step, moment: datetime, known: KeyRecord | None = None) -> Checked:
    """The request's state before and after `step`, or Refused saying why the state machine refuses it."""
    before = load_state(conn, step.request_id)
    versions: dict[str, int | None] = {}

    def find_entry(entry_id: str) -> EntryFacts | None:
        found = _entry(conn, entry_id)
        versions[entry_id] = found[1] if found else None
        return found[0] if found else None

    context = Context(signers(conn, known), find_entry, china_date(moment))
    try:
        return Checked(before, apply(before, step, context), context.today, versions)
    except StepRefused as error:
        details = None
        if error.code == "request.replayed":  # where it was recorded: a client that lost the answer learns it landed
            position = conn.execute(text("SELECT position FROM sharing_steps WHERE digest = :d"),
                                    {"d": step.digest()}).scalar_one_or_none()
            details = [{"position": position, "step_digest": step.digest()}]
        raise refusal(error, details) from error


def _still_holds(conn: Connection, checked: Checked, standing: tuple[str, int, str] | None, moment: datetime) -> bool:
    """Whether what `checked` relied on is as it was: the request's standing (`standing`: its status, length and
    head now; None if there is no such request), the entries it named, the exchange's date.

    The request's status, length and head (the digest that chains its whole trail) change with each of its
    steps; an entry's version with each push that changes it. The keys cannot change what they said: a key's
    public key and department are fixed at enrollment, and the signature was verified against them.
    """
    if china_date(moment) != checked.day:
        return False
    before = checked.before
    if standing != ((str(before.status), before.seq, before.head) if before else None):
        return False
    for entry_id, version in checked.entries.items():
        row = _ENTRY_VERSION(conn, {"i": entry_id}).fetchone()
        if (row[0] if row else None) != version:
            return False
    return True


def submit(engine: Engine, server_key: SigningKey, step: Step, request_key: KeyRecord,
           config: Deadlines | None = None) -> dict[str, Any]:
    """Record a steward's step sent by `request_key` (which must be the step's own): the record."""
    if request_key.key_id != step.key_id:
        raise Refused(403, "key_mismatch", "the request is authenticated by another key than the step's")
    return record(engine, server_key, step, config=config, known=request_key)


def _now() -> datetime:
    return datetime.now(UTC)


def check(engine: Engine, step: Step, clock: Callable[[], datetime] = _now,
          known: KeyRecord | None = None) -> Checked:
    """`step` checked against a snapshot of the database, without the write lock; Refused if it is refused."""
    with reading(engine, snapshot=True) as conn:
        return _check(conn, step, clock(), known)


def record(engine: Engine, server_key: SigningKey, step: Step, clock: Callable[[], datetime] = _now, *,
           config: Deadlines | None = None, known: KeyRecord | None = None,
           also: Callable[[Connection, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Check `step` and append it to the log, or refuse it (Refused) and write nothing.

    As a changeset, a step is checked first against a snapshot without the write lock, so a refusal never
    waits for it, then under the lock, where the exchange's clock stamps it; there only what may have changed
    since is read again (see _still_holds), and the whole check runs again if anything did. `config` is the
    exchange's deadlines (read from the database when not given); `known`, the step's key if already read. Only
    the demo passes another `clock`: its sample requests include some made days ago (one overdue). `also` is
    called with the step's record in the same transaction (an administration record lands with the step or not at
    all).
    """
    texts = _Texts.of(step)  # before the lock: they depend on the step alone
    checked = check(engine, step, clock, known)
    config = config or deadlines(engine)
    with writing(engine) as conn:
        answer = record_locked(conn, server_key, step, config, clock, checked, texts)
        if also is not None:
            also(conn, answer)
        return answer


def record_locked(conn: Connection, server_key: SigningKey, step: Step, config: Deadlines,
                  clock: Callable[[], datetime] = _now, checked: Checked | None = None,
                  texts: _Texts | None = None) -> dict[str, Any]:
    """Under the write lock the caller holds: check `step` (again, if `checked` before the lock), then append it."""
    position, head_hash, recorded_key, status, seq, head, revoked_at = _LOCKED(
        conn, {"r": step.request_id, "k": step.key_id}).fetchone()
    if recorded_key is not None and PublicKey(unb64(recorded_key)) != server_key.public:  # rotate-key ran meanwhile
        raise Refused(503, "exchange_key_rotated",
                      "the exchange's key was rotated: this server process must be restarted with the new key")
    if revoked_at is not None:  # revoked since the request was authenticated: as a push, refused under the lock
        raise Refused(403, "key_revoked", f"key {step.key_id} was revoked at {revoked_at}")
    moment = clock()
    standing = (status, seq, head) if status is not None else None
    if checked is None or not _still_holds(conn, checked, standing, moment):
        checked = _check(conn, step, moment)
    return _append(conn, step, texts or _Texts.of(step), checked, moment, config.due(checked.after.status, moment),
                   (position, head_hash))


@dataclass(frozen=True)
class _Texts:
    """What the log stores of a step: its whole form and its redacted form (canonical JSON), and its digest."""

    document: str
    sealed: str  # redaction.redact(step) is the sealed step's form
    digest: str

    @classmethod
    def of(cls, step: Step) -> _Texts:
        return cls(canonical(step.to_dict()).decode("utf-8"), step.sealed.canonical_bytes.decode("utf-8"),
                   step.digest())


def _append(conn: Connection, step: Step, texts: _Texts, checked: Checked, moment: datetime, due: date | None,
            head: tuple[int, str]) -> dict[str, Any]:
    head_position, head_hash = head
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    due_text = due.isoformat() if due else None
    record = StepRecord(head_position + 1, texts.digest, due_text, head_hash, stamp)
    record_hash = record.hash()
    after = checked.after
    state = {"r": step.request_id, "status": str(after.status), "seq": after.seq, "head": after.head,
             "due": due_text, "t": stamp}
    if checked.before is None:
        _NEW_REQUEST(conn, {**state, "requester": after.requester, "provider": after.provider,
                                    "entry_id": after.entry_id, "entry_code": getattr(step.body, "entry_code", ""),
                                    "items": json.dumps(list(after.items)), "until": after.until.isoformat(),
                                    "conditional": after.conditional})
    else:
        _NEXT_STATE(conn, state)
    _NEW_STEP(conn, {"position": record.position, "r": step.request_id, "seq": step.seq,
                             "kind": str(step.kind), "key_id": step.key_id, "department": step.department,
                             "document": texts.document, "sealed": texts.sealed, "digest": texts.digest,
                             "due": due_text, "prev_hash": head_hash, "hash": record_hash, "accepted_at": stamp})
    _NEW_HEAD(conn, {"p": record.position, "h": record_hash})
    return {"request_id": step.request_id, "seq": step.seq, "step_digest": texts.digest,
            "position": record.position, "hash": record_hash, "due": due_text, "accepted_at": stamp,
            "status": str(after.status)}


# The data authority's steps -------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    """A request as the authority's list shows it."""

    request_id: str
    status: str
    requester: str
    provider: str
    entry_code: str
    until: str
    due: str | None
    created_at: str
    updated_at: str
    purpose: str
    scenario: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def requests(engine: Engine, *, everything: bool = False) -> list[RequestRow]:
    """The requests waiting for the authority (all of them with `everything`), the most urgent first.

    A request waits for the authority when it is submitted (its compliance review) or escalated (its outcome).
    """
    where = "" if everything else "WHERE r.status IN (:review, :outcome)"
    with reading(engine) as conn:
        rows = conn.execute(text(
            "SELECT r.request_id, r.status, r.requester, r.provider, r.entry_code, r.until, r.due, r.created_at, "
            f"r.updated_at, s.document FROM sharing_requests r JOIN sharing_steps s ON s.request_id = r.request_id "
            f"AND s.seq = 1 {where} ORDER BY r.due IS NULL, r.due, r.created_at"),
            {} if everything else {"review": str(RequestStatus.SUBMITTED), "outcome": str(RequestStatus.ESCALATED)},
        ).all()
    found = []
    for *columns, document in rows:
        body = json.loads(document)["body"]
        found.append(RequestRow(*columns, purpose=body["purpose"], scenario=body["scenario"]))
    return found


def last_step(engine: Engine, request_id: str) -> SealedStep:
    """The request's last step, which the authority's next step follows; StewardError if there is no such request."""
    with reading(engine) as conn:
        document = conn.execute(text("SELECT document FROM sharing_steps WHERE request_id = :r "
                                     "ORDER BY seq DESC LIMIT 1"), {"r": request_id}).scalar_one_or_none()
    if document is None:
        raise StewardError("request.unknown", request_id=request_id)
    return parse_step(json.loads(document)).sealed


def authority_step(engine: Engine, server_key: SigningKey, request_id: str, body: Body,
                   clock: Callable[[], datetime] = _now,
                   also: Callable[[Connection, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Sign `body` (a review or an outcome) with the exchange's key after the request's last step, and record it
    (and `also`, as `record` does)."""
    try:
        step = follow(last_step(engine, request_id), body, server_key, None)
    except StepRefused as error:  # a blank reason or reviewer, conditions on a denial
        raise refusal(error) from error
    answer = record(engine, server_key, step, clock, also=also)
    return {**answer, "body": body_document(body)}


def overdue_per_department(engine: Engine, now: datetime) -> dict[str, int]:
    """How many requests each providing department has left unanswered past their due date at `now`.

    Late is as clients count it (working_days.is_overdue): the due day has ended in China. Only decisions
    are a department's to give; the reviews and outcomes that are late are the authority's own (`requests`).
    One grouped count over the (status, due) index, so it stays quick over a city's years of requests.
    """
    with reading(engine) as conn:
        rows = conn.execute(text("SELECT provider, count(*) FROM sharing_requests WHERE status = :s AND due < :today "
                                 "GROUP BY provider"),
                            {"s": str(RequestStatus.AWAITING_DECISION), "today": china_date(now).isoformat()})
        return dict(rows.all())
