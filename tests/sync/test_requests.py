"""Sharing requests: the signed steps' format, every transition of the state machine, and every refusal."""

from __future__ import annotations

import json
import string
from dataclasses import replace
from datetime import date, timedelta

import pytest

from steward.catalogue.messages import MESSAGES, Phrase, render
from steward.catalogue.rules import MAX_TEXT
from steward.sync import changeset
from steward.sync.changeset import canonical, strict_json
from steward.sync.keys import SigningKey, b64, unb64
from steward.sync.protocol import GENESIS, REQUEST_TAG, request_message
from steward.sync.requests import documents as docs
from steward.sync.requests.documents import (
    Decision,
    DecisionVerdict,
    Escalation,
    Outcome,
    OutcomeVerdict,
    Review,
    ReviewVerdict,
    StepKind,
    Withdrawal,
    parse_sealed,
    parse_step,
)
from steward.sync.requests.refusals import StepInvalid, StepRefused
from steward.sync.requests.state import Context, RequestStatus, apply, status_on
from tests.helpers import make_clean_entry
from tests.sync.sharing import (
    CONDITIONAL,
    CONTEXT,
    ENTRIES,
    EXCHANGE,
    NOT_SHARED,
    OUTSIDER,
    OWN_OF_USING,
    PROVIDER,
    PROVIDER_STEWARD,
    REQUESTER,
    RETIRED,
    SIGNERS,
    TODAY,
    UNCONDITIONAL,
    USING,
    WITH_CONDITIONAL_ITEM,
    WITH_HIDDEN_ITEM,
    Party,
    application,
    approve,
    chain,
    escalate,
    outcome,
    refuse,
    request,
    review,
    run,
    step_after,
    withdraw,
)


def refused(code: str, *steps, context: Context = CONTEXT) -> StepRefused:
    """Apply all but the last step, then check the last is refused with `code` and changes nothing."""
    state = run(*steps[:-1], context=context) if len(steps) > 1 else None
    with pytest.raises(StepRefused) as caught:
        apply(state, steps[-1], context)
    assert caught.value.code == code, caught.value.message("en")
    return caught.value


def body_refused(code: str, make) -> StepRefused:  # type: ignore[no-untyped-def]
    with pytest.raises(StepRefused) as caught:
        make()
    assert caught.value.code == code, caught.value.message("en")
    return caught.value


# The documents ----------------------------------------------------------------------------


def every_kind() -> list[docs.Step]:
    first = request()
    passed = review(first)
    refusal = refuse(passed)
    escalation = escalate(refusal)
    return [first, passed, refusal, escalation, outcome(escalation), withdraw(first), approve(passed)]


@pytest.mark.parametrize("step", every_kind(), ids=lambda s: f"{s.kind}")
def test_each_kind_of_step_survives_the_wire_and_verifies(step):
    document = strict_json(json.dumps(step.to_dict(), indent=2, ensure_ascii=True).encode())  # any JSON spelling
    again = parse_step(document)
    assert again == step
    assert again.verify(SIGNERS[step.key_id].public)
    assert not again.verify(OUTSIDER.key.public)
    assert set(document) == {"format", "kind", "request_id", "seq", "prev", "key_id", "department", "body",
                             "signature"}
    assert document["format"] == "steward.sharing-step/1"


def test_a_request_opens_a_chain_and_each_step_names_the_one_before():
    first, passed, decided = chain(request, review, approve)
    assert (first.seq, first.prev) == (1, GENESIS)
    assert (passed.seq, passed.prev) == (2, first.digest())
    assert (decided.seq, decided.prev, decided.request_id) == (3, passed.digest(), first.request_id)


def test_the_signature_covers_the_header_and_the_bodys_hash_under_its_own_tag():
    step = request()
    message = b"steward-sharing-step-v1\n" + canonical({
        "format": "steward.sharing-step/1", "kind": "request", "request_id": step.request_id, "seq": 1,
        "prev": GENESIS, "key_id": REQUESTER.key.key_id, "department": USING,
        "body_sha256": changeset.sha256_hex(b"steward-sharing-body-v1\n" + canonical(step.to_dict()["body"])),
    })
    assert REQUESTER.key.public.verify(unb64(step.sealed.signature), message)
    assert step.digest() == changeset.sha256_hex(canonical(step.sealed.to_dict()))


