"""Pushing changesets to a real exchange (SQLite and PostgreSQL): what is accepted, and every attack refused.

Each refusal must come with the right status and a clear body, and leave the catalogue and the
log exactly as they were (`server.unchanged()` compares them and runs verify-log).
"""

from __future__ import annotations

import json

import pytest
import requests

from steward import sample
from steward.sync import changeset
from steward.sync.changeset import MAX_OPERATIONS, canonical
from steward.sync.exchange_client import ExchangeRefused
from steward.sync.keys import SigningKey, b64
from steward.sync.protocol import RECEIPT_TAG, server_verify, sign_request


def _created(steward, **overrides):
    """An entry the exchange has accepted (version 1)."""
    entry = steward.entry(**overrides)
    status, _ = steward.client.push(steward.changeset([changeset.op_create(entry)]))
    assert status == 201
    return entry


def _refused(call) -> ExchangeRefused:
    with pytest.raises(ExchangeRefused) as caught:
        call()
    return caught.value


def _stored(server, entry_id):
    [(_, version, document)] = [row for row in server.catalogue() if row[0] == entry_id]
    return version, json.loads(document)


# Accepted ---------------------------------------------------------------------------------


def test_a_create_is_accepted_with_a_receipt_signed_by_the_exchange(server):
    steward = server.steward()
    entry = steward.entry()
    cs = steward.changeset([changeset.op_create(entry)])
    position_before = server.head()[0]
    status, receipt = steward.client.push(cs)
    assert status == 201
    assert receipt["changeset_id"] == cs.id
    assert receipt["position"] == position_before + 1
    assert receipt["versions"] == {entry.id: 1}
    assert server_verify(server.public, RECEIPT_TAG, receipt)
    assert server.verify_log() == []


def test_an_update_applies_every_operation_and_bumps_the_version_once(server):
    steward = server.steward()
    entry = _created(steward)
    item = entry.items[0]
    ops = [
        changeset.op_set(entry.id, 1, "name", entry.name, "新的名称"),
        changeset.op_set(entry.id, 1, "update_frequency", "daily", "monthly"),
        changeset.op_item_set(entry.id, 1, item.id, "length", item.length, 20),
        changeset.op_item_remove(entry.id, 1, entry.items[2]),
    ]
    status, receipt = steward.client.push(steward.changeset(ops))
    assert status == 201
    assert receipt["versions"] == {entry.id: 2}
    records = steward.client.feed(receipt["position"] - 1)["records"]
    assert [json.loads(r["changeset_json"])["operations"] for r in records] == [ops]
    version, stored = _stored(server, entry.id)
    assert version == 2
    assert stored["name"] == "新的名称" and stored["update_frequency"] == "monthly"
    assert [i["length"] for i in stored["items"]] == [20, 200]
    assert server.verify_log() == []


def test_retire_then_restore(server):
    steward = server.steward()
    entry = _created(steward)
    assert steward.client.push(steward.changeset([changeset.op_retire(entry.id, 1)]))[0] == 201
    assert _stored(server, entry.id)[1]["status"] == "retired"
    assert steward.client.push(steward.changeset([changeset.op_restore(entry.id, 2)]))[0] == 201
    assert _stored(server, entry.id)[0] == 3
    assert _stored(server, entry.id)[1]["status"] == "active"


def test_sql_looking_text_is_stored_verbatim_and_harms_nothing(server):
    steward = server.steward()
    name = "x'); DROP TABLE entries; -- \" OR 1=1 ;"
    entry = _created(steward, name=name, abstract="'; DELETE FROM changesets; --")
    assert _stored(server, entry.id)[1]["name"] == name
    assert server.verify_log() == []


# Re-sent, replayed, reordered -------------------------------------------------------------


def test_a_changeset_sent_again_returns_the_original_receipt_and_changes_nothing(server):
    steward = server.steward()
    cs = steward.changeset([changeset.op_create(steward.entry())])
    status, receipt = steward.client.push(cs)
    assert status == 201
    with server.unchanged():
        assert steward.client.push(cs) == (200, receipt)
    assert steward.client.changeset_status(cs.id) == receipt


