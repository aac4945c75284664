"""The 审核 page: the sharing requests waiting for the data authority, one request's signed trail, and the
console account's review or outcome.

The queue is read a page at a time (a city's years of requests must not make one huge page) in the order
`steward-exchange review list` uses, the most urgent due date first. Due dates are counted as clients count
them (steward/sync/working_days.py): overdue once the due day has ended in China. A review or an outcome is
the same step `steward-exchange review` signs (sharing.authority_step): signed by the exchange's key, naming
the console account as the reviewer, checked by the state machine and appended to the hash-chained log;
and, like every console action, a record of the administration log naming the account, in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, text

from exchange import administration
from exchange.ledger import Refused
from steward.catalogue.errors import StewardError
from steward.sync.changeset import entry_from_document
from steward.sync.keys import SigningKey
from steward.sync.requests.documents import Body, Outcome, OutcomeVerdict, Review, ReviewVerdict
from steward.sync.requests.state import RequestStatus
from steward.sync.working_days import WorkingCalendar, china_date, is_overdue, working_days_between

PAGE = 50
WAITING = (str(RequestStatus.SUBMITTED), str(RequestStatus.ESCALATED))  # what the authority answers
MAX_REASON = 2000  # a reason or conditions as the form takes them (the step's own text rules apply too)


@dataclass(frozen=True)
class Due:
    """When the awaited answer is due, and how many working days are left (negative: overdue by that many)."""

    day: date
    days_left: int
    overdue: bool


@dataclass(frozen=True)
class RequestView:
    """A request as the console shows it: departments and the entry by name, the items asked for by name."""

    request_id: str
    status: str
    requester: str
    requester_name: str
    provider: str
    provider_name: str
    entry_id: str
    entry_code: str
    entry_name: str
    purpose: str
    scenario: str
    items: tuple[str, ...]
    until: str
    due: Due | None
    created_at: str
    author: str  # the requesting steward's name, as signed

    @property
    def reviewable(self) -> bool:
        """Waiting for a compliance review (pass or reject)."""
        return self.status == RequestStatus.SUBMITTED

    @property
    def settleable(self) -> bool:
        """Escalated: waiting for the authority's outcome (grant or deny)."""
        return self.status == RequestStatus.ESCALATED


@dataclass(frozen=True)
class Queue:
    rows: list[RequestView]
    total: int
    overdue: int
    page: int

    @property
    def more(self) -> bool:
        return (self.page + 1) * PAGE < self.total


@dataclass(frozen=True)
class TrailStep:
    """One signed step: what it is, who signed it (a department's steward, or the exchange naming the reviewer)."""

    seq: int
    kind: str
    department: str | None  # None: signed by the exchange's key
    department_name: str
    signer: str  # the steward's name (department steps) or the reviewer's (the exchange's steps)
    key_id: str
    accepted_at: str
    due: str | None
    verdict: str
    conditions: str
    reason: str


_COLUMNS = ("r.request_id, r.status, r.requester, rq.name, r.provider, pv.name, r.entry_id, r.entry_code, "
            "e.document, r.items, r.until, r.due, r.created_at, s.document")
_JOINS = ("JOIN sharing_steps s ON s.request_id = r.request_id AND s.seq = 1 "
          "LEFT JOIN departments rq ON rq.code = r.requester LEFT JOIN departments pv ON pv.code = r.provider "
          "LEFT JOIN entries e ON e.id = r.entry_id")


def _due(text_value: str | None, now: datetime, calendar: WorkingCalendar) -> Due | None:
    if not text_value:
        return None
    day = date.fromisoformat(text_value)
    return Due(day, working_days_between(china_date(now), day, calendar), is_overdue(day, now))


def _view(row: Any, now: datetime, calendar: WorkingCalendar) -> RequestView:
    (request_id, status, requester, requester_name, provider, provider_name, entry_id, entry_code, entry_document,
     items, until, due, created_at, first_step) = row
    names: dict[str, str] = {}
    entry_name = ""
    if entry_document:  # the entry as it is now: its items' names (an id the entry lost is shown as the id)
        entry = entry_from_document(entry_id, json.loads(entry_document))
        entry_name = entry.name
        names = {item.id: item.name for item in entry.items}
    application = json.loads(first_step)["body"]
    return RequestView(request_id, status, requester, requester_name or "", provider, provider_name or "", entry_id,
                       entry_code, entry_name, application["purpose"], application["scenario"],
                       tuple(names.get(i) or i for i in json.loads(items)), until, _due(due, now, calendar),
                       created_at, application.get("author", ""))


