"""The workspace's record of sharing requests: the steps the feed brought, checked and applied, and the outbox.

Every step reaches the workspace through the feed, verified first (protocol.verify_feed: the log's
chain, the step's digest and signature). Here it is checked against its request: a whole step (this
department is a party) runs through the state machine again, with the exchange's copy of the catalogue
as the log has made it and the exchange's date at its stamp, so the client reaches the exchange's
status by itself; a redacted step must continue its request's chain (`seq`, `prev`). A step the
exchange should have refused stops the sync, like a forged changeset.

Steps signed here wait in the outbox, stored before they are sent and settled by the exchange's answer
or by the feed bringing them, as changesets do (outbox.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.errors import StewardError
from steward.sync import shadow
from steward.sync.changeset import GENESIS, canonical
from steward.sync.protocol import VerifiedStep, parse_time, utc_now
from steward.sync.requests.documents import Application, SealedStep, Step, StepKind, parse_sealed, parse_step
from steward.sync.requests.refusals import StepRefused
from steward.sync.requests.state import Context, EntryFacts, Link, RequestState, RequestStatus, Signer, apply
from steward.sync.working_days import china_date
from steward.workspace import store


class Outbox:
    """States of a step signed here."""

    READY = "ready"  # stored, its answer unknown: sent (again) at the next sync
    ACCEPTED = "accepted"
    REFUSED = "refused"


def exchange_entry(conn: Connection, entry_id: str) -> EntryFacts | None:
    """The entry as the exchange holds it at this point of the log: the workspace's copy of it."""
    copy = shadow.load(conn, [entry_id]).get(entry_id)
    return EntryFacts.of(copy.entry(), copy.department_code) if copy is not None else None


def load_state(conn: Connection, request_id: str) -> RequestState | None:
    """A request of which this department is a party, as the steps applied so far leave it."""
    db = store.dbapi(conn)
    row = db.execute("SELECT requester, provider, entry_id, items, until, conditional, status FROM sharing_requests "
                     "WHERE request_id = ? AND party = 1", (request_id,)).fetchone()
    if row is None:
        return None
    trail = tuple(Link(StepKind(kind), digest) for kind, digest in db.execute(
        "SELECT kind, digest FROM sharing_steps WHERE request_id = ? ORDER BY seq", (request_id,)))
    requester, provider, entry_id, items, until, conditional, status = row
    return RequestState(request_id, RequestStatus(status), requester, provider, entry_id, tuple(json.loads(items)),
                        date.fromisoformat(until), bool(conditional), trail)


# Applying what the feed brought ----------------------------------------------------------------


def apply_pulled(conn: Connection, verified: VerifiedStep, department: str,
                 signers: Callable[[str], Signer | None]) -> None:
    """Record a verified step of the feed in the workspace: the request's new state and the step in its trail.

    StewardError (sync.step_refused) if the step does not follow from its request as the workspace holds it:
    nothing of it is applied, and the sync stops there.
    """
    record, step = verified.record, verified.step
    sealed = step.sealed if isinstance(step, Step) else step
    db = store.dbapi(conn)
    known = db.execute("SELECT party, seq, head FROM sharing_requests WHERE request_id = ?",
                       (sealed.request_id,)).fetchone()
    if isinstance(step, Step):
        if known is not None and not known[0]:
            raise StewardError("sync.step_refused", position=record.position, reason="a whole step of a request "
                               "this department received redacted until now")
        context = Context(signers, lambda entry_id: exchange_entry(conn, entry_id),
                          china_date(parse_time(record.accepted_at)))
        try:
            state = apply(load_state(conn, sealed.request_id), step, context)
        except StepRefused as error:
            raise StewardError("sync.step_refused", position=record.position, reason=error.message()) from error
        _save_party_state(conn, step, state, record.due, record.accepted_at)
    else:
        _check_chain(sealed, known, record.position)
        _save_redacted(conn, sealed, known is None, record.accepted_at)
    db.execute("INSERT INTO sharing_steps(request_id, seq, position, kind, key_id, department, document, digest, due, "
               "accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (sealed.request_id, sealed.seq, record.position, str(sealed.kind), sealed.key_id, sealed.department,
                _text(step.to_dict()), record.step_digest, record.due, record.accepted_at))
    db.execute("UPDATE sharing_outbox SET state = ?, settled_at = ? WHERE digest = ? AND state != ?",
               (Outbox.ACCEPTED, utc_now(), record.step_digest, Outbox.ACCEPTED))


