"""Sharing requests at a real exchange (SQLite and PostgreSQL): every step recorded in the hash-chained log, or
refused with a clear status and nothing recorded; the feed redacts steps for departments not party to them."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
import requests
from sqlalchemy import text

from exchange import admin_log, ledger, sharing
from exchange import cli as exchange_cli
from exchange.db import make_engine, migrate, writing
from exchange.ledger import Refused
from steward import sample
from steward.sync import changeset
from steward.sync.changeset import canonical
from steward.sync.exchange_client import ExchangeRefused
from steward.sync.keys import SigningKey, b64
from steward.sync.protocol import GENESIS, parse_time, sign_request, trusted_keys, utc_now, verify_feed
from steward.sync.requests import documents as docs
from steward.sync.requests.documents import (
    Application,
    Decision,
    DecisionVerdict,
    Escalation,
    Outcome,
    OutcomeVerdict,
    Review,
    ReviewVerdict,
    SealedStep,
    Step,
    Withdrawal,
)
from steward.sync.working_days import CHINA, WorkingCalendar, china_date, due_date
from tests.helpers import make_clean_entry

SERVE_ARGS = ("--refusal-budget", "0", "--decision-days", "7")  # refusals are what these tests make
PROVIDER, THIRD, USING = sample.DEPARTMENTS[0], sample.DEPARTMENTS[1], sample.DEPARTMENTS[2]


@dataclass
class Cast:
    provider: object
    using: object
    third: object


@pytest.fixture(scope="module")
def cast(server) -> Cast:
    return Cast(server.steward(PROVIDER), server.steward(USING), server.steward(THIRD))


def _created(steward, **overrides):
    entry = steward.entry(**overrides)
    status, _ = steward.client.push(steward.changeset([changeset.op_create(entry)]))
    assert status == 201
    return entry


def _conditional(steward):
    return _created(steward, sharing_type="conditional", sharing_conditions="经审批后共享", open_type="not_open")


def _request(steward, entry, items=None, **overrides) -> Step:
    values = {"entry_id": entry.id, "entry_code": entry.code, "provider": entry.provider_code,
              "purpose": "核验企业登记信息", "scenario": "网约车驾驶员背景核查",
              "items": tuple(items if items is not None else [entry.items[0].id]), "until": "2099-12-31",
              "author": "李四"}
    values.update(overrides)
    return docs.open_request(Application(**values), steward.key, steward.department)


def _after(previous, body, steward) -> Step:
    return docs.follow(previous, body, steward.key, steward.department)


def _review(server, previous, verdict=ReviewVerdict.PASS) -> Step:
    reason = "用途与职责不符" if verdict is ReviewVerdict.REJECT else ""
    return docs.follow(previous, Review(verdict=verdict, reason=reason, reviewer="王五"), _exchange_key(server), None)


def _exchange_key(server) -> SigningKey:
    from exchange import server_key

    return server_key.load(server.key_file)


def _approve(previous, steward) -> Step:
    return _after(previous, Decision(verdict=DecisionVerdict.APPROVE, conditions="仅用于背景核查", author="张三"),
                  steward)


def _refuse(previous, steward, reason="涉及个人信息，须另行授权") -> Step:
    return _after(previous, Decision(verdict=DecisionVerdict.REFUSE, reason=reason, author="张三"), steward)


def _refused(call) -> ExchangeRefused:
    with pytest.raises(ExchangeRefused) as caught:
        call()
    return caught.value


def _stored_status(server, request_id) -> str | None:
    with server.engine.connect() as conn:
        return conn.execute(text("SELECT status FROM sharing_requests WHERE request_id = :r"),
                            {"r": request_id}).scalar_one_or_none()


def _review_cli(server, *args: str) -> int:
    key_file = () if args[0] == "list" else ("--key-file", str(server.key_file))  # listing signs nothing
    return exchange_cli.main(["review", *args, "--db", server.db_url, *key_file])


# The workflows --------------------------------------------------------------------------------


def test_an_unconditional_request_is_granted_by_the_review_and_each_step_is_on_the_log(server, cast, capsys):
    entry = _created(cast.provider)
    request = _request(cast.using, entry)
    before = server.head()[0]
    recorded = cast.using.client.submit_step(request)
    assert recorded["position"] == before + 1 and recorded["status"] == "submitted"
    assert recorded["step_digest"] == request.digest()
    # The exchange stamps it, and the compliance review is due 2 working days later (its default policy).
    assert recorded["due"] == due_date(parse_time(recorded["accepted_at"]), 2, WorkingCalendar()).isoformat()

    assert _review_cli(server, "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert request.request_id in [row["request_id"] for row in listed]
    assert _review_cli(server, "pass", request.request_id, "--reviewer", "王五", "--by", "ops-zhao", "--json") == 0
    passed = json.loads(capsys.readouterr().out)
    assert passed["status"] == "granted" and passed["body"]["reviewer"] == "王五" and passed["due"] is None
    assert _stored_status(server, request.request_id) == "granted"
    # As a review in the console, it is also a record of the administration log naming who ran the command.
    with server.engine.connect() as conn:
        newest = admin_log.records(conn, 1)[0]
    assert (newest.action, newest.account) == ("request.review", "ops-zhao")
    assert newest.details == {"request_id": request.request_id, "verdict": "pass", "status": "granted",
                              "position": passed["position"]}
    assert server.verify_log() == []


def test_a_conditional_request_goes_to_the_provider_and_through_escalation_to_the_outcome(server, cast, capsys):
    entry = _conditional(cast.provider)
    request = _request(cast.using, entry)
    cast.using.client.submit_step(request)
    review = _review(server, request)
    recorded = sharing.record(server.engine, _exchange_key(server), review)
    assert recorded["status"] == "awaiting_decision"
    # The provider's decision is due in the exchange's configured days (this module serves with 7).
    assert recorded["due"] == due_date(parse_time(recorded["accepted_at"]), 7, WorkingCalendar()).isoformat()
    refusal = _refuse(review, cast.provider)
    assert cast.provider.client.submit_step(refusal)["status"] == "refused"
    escalation = _after(refusal, Escalation(reason="履行法定职责所必需", author="李四"), cast.using)
    assert cast.using.client.submit_step(escalation)["status"] == "escalated"
    assert _review_cli(server, "settle", request.request_id, "--grant", "--conditions", "仅用于背景核查",
                       "--reason", "经协调，依法应予共享", "--reviewer", "王五") == 0
    assert "granted" in capsys.readouterr().out
    assert _stored_status(server, request.request_id) == "granted"
    assert server.verify_log() == []


def test_an_approval_and_a_withdrawal(server, cast):
    entry = _conditional(cast.provider)
    approved = _request(cast.using, entry)
    cast.using.client.submit_step(approved)
    review = _review(server, approved)
    sharing.record(server.engine, _exchange_key(server), review)
    assert cast.provider.client.submit_step(_approve(review, cast.provider))["status"] == "approved"

    withdrawn = _request(cast.using, entry)
    cast.using.client.submit_step(withdrawn)
    withdrawal = _after(withdrawn, Withdrawal(reason="不再需要", author="李四"), cast.using)
    assert cast.using.client.submit_step(withdrawal)["status"] == "withdrawn"
    assert server.verify_log() == []


def test_the_server_information_publishes_the_deadline_policy(server):
    info = requests.get(f"{server.url}/v1/server", timeout=10).json()
    assert info["deadline_policy"] == {"format": "steward.deadline-policy/1", "review_days": 2, "decision_days": 7}
    assert info["calendar_override"] is None


# Refused, and nothing recorded ---------------------------------------------------------------------


@pytest.fixture
def awaiting(server, cast) -> tuple[object, Step]:
    """A conditional request that passed its review: (its entry, the review)."""
    entry = _conditional(cast.provider)
    request = _request(cast.using, entry)
    cast.using.client.submit_step(request)
    review = _review(server, request)
    sharing.record(server.engine, _exchange_key(server), review)
    return entry, review


def _refusal(server, steward, step) -> ExchangeRefused:
    with server.unchanged():
        return _refused(lambda: steward.client.submit_step(step))


def test_a_decision_signed_by_another_departments_key_is_refused(server, cast, awaiting):
    _, review = awaiting
    error = _refusal(server, cast.third, _approve(review, cast.third))
    assert (error.status, error.code) == (403, "request.not_provider")


def test_a_department_cannot_request_its_own_entry(server, cast):
    entry = _created(cast.provider)
    error = _refusal(server, cast.provider, _request(cast.provider, entry))
    assert (error.status, error.code) == (403, "request.own_entry")


def test_a_review_or_an_outcome_signed_by_a_steward_key_is_refused(server, cast):
    entry = _conditional(cast.provider)
    request = _request(cast.using, entry)
    cast.using.client.submit_step(request)
    forged = docs.follow(request, Review(verdict=ReviewVerdict.PASS, reviewer="王五"), cast.using.key, None)
    assert (_refusal(server, cast.using, forged).code) == "request.not_exchange"
    forged = docs.follow(request, Outcome(verdict=OutcomeVerdict.GRANT, reason="准予", reviewer="王五"),
                         cast.provider.key, None)
    assert _refusal(server, cast.provider, forged).status == 403


def test_a_step_signed_by_the_exchange_key_cannot_be_sent_by_a_steward(server, cast):
    entry = _conditional(cast.provider)
    request = _request(cast.using, entry)
    cast.using.client.submit_step(request)
    error = _refusal(server, cast.using, _review(server, request))
    assert (error.status, error.code) == (403, "key_mismatch")


def test_deciding_before_the_review_twice_withdrawn_or_settled_is_refused(server, cast, awaiting):
    entry = _conditional(cast.provider)
    early = _request(cast.using, entry)
    cast.using.client.submit_step(early)
    assert _refusal(server, cast.provider, _approve(early, cast.provider)).code == "request.review_pending"

    _, review = awaiting
    decision = _approve(review, cast.provider)
    cast.provider.client.submit_step(decision)
    assert _refusal(server, cast.provider, _refuse(decision, cast.provider)).code == "request.already_decided"

    withdrawn = _request(cast.using, entry)
    cast.using.client.submit_step(withdrawn)
    withdrawal = _after(withdrawn, Withdrawal(reason="", author="李四"), cast.using)
    cast.using.client.submit_step(withdrawal)
    assert _refusal(server, cast.provider, _approve(withdrawal, cast.provider)).code == "request.withdrawn"

    granted = _request(cast.using, _created(cast.provider))
    cast.using.client.submit_step(granted)
    review = _review(server, granted)
    sharing.record(server.engine, _exchange_key(server), review)
    error = _refusal(server, cast.provider, _approve(review, cast.provider))
    assert (error.status, error.code) == (409, "request.settled")


def test_requests_for_what_cannot_be_shared_are_refused(server, cast):
    not_shared = _created(cast.provider, sharing_type="not_shared", sharing_conditions="《条例》第十条",
                          open_type="not_open")
    assert _refusal(server, cast.using, _request(cast.using, not_shared)).code == "request.not_shared"
    retired = _created(cast.provider, status="retired")
    assert _refusal(server, cast.using, _request(cast.using, retired)).code == "request.entry_retired"
    entry = _created(cast.provider)
    unknown_item = _request(cast.using, entry, items=["0193a5c2-7d4e-7f10-8a2b-3c4d5e6f7a81"])
    error = _refusal(server, cast.using, unknown_item)
    assert (error.status, error.code) == (422, "request.item_unknown")
    unknown_entry = _request(cast.using, entry, entry_id="0193a5c2-7d4e-7f10-8a2b-3c4d5e6f7a82")
    assert _refusal(server, cast.using, unknown_entry).code == "request.entry_unknown"


def test_a_blank_reason_is_refused(server, cast, awaiting):
    _, review = awaiting
    body = Decision(verdict=DecisionVerdict.REFUSE, reason="\u3000 ", author="张三")
    unsigned = SealedStep(docs.StepKind.DECISION, review.request_id, review.seq + 1, review.digest(),
                          cast.provider.key.key_id, cast.provider.department, docs.body_hash(body))
    signed = replace(unsigned, signature=b64(cast.provider.key.sign(unsigned.signed_message())))
    document = Step(signed, body).to_dict()  # signed as it is: docs.sign refuses to make such a step
    error = _raw_refusal(server, cast.provider.key, document)
    assert (error["status"], error["code"]) == (422, "request.blank")


def _raw_refusal(server, key, document) -> dict:
    body = canonical(document)
    with server.unchanged():
        answer = requests.post(f"{server.url}/v1/steps", data=body, timeout=30,
                               headers={"Content-Type": "application/json",
                                        **sign_request(key, "POST", "/v1/steps", body)})
    return {"status": answer.status_code, **answer.json()["error"]}


def test_unknown_members_are_refused_naming_them(server, cast):
    document = _request(cast.using, _created(cast.provider)).to_dict()
    document["body"]["priority"] = "high"
    error = _raw_refusal(server, cast.using.key, document)
    assert (error["status"], error["code"]) == (422, "request.invalid")
    assert {"path": "body.priority", "reason": "unknown member"} in error["details"]


def test_replays_and_reordered_steps_are_refused(server, cast, awaiting):
    entry, review = awaiting
    decision = _refuse(review, cast.provider)
    recorded = cast.provider.client.submit_step(decision)
    error = _refusal(server, cast.provider, decision)
    assert (error.status, error.code) == (409, "request.replayed")
    assert error.details == [{"position": recorded["position"], "step_digest": decision.digest()}]

    request = _request(cast.using, entry)
    cast.using.client.submit_step(request)
    second = _review(server, request)
    third = _approve(second, cast.provider)  # sent before the review it follows was recorded
    error = _refusal(server, cast.provider, third)
    assert (error.status, error.code) == (409, "request.out_of_order")


def test_an_unknown_key_is_refused_before_anything(server, cast):
    stranger = SigningKey.generate()
    document = docs.open_request(Application(entry_id="0193a5c2-7d4e-7f10-8a2b-3c4d5e6f7a81", entry_code="x",
                                             provider=cast.provider.department, purpose="p", scenario="s",
                                             items=("0193a5c2-7d4e-7f10-8a2b-3c4d5e6f7a81",), until="2099-01-01",
                                             author="某"), stranger, cast.using.department).to_dict()
    error = _raw_refusal(server, stranger, document)
    assert (error["status"], error["code"]) == (401, "unauthenticated")


# The feed ---------------------------------------------------------------------------------------


def test_the_feed_shows_steps_whole_to_their_parties_and_redacted_to_others(server, cast):
    entry = _conditional(cast.provider)
    request = _request(cast.using, entry, purpose="极其机密的用途")
    cast.using.client.submit_step(request)
    keys = trusted_keys(cast.third.client.keys(), server.public)
    seen = {}
    for who in ("using", "provider", "third"):
        steward = getattr(cast, who)
        records, after = [], 0
        while True:
            page = steward.client.feed(after, 1000)
            verify_feed(page["records"], page["checkpoint"], server.public, keys, after,
                        records[-1]["hash"] if records else GENESIS)
            records.extend(page["records"])
            after = records[-1]["position"]
            if not page["more"]:
                break
        [mine] = [r for r in records if r.get("step_digest") == request.digest()]
        seen[who] = mine["step"]
    assert seen["using"] == seen["provider"] == request.to_dict()
    assert "body" not in seen["third"] and seen["third"]["body_sha256"] == request.sealed.body_sha256
    assert "极其机密" not in json.dumps(seen["third"], ensure_ascii=False)


def test_the_documents_step_record_example_hashes_as_stated():
    """docs/protocol.md § 5's step record, checked with hashlib and rfc8785 only, as an independent client would."""
    import hashlib
    import re

    import rfc8785

    from tests.helpers import ROOT

    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    [answer] = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", doc, re.S)
                if '"step_digest"' in block and '"status"' in block]
    header = {name: answer[name] for name in ("step_digest", "due", "accepted_at", "position")}
    header["prev_hash"] = "293edf895e643c1479308886c27526b0b480937c0e991199a8aeb0352fcfaa7b"  # § 5's record 2
    expected = hashlib.sha256(b"steward-feed-step-v1\n" + rfc8785.dumps(header)).hexdigest()
    assert answer["hash"] == expected
    assert f'"hash": "{expected}"' in doc.split("the request of § 3a's example recorded after")[1]


