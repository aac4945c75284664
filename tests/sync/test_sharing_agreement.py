"""Random step sequences from both departments' clients and the data authority, against a real exchange
(SQLite and PostgreSQL): after every action, and after both clients sync at the end, the requester's client,
the provider's client and the exchange each hold what a reference model says, so they agree with each other.

The model keeps, per request, the steps the exchange recorded, how many of them each client has pulled, and
each client's outbox. A client signs a step when the request as it knows it (pulled, plus its own unsent steps)
allows it; the exchange records a sent step when it follows the exchange's last step and the status allows it,
else refuses it and nothing changes. Whether a status allows a step is the reference model of
test_requests_model.py. The two departments and their entries are made once per database; each example makes
new requests on them, so an example only looks at its own requests.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from exchange import server_key, sharing
from exchange.ledger import Refused
from steward import sample
from steward.catalogue.errors import StewardError
from steward.sync.requests import inbox, local
from steward.workspace import journal
from steward.workspace.journal import CreateEntry
from tests.helpers import make_clean_entry
from tests.sync.test_requests_model import SIGNER_OF, body, model

PROVIDER, USING = sample.DEPARTMENTS[0], sample.DEPARTMENTS[2]
PARTIES = ("using", "provider")
VERDICT = {"review": ("pass", "reject"), "decision": ("approve", "refuse"), "outcome": ("grant", "deny")}


# The reference model ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """A step signed by a client and not sent yet: `prev` is the token of the step it follows (None: it opens)."""

    request: int
    token: int
    prev: int | None
    kind: str
    verdict: str | None


@dataclass
class Modelled:
    conditional: bool
    chain: list[int] = field(default_factory=list)  # the tokens of the steps the exchange recorded
    statuses: list[str] = field(default_factory=list)  # the status after each of them
    seen: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PARTIES, 0))  # steps each client pulled

    def status(self, steps: int) -> str | None:
        return self.statuses[steps - 1] if steps else None


class Reference:
    def __init__(self) -> None:
        self.requests: list[Modelled] = []
        self.outbox: dict[str, list[Signed]] = {party: [] for party in PARTIES}
        self._tokens = itertools.count(1)

    def _known(self, party: str, index: int) -> tuple[str | None, int | None]:
        """The request's status as `party`'s client knows it (its unsent steps applied), and its last step."""
        request = self.requests[index]
        status = request.status(request.seen[party])
        head = request.chain[request.seen[party] - 1] if request.seen[party] else None
        for signed in self.outbox[party]:
            if signed.request == index:
                status = "submitted" if signed.kind == "request" else model(status or "", signed.kind,
                                                                            signed.verdict, request.conditional)
                head = signed.token
        return status, head

    def open(self, party: str, conditional: bool) -> bool:
        if party != "using":  # the provider asking for its own entry
            return False
        self.requests.append(Modelled(conditional))
        self.outbox[party].append(Signed(len(self.requests) - 1, next(self._tokens), None, "request", None))
        return True

    def sign(self, party: str, index: int, kind: str, verdict: str | None) -> bool:
        status, head = self._known(party, index)
        if status is None or SIGNER_OF[kind] != party:
            return False
        if model(status, kind, verdict, self.requests[index].conditional) is None:
            return False
        self.outbox[party].append(Signed(index, next(self._tokens), head, kind, verdict))
        return True

    def _record(self, index: int, token: int, kind: str, verdict: str | None) -> bool:
        request = self.requests[index]
        if kind == "request":
            after = "submitted"
        elif not request.chain:
            return False
        else:
            after = model(request.statuses[-1], kind, verdict, request.conditional)
            if after is None:
                return False
        request.chain.append(token)
        request.statuses.append(after)
        return True

    def authority(self, index: int, kind: str, verdict: str) -> bool:
        return self._record(index, next(self._tokens), kind, verdict)

    def sync(self, party: str) -> tuple[int, int]:
        """Pull, send the outbox in order, pull again: how many steps were recorded and how many refused."""
        sent = refused = 0
        for signed in self.outbox[party]:
            request = self.requests[signed.request]
            follows = signed.prev == (request.chain[-1] if request.chain else None)
            if follows and self._record(signed.request, signed.token, signed.kind, signed.verdict):
                sent += 1
            else:
                refused += 1
        self.outbox[party] = []
        for request in self.requests:
            request.seen[party] = len(request.chain)
        return sent, refused

    def views(self) -> list[tuple[str | None, tuple[str, int] | None, tuple[str, int] | None]]:
        """Per request: the exchange's status, and each client's listed status and steps waiting (None: not listed)."""
        found = []
        for index, request in enumerate(self.requests):
            listed = []
            for party in PARTIES:
                waiting = sum(1 for s in self.outbox[party] if s.request == index)
                status = request.status(request.seen[party]) or (inbox.UNSENT if waiting else None)
                listed.append((status, waiting) if status else None)
            found.append((request.status(len(request.chain)), *listed))
        return found

    def guide(self, pick: int, yes: bool) -> tuple[str, str, int, bool]:
        """An action that takes request `pick` a step further (or opens one), so the random sequences go deep:
        mostly conditional requests that pass their review; `yes` approves or grants."""
        if not self.requests:
            return "request", "using", 0, pick % 4 != 3
        index = pick % len(self.requests)
        request = self.requests[index]
        for party in PARTIES:
            if any(signed.request == index for signed in self.outbox[party]):
                return "sync", party, index, True
        status, steps = request.statuses[-1], len(request.chain)
        if status == "submitted":
            return "review", "using", index, pick % 4 != 3
        if status == "awaiting_decision":
            return ("sync", "provider", index, True) if request.seen["provider"] < steps else \
                ("decision", "provider", index, yes)
        if status == "refused":
            return ("sync", "using", index, True) if request.seen["using"] < steps else \
                ("escalation", "using", index, True)
        if status == "escalated":
            return "outcome", "using", index, yes
        return "request", "using", index, pick % 4 != 3


# The real parties -------------------------------------------------------------------------------------


@dataclass
class World:
    exchange: tuple
    stewards: dict[str, object]
    entries: dict[bool, str]  # entry code, by conditional

    def __repr__(self) -> str:  # hypothesis prints the fixture with a failing example
        return f"World({self.exchange[0].db_url})"

    def signer(self, party: str) -> inbox.Steward:
        steward = self.stewards[party]
        return inbox.steward_of(steward.ws, steward.key)


@pytest.fixture
def world(exchange, make_steward) -> World:
    provider, using = make_steward(PROVIDER), make_steward(USING)
    ws = provider.ws
    entries = {True: make_clean_entry(provider=ws.department_name, provider_code=ws.department_code,
                                      sharing_type="conditional", sharing_conditions="经审批后共享",
                                      open_type="not_open"),
               False: make_clean_entry(provider=ws.department_name, provider_code=ws.department_code)}
    journal.apply(ws, [CreateEntry(entry) for entry in entries.values()])
    provider.sync()
    using.sync()
    return World(exchange, {"using": using, "provider": provider},
                 {conditional: entry.code for conditional, entry in entries.items()})


def _sign(world: World, party: str, request_id: str, kind: str, verdict: str | None) -> None:
    ws, signer = world.stewards[party].ws, world.signer(party)
    if kind == "decision" and verdict == "approve":
        inbox.approve(ws, signer, request_id, conditions="仅用于背景核查")
    elif kind == "decision":
        inbox.refuse(ws, signer, request_id, reason="涉及个人信息")
    elif kind == "escalation":
        inbox.escalate(ws, signer, request_id, reason="履行法定职责所必需")
    else:
        inbox.withdraw(ws, signer, request_id, reason="不再需要")


def _observed(world: World, ids: list[str]) -> list[tuple]:
    """What the exchange and each client hold of the requests `ids`, in the model's terms (views())."""
    _, engine = world.exchange
    at_exchange = {row.request_id: row.status for row in sharing.requests(engine, everything=True)}
    listed = {party: {s.request_id: (s.status, s.waiting_steps) for s in inbox.requests(world.stewards[party].ws)}
              for party in PARTIES}
    return [(at_exchange.get(rid), listed["using"].get(rid), listed["provider"].get(rid)) for rid in ids]