def queue(conn: Connection, calendar: WorkingCalendar, now: datetime, page: int) -> Queue:
    """One page of the requests waiting for the authority, the most urgent first, with how many wait and are late."""
    params: dict[str, Any] = {"review": WAITING[0], "outcome": WAITING[1], "limit": PAGE, "offset": page * PAGE}
    # The page's requests are chosen on the requests alone, then joined: the steps, entries and departments are
    # read for these rows only, not for every waiting request the sort passes over.
    order = "ORDER BY {0}due IS NULL, {0}due, {0}created_at, {0}request_id"
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM (SELECT request_id FROM sharing_requests "
                             f"WHERE status IN (:review, :outcome) {order.format('')} LIMIT :limit OFFSET :offset) p "
                             f"JOIN sharing_requests r ON r.request_id = p.request_id {_JOINS} {order.format('r.')}"),
                        params).all()
    total, overdue = counts(conn, now)
    return Queue([_view(row, now, calendar) for row in rows], total, overdue, page)


def counts(conn: Connection, now: datetime) -> tuple[int, int]:
    """How many requests wait for the authority, and how many of them are past their due day (in China)."""
    params = {"review": WAITING[0], "outcome": WAITING[1], "today": china_date(now).isoformat()}
    total = conn.execute(text("SELECT count(*) FROM sharing_requests WHERE status IN (:review, :outcome)"),
                         params).scalar_one()
    overdue = conn.execute(text("SELECT count(*) FROM sharing_requests WHERE status IN (:review, :outcome) "
                                "AND due < :today"), params).scalar_one()
    return total, overdue


def request(conn: Connection, calendar: WorkingCalendar, now: datetime,
            request_id: str) -> tuple[RequestView, list[TrailStep]] | None:
    """A request, whatever its status, and its signed trail, oldest step first; None if there is no such request."""
    row = conn.execute(text(f"SELECT {_COLUMNS} FROM sharing_requests r {_JOINS} WHERE r.request_id = :r"),
                       {"r": request_id}).first()
    if row is None:
        return None
    trail = []
    for seq, kind, key_id, department, department_name, steward, document, accepted_at, due in conn.execute(text(
            "SELECT s.seq, s.kind, s.key_id, s.department_code, d.name, k.steward, s.document, s.accepted_at, s.due "
            "FROM sharing_steps s LEFT JOIN departments d ON d.code = s.department_code "
            "LEFT JOIN steward_keys k ON k.key_id = s.key_id WHERE s.request_id = :r ORDER BY s.seq"),
            {"r": request_id}):
        body = json.loads(document)["body"]
        signer = body.get("reviewer") if department is None else body.get("author") or steward
        trail.append(TrailStep(seq, kind, department, department_name or "", signer or "", key_id, accepted_at, due,
                               body.get("verdict", ""), body.get("conditions", ""), body.get("reason", "")))
    return _view(row, now, calendar), trail


# The authority's steps ------------------------------------------------------------------------


class Verdict(StrEnum):
    PASS = "pass"  # the compliance review (符合性审查) of a submitted request
    REJECT = "reject"
    GRANT = "grant"  # the outcome (协调结果) of an escalated request
    DENY = "deny"


def body_of(verdict: Verdict, account: str, reason: str, conditions: str) -> Body:
    """The review or outcome the console account signs: refused (Refused) without a reason where one is needed."""
    reason, conditions = reason.strip(), conditions.strip()
    if verdict is not Verdict.PASS and not reason:
        raise Refused(422, "reason_required", "a rejection or an outcome needs its reason")
    if conditions and verdict is not Verdict.GRANT:
        raise Refused(422, "conditions_without_grant", "only a grant carries conditions")
    if len(reason) > MAX_REASON or len(conditions) > MAX_REASON:
        raise Refused(422, "too_long", f"a reason or conditions of at most {MAX_REASON} characters")
    if verdict in (Verdict.PASS, Verdict.REJECT):
        return Review(verdict=ReviewVerdict(verdict.value), reason=reason, reviewer=account)
    return Outcome(verdict=OutcomeVerdict(verdict.value), conditions=conditions, reason=reason, reviewer=account)


def decide(engine: Engine, server_key: SigningKey, request_id: str, account: str, verdict: Verdict, reason: str,
           conditions: str = "") -> dict[str, Any]:
    """Sign and record the account's review or outcome, or refuse it (Refused) and record nothing.

    The state machine refuses a step the request's status no longer allows (someone decided first: 409).
    """
    body = body_of(verdict, account, reason, conditions)
    try:
        return administration.authority_step(engine, server_key, account, request_id, body)
    except StewardError as error:  # no such request
        raise Refused(404, error.code, str(error)) from error