def _check_chain(sealed: SealedStep, known: tuple[Any, ...] | None, position: int) -> None:
    """A redacted step continues its request's chain: the request first, then each next step naming the last."""
    seq, head = (0, GENESIS) if known is None else (known[1], known[2])
    if (sealed.kind is StepKind.REQUEST) != (known is None) or sealed.seq != seq + 1 or sealed.prev != head:
        raise StewardError("sync.step_refused", position=position,
                           reason=f"step {sealed.seq} of request {sealed.request_id} does not follow its step {seq}")


def _save_party_state(conn: Connection, step: Step, state: RequestState, due: str | None, stamp: str) -> None:
    db = store.dbapi(conn)
    values = (str(state.status), state.seq, state.head, due, stamp)
    if isinstance(step.body, Application):
        body = step.body
        db.execute("INSERT INTO sharing_requests(status, seq, head, due, updated_at, request_id, party, requester, "
                   "provider, entry_id, entry_code, items, until, conditional, purpose, scenario, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (*values, state.request_id, state.requester, state.provider, state.entry_id, body.entry_code,
                    json.dumps(list(state.items)), state.until.isoformat(), int(state.conditional), body.purpose,
                    body.scenario, stamp))
    else:
        db.execute("UPDATE sharing_requests SET status = ?, seq = ?, head = ?, due = ?, updated_at = ? "
                   "WHERE request_id = ?", (*values, state.request_id))


def _save_redacted(conn: Connection, sealed: SealedStep, new: bool, stamp: str) -> None:
    db = store.dbapi(conn)
    if new:
        db.execute("INSERT INTO sharing_requests(request_id, party, requester, seq, head, created_at, updated_at) "
                   "VALUES (?, 0, ?, ?, ?, ?, ?)",
                   (sealed.request_id, sealed.department, sealed.seq, sealed.digest(), stamp, stamp))
    else:
        db.execute("UPDATE sharing_requests SET seq = ?, head = ?, updated_at = ? WHERE request_id = ?",
                   (sealed.seq, sealed.digest(), stamp, sealed.request_id))


def _text(document: dict[str, Any]) -> str:
    return canonical(document).decode("utf-8")


# The outbox ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    step: Step
    state: str
    error: dict[str, Any] | None
    created_at: str


def enqueue(conn: Connection, step: Step) -> None:
    """Keep a step signed here until the exchange has answered it (stored before it is ever sent)."""
    store.dbapi(conn).execute(
        "INSERT INTO sharing_outbox(digest, request_id, seq, document, state, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (step.digest(), step.request_id, step.seq, _text(step.to_dict()), Outbox.READY, utc_now()))


def queued(conn: Connection, request_id: str | None = None, state: str | None = Outbox.READY) -> list[Queued]:
    """Steps signed here (of one request, in one state), oldest first."""
    where, params = [], []
    if request_id is not None:
        where.append("request_id = ?")
        params.append(request_id)
    if state is not None:
        where.append("state = ?")
        params.append(state)
    condition = f"WHERE {' AND '.join(where)}" if where else ""
    rows = store.dbapi(conn).execute(
        f"SELECT document, state, error, created_at FROM sharing_outbox {condition} ORDER BY created_at, seq",
        params).fetchall()
    return [Queued(parse_step(json.loads(document)), row_state, json.loads(error) if error else None, created_at)
            for document, row_state, error, created_at in rows]


def settle(conn: Connection, step: Step, state: str, error: dict[str, Any] | None = None) -> None:
    store.dbapi(conn).execute(
        "UPDATE sharing_outbox SET state = ?, error = ?, settled_at = ? WHERE digest = ? AND state = ?",
        (state, json.dumps(error, ensure_ascii=False) if error else None, utc_now(), step.digest(), Outbox.READY))


def last_step(conn: Connection, request_id: str) -> SealedStep | None:
    """The step a new one of the request follows: the last signed here and not yet answered, else the last pulled."""
    waiting = queued(conn, request_id)
    if waiting:
        return waiting[-1].step.sealed
    row = store.dbapi(conn).execute("SELECT document FROM sharing_steps WHERE request_id = ? ORDER BY seq DESC "
                                    "LIMIT 1", (request_id,)).fetchone()
    if row is None:
        return None
    document = json.loads(row[0])
    return parse_step(document).sealed if "body" in document else parse_sealed(document)