@dataclass(frozen=True)
class Action:
    what: str  # request, review, decision, escalation, withdrawal, outcome, sync, misplaced, or guided
    who: str  # for a request, a sync and a misplaced step: whose client
    pick: int  # which request of the example
    yes: bool  # conditional entry; pass, approve, grant (else reject, refuse, deny)


actions = st.builds(
    Action,
    what=st.sampled_from(["guided"] * 8 + ["request", "review", "decision", "escalation", "withdrawal", "outcome",
                                           "sync", "sync", "misplaced"]),
    who=st.sampled_from(PARTIES), pick=st.integers(0, 7), yes=st.booleans())


def _do(world: World, reference: Reference, ids: list[str], action: Action, authority_key) -> None:
    """Take `action` on the real parties and in the model, and check both accept or refuse it alike."""
    what, who, pick, yes = action.what, action.who, action.pick, action.yes
    if what == "guided":
        what, who, pick, yes = reference.guide(pick, yes)
    if what == "request":
        expected = reference.open(who, yes)
        try:
            step = inbox.new_request(world.stewards[who].ws, world.signer(who), world.entries[yes], purpose="核验",
                                     scenario="背景核查")
            ids.append(step.request_id)
            done = True
        except StewardError:
            done = False
        assert done == expected, action
        return
    if what == "sync":
        expected = reference.sync(who)
        report = world.stewards[who].sync()
        refused = [r for r in report.steps_refused if r["request_id"] in ids]
        assert (report.steps_sent, len(refused)) == expected, (action, report.steps_refused)
        if refused:
            event("a step made on a stale copy is refused by the exchange")
        return
    if not ids:
        return
    index = pick % len(ids)
    if what in ("review", "outcome"):
        verdict = VERDICT[what][0 if yes else 1]
        expected = reference.authority(index, what, verdict)
        _, engine = world.exchange
        try:
            sharing.authority_step(engine, authority_key, ids[index], body(what, verdict))
            done = True
        except (Refused, StewardError):
            done = False
    else:
        if what == "misplaced":  # the other department's step: the using one approves, the provider withdraws
            kind, verdict = ("decision", "approve") if who == "using" else ("withdrawal", None)
        else:
            kind, verdict = what, VERDICT[what][0 if yes else 1] if what in VERDICT else None
            who = SIGNER_OF[kind]
        expected = reference.sign(who, index, kind, verdict)
        try:
            _sign(world, who, ids[index], kind, verdict)
            done = True
        except StewardError:  # refused by the core before it is signed (StepRefused), or not known here
            done = False
    assert done == expected, action


