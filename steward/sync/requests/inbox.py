"""A steward's sharing requests: the inbox (to this department, as provider), my requests, one request's trail,
and the steps the steward takes, signed here and sent at the next sync.

Due dates are the exchange's (stamped in each step's record); the working days left are counted with the
exchange's published calendar override (kept from the last sync), so what is overdue here is what is
overdue at the exchange. A step is checked by the state machine before it is signed and queued, so a
steward is told at once what the exchange would refuse (approving before the review, deciding twice …).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache, partial
from operator import itemgetter
from typing import Any, overload

from sqlalchemy import Connection

from steward.catalogue.errors import StewardError
from steward.catalogue.vocabulary import SharingType
from steward.sync import departments, shadow
from steward.sync.keys import SigningKey
from steward.sync.requests import local
from steward.sync.requests.documents import (
    Application,
    Body,
    Decision,
    DecisionVerdict,
    Escalation,
    Step,
    StepKind,
    Withdrawal,
    follow,
    open_request,
)
from steward.sync.requests.state import (
    AWAITING_ANSWER,
    GRANTS,
    Context,
    RequestState,
    RequestStatus,
    Signer,
    apply,
    status_on,
)
from steward.sync.working_days import (
    CalendarOverride,
    DeadlinePolicy,
    WorkingCalendar,
    china_date,
    is_overdue,
    working_days_between,
)
from steward.workspace import query, store
from steward.workspace.workspace import Workspace

UNSENT = "unsent"  # a request signed here that the exchange has not recorded yet
DEFAULT_GRANT_DAYS = 365  # how long a grant lasts when the steward gives no end date


class Box(StrEnum):
    INBOX = "inbox"  # requests to this department, which provides the entry
    MINE = "mine"  # requests this department made
    ALL = "all"  # both


# The exchange's deadlines, as its server information published them --------------------------------

POLICY_FACT, OVERRIDE_FACT = "sharing_deadline_policy", "sharing_calendar_override"


def remember_deadlines(conn: Connection, info: dict[str, Any]) -> None:
    """Keep the deadline policy and calendar override the exchange publishes (GET /v1/server), for the lists."""
    store.set_meta(conn, {POLICY_FACT: json.dumps(info.get("deadline_policy") or DeadlinePolicy().to_json()),
                          OVERRIDE_FACT: json.dumps(info.get("calendar_override"), ensure_ascii=False)})


def deadlines(ws: Workspace) -> tuple[DeadlinePolicy, WorkingCalendar]:
    facts = ws.facts()
    policy = DeadlinePolicy.from_json(json.loads(facts[POLICY_FACT])) if POLICY_FACT in facts else DeadlinePolicy()
    override = json.loads(facts.get(OVERRIDE_FACT) or "null")
    return policy, WorkingCalendar(CalendarOverride.from_json(override) if override is not None else None)


# Reading -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestSummary:
    request_id: str
    box: str  # inbox or mine
    status: str  # a RequestStatus (expired included), or "unsent"
    requester: str
    provider: str
    entry_id: str
    entry_code: str
    purpose: str
    scenario: str
    until: str
    due: str | None  # when the answer it waits for is due, China's date
    working_days_left: int | None  # 0: due today; negative: overdue by that many working days
    overdue: bool
    created_at: str | None
    updated_at: str | None
    waiting_steps: int  # steps signed here, not yet answered by the exchange
    requester_name: str | None = None  # as the exchange names the department; None where it has not yet
    provider_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TrailStep:
    """One step of a request's signed trail: who signed what, when the exchange recorded it."""

    seq: int
    kind: str
    department: str | None  # None: the exchange (the data authority)
    key_id: str
    signer: str  # the steward's or reviewer's name, from the body
    body: dict[str, Any]
    accepted_at: str | None  # None: signed here, not yet recorded
    due: str | None
    position: int | None
    verified: bool  # checked against the log's chain and the signer's enrolled key when pulled
    outbox: str | None  # for a step signed here: ready, accepted or refused
    error: dict[str, Any] | None = None
    department_name: str | None = None  # as the exchange names the department; None where it has not yet

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RequestDetail:
    summary: RequestSummary
    items: list[str]
    conditional: bool | None
    trail: list[TrailStep] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary.to_dict(), "items": self.items, "conditional": self.conditional,
                "trail": [step.to_dict() for step in self.trail]}