def test_a_replayed_sequence_number_is_refused(server):
    steward = server.steward()
    steward.client.push(steward.changeset([changeset.op_create(steward.entry())], seq=1))
    replay = steward.changeset([changeset.op_create(steward.entry())], seq=1)  # a new changeset, an old number
    with server.unchanged():
        error = _refused(lambda: steward.client.push(replay))
    assert (error.status, error.code) == (409, "sequence_reused")
    assert error.details == [{"seq": 1, "last_seq": 1}]


def test_a_reordered_sequence_number_is_refused(server):
    steward = server.steward()
    later = steward.changeset([changeset.op_create(steward.entry())], seq=7)
    earlier = steward.changeset([changeset.op_create(steward.entry())], seq=6)
    assert steward.client.push(later)[0] == 201
    with server.unchanged():
        error = _refused(lambda: steward.client.push(earlier))
    assert (error.status, error.code) == (409, "sequence_reused")


def test_a_changeset_id_reused_for_other_content_is_refused(server):
    steward = server.steward()
    first = steward.changeset([changeset.op_create(steward.entry())])
    steward.client.push(first)
    other = changeset.Changeset(first.id, first.department, first.key_id, next(steward.seq), first.created_at,
                                first.author, (changeset.op_create(steward.entry()),)).sign(steward.key)
    with server.unchanged():
        error = _refused(lambda: steward.client.push(other))
    assert (error.status, error.code) == (409, "changeset_id_reused")


# Conflicts and rules ----------------------------------------------------------------------


def test_an_operation_on_an_old_version_is_a_conflict_with_each_field_listed(server):
    steward = server.steward()
    entry = _created(steward)
    steward.client.push(steward.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "甲")]))
    stale = steward.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "乙"),
                               changeset.op_set(entry.id, 1, "update_frequency", "daily", "weekly")])
    with server.unchanged():
        error = _refused(lambda: steward.client.push(stale))
    assert (error.status, error.code) == (409, "conflict")
    by_field = {d["field"]: d for d in error.details}
    assert by_field["name"] == {"entry_id": entry.id, "reason": "version", "field": "name", "item_id": None,
                                "base": entry.name, "server": "甲", "yours": "乙", "base_version": 1,
                                "server_version": 2}
    assert by_field["update_frequency"]["server"] == "daily"


def test_a_base_value_that_does_not_match_is_a_conflict(server):
    steward = server.steward()
    entry = _created(steward)
    with server.unchanged():
        error = _refused(lambda: steward.client.push(
            steward.changeset([changeset.op_set(entry.id, 1, "name", "不是原来的名称", "乙")])))
    assert (error.status, error.code, error.details[0]["reason"]) == (409, "conflict", "value")


def test_an_entry_that_breaks_the_rules_is_refused_with_each_problem(server):
    steward = server.steward()
    bad = steward.entry(sharing_type="conditional", sharing_conditions="", open_type="conditional")
    with server.unchanged():
        error = _refused(lambda: steward.client.push(steward.changeset([changeset.op_create(bad)])))
    assert (error.status, error.code) == (422, "rules")
    assert {d["rule"] for d in error.details} >= {"sharing.conditions_required", "open.conditions_required"}
    assert all(d["entry_id"] == bad.id and d["message"] for d in error.details)


def test_a_duplicate_resource_code_is_refused(server):
    steward = server.steward()
    first = _created(steward)
    twin = steward.entry(code=first.code)
    with server.unchanged():
        error = _refused(lambda: steward.client.push(steward.changeset([changeset.op_create(twin)])))
    assert (error.status, error.code) == (422, "rules")
    assert [d["rule"] for d in error.details] == ["code.duplicate"]


# Signatures -------------------------------------------------------------------------------