def test_the_authoritys_list_holds_what_waits_for_it_and_all_lists_everything(server, cast):
    waiting = _request(cast.using, _conditional(cast.provider))
    cast.using.client.submit_step(waiting)
    settled = _request(cast.using, _created(cast.provider))
    cast.using.client.submit_step(settled)
    sharing.record(server.engine, _exchange_key(server), _review(server, settled))
    listed = {row.request_id: row.status for row in sharing.requests(server.engine)}
    assert listed.get(waiting.request_id) == "submitted" and settled.request_id not in listed
    everything = {row.request_id: row.status for row in sharing.requests(server.engine, everything=True)}
    assert everything[settled.request_id] == "granted"


def test_serve_records_and_publishes_its_calendar_override_and_policy(fresh_db_url, tmp_path):
    from exchange.db import make_engine
    from exchange.local import LocalExchange

    override = {"format": "steward.calendar-override/1",
                "years": {"2027": {"holidays": ["2027-10-01", "2027-10-04"], "workdays": ["2027-09-26"]}}}
    path = tmp_path / "override.json"
    path.write_text(json.dumps(override), encoding="utf-8")
    local = LocalExchange.start(fresh_db_url, tmp_path / "key.json", tmp_path / "serve.log",
                                extra=("--calendar-override", str(path), "--review-days", "3"))
    try:
        info = requests.get(f"{local.url}/v1/server", timeout=10).json()
    finally:
        local.stop()
    assert info["calendar_override"] == override
    assert info["deadline_policy"]["review_days"] == 3
    engine = make_engine(fresh_db_url)
    try:  # what the review commands count with, after the server stopped
        recorded = sharing.deadlines(engine)
    finally:
        engine.dispose()
    assert recorded.policy.review_days == 3 and recorded.calendar().knows(2027)
    assert not recorded.calendar().is_working_day(date(2027, 10, 4)) and recorded.calendar().is_working_day(
        date(2027, 9, 26))