_AWAITING = frozenset(str(s) for s in AWAITING_ANSWER)
_GRANTED = frozenset(str(s) for s in GRANTS)  # only a grant's status changes with the day: it expires
_MAY_EXPIRE = _GRANTED | {str(RequestStatus.EXPIRED)}
# A request's place in the lists: soonest due first (a due date counts while an answer is awaited), then newest.
# SQLite works out the due date's key (cheap per row: "~" after every date where none is awaited) and Python
# sorts by the keys (SQLite's sorter, carrying every row's texts, took longer); _summary reads the first twelve.
_DUE_KEY = f"COALESCE(CASE WHEN status IN ({', '.join(repr(s) for s in sorted(_AWAITING))}) THEN due END, '~')"
_COLUMNS = ("request_id, requester, provider, entry_id, entry_code, purpose, scenario, until, status, due, "
            f"created_at, updated_at, {_DUE_KEY}")
_ID, _UNTIL, _STATUS, _DUE = 0, 7, 8, 9  # where these are in a row of _COLUMNS
_BY_DUE, _BY_CREATED = itemgetter(12), itemgetter(10)  # created_at is never NULL (the exchange's stamp)


class Listing(Sequence["RequestSummary"]):
    """A box's requests in order (soonest due first, then newest), each summary made the first time it is read.

    A window shows a screenful of a 10,000-request inbox: making every summary up front took most of the time
    the inbox took to open. The counts the window's status line needs are taken from the rows as read.
    """

    def __init__(self, rows: list[tuple[Any, ...]], unsent: list[RequestSummary],
                 make: Callable[[tuple[Any, ...]], RequestSummary], shown: Callable[[str, str], str],
                 deadline: Callable[[str], tuple[int, bool]]) -> None:
        self._rows = rows
        self._unsent = unsent
        self._make = make
        self._shown = shown
        self._deadline = deadline
        self._made: list[RequestSummary | None] = [None] * len(rows)
        self._counted: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._rows) + len(self._unsent)

    @overload
    def __getitem__(self, index: int) -> RequestSummary: ...

    @overload
    def __getitem__(self, index: slice) -> list[RequestSummary]: ...

    def __getitem__(self, index: int | slice) -> RequestSummary | list[RequestSummary]:
        if isinstance(index, slice):
            return [self[n] for n in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index >= len(self._rows):
            return self._unsent[index - len(self._rows)]
        made = self._made[index]
        if made is None:
            made = self._made[index] = self._make(self._rows[index])
        return made

    def __iter__(self) -> Iterator[RequestSummary]:
        return iter(self.every())

    def every(self) -> list[RequestSummary]:
        """Every summary, made now where not yet (in one pass: a command line lists them all)."""
        make, made = self._make, self._made
        for index, row in enumerate(self._rows):
            if made[index] is None:
                made[index] = make(row)
        return [*made, *self._unsent]  # type: ignore[list-item] - every one is made now

    def request_id(self, index: int) -> str:
        """The request at `index`, without making its summary."""
        return self._rows[index][_ID] if index < len(self._rows) else self._unsent[index - len(self._rows)].request_id

    def index_of(self, request_id: str) -> int | None:
        return next((n for n in range(len(self)) if self.request_id(n) == request_id), None)

    def count_status(self, status: str) -> int:
        """How many requests show `status` (a grant past its end date shows as expired)."""
        if status not in self._counted:
            self._counted[status] = self._count_status(status)
        return self._counted[status]

    def _count_status(self, status: str) -> int:
        unsent = sum(1 for summary in self._unsent if summary.status == status)
        if status not in _MAY_EXPIRE:  # shown as stored: counted without working out a status per row
            return sum(1 for row in self._rows if row[_STATUS] == status) + unsent
        shown = self._shown
        return sum(1 for row in self._rows if shown(row[_STATUS], row[_UNTIL]) == status) + unsent

    def count_overdue(self) -> int:
        if _OVERDUE not in self._counted:
            deadline = self._deadline
            self._counted[_OVERDUE] = sum(1 for row in self._rows if _awaited_due(row) and deadline(row[_DUE])[1])
        return self._counted[_OVERDUE]


_OVERDUE = "overdue"  # Listing's count of the overdue, beside its counts by status


def _awaited_due(row: tuple[Any, ...]) -> str | None:
    """The row's due date while an answer is awaited (the status stored is the one shown: only grants expire)."""
    return row[_DUE] if row[_DUE] is not None and row[_STATUS] in _AWAITING else None


def requests(ws: Workspace, box: Box = Box.ALL, overdue_only: bool = False,
             now: datetime | None = None) -> list[RequestSummary]:
    """The requests of this department in `box`, soonest due first (then newest), with what is overdue."""
    return listing(ws, box, overdue_only, now).every()


def listing(ws: Workspace, box: Box = Box.ALL, overdue_only: bool = False, now: datetime | None = None) -> Listing:
    """As `requests`, each summary made when first read (a window shows a screenful of thousands)."""
    now = now or datetime.now(UTC)
    _, calendar = deadlines(ws)
    own = ws.department_code
    where = {Box.INBOX: "provider = ?", Box.MINE: "requester = ?", Box.ALL: "(provider = ? OR requester = ?)"}[box]
    params = [own] * where.count("?")
    today = china_date(now)

    @cache
    def deadline(due: str) -> tuple[int, bool]:
        # Once per due date: a listing has thousands of rows and a few dozen due dates.
        day = date.fromisoformat(due)
        return working_days_between(today, day, calendar), is_overdue(day, now)

    @cache
    def shown(status: str, until: str) -> str:
        # Once per status and end date, as the deadlines: a grant past its end date shows as expired.
        if status not in _GRANTED:
            return status
        return str(status_on(_status_only(status, until), today))

    with ws.reading() as conn:
        rows = store.dbapi(conn).execute(
            f"SELECT {_COLUMNS} FROM sharing_requests WHERE party = 1 AND {where}", params).fetchall()
        waiting = _waiting_counts(conn)
        names = department_names(ws, conn)
        unsent = []
        if box is not Box.INBOX and not overdue_only:  # a request not sent yet has no due date
            recorded = {row[_ID] for row in rows}
            unsent = [_unsent(queued.step, queued.created_at, waiting[queued.step.request_id], names)
                      for queued in local.queued(conn)
                      if queued.step.seq == 1 and queued.step.request_id not in recorded]
    if overdue_only:
        rows = [row for row in rows if _awaited_due(row) and deadline(row[_DUE])[1]]
    # Soonest due first (a due date counts while an answer is awaited), then newest. Sorted here on the rows as
    # read: SQLite sorting them (their texts carried through its sorter) took longer than this.
    rows.sort(key=_BY_CREATED, reverse=True)
    rows.sort(key=_BY_DUE)
    make = partial(_summary, own=own, waiting=waiting, shown=shown, deadline=deadline, names=names)
    return Listing(rows, unsent, make, shown, deadline)


def department_names(ws: Workspace, conn: Connection) -> dict[str, str]:
    """The departments' names by code: the exchange's, and this department's own as the workspace has it."""
    names = departments.names(conn)
    if ws.department_name:
        names.setdefault(ws.department_code, ws.department_name)
    return names


def awaiting_answer_here(ws: Workspace) -> int:
    """How many requests wait for this department's decision (the window's status bar shows it)."""
    # A request awaiting a decision cannot expire (only grants do), so its stored status is the one shown.
    with ws.reading() as conn:
        return store.dbapi(conn).execute(
            "SELECT COUNT(*) FROM sharing_requests WHERE party = 1 AND provider = ? AND status = ?",
            (ws.department_code, str(RequestStatus.AWAITING_DECISION))).fetchone()[0]


def _waiting_counts(conn: Connection) -> dict[str, int]:
    return dict(store.dbapi(conn).execute("SELECT request_id, COUNT(*) FROM sharing_outbox WHERE state = ? "
                                          "GROUP BY request_id", (local.Outbox.READY,)).fetchall())


def _summary(row: tuple[Any, ...], own: str, waiting: dict[str, int], shown: Callable[[str, str], str],
             deadline: Callable[[str], tuple[int, bool]], names: dict[str, str]) -> RequestSummary:
    request_id, requester, provider, entry_id, entry_code, purpose, scenario, until, status, due, created, updated = \
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10], row[11]
    status = shown(status, until)
    awaiting = due is not None and status in _AWAITING
    left, overdue = deadline(due) if awaiting else (None, False)
    return RequestSummary(request_id, "inbox" if provider == own else "mine", status, requester, provider, entry_id,
                          entry_code, purpose, scenario, until, due if awaiting else None, left, overdue, created,
                          updated, waiting.get(request_id, 0), names.get(requester), names.get(provider))