@pytest.mark.parametrize("member,value", [
    ("kind", "withdrawal"), ("request_id", "3d9f0c2e-7a41-4b8e-8f5d-2c6b1e9a7d30"), ("seq", 7), ("prev", "1" * 64),
    ("department", OUTSIDER.department), ("key_id", OUTSIDER.key.key_id),
])
def test_changing_any_header_member_breaks_the_signature(member, value):
    step = escalate(refuse(review(request())))  # an escalation's body is a withdrawal's too
    parsed = parse_step({**step.to_dict(), member: value})
    assert not parsed.verify(REQUESTER.key.public)
    assert not parsed.verify(OUTSIDER.key.public)


@pytest.mark.parametrize("member,value", [
    ("purpose", "核验其他信息"), ("scenario", "其他场景"), ("until", "2028-01-01"), ("author", "赵六"),
    ("nonce", "0" * 32), ("entry_code", "319001/999999"),
])
def test_changing_any_body_member_breaks_the_signature(member, value):
    step = request()
    document = step.to_dict()
    document["body"][member] = value
    assert not parse_step(document).verify(REQUESTER.key.public)


def test_changing_the_items_breaks_the_signature():
    step = request(items=[item.id for item in CONDITIONAL.items])
    document = step.to_dict()
    document["body"]["items"] = document["body"]["items"][::-1]
    assert not parse_step(document).verify(REQUESTER.key.public)


def test_a_changeset_signature_does_not_verify_as_a_step_nor_the_other_way_round():
    step = request()
    # The step's very bytes signed under the changeset's tag (and the request tag) are not a step's signature...
    bare = step.sealed.signed_message().removeprefix(docs.SIGNING_TAG)
    for tag in (changeset.SIGNING_TAG, REQUEST_TAG):
        forged = replace(step.sealed, signature=b64(REQUESTER.key.sign(tag + bare)))
        assert not forged.verify(REQUESTER.key.public)
    # ...and a step's signature over a changeset's bytes is no changeset's.
    cs = changeset.new_changeset(USING, REQUESTER.key, 1, "2026-11-25T08:00:00.000Z", "李四",
                                 [changeset.op_create(make_clean_entry(provider_code=USING))])
    forged_cs = changeset.Changeset(cs.id, cs.department, cs.key_id, cs.seq, cs.created_at, cs.author, cs.operations,
                                    b64(REQUESTER.key.sign(docs.SIGNING_TAG + cs.canonical_unsigned)))
    assert changeset.verify(cs, REQUESTER.key.public)
    assert not changeset.verify(forged_cs, REQUESTER.key.public)
    # A signature over the step's message does not authenticate a request to the exchange either.
    message = request_message("POST", "/v1/requests", "2026-11-25T08:00:00.000Z", b"", REQUESTER.key.key_id)
    assert not REQUESTER.key.public.verify(unb64(step.sealed.signature), message)


def test_the_tags_are_distinct_and_none_is_a_prefix_of_another():
    from steward.sync import protocol

    tags = [docs.SIGNING_TAG, docs.BODY_TAG, changeset.SIGNING_TAG, protocol.REQUEST_TAG, protocol.RECORD_TAG,
            protocol.RECEIPT_TAG, protocol.CHECKPOINT_TAG, protocol.ENROLLMENT_TAG, protocol.KEY_ROTATION_TAG,
            protocol.DEPARTMENT_TAG]
    assert all(not a.startswith(b) for a in tags for b in tags if a is not b)


def _invalid(document) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(StepInvalid) as caught:
        parse_step(document)
    assert caught.value.code == "request.invalid"
    return [f"{p.path}: {p.reason}" for p in caught.value.problems]


def test_unknown_members_are_refused_in_the_header_and_in_the_body():
    document = request().to_dict()
    assert _invalid({**document, "note": "x"}) == ["note: unknown member"]
    document["body"]["priority"] = "high"
    document["body"]["\udfff名"] = 1
    assert _invalid(document) == ["body.priority: unknown member", "body.'\\udfff名': unknown member"]


def test_missing_members_are_refused():
    document = request().to_dict()
    del document["prev"]
    del document["body"]["purpose"]
    assert _invalid(document) == ["prev: missing", "body.purpose: missing"]