def test_a_changeset_with_one_byte_altered_is_refused(server):
    steward = server.steward()
    entry = steward.entry(name="企业登记信息甲")
    body = canonical(steward.changeset([changeset.op_create(entry)]).to_dict())
    altered = body.replace("企业登记信息甲".encode(), "企业登记信息乙".encode())
    assert len(altered) == len(body) and altered != body
    with server.unchanged():
        answer = server.raw_post(altered, steward.key)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "bad_signature"


def test_a_signature_over_another_canonical_form_is_refused(server):
    steward = server.steward()
    cs = steward.changeset([changeset.op_create(steward.entry())])
    unsigned = cs.unsigned()
    # Sorted keys with \\u escapes: the usual json.dumps, not RFC 8785 (Chinese text differs).
    wrong = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    assert wrong != canonical(unsigned)
    forged = {**unsigned, "signature": b64(steward.key.sign(changeset.SIGNING_TAG + wrong))}
    with server.unchanged():
        answer = server.raw_post(json.dumps(forged).encode(), steward.key)
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "bad_signature")


def test_a_key_of_one_department_cannot_change_another_departments_entry(server):
    owner = server.steward(sample.DEPARTMENTS[0])
    intruder = server.steward(sample.DEPARTMENTS[1])
    entry = _created(owner)
    with server.unchanged():
        error = _refused(lambda: intruder.client.push(
            intruder.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "篡改")])))
    assert (error.status, error.code) == (403, "foreign_entries")
    assert error.details == [{"entry_id": entry.id, "department": owner.department}]


def test_a_key_cannot_speak_for_another_department(server):
    intruder = server.steward(sample.DEPARTMENTS[1])
    victim = sample.DEPARTMENTS[0]
    entry = intruder.entry(provider=victim.name, provider_code=victim.code)
    with server.unchanged():
        error = _refused(lambda: intruder.client.push(
            intruder.changeset([changeset.op_create(entry)], department=victim.code)))
    assert (error.status, error.code) == (403, "wrong_department")


def test_an_entry_cannot_be_created_for_another_department(server):
    intruder = server.steward(sample.DEPARTMENTS[1])
    victim = sample.DEPARTMENTS[0]
    entry = intruder.entry(provider=victim.name, provider_code=victim.code)
    with server.unchanged():
        error = _refused(lambda: intruder.client.push(intruder.changeset([changeset.op_create(entry)])))
    assert (error.status, error.code) == (403, "provider_not_department")


def test_a_revoked_key_is_refused(server):
    from exchange import ledger

    steward = server.steward()
    ledger.revoke(server.engine, steward.key.key_id)
    with server.unchanged():
        error = _refused(lambda: steward.client.push(steward.changeset([changeset.op_create(steward.entry())])))
    assert (error.status, error.code) == (403, "key_revoked")


def test_an_unknown_key_is_refused(server):
    steward = server.steward()
    stranger = SigningKey.generate()  # never enrolled
    cs = changeset.new_changeset(steward.department, stranger, 1, "2026-01-01T00:00:00Z", "x",
                                 [changeset.op_create(steward.entry())])
    with server.unchanged():
        as_stranger = server.raw_post(canonical(cs.to_dict()), stranger)
        relayed = server.raw_post(canonical(cs.to_dict()), steward.key)  # an enrolled key relaying it
    assert (as_stranger.status_code, as_stranger.json()["error"]["code"]) == (401, "unauthenticated")
    assert (relayed.status_code, relayed.json()["error"]["code"]) == (403, "key_mismatch")


def test_a_changeset_relayed_under_another_enrolled_key_is_refused(server):
    author = server.steward(sample.DEPARTMENTS[0])
    relay = server.steward(sample.DEPARTMENTS[0])
    cs = author.changeset([changeset.op_create(author.entry())])
    with server.unchanged():
        answer = server.raw_post(canonical(cs.to_dict()), relay.key)
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "key_mismatch")