def test_serve_refuses_a_calendar_override_with_a_mistake(fresh_db_url, tmp_path):
    path = tmp_path / "override.json"
    path.write_text('{"format": "steward.calendar-override/1", "years": {"2027": {"holidays": ["2027-10-32"], '
                    '"workdays": []}}}', encoding="utf-8")
    code = exchange_cli.main(["serve", "--db", fresh_db_url, "--key-file", str(tmp_path / "key.json"),
                              "--calendar-override", str(path)])
    assert code == 2



def test_overdue_per_department_counts_the_decisions_past_their_due_date_by_provider(server, cast):
    waiting = _request(cast.using, _conditional(cast.provider))
    cast.using.client.submit_step(waiting)
    review = _review(server, waiting)
    due = date.fromisoformat(sharing.record(server.engine, _exchange_key(server), review)["due"])
    on_due_day = datetime.combine(due, time(23, 59), tzinfo=CHINA)
    next_day = on_due_day + timedelta(minutes=2)

    def counts() -> tuple[int, int]:
        return tuple(sharing.overdue_per_department(server.engine, moment).get(PROVIDER.code, 0)
                     for moment in (on_due_day, next_day))

    waiting_counts = counts()
    # Answering it takes it out of the next day's count, and changes nothing on its due day, when it was not late.
    cast.provider.client.submit_step(_approve(review, cast.provider))
    answered_counts = counts()
    assert answered_counts == (waiting_counts[0], waiting_counts[1] - 1)
    assert USING.code not in sharing.overdue_per_department(server.engine, next_day)  # it owes no answer