@pytest.mark.parametrize("path,value,reason", [
    ("format", "steward.changeset/1", "must be steward.sharing-step/1"),
    ("kind", "appeal", "must be one of request, review, decision, escalation, outcome, withdrawal"),
    ("request_id", "3D9F0C2E-7A41-4B8E-8F5D-2C6B1E9A7D30", "must be a lowercase UUID"),
    ("seq", 0, "must be an integer from 1 to 9007199254740991"),
    ("seq", True, "must be an integer from 1 to 9007199254740991"),
    ("seq", 2**53, "must be an integer from 1 to 9007199254740991"),
    ("prev", "0" * 63, "must be 64 lowercase hex digits"),
    ("key_id", "ABC", "must be 32 lowercase hex digits"),
    ("department", "11310000MB2F41826A", "must be a valid 统一社会信用代码"),
    ("department", None, "must be a valid 统一社会信用代码"),
    ("signature", "not base64", "must be a base64 Ed25519 signature"),
    ("body.entry_id", 12, "must be a lowercase UUID"),
    ("body.provider", "", "must be a valid 统一社会信用代码"),
    ("body.purpose", ["核验"], "must be a string"),
    ("body.purpose", "用" * (MAX_TEXT + 1), f"longer than {MAX_TEXT} characters"),
    ("body.scenario", "背景\x85核查", "contains the refused character U+0085"),
    ("body.author", "\ud800", "contains the refused character U+D800"),
    ("body.items", [], "must be a list of 1 to 10000 data item ids"),
    ("body.items", "0b7e5c1a-3f2d-4e8b-9c6a-1d2e3f4a5b6c", "must be a list of 1 to 10000 data item ids"),
    ("body.items[0]", None, "must be a lowercase UUID"),
    ("body.until", "2027-02-30", "must be a date that exists, written YYYY-MM-DD"),
    ("body.until", "2027/12/31", "must be a date that exists, written YYYY-MM-DD"),
    ("body.nonce", "00", "must be 32 lowercase hex digits"),
])
def test_each_member_is_checked_for_its_type_and_length(path, value, reason):
    document = request().to_dict()
    target, name = (document["body"], path[5:]) if path.startswith("body.") else (document, path)
    if name == "items[0]":
        target["items"] = [value]
    else:
        target[name] = value
    assert _invalid(document) == [f"{path}: {reason}"]


def test_a_duplicate_item_is_refused():
    document = request().to_dict()
    document["body"]["items"] *= 2
    assert _invalid(document) == ["body.items[1]: appears twice"]


def test_text_is_counted_in_code_points_as_in_changesets():
    step = request(purpose="😀" * MAX_TEXT)
    assert parse_step(step.to_dict()).body.purpose == "😀" * MAX_TEXT


def test_who_signs_a_kind_shows_in_its_department_member():
    document = review(request()).to_dict()
    assert document["department"] is None
    assert _invalid({**document, "department": PROVIDER}) == [
        "department: must be null: the exchange's key signs this kind of step"]


@pytest.mark.parametrize("kind,body", [
    ("review", {"verdict": "approve", "reason": "", "reviewer": "王五", "nonce": "0" * 32}),
    ("decision", {"verdict": "grant", "conditions": "", "reason": "", "author": "张三", "nonce": "0" * 32}),
])
def test_a_verdict_is_one_of_its_kinds(kind, body):
    document = {**review(request()).to_dict(), "kind": kind, "body": body}
    if kind == "decision":
        document["department"] = PROVIDER
    [problem] = _invalid(document)
    assert problem.startswith("body.verdict: must be one of")


def test_parsing_a_non_object_is_refused():
    for value in (None, [], "step", 1):
        assert _invalid(value) == [": a step is a JSON object"]


# Reasons that say nothing -----------------------------------------------------------------

BLANKS = ["", " ", "\t\n", "\u3000\u3000", "\u200b", " \ufeff\u2028"]


@pytest.mark.parametrize("blank", BLANKS)
def test_a_refusal_needs_a_reason_that_says_something(blank):
    error = body_refused("request.blank", lambda: refuse(review(request()), reason=blank))
    assert error.message("zh") == "理由不能为空，也不能只有空格"
    assert error.message("en") == "The reason cannot be empty or only spaces"