# A conditional request passed, refused, escalated and granted (syncs between), then the next request opened.
DEEP = [Action("guided", "using", 0, False)] * 9 + [Action("guided", "using", 0, True)] * 3
STALE = [Action("request", "using", 0, True), Action("sync", "using", 0, True), Action("withdrawal", "using", 0, True),
         Action("review", "using", 0, False), Action("escalation", "using", 0, True), Action("sync", "using", 0, True)]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(actions, min_size=5, max_size=30))
@example(steps=DEEP)
@example(steps=STALE)
def test_both_clients_and_the_exchange_agree_on_every_request(world, steps):
    using, provider = world.stewards["using"], world.stewards["provider"]
    for steward in (using, provider):  # a failed example before this one may have left steps unsent
        with steward.ws.reading() as conn:
            if local.queued(conn):
                steward.sync()
    authority_key = server_key.load(world.exchange[0].key_file)
    reference, ids = Reference(), []
    for action in steps:
        _do(world, reference, ids, action, authority_key)
        assert _observed(world, ids) == reference.views(), action
    for party in ("using", "provider", "using"):
        reference.sync(party)
        world.stewards[party].sync()
    seen = _observed(world, ids)
    assert seen == reference.views()
    for at_exchange, by_using, by_provider in seen:
        assert by_using == by_provider == (at_exchange, 0)
        event(f"ends {at_exchange}")
    # The status bar's count of requests waiting for the provider's decision is the listing's, counted in SQL.
    waiting = [s for s in inbox.requests(provider.ws, inbox.Box.INBOX) if s.status == "awaiting_decision"]
    assert inbox.awaiting_answer_here(provider.ws) == len(waiting)
    _, engine = world.exchange
    recorded = {row.request_id for row in sharing.requests(engine, everything=True)}
    assert recorded >= set(ids)
    for index, request_id in enumerate(ids):
        for steward in (using, provider):
            recorded_here = [s.seq for s in inbox.show(steward.ws, request_id).trail if s.accepted_at is not None]
            assert recorded_here == list(range(1, len(reference.requests[index].chain) + 1))
