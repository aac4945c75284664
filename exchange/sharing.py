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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text

from exchange.db import reading, writing
from exchange.ledger import Refused, _recorded_key, find_key
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
from steward.sync.requests.redaction import redact
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


def parse(document: Any) -> Step:
    try:
        return parse_step(document)
    except StepRefused as error:
        raise refusal(error) from error


def load_state(conn: Connection, request_id: str) -> RequestState | None:
    row = conn.execute(text("SELECT requester, provider, entry_id, items, until, conditional, status "
                            "FROM sharing_requests WHERE request_id = :r"), {"r": request_id}).first()
    if row is None:
        return None
    trail = tuple(Link(StepKind(kind), digest) for kind, digest in conn.execute(
        text("SELECT kind, digest FROM sharing_steps WHERE request_id = :r ORDER BY seq"), {"r": request_id}))
    requester, provider, entry_id, items, until, conditional, status = row
    return RequestState(request_id, RequestStatus(status), requester, provider, entry_id, tuple(json.loads(items)),
                        date.fromisoformat(until), bool(conditional), trail)


def signers(conn: Connection) -> Callable[[str], Signer | None]:
    """Who holds a key, as the state machine asks: an enrolled steward key, or any key the exchange has had."""
    exchange_keys = {public.key_id: public for public in
                     (PublicKey(unb64(row[0])) for row in conn.execute(text("SELECT public_key FROM exchange_keys")))}

    def find(key_id: str) -> Signer | None:
        if key_id in exchange_keys:
            return Signer(exchange_keys[key_id], None)
        key = find_key(conn, key_id)
        return Signer(key.public, key.department) if key is not None else None

    return find


def entry_facts(conn: Connection, entry_id: str) -> EntryFacts | None:
    row = conn.execute(text("SELECT department_code, document FROM entries WHERE id = :i"), {"i": entry_id}).first()
    return EntryFacts.of(entry_from_document(entry_id, json.loads(row[1])), row[0]) if row else None


def _check(conn: Connection, step: Step, moment: datetime) -> tuple[RequestState | None, RequestState]:
    """The request's state before and after `step`, or Refused saying why the state machine refuses it."""
    before = load_state(conn, step.request_id)
    context = Context(signers(conn), lambda entry_id: entry_facts(conn, entry_id), china_date(moment))
    try:
        return before, apply(before, step, context)
    except StepRefused as error:
        details = None
        if error.code == "request.replayed":  # where it was recorded: a client that lost the answer learns it landed
            position = conn.execute(text("SELECT position FROM sharing_steps WHERE digest = :d"),
                                    {"d": step.digest()}).scalar_one_or_none()
            details = [{"position": position, "step_digest": step.digest()}]
        raise refusal(error, details) from error


def submit(engine: Engine, server_key: SigningKey, step: Step, request_key_id: str) -> dict[str, Any]:
    """Record a steward's step sent by the key `request_key_id` (which must be the step's own): the record."""
    if request_key_id != step.key_id:
        raise Refused(403, "key_mismatch", "the request is authenticated by another key than the step's")
    return record(engine, server_key, step)


def _now() -> datetime:
    return datetime.now(UTC)


def record(engine: Engine, server_key: SigningKey, step: Step, clock: Callable[[], datetime] = _now,
           also: Callable[[Connection, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Check `step` and append it to the log, or refuse it (Refused) and write nothing.

    As a changeset, a step is checked first against a snapshot without the write lock, so a refusal never
    waits for it, then again under the lock, where the exchange's clock stamps it. Only the demo passes another
    `clock`: its sample requests include some made days ago (one overdue). `also` is called with the step's
    record in the same transaction (the console's administration record lands with the step or not at all).
    """
    with reading(engine, snapshot=True) as conn:
        _check(conn, step, clock())
    config = deadlines(engine)
    with writing(engine) as conn:
        if _recorded_key(conn) not in (None, server_key.public):  # rotate-key ran while this process served
            raise Refused(503, "exchange_key_rotated",
                          "the exchange's key was rotated: this server process must be restarted with the new key")
        moment = clock()
        before, after = _check(conn, step, moment)
        answer = _append(conn, step, before, after, moment, config.due(after.status, moment))
        if also is not None:
            also(conn, answer)
        return answer


def _append(conn: Connection, step: Step, before: RequestState | None, after: RequestState, moment: datetime,
            due: date | None) -> dict[str, Any]:
    head_position, head_hash = conn.execute(text("SELECT position, hash FROM head WHERE id = 1")).one()
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    due_text = due.isoformat() if due else None
    record = StepRecord(head_position + 1, step.digest(), due_text, head_hash, stamp)
    state = {"r": step.request_id, "status": str(after.status), "seq": after.seq, "head": after.head,
             "due": due_text, "t": stamp}
    if before is None:
        body = step.body
        conn.execute(text("INSERT INTO sharing_requests(request_id, requester, provider, entry_id, entry_code, items, "
                          "until, conditional, status, seq, head, due, created_at, updated_at) VALUES (:r, :requester, "
                          ":provider, :entry_id, :entry_code, :items, :until, :conditional, :status, :seq, :head, "
                          ":due, :t, :t)"),
                     {**state, "requester": after.requester, "provider": after.provider, "entry_id": after.entry_id,
                      "entry_code": getattr(body, "entry_code", ""), "items": json.dumps(list(after.items)),
                      "until": after.until.isoformat(), "conditional": after.conditional})
    else:
        conn.execute(text("UPDATE sharing_requests SET status = :status, seq = :seq, head = :head, due = :due, "
                          "updated_at = :t WHERE request_id = :r"), state)
    conn.execute(
        text("INSERT INTO sharing_steps(position, request_id, seq, kind, key_id, department_code, document, sealed, "
             "digest, due, prev_hash, hash, accepted_at) VALUES (:position, :r, :seq, :kind, :key_id, :department, "
             ":document, :sealed, :digest, :due, :prev_hash, :hash, :accepted_at)"),
        {"position": record.position, "r": step.request_id, "seq": step.seq, "kind": str(step.kind),
         "key_id": step.key_id, "department": step.department, "document": canonical(step.to_dict()).decode("utf-8"),
         "sealed": canonical(redact(step)).decode("utf-8"), "digest": record.step_digest, "due": due_text,
         "prev_hash": head_hash, "hash": record.hash(), "accepted_at": stamp},
    )
    conn.execute(text("UPDATE head SET position = :p, hash = :h WHERE id = 1"),
                 {"p": record.position, "h": record.hash()})
    return {"request_id": step.request_id, "seq": step.seq, "step_digest": record.step_digest,
            "position": record.position, "hash": record.hash(), "due": due_text, "accepted_at": stamp,
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
    answer = record(engine, server_key, step, clock, also)
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