@pytest.mark.parametrize("blank", BLANKS[:3])
@pytest.mark.parametrize("make", [
    lambda blank: docs.follow(request(), Review(verdict=ReviewVerdict.REJECT, reason=blank, reviewer="王五"),
                              EXCHANGE.key, None),
    lambda blank: docs.follow(request(), Review(verdict=ReviewVerdict.PASS, reviewer=blank), EXCHANGE.key, None),
    lambda blank: step_after(refuse(review(request())), Escalation(reason=blank, author="李四"), REQUESTER),
    lambda blank: docs.follow(escalate(refuse(review(request()))),
                              Outcome(verdict=OutcomeVerdict.DENY, reason=blank, reviewer="王五"), EXCHANGE.key, None),
    lambda blank: docs.follow(escalate(refuse(review(request()))),
                              Outcome(verdict=OutcomeVerdict.GRANT, reason=blank, reviewer="王五"), EXCHANGE.key, None),
    lambda blank: request(purpose=blank),
    lambda blank: request(scenario=blank),
], ids=["rejection", "reviewer", "escalation", "denial", "grant-outcome", "purpose", "scenario"])
def test_every_member_that_must_say_something_is_checked(blank, make):
    body_refused("request.blank", lambda: make(blank))


def test_a_blank_reason_is_refused_when_parsed_too_even_signed():
    step = refuse(review(request()))
    document = step.to_dict()
    document["body"]["reason"] = "\u3000"
    body_refused("request.blank", lambda: parse_step(document))


def test_empty_reasons_are_fine_where_none_is_needed():
    first = request()
    assert withdraw(first).body.reason == "不再需要"
    assert step_after(first, Withdrawal(author="李四"), REQUESTER).body.reason == ""
    passed = review(first)
    assert approve(passed, conditions="").body.conditions == ""


def test_conditions_go_with_a_grant_only():
    passed = review(request())
    body_refused("request.conditions_without_grant", lambda: step_after(
        passed, Decision(verdict=DecisionVerdict.REFUSE, reason="涉密", conditions="仅限内部", author="张三"),
        PROVIDER_STEWARD))
    escalated = escalate(refuse(passed))
    body_refused("request.conditions_without_grant", lambda: docs.follow(
        escalated, Outcome(verdict=OutcomeVerdict.DENY, reason="维持", conditions="x", reviewer="王五"),
        EXCHANGE.key, None))


# Every transition -------------------------------------------------------------------------


def test_a_request_is_submitted_with_its_parties_items_and_end_date():
    first = request(items=[item.id for item in CONDITIONAL.items])
    state = run(first)
    assert state.status is RequestStatus.SUBMITTED
    assert (state.requester, state.provider, state.entry_id) == (USING, PROVIDER, CONDITIONAL.id)
    assert state.items == tuple(item.id for item in CONDITIONAL.items)
    assert state.until == date(2027, 12, 31) and state.conditional
    assert (state.seq, state.head) == (1, first.digest())


@pytest.mark.parametrize("makers,status", [
    ((lambda: request(UNCONDITIONAL), review), RequestStatus.GRANTED),  # 无条件共享: the passed check is the grant
    ((request, review), RequestStatus.AWAITING_DECISION),  # 有条件共享: to the provider
    ((lambda: request(UNCONDITIONAL), lambda s: review(s, ReviewVerdict.REJECT)), RequestStatus.REJECTED),
    ((request, lambda s: review(s, ReviewVerdict.REJECT)), RequestStatus.REJECTED),
    ((request, review, approve), RequestStatus.APPROVED),
    ((request, review, refuse), RequestStatus.REFUSED),
    ((request, review, refuse, escalate), RequestStatus.ESCALATED),
    ((request, review, refuse, escalate, outcome), RequestStatus.GRANTED),
    ((request, review, refuse, escalate, lambda s: outcome(s, OutcomeVerdict.DENY)), RequestStatus.DENIED),
    ((request, withdraw), RequestStatus.WITHDRAWN),
    ((request, review, withdraw), RequestStatus.WITHDRAWN),
    ((request, review, refuse, escalate, withdraw), RequestStatus.WITHDRAWN),
], ids=["unconditional-granted", "conditional-to-provider", "unconditional-rejected", "conditional-rejected",
        "approved", "refused", "escalated", "outcome-granted", "outcome-denied", "withdrawn-before-review",
        "withdrawn-before-decision", "withdrawn-after-escalation"])
def test_every_transition(makers, status):
    steps = chain(*makers)
    state = run(*steps)
    assert state.status is status
    assert [link.digest for link in state.trail] == [s.digest() for s in steps]
    assert [link.kind for link in state.trail] == [s.kind for s in steps]