def _status_only(status: str, until: str) -> RequestState:
    """Just enough of a state for status_on (a grant expires after `until`)."""
    return RequestState("", RequestStatus(status), "", "", "", (), date.fromisoformat(until), False, ())


def _unsent(step: Step, created_at: str, waiting: int, names: dict[str, str]) -> RequestSummary:
    """A request signed here and not sent yet; `waiting` counts its steps signed since (a withdrawal) too."""
    body = step.body
    assert isinstance(body, Application)
    requester = step.department or ""
    return RequestSummary(step.request_id, "mine", UNSENT, requester, body.provider, body.entry_id,
                          body.entry_code, body.purpose, body.scenario, body.until, None, None, False, None,
                          created_at, waiting, names.get(requester), names.get(body.provider))


def show(ws: Workspace, request_id: str, now: datetime | None = None) -> RequestDetail:
    """One request of this department with its signed trail; StewardError if the workspace knows no such request."""
    found = listing(ws, Box.ALL, now=now)
    index = found.index_of(request_id)
    if index is None:
        raise StewardError("sharing.not_here", request_id=request_id)
    summary = found[index]
    with ws.reading() as conn:
        names = department_names(ws, conn)
        db = store.dbapi(conn)
        row = db.execute("SELECT items, conditional FROM sharing_requests WHERE request_id = ?",
                         (request_id,)).fetchone()
        pulled = db.execute("SELECT seq, kind, department, key_id, document, accepted_at, due, position "
                            "FROM sharing_steps WHERE request_id = ? ORDER BY seq", (request_id,)).fetchall()
        mine = {q.step.digest(): q for q in local.queued(conn, request_id, state=None)}
    trail = []
    for seq, kind, department, key_id, document, accepted_at, due, position in pulled:
        body = json.loads(document).get("body", {})
        sent = next((q for q in mine.values() if q.step.seq == seq and q.state == local.Outbox.ACCEPTED), None)
        trail.append(TrailStep(seq, kind, department, key_id, _signer(body), body, accepted_at, due, position, True,
                               sent.state if sent else None, None, names.get(department or "")))
    recorded = {step.seq for step in trail}
    for queued in mine.values():
        if queued.state != local.Outbox.ACCEPTED and not (queued.state == local.Outbox.READY
                                                          and queued.step.seq in recorded):
            step = queued.step
            document = step.to_dict()
            trail.append(TrailStep(step.seq, str(step.kind), step.department, step.key_id, _signer(document["body"]),
                                   document["body"], None, None, None, False, queued.state, queued.error,
                                   names.get(step.department or "")))
    items = json.loads(row[0]) if row and row[0] else []
    if not items and summary.status == UNSENT:
        first = next(q.step for q in mine.values() if q.step.seq == 1)
        items = list(first.body.items) if isinstance(first.body, Application) else []
    return RequestDetail(summary, items, bool(row[1]) if row and row[1] is not None else None,
                         sorted(trail, key=lambda s: (s.seq, s.accepted_at is None)))


