"""Sharing requests end to end: two departments' stewards and the data authority against a real exchange
(SQLite and PostgreSQL). Steps are signed offline, sent at the next sync, recorded in the exchange's log,
and pulled back verified; a third department verifies the redacted steps and learns nothing of them."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from exchange import cli as exchange_cli
from exchange import ledger, server_key
from steward import sample
from steward.catalogue.errors import StewardError
from steward.sync.requests import inbox
from steward.sync.requests.inbox import Box
from steward.sync.requests.refusals import StepRefused
from steward.workspace import journal
from steward.workspace.journal import CreateEntry
from tests.helpers import make_clean_entry

PROVIDER, THIRD, USING = sample.DEPARTMENTS[0], sample.DEPARTMENTS[1], sample.DEPARTMENTS[2]


def _create(steward, **overrides):
    ws = steward.ws
    entry = make_clean_entry(provider=ws.department_name, provider_code=ws.department_code, **overrides)
    journal.apply(ws, [CreateEntry(entry)])
    return entry


def _conditional(steward):
    return _create(steward, sharing_type="conditional", sharing_conditions="经审批后共享", open_type="not_open")


def _signer(steward) -> inbox.Steward:
    return inbox.steward_of(steward.ws, steward.key)


def _review(exchange, *args: str) -> None:
    local, _ = exchange
    assert exchange_cli.main(["review", *args, "--reviewer", "王五", "--db", local.db_url,
                              "--key-file", str(local.key_file)]) == 0


def _exchange_status(exchange, request_id) -> str:
    _, engine = exchange
    with engine.connect() as conn:
        return conn.execute(text("SELECT status FROM sharing_requests WHERE request_id = :r"),
                            {"r": request_id}).scalar_one()


def _status(steward, request_id) -> str:
    return inbox.show(steward.ws, request_id).summary.status


def _listed(steward, box, request_id):
    """The request in `box` (the exchange is the module's: the department's earlier requests are listed too)."""
    return [r for r in inbox.requests(steward.ws, box) if r.request_id == request_id]


def _agree(exchange, request_id, *stewards) -> str:
    """Every party's client and the exchange hold the same status for the request after a sync."""
    for steward in stewards:
        steward.sync()
    statuses = {_status(s, request_id) for s in stewards} | {_exchange_status(exchange, request_id)}
    assert len(statuses) == 1, statuses
    return statuses.pop()


@pytest.fixture
def cast(make_steward):
    provider, using, third = make_steward(PROVIDER), make_steward(USING), make_steward(THIRD)
    return provider, using, third


def test_an_unconditional_request_is_granted_by_the_review(exchange, cast):
    provider, using, _ = cast
    entry = _create(provider)
    provider.sync()
    using.sync()
    step = inbox.new_request(using.ws, _signer(using), entry.code, purpose="核验企业登记信息", scenario="背景核查",
                             items=["统一社会信用代码"])
    # Made offline: listed as mine, not sent yet.
    [mine] = _listed(using, Box.MINE, step.request_id)
    assert mine.status == inbox.UNSENT
    assert _agree(exchange, step.request_id, using, provider) == "submitted"
    [waiting] = _listed(provider, Box.INBOX, step.request_id)
    assert waiting.due is not None and not waiting.overdue
    assert waiting.purpose == "核验企业登记信息"

    _review(exchange, "pass", step.request_id)
    assert _agree(exchange, step.request_id, using, provider) == "granted"
    trail = inbox.show(using.ws, step.request_id).trail
    assert [(s.kind, s.signer, s.verified) for s in trail] == [("request", using.ws.facts()["key_steward"], True),
                                                               ("review", "王五", True)]
    assert trail[1].department is None and trail[0].accepted_at and trail[0].due