def test_one_conditional_item_puts_an_unconditional_entry_on_the_conditional_path():
    items = [item.id for item in WITH_CONDITIONAL_ITEM.items]
    assert run(*chain(lambda: request(WITH_CONDITIONAL_ITEM, items=items[:1]), review)).status is RequestStatus.GRANTED
    state = run(*chain(lambda: request(WITH_CONDITIONAL_ITEM, items=items), review))
    assert state.status is RequestStatus.AWAITING_DECISION


@pytest.mark.parametrize("makers", [(lambda: request(UNCONDITIONAL), review), (request, review, approve),
                                    (request, review, refuse, escalate, outcome)])
def test_a_grant_expires_after_its_end_date(makers):
    state = run(*chain(*makers))
    assert status_on(state, date(2027, 12, 31)) is state.status in (RequestStatus.GRANTED, RequestStatus.APPROVED)
    assert status_on(state, date(2028, 1, 1)) is RequestStatus.EXPIRED


def test_only_a_grant_expires():
    for makers in ((request,), (request, review, refuse), (request, withdraw)):
        state = run(*chain(*makers))
        assert status_on(state, date(2030, 1, 1)) is state.status


def test_nothing_follows_an_expired_grant():
    steps = chain(lambda: request(UNCONDITIONAL), review)
    with pytest.raises(StepRefused) as caught:
        apply(run(*steps), withdraw(steps[-1]), replace(CONTEXT, today=date(2028, 1, 1)))
    assert caught.value.message("zh") == "此申请已办结（已到期），不能再处理"


def test_apply_is_pure():
    first = request()
    state = run(first)
    passed = review(first)
    assert apply(state, passed, CONTEXT) == apply(state, passed, CONTEXT)
    assert state.status is RequestStatus.SUBMITTED and state.seq == 1


# Who may sign what --------------------------------------------------------------------------


def test_a_decision_signed_by_another_departments_key_is_refused():
    steps = chain(request, review)
    error = refused("request.not_provider", *steps, approve(steps[-1], by=OUTSIDER))
    assert error.message("en") == f"Only the providing department ({PROVIDER}) may answer this request, " \
                                  f"not department {OUTSIDER.department}"
    refused("request.not_provider", *steps, refuse(steps[-1], by=REQUESTER))


def test_a_key_cannot_sign_for_another_department():
    steps = chain(request, review)
    forged = docs.follow(steps[-1], Decision(verdict=DecisionVerdict.APPROVE, author="张三"), OUTSIDER.key, PROVIDER)
    error = refused("request.wrong_department", *steps, forged)
    assert error.params == {"key_id": OUTSIDER.key.key_id, "key_department": OUTSIDER.department,
                            "department": PROVIDER}


def test_a_request_by_the_provider_for_its_own_entry_is_refused():
    refused("request.own_entry", request(by=PROVIDER_STEWARD))
    refused("request.own_entry", request(OWN_OF_USING))


@pytest.mark.parametrize("by", [REQUESTER, PROVIDER_STEWARD, OUTSIDER])
def test_reviews_and_outcomes_signed_by_a_steward_key_are_refused(by):
    first = request()
    error = refused("request.not_exchange", first, review(first, by=by))
    assert error.message("zh").startswith("合规审查只能由数据主管部门（交换平台的密钥）签署")
    steps = chain(request, review, refuse, escalate)
    refused("request.not_exchange", *steps, outcome(steps[-1], by=by))


def test_the_exchange_key_signs_for_no_department():
    refused("request.exchange_key", request(by=EXCHANGE))
    steps = chain(request, review)
    refused("request.exchange_key", *steps, approve(steps[-1], by=EXCHANGE))
    steps = chain(request, review, refuse)
    refused("request.exchange_key", *steps, escalate(steps[-1], by=EXCHANGE))
    steps = chain(request)
    refused("request.exchange_key", *steps, withdraw(steps[-1], by=EXCHANGE))


@pytest.mark.parametrize("make", [
    lambda prev: escalate(prev, by=PROVIDER_STEWARD), lambda prev: escalate(prev, by=OUTSIDER),
])
def test_only_the_using_department_escalates(make):
    steps = chain(request, review, refuse)
    refused("request.not_requester", *steps, make(steps[-1]))


@pytest.mark.parametrize("by", [PROVIDER_STEWARD, OUTSIDER])
def test_only_the_using_department_withdraws(by):
    first = request()
    error = refused("request.not_requester", first, withdraw(first, by=by))
    assert "撤回申请" in error.message("zh")