def _signer(body: dict[str, Any]) -> str:
    return str(body.get("author") or body.get("reviewer") or "")


# Taking a step ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Steward:
    """Who signs here: the workspace's key, its department, the steward's name."""

    key: SigningKey
    department: str
    name: str


def steward_of(ws: Workspace, key: SigningKey) -> Steward:
    return Steward(key, ws.department_code, ws.facts().get("key_steward", ""))


def new_request(ws: Workspace, signer: Steward, entry_ref: str, *, purpose: str, scenario: str,
                items: list[str] | None = None, until: str | None = None, now: datetime | None = None) -> Step:
    """Apply for another department's entry (by code or id): signed, checked, and queued for the next sync.

    `items` names data items by name or id (all that may be shared when None); `until` defaults to a year on.
    """
    now = now or datetime.now(UTC)
    entry = query.find_entry(ws, entry_ref)
    with ws.reading() as conn:
        copy = shadow.load(conn, [entry.id]).get(entry.id)
    department = copy.department_code if copy is not None else entry.provider_code
    chosen = _items(entry, items)
    application = Application(entry_id=entry.id, entry_code=entry.code, provider=department, purpose=purpose,
                              scenario=scenario, items=tuple(chosen),
                              until=until or (china_date(now) + timedelta(days=DEFAULT_GRANT_DAYS)).isoformat(),
                              author=signer.name)
    step = open_request(application, signer.key, signer.department)
    with ws.writing() as conn:
        _check(conn, signer, step, now)
        local.enqueue(conn, step)
    return step