# Malformed and oversized ------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{not json", b'{"a": NaN}', b'{"id": 1, "id": 2}', b"\xff\xfe{}", b""])
def test_malformed_json_is_refused(server, body):
    steward = server.steward()
    with server.unchanged():
        answer = server.raw_post(body, steward.key)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "malformed_json"
    assert "JSON" in answer.json()["error"]["message"]


def test_a_document_outside_the_format_is_refused_naming_each_problem(server):
    steward = server.steward()
    document = {**steward.changeset([changeset.op_create(steward.entry())]).to_dict(), "seq": -1, "extra": 1}
    document["operations"][0]["entry"]["sharing_type"] = 5
    with server.unchanged():
        answer = server.raw_post(json.dumps(document).encode(), steward.key)
    assert answer.status_code == 422
    problems = {p["path"]: p["reason"] for p in answer.json()["error"]["details"]}
    assert set(problems) >= {"seq", "extra", "operations[0].entry.sharing_type"}


@pytest.mark.parametrize(("name", "char"), [("登记\x00信息", "U+0000"), ("登记\x1b[31m信息", "U+001B"),
                                           ("bell\x07", "U+0007")])
def test_control_characters_in_text_are_refused(server, name, char):
    steward = server.steward()
    with server.unchanged():
        cs = steward.changeset([changeset.op_create(steward.entry(name=name))])
        error = _refused(lambda: steward.client.push(cs))
    assert (error.status, error.code) == (422, "invalid_changeset")
    assert error.details == [{"path": "operations[0].entry.name", "reason": f"contains the refused character {char}"}]


def test_sql_looking_identifiers_are_refused(server):
    steward = server.steward()
    op = changeset.op_set("x' OR '1'='1", 1, "name; DROP TABLE entries", "a", "b")
    with server.unchanged():
        error = _refused(lambda: steward.client.push(steward.changeset([op])))
    assert error.status == 422
    assert {d["path"] for d in error.details} == {"operations[0].entry_id", "operations[0].field"}


def test_a_20_megabyte_body_is_refused(server):
    steward = server.steward()
    body = b'{"padding": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    with server.unchanged():
        answer = server.raw_post(body, steward.key)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "body_too_large"


def test_a_huge_number_of_operations_is_refused(server):
    steward = server.steward()
    entry_id = steward.entry().id
    ops = [changeset.op_set(entry_id, 1, "name", "a", "b")] * (MAX_OPERATIONS + 1)
    with server.unchanged():
        error = _refused(lambda: steward.client.push(steward.changeset(ops)))
    assert (error.status, error.code) == (413, "too_many_operations")


# Authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/feed"), ("GET", "/v1/checkpoint"), ("GET", "/v1/keys"),
                                              ("GET", "/v1/changesets/00000000-0000-0000-0000-000000000000"),
                                              ("POST", "/v1/changesets")])
def test_a_request_without_authentication_is_refused(server, method, path):
    with server.unchanged():
        answer = requests.request(method, server.url + path, data=b"{}", timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == "Steward-Ed25519"
    assert answer.json()["error"]["code"] == "unauthenticated"


def test_a_request_signed_for_another_target_or_too_long_ago_is_refused(server):
    steward = server.steward()
    for_feed = sign_request(steward.key, "GET", "/v1/feed?after=0")
    stale = sign_request(steward.key, "GET", "/v1/checkpoint", timestamp="2020-01-01T00:00:00Z")
    moved = requests.get(f"{server.url}/v1/feed?after=5", headers=for_feed, timeout=10)
    old = requests.get(f"{server.url}/v1/checkpoint", headers=stale, timeout=10)
    assert moved.status_code == old.status_code == 401
    assert "does not verify" in moved.json()["error"]["message"]
    assert "300 s" in old.json()["error"]["message"]


def test_the_server_key_and_openapi_document_need_no_authentication(server):
    info = requests.get(f"{server.url}/v1/server", timeout=10).json()
    assert info["fingerprint"] == server.public.fingerprint
    spec = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    assert {"/v1/changesets", "/v1/feed", "/v1/checkpoint", "/v1/server"} <= set(spec["paths"])