def test_an_unknown_key_or_a_signature_that_does_not_verify_is_refused():
    stranger = Party(SigningKey.generate(), USING)
    refused("request.key_unknown", request(by=stranger))
    honest = request()
    forged = replace(honest.sealed, key_id=OUTSIDER.key.key_id)  # claims another enrolled key
    refused("request.bad_signature", docs.Step(forged, honest.body))
    other = request()
    swapped = replace(honest.sealed, signature=other.sealed.signature)
    refused("request.bad_signature", docs.Step(swapped, honest.body))


# When a step may come ------------------------------------------------------------------------


def test_deciding_before_the_review_passed_is_refused():
    first = request()
    error = refused("request.review_pending", first, approve(first))
    assert error.message("zh") == "合规审查通过之前不能答复此申请"
    steps = chain(request, lambda s: review(s, ReviewVerdict.REJECT))
    refused("request.settled", *steps, approve(steps[-1]))


@pytest.mark.parametrize("makers", [(request, review, approve), (request, review, refuse),
                                    (request, review, refuse, escalate),
                                    (request, review, refuse, escalate, outcome)])
@pytest.mark.parametrize("again", [approve, refuse])
def test_deciding_twice_is_refused(makers, again):
    steps = chain(*makers)
    refused("request.already_decided", *steps, again(steps[-1]))


@pytest.mark.parametrize("makers", [(request, withdraw), (request, review, withdraw),
                                    (request, review, refuse, escalate, withdraw)])
def test_nothing_follows_a_withdrawal(makers):
    steps = chain(*makers)
    for then in (approve, refuse, review, escalate, outcome, withdraw):
        refused("request.withdrawn", *steps, then(steps[-1]))


def test_deciding_a_settled_request_is_refused():
    steps = chain(lambda: request(UNCONDITIONAL), review)  # granted by the check: nothing for the provider to say
    error = refused("request.settled", *steps, approve(steps[-1]))
    assert error.message("en") == "This request is settled (granted): nothing may follow"


@pytest.mark.parametrize("makers,then,code", [
    ((request, review), review, "request.already_reviewed"),
    ((request, review, approve), review, "request.settled"),
    ((request,), escalate, "request.not_refused"),
    ((request, review), escalate, "request.not_refused"),
    ((request, review, refuse, escalate), escalate, "request.not_refused"),
    ((request, review, approve), escalate, "request.settled"),
    ((request, review), outcome, "request.not_escalated"),
    ((request, review, refuse), outcome, "request.not_escalated"),
    ((request, review, refuse, escalate, outcome), outcome, "request.settled"),
    ((request, review, refuse), withdraw, "request.answered"),
    ((request, review, approve), withdraw, "request.settled"),
    ((lambda: request(UNCONDITIONAL), review), withdraw, "request.settled"),
    ((request, lambda s: review(s, ReviewVerdict.REJECT)), escalate, "request.settled"),
])
def test_every_step_out_of_its_place_is_refused(makers, then, code):
    steps = chain(*makers)
    refused(code, *steps, then(steps[-1]))


# What may be asked for --------------------------------------------------------------------


def test_a_request_for_an_entry_that_is_not_shared_or_retired_is_refused():
    error = refused("request.not_shared", request(NOT_SHARED))
    assert NOT_SHARED.code in error.message("zh") and "共享条件" in error.message("zh")
    refused("request.entry_retired", request(RETIRED))


def test_a_request_for_items_the_entry_does_not_have_is_refused():
    foreign_item = UNCONDITIONAL.items[0].id
    error = refused("request.item_unknown", request(CONDITIONAL, items=[CONDITIONAL.items[0].id, foreign_item]))
    assert error.params["item_id"] == foreign_item
    refused("request.item_unknown", request(CONDITIONAL, items=[changeset.new_id()]))


def test_a_request_for_an_item_that_is_not_shared_is_refused():
    hidden = WITH_HIDDEN_ITEM.items[1].id
    refused("request.item_not_shared", request(WITH_HIDDEN_ITEM, items=[hidden]))


def test_a_request_must_name_a_known_entry_and_its_provider():
    refused("request.entry_unknown", docs.open_request(application(entry_id=changeset.new_id()), REQUESTER.key, USING))
    error = refused("request.provider_mismatch", request(provider=OUTSIDER.department))
    assert error.params["department"] == PROVIDER


