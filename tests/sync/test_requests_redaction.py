"""Redaction: a department that is not a party to a request verifies its steps but can neither read nor alter them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from steward.sync.changeset import canonical, sha256_hex
from steward.sync.requests import documents as docs
from steward.sync.requests.documents import Decision, DecisionVerdict, parse_sealed
from steward.sync.requests.redaction import check_chain, redact, shown_to, verify_redacted
from steward.sync.requests.refusals import StepInvalid, StepRefused
from tests.sync.sharing import (
    CONDITIONAL,
    OUTSIDER,
    PROVIDER,
    SIGNERS,
    USING,
    approve,
    chain,
    escalate,
    outcome,
    refuse,
    request,
    review,
    run,
)

# What a third department's client knows: the enrolled keys (GET /v1/keys) and the exchange's pinned key.
THIRD_PARTY_KEYS = SIGNERS.get


def whole_trail() -> list[docs.Step]:
    return chain(lambda: request(items=[item.id for item in CONDITIONAL.items]), review, refuse, escalate, outcome)


def test_the_two_parties_and_the_authority_receive_steps_whole_any_other_department_redacted():
    steps = whole_trail()
    state = run(*steps)
    for step in steps:
        assert shown_to(step, state, USING) == step.to_dict()
        assert shown_to(step, state, PROVIDER) == step.to_dict()
        assert shown_to(step, state, None) == step.to_dict()
        assert shown_to(step, state, OUTSIDER.department) == redact(step)
        assert "body" not in redact(step) and "body_sha256" in redact(step)


def test_a_third_department_verifies_every_redacted_step_and_the_requests_chain():
    steps = whole_trail()
    received = [json.loads(json.dumps(redact(step))) for step in steps]  # over the wire
    sealed = [verify_redacted(document, THIRD_PARTY_KEYS) for document in received]
    check_chain(sealed)
    # The digest the exchange's log records is the whole step's, and the redacted step has it too.
    assert [s.digest() for s in sealed] == [step.digest() for step in steps]
    assert [s.digest() for s in sealed] == [sha256_hex(canonical(document)) for document in received]


def test_a_third_department_cannot_read_a_redacted_step():
    steps = whole_trail()
    secrets = []
    for step in steps:
        for value in docs.body_document(step.body).values():
            secrets.extend(value if isinstance(value, list) else [value])
    text = json.dumps([redact(step) for step in steps], ensure_ascii=False)
    # Who signed each step shows (the header names the department, so that the key can be checked): the
    # provider's code, which the request's body names too, shows through its decision. Nothing else does.
    readable = [s for s in secrets if len(s) > 2 and s in text and s != PROVIDER]
    assert readable == [], readable  # no purpose, scenario, item, entry, reason, condition, name or nonce
    assert CONDITIONAL.id not in text and CONDITIONAL.code not in text


def test_a_guess_of_a_short_body_cannot_be_confirmed_without_its_nonce():
    """An approval without conditions by a known steward is easy to guess: only the nonce keeps the hash silent."""
    passed = review(request())
    decided = approve(passed, conditions="")
    redacted = parse_sealed(redact(decided))
    guess = Decision(verdict=DecisionVerdict.APPROVE, conditions="", reason="", author="张三")
    assert docs.body_hash(guess) != redacted.body_sha256
    assert docs.body_hash(replace(guess, nonce=decided.body.nonce)) == redacted.body_sha256  # the parties can


@pytest.mark.parametrize("member,value", [
    ("kind", "withdrawal"), ("request_id", "3d9f0c2e-7a41-4b8e-8f5d-2c6b1e9a7d30"), ("seq", 9),
    ("prev", "0" * 64), ("body_sha256", "ab" * 32), ("department", OUTSIDER.department),
])
def test_a_third_department_notices_any_change_to_a_redacted_step(member, value):
    step = escalate(refuse(review(request())))
    document = {**redact(step), member: value}
    with pytest.raises(StepRefused) as caught:
        verify_redacted(document, THIRD_PARTY_KEYS)
    assert caught.value.code in ("request.bad_signature", "request.wrong_department")


def test_a_signature_of_another_step_or_another_key_does_not_pass():
    first, passed = chain(request, review)
    document = {**redact(passed), "signature": redact(first)["signature"]}
    with pytest.raises(StepRefused) as caught:
        verify_redacted(document, THIRD_PARTY_KEYS)
    assert caught.value.code == "request.bad_signature"
    document = {**redact(first), "key_id": OUTSIDER.key.key_id, "department": OUTSIDER.department}
    with pytest.raises(StepRefused):
        verify_redacted(document, THIRD_PARTY_KEYS)


def test_a_redacted_step_is_parsed_strictly():
    document = redact(request())
    with pytest.raises(StepInvalid):
        verify_redacted({**document, "body": {"purpose": "x"}}, THIRD_PARTY_KEYS)
    with pytest.raises(StepInvalid):
        verify_redacted({k: v for k, v in document.items() if k != "body_sha256"}, THIRD_PARTY_KEYS)


def test_a_redacted_review_signed_by_a_steward_is_refused_by_a_third_department_too():
    first = request()
    forged = docs.follow(first, docs.Review(verdict=docs.ReviewVerdict.PASS, reviewer="王五"), OUTSIDER.key, None)
    with pytest.raises(StepRefused) as caught:
        verify_redacted(redact(forged), THIRD_PARTY_KEYS)
    assert caught.value.code == "request.not_exchange"


def test_a_third_department_notices_steps_dropped_reordered_or_from_another_request():
    steps = [parse_sealed(redact(step)) for step in whole_trail()]
    other = parse_sealed(redact(request()))
    for broken in (steps[1:], [steps[0], steps[2], steps[1], *steps[3:]], [steps[0], steps[1], steps[3]],
                   [other, *steps[1:]]):
        with pytest.raises(StepRefused) as caught:
            check_chain(broken)
        assert caught.value.code == "request.out_of_order"
    check_chain(steps)
    check_chain([])
