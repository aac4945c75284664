"""docs/protocol.md § 3a is exact: its sharing request examples are test vectors, its tables the code's.

The signatures, hashes and digests are checked with cryptography, rfc8785 and hashlib only, as an
independent implementer would check them; then the reference code parses the examples and runs them
through the state machine.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import date

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from steward.catalogue.messages import MESSAGES
from steward.sync.keys import SigningKey
from steward.sync.requests.documents import parse_sealed, parse_step
from steward.sync.requests.redaction import check_chain
from steward.sync.requests.state import Context, EntryFacts, RequestStatus, Signer, apply
from tests.sync.test_protocol_doc import DOC, _examples

SECTION = DOC[DOC.index("## 3a. Sharing requests"):DOC.index("## 4. Authenticating requests")]
STEPS = [e for e in _examples() if e.get("format") == "steward.sharing-step/1"]
WHOLE = [e for e in STEPS if "body" in e]
[REDACTED] = [e for e in STEPS if "body_sha256" in e]
HEADER = ("format", "kind", "request_id", "seq", "prev", "key_id", "department")
KEYS = {name: Ed25519PrivateKey.from_private_bytes(bytes(range(start, start + 32)))
        for name, start in (("provider", 0x00), ("using", 0x20), ("exchange", 0x80))}
USING, PROVIDER = "1131000000242405X6", "11310000MB2F41826L"


def _raw_public(name: str) -> bytes:
    return KEYS[name].public_key().public_bytes_raw()


def _body_sha256(body: dict) -> str:
    return hashlib.sha256(b"steward-sharing-body-v1\n" + rfc8785.dumps(body)).hexdigest()


def _sealed(step: dict) -> dict:
    if "body_sha256" in step:
        return step
    return {**{k: step[k] for k in HEADER}, "body_sha256": _body_sha256(step["body"]), "signature": step["signature"]}


def _digest(step: dict) -> str:
    return hashlib.sha256(rfc8785.dumps(_sealed(step))).hexdigest()


def test_the_section_has_an_example_of_each_kind_and_a_redacted_one():
    assert [e["kind"] for e in WHOLE] == ["request", "review", "decision", "escalation", "outcome", "withdrawal"]
    assert REDACTED["kind"] == "decision"


@pytest.mark.parametrize("number", range(6))
def test_each_example_is_signed_over_its_header_and_body_hash_under_the_step_tag(number):
    step = WHOLE[number]
    signer = {"request": "using", "escalation": "using", "withdrawal": "using", "decision": "provider"}.get(
        step["kind"], "exchange")
    assert step["key_id"] == hashlib.sha256(_raw_public(signer)).hexdigest()[:32]
    unsigned = {k: v for k, v in _sealed(step).items() if k != "signature"}
    message = b"steward-sharing-step-v1\n" + rfc8785.dumps(unsigned)
    KEYS[signer].public_key().verify(base64.b64decode(step["signature"]), message)
    assert base64.b64encode(KEYS[signer].sign(message)).decode() == step["signature"]  # Ed25519 is deterministic


def test_the_examples_form_one_chain_and_the_stated_hashes_are_theirs():
    request, review, decision, escalation, outcome, withdrawal = WHOLE
    assert request["prev"] == "0" * 64
    for before, after in ((request, review), (review, decision), (decision, escalation), (escalation, outcome),
                          (escalation, withdrawal)):
        assert after["prev"] == _digest(before) and after["seq"] == before["seq"] + 1
    [body_hash] = re.findall(r"Its `body_sha256` is `([0-9a-f]{64})`", SECTION)
    [digest] = re.findall(r"and its digest\n`([0-9a-f]{64})`", SECTION)
    assert (body_hash, digest) == (_body_sha256(request["body"]), _digest(request))


def test_the_redacted_example_is_the_decision_with_its_bodys_hash_and_the_same_digest():
    decision = WHOLE[2]
    assert _sealed(decision) == REDACTED
    assert _digest(REDACTED) == _digest(decision)


def test_the_reference_code_reads_the_examples_and_runs_them_through_the_state_machine():
    keys = {SigningKey(KEYS[name]).key_id: Signer(SigningKey(KEYS[name]).public, department)
            for name, department in (("using", USING), ("provider", PROVIDER), ("exchange", None))}
    entry = EntryFacts("6f1c2a4e-8b1d-4c39-9a57-0d2f7e3b5a10", PROVIDER, "319001/000001", "conditional", "active",
                       {"0b7e5c1a-3f2d-4e8b-9c6a-1d2e3f4a5b6c": None})
    context = Context(keys.get, {entry.entry_id: entry}.get, date(2026, 11, 25))
    steps = [parse_step(document) for document in WHOLE]
    assert [s.to_dict() for s in steps] == WHOLE
    state = None
    for step, status in zip(steps[:5], ["submitted", "awaiting_decision", "refused", "escalated", "granted"],
                            strict=True):
        state = apply(state, step, context)
        assert state.status == RequestStatus(status)
    check_chain([s.sealed for s in steps[:5]])
    assert parse_sealed(REDACTED) == steps[2].sealed


def test_the_refusals_table_lists_every_refusal_code_and_no_other():
    documented = set(re.findall(r"^\| `(request\.[a-z_]+)` \|", SECTION, re.M))
    in_code = {code for code in MESSAGES if code.startswith("request.")
               and not code.startswith(("request.member.", "request.kind.", "request.status."))}
    assert documented == in_code
    ordered = set(re.findall(r"`(request\.[a-z_]+)`", SECTION[SECTION.index("### Refusals"):
                                                               SECTION.index("| code | when |")]))
    assert ordered == in_code  # the order of the checks names each code too


def test_the_status_table_lists_every_status():
    table = SECTION[SECTION.index("| status | meaning |"):SECTION.index("The transitions")]
    assert set(re.findall(r"^\| `([a-z_]+)` \|", table, re.M)) == {str(s) for s in RequestStatus}