def test_the_end_date_may_be_today_but_not_past():
    assert run(request(until=TODAY.isoformat())).until == TODAY
    refused("request.until_past", request(until=(TODAY - timedelta(days=1)).isoformat()))


def test_a_retired_entry_is_checked_when_the_request_arrives():
    entry = CONDITIONAL
    first = request(entry)
    retired = {**ENTRIES, entry.id: replace(ENTRIES[entry.id], status="retired")}
    refused("request.entry_retired", first, context=replace(CONTEXT, find_entry=retired.get))


# Replays and order --------------------------------------------------------------------------


def test_the_same_step_twice_is_a_replay():
    steps = chain(request, review, refuse)
    for n, step in enumerate(steps):
        error = refused("request.replayed", *steps, step)
        assert error.params == {"seq": n + 1}


def test_a_second_request_under_one_id_is_refused():
    first = request()
    other = docs.sign(application(purpose="另一个用途"), request_id=first.request_id, seq=1, prev=GENESIS,
                      key=REQUESTER.key, department=USING)
    refused("request.exists", first, other)


def test_reordered_steps_are_refused():
    first, passed, decided = chain(request, review, approve)
    error = refused("request.out_of_order", first, decided)  # the decision before the review
    assert error.params == {"seq": 3, "expected": 2}
    # A step that names the right number but another previous step (made on a stale copy)
    stale = docs.sign(decided.body, request_id=first.request_id, seq=2, prev=first.digest(),
                      key=PROVIDER_STEWARD.key, department=PROVIDER)
    refused("request.review_pending", first, stale)  # in its place, but too early
    stale_after = docs.sign(decided.body, request_id=first.request_id, seq=3, prev=first.digest(),
                            key=PROVIDER_STEWARD.key, department=PROVIDER)
    refused("request.out_of_order", first, passed, stale_after)


def test_a_step_of_a_request_that_does_not_exist_is_refused():
    first, passed = chain(request, review)
    refused("request.unknown", passed)
    later_first = docs.sign(first.body, request_id=first.request_id, seq=2, prev=GENESIS, key=REQUESTER.key,
                            department=USING)
    refused("request.out_of_order", later_first)


# Messages ------------------------------------------------------------------------------------

REFUSAL_CODES = sorted(code for code in MESSAGES if code.startswith("request.")
                       and not code.startswith(("request.member.", "request.kind.", "request.status.")))


def test_every_refusal_has_a_message_in_both_languages_with_full_width_chinese_punctuation():
    assert len(REFUSAL_CODES) >= 30
    for code in MESSAGES:
        if not code.startswith("request."):
            continue
        zh, en = MESSAGES[code]
        assert not set(zh) & set(",:;?!()"), (code, zh)  # full-width punctuation only
        assert {n for _, n, _, _ in string.Formatter().parse(zh) if n} == \
            {n for _, n, _, _ in string.Formatter().parse(en) if n}


def test_each_status_and_kind_has_its_words():
    for status in RequestStatus:
        assert f"request.status.{status}" in MESSAGES
    for kind in StepKind:
        assert f"request.kind.{kind}" in MESSAGES
    assert render("request.settled", {"status": Phrase("request.status.denied")}, "zh") == \
        "此申请已办结（协调后不予共享），不能再处理"


def test_an_invalid_step_names_its_problems():
    document = request().to_dict()
    document["seq"] = "1"
    with pytest.raises(StepInvalid) as caught:
        parse_step(document)
    assert caught.value.message("en") == ("The sharing request's step does not follow the format: "
                                          "seq: must be an integer from 1 to 9007199254740991")
    assert caught.value.message("zh").startswith("共享申请的处理步骤不符合格式：seq")


def test_the_sealed_form_is_parsed_as_strictly():
    step = request()
    sealed = step.sealed.to_dict()
    assert parse_sealed(sealed) == step.sealed
    with pytest.raises(StepInvalid) as caught:
        parse_sealed({**sealed, "body": {}})
    assert [p.path for p in caught.value.problems] == ["body"]
    with pytest.raises(StepInvalid) as caught:
        parse_sealed({**sealed, "body_sha256": "AB" * 32})
    assert [str(p.to_dict()) for p in caught.value.problems] == [
        "{'path': 'body_sha256', 'reason': 'must be 64 lowercase hex digits'}"]
    assert _invalid({**request().to_dict(), "body_sha256": "ab" * 32}) == ["body_sha256: unknown member"]