# What the exchange keeps between steps, and what it reads again under the write lock ------------------------


def test_an_entry_retired_and_restored_between_two_requests_is_seen_each_time(server, cast):
    entry = _conditional(cast.provider)
    assert cast.using.client.submit_step(_request(cast.using, entry))["status"] == "submitted"
    assert cast.provider.client.push(cast.provider.changeset([changeset.op_retire(entry.id, 1)]))[0] == 201
    assert _refusal(server, cast.using, _request(cast.using, entry)).code == "request.entry_retired"
    assert cast.provider.client.push(cast.provider.changeset([changeset.op_restore(entry.id, 2)]))[0] == 201
    assert cast.using.client.submit_step(_request(cast.using, entry))["status"] == "submitted"


def test_a_key_revoked_between_two_steps_is_refused(server, cast):
    using = server.steward(USING)
    request = _request(using, _conditional(cast.provider))
    using.client.submit_step(request)
    ledger.revoke(server.engine, using.key.key_id)
    error = _refusal(server, using, _after(request, Withdrawal(reason="", author="李四"), using))
    assert (error.status, error.code) == (403, "key_revoked")


def test_a_key_the_exchange_rotated_to_signs_steps_a_process_checks_after_reading_the_keys(fresh_db_url):
    engine = make_engine(fresh_db_url)
    migrate(engine)
    old, new, provider, using = (SigningKey.generate() for _ in range(4))
    try:
        ledger.record_exchange_key(engine, old.public)
        exchange = ledger.exchange_id(engine)
        for department, key in ((PROVIDER, provider), (USING, using)):
            ledger.add_department(engine, department.code, department.name)
            ledger.enroll(engine, department.code, key.public)
        entry = make_clean_entry(provider=PROVIDER.name, provider_code=PROVIDER.code)
        ledger.push(engine, old, exchange, changeset.new_changeset(PROVIDER.code, provider, 1, utc_now(), "张三", [
            changeset.op_create(entry)]), ledger.lookup_key(engine, provider.key_id))
        application = Application(entry_id=entry.id, entry_code=entry.code, provider=PROVIDER.code, purpose="核验",
                                  scenario="核查", items=(entry.items[0].id,), until="2099-12-31", author="李四")
        first = docs.open_request(application, using, USING.code)
        sharing.record(engine, old, first)
        sharing.record(engine, old, docs.follow(first, Review(verdict=ReviewVerdict.PASS, reviewer="王五"), old, None))
        ledger.rotate_exchange_key(engine, old, new, exchange)
        second = docs.open_request(application, using, USING.code)
        sharing.record(engine, new, second)
        review = docs.follow(second, Review(verdict=ReviewVerdict.PASS, reviewer="王五"), new, None)
        assert sharing.record(engine, new, review)["status"] == "granted"
    finally:
        engine.dispose()