def _items(entry: Any, names: list[str] | None) -> list[str]:
    if names is None:
        return [item.id for item in entry.items if item.sharing_type != SharingType.NOT_SHARED]
    by_name = {item.name: item.id for item in entry.items}
    ids = {item.id for item in entry.items}
    chosen = []
    for name in names:
        if name in ids:
            chosen.append(name)
        elif name in by_name:
            chosen.append(by_name[name])
        else:
            raise StewardError("sharing.item_not_here", entry_code=entry.code, item=name)
    return list(dict.fromkeys(chosen))


def approve(ws: Workspace, signer: Steward, request_id: str, conditions: str = "",
            now: datetime | None = None) -> Step:
    return _answer(ws, signer, request_id, Decision(verdict=DecisionVerdict.APPROVE, conditions=conditions,
                                                    author=signer.name), now)


def refuse(ws: Workspace, signer: Steward, request_id: str, reason: str, now: datetime | None = None) -> Step:
    return _answer(ws, signer, request_id, Decision(verdict=DecisionVerdict.REFUSE, reason=reason,
                                                    author=signer.name), now)


def escalate(ws: Workspace, signer: Steward, request_id: str, reason: str, now: datetime | None = None) -> Step:
    return _answer(ws, signer, request_id, Escalation(reason=reason, author=signer.name), now)


def withdraw(ws: Workspace, signer: Steward, request_id: str, reason: str = "", now: datetime | None = None) -> Step:
    return _answer(ws, signer, request_id, Withdrawal(reason=reason, author=signer.name), now)


def _answer(ws: Workspace, signer: Steward, request_id: str, body: Body, now: datetime | None) -> Step:
    """The next step of a request, signed, checked against the request as the workspace knows it, and queued."""
    now = now or datetime.now(UTC)
    with ws.writing() as conn:
        previous = local.last_step(conn, request_id)
        if previous is None:
            raise StewardError("sharing.not_here", request_id=request_id)
        step = follow(previous, body, signer.key, signer.department)
        _check(conn, signer, step, now)
        local.enqueue(conn, step)
    return step


def _check(conn: Connection, signer: Steward, step: Step, now: datetime) -> RequestState:
    """What the exchange will say of `step`, as far as the workspace knows: StepRefused if it would refuse it.

    The steps signed here and not yet answered count as if recorded (a steward may escalate, then withdraw,
    before the next sync): each is this department's own, signed by this key.
    """
    own = {signer.key.key_id: Signer(signer.key.public, signer.department)}
    context = Context(own.get, lambda entry_id: local.exchange_entry(conn, entry_id), china_date(now))
    state = local.load_state(conn, step.request_id)
    for queued in local.queued(conn, step.request_id):
        state = apply(state, queued.step, context)
    return apply(state, step, context)


@dataclass(frozen=True)
class Answer:
    """The last answer a request of this department received: who gave it and what it said (for the lists)."""

    kind: str  # review, decision or outcome
    signer: str  # the steward's or the authority's reviewer's name
    department: str | None  # None: the data authority
    conditions: str
    reason: str
    department_name: str | None = None  # as the exchange names the department; None where it has not yet


def answers(ws: Workspace) -> dict[str, Answer]:
    """The last answer of every request this department is a party to, by request id (read in one pass,
    so a list of thousands of requests does not read each trail)."""
    answered = (str(StepKind.REVIEW), str(StepKind.DECISION), str(StepKind.OUTCOME))
    found: dict[str, Answer] = {}
    with ws.reading() as conn:
        rows = store.dbapi(conn).execute(
            "SELECT s.request_id, s.kind, s.department, s.document FROM sharing_steps s JOIN sharing_requests r "
            "ON r.request_id = s.request_id WHERE r.party = 1 AND s.kind IN (?, ?, ?) ORDER BY s.request_id, s.seq",
            answered).fetchall()
        names = department_names(ws, conn)
    for request_id, kind, department, document in rows:
        body = json.loads(document).get("body", {})
        found[request_id] = Answer(kind, _signer(body), department, str(body.get("conditions", "")),
                                   str(body.get("reason", "")), names.get(department or ""))
    return found