def test_a_conditional_request_through_refusal_escalation_and_outcome(exchange, cast):
    provider, using, third = cast
    entry = _conditional(provider)
    provider.sync()
    using.sync()
    request = inbox.new_request(using.ws, _signer(using), entry.id, purpose="核验", scenario="背景核查")
    using.sync()
    # Deciding before the review is refused here already, and records nothing.
    provider.sync()
    with pytest.raises(StepRefused) as caught:
        inbox.approve(provider.ws, _signer(provider), request.request_id)
    assert caught.value.code == "request.review_pending"

    _review(exchange, "pass", request.request_id)
    assert _agree(exchange, request.request_id, using, provider) == "awaiting_decision"
    [waiting] = _listed(provider, Box.INBOX, request.request_id)
    assert waiting.working_days_left is not None and waiting.working_days_left > 0
    # A blank reason is refused before it is signed.
    with pytest.raises(StepRefused) as caught:
        inbox.refuse(provider.ws, _signer(provider), request.request_id, reason="\u3000 ")
    assert caught.value.code == "request.blank"
    inbox.refuse(provider.ws, _signer(provider), request.request_id, reason="涉及个人信息")
    # Deciding twice, even offline, is refused.
    with pytest.raises(StepRefused):
        inbox.approve(provider.ws, _signer(provider), request.request_id)
    assert _agree(exchange, request.request_id, provider, using) == "refused"

    inbox.escalate(using.ws, _signer(using), request.request_id, reason="履行法定职责所必需")
    assert _agree(exchange, request.request_id, using, provider) == "escalated"
    _review(exchange, "settle", request.request_id, "--grant", "--conditions", "仅用于背景核查",
            "--reason", "经协调，依法应予共享")
    assert _agree(exchange, request.request_id, using, provider) == "granted"

    # The third department verified every record, the redacted ones too, and holds none of their content.
    report = third.sync()
    assert report.steps_pulled >= 5
    assert inbox.requests(third.ws, Box.ALL) == []
    with third.ws.reading() as conn:
        stored = [row[0] for row in conn.exec_driver_sql(
            "SELECT document FROM sharing_steps WHERE request_id = ?", (request.request_id,))]
    assert len(stored) == 5 and all("body" not in json.loads(doc) for doc in stored)
    assert not any("履行法定职责" in doc or "涉及个人信息" in doc for doc in stored)
    local, engine = exchange
    assert ledger.verify_log(engine, server_key.load(local.key_file).public) == []


def test_a_withdrawal_and_an_approval(exchange, cast):
    provider, using, _ = cast
    entry = _conditional(provider)
    provider.sync()
    using.sync()
    withdrawn = inbox.new_request(using.ws, _signer(using), entry.code, purpose="核验", scenario="背景核查")
    inbox.withdraw(using.ws, _signer(using), withdrawn.request_id, reason="不再需要")  # both sent at the next sync
    assert _agree(exchange, withdrawn.request_id, using, provider) == "withdrawn"

    approved = inbox.new_request(using.ws, _signer(using), entry.code, purpose="核验", scenario="背景核查")
    using.sync()
    _review(exchange, "pass", approved.request_id)
    provider.sync()
    inbox.approve(provider.ws, _signer(provider), approved.request_id, conditions="仅用于背景核查")
    assert _agree(exchange, approved.request_id, provider, using) == "approved"
    detail = inbox.show(using.ws, approved.request_id)
    assert detail.trail[-1].body["conditions"] == "仅用于背景核查"


def test_a_step_made_on_a_stale_copy_is_refused_by_the_exchange_and_kept_with_its_reason(exchange, cast):
    provider, using, _ = cast
    entry = _conditional(provider)
    provider.sync()
    using.sync()
    request = inbox.new_request(using.ws, _signer(using), entry.code, purpose="核验", scenario="背景核查")
    using.sync()
    provider.sync()
    _review(exchange, "reject", request.request_id, "--reason", "用途与职责不符")
    # The using department withdraws before it has heard of the rejection: the exchange refuses it.
    inbox.withdraw(using.ws, _signer(using), request.request_id)
    report = using.sync()
    [refused] = report.steps_refused
    assert (refused["request_id"], refused["code"]) == (request.request_id, "request.out_of_order")
    assert _agree(exchange, request.request_id, using, provider) == "rejected"
    trail = inbox.show(using.ws, request.request_id).trail
    assert [(s.kind, s.outbox) for s in trail][-1] == ("withdrawal", "refused")


def test_a_request_for_an_entry_of_ones_own_or_not_shared_is_refused_before_it_is_signed(cast):
    provider, using, _ = cast
    own = _create(provider)
    with pytest.raises(StepRefused) as caught:  # not on the exchange yet
        inbox.new_request(provider.ws, _signer(provider), own.code, purpose="核验", scenario="背景核查")
    assert caught.value.code == "request.entry_unknown"
    provider.sync()
    with pytest.raises(StepRefused) as caught:
        inbox.new_request(provider.ws, _signer(provider), own.code, purpose="核验", scenario="背景核查")
    assert caught.value.code == "request.own_entry"
    hidden = _create(provider, sharing_type="not_shared", sharing_conditions="《条例》第十条", open_type="not_open")
    provider.sync()
    using.sync()
    with pytest.raises(StepRefused) as caught:
        inbox.new_request(using.ws, _signer(using), hidden.code, purpose="核验", scenario="背景核查")
    assert caught.value.code == "request.not_shared"
    with pytest.raises(StewardError) as caught:
        inbox.new_request(using.ws, _signer(using), hidden.code, purpose="核验", scenario="背景核查", items=["无此项"])
    assert caught.value.code == "sharing.item_not_here"
    assert not [r for r in inbox.requests(using.ws) if r.entry_id == hidden.id]