def test_a_step_whose_request_changed_after_its_check_is_checked_again_under_the_lock(server, cast, awaiting):
    _, review = awaiting
    approval = _approve(review, cast.provider)
    checked = sharing.check(server.engine, approval)  # the check without the lock passes, then another answer lands
    cast.provider.client.submit_step(_refuse(review, cast.provider))
    error = _refused_under_lock(server, approval, checked)
    assert (error.status, error.code) == (409, "request.out_of_order")
    assert _stored_status(server, review.request_id) == "refused"


def test_a_request_whose_entry_changed_after_its_check_is_checked_again_under_the_lock(server, cast):
    entry = _conditional(cast.provider)
    request = _request(cast.using, entry)
    checked = sharing.check(server.engine, request)
    assert cast.provider.client.push(cast.provider.changeset([changeset.op_retire(entry.id, 1)]))[0] == 201
    error = _refused_under_lock(server, request, checked)
    assert (error.status, error.code) == (422, "request.entry_retired")
    assert _stored_status(server, request.request_id) is None


def test_a_key_revoked_after_the_check_is_refused_under_the_lock(server, cast):
    using = server.steward(USING)
    request = _request(using, _conditional(cast.provider))
    checked = sharing.check(server.engine, request, known=ledger.lookup_key(server.engine, using.key.key_id))
    ledger.revoke(server.engine, using.key.key_id)  # after the request was authenticated and checked
    error = _refused_under_lock(server, request, checked)
    assert (error.status, error.code) == (403, "key_revoked")
    assert _stored_status(server, request.request_id) is None


def test_a_request_checked_on_one_day_and_stamped_on_the_next_is_checked_again_on_that_day(server, cast):
    moment = datetime.now(UTC)
    request = _request(cast.using, _conditional(cast.provider), until=china_date(moment).isoformat())  # its last day
    checked = sharing.check(server.engine, request, lambda: moment)
    error = _refused_under_lock(server, request, checked, lambda: moment + timedelta(days=1))
    assert (error.status, error.code) == (422, "request.until_past")


def _refused_under_lock(server, step, checked, clock=sharing._now) -> Refused:
    """The refusal of `step`, `checked` before the lock, once the lock is taken (as record() goes on after check())."""
    config = sharing.deadlines(server.engine)
    with pytest.raises(Refused) as refused, server.unchanged(), writing(server.engine) as conn:
        sharing.record_locked(conn, _exchange_key(server), step, config, clock, checked)
    return refused.value
