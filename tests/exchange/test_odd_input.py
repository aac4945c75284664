"""Odd input to a real exchange (SQLite and PostgreSQL) is refused with a 4xx and the documented body, never a 500.

Each case here once answered 500: the request reached the database or the canonicaliser with a
value neither could take. Every refusal leaves the catalogue and the log as they were.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from steward.catalogue.rules import REFUSED_CHARACTERS
from steward.sync import changeset
from steward.sync.protocol import sign_request


def _signed_get(server, steward, target: str) -> requests.Response:
    return requests.get(f"{server.url}{target}", headers=sign_request(steward.key, "GET", target), timeout=60)


def _error(answer: requests.Response) -> dict[str, Any]:
    """The documented refusal body, checked for its shape."""
    body = answer.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


def _document(steward, created_at: str = "2026-11-25T08:00:00.000Z", **entry: Any) -> dict[str, Any]:
    """A changeset creating one entry, signed (the signature covers whatever odd value is given here)."""
    return changeset.new_changeset(steward.department, steward.key, next(steward.seq), created_at, "测试",
                                   [changeset.op_create(steward.entry(**entry))]).to_dict()


def _put(document: dict[str, Any], where: str, value: Any) -> None:
    """Set the member at a dotted path (numbers index lists) to `value`."""
    *parents, last = where.split(".")
    for step in parents:
        document = document[int(step)] if step.isdigit() else document[step]
    document[int(last) if last.isdigit() else last] = value


SURROGATE_PLACES = [
    ("author", "author"),
    ("operations.0.entry.name", "operations[0].entry.name"),
    ("operations.0.entry.items.0.name", "operations[0].entry.items[0].name"),
    ("operations.0.entry.related_codes", "operations[0].entry.related_codes[0]"),
    ("operations.0.entry.sharing_type", "operations[0].entry.sharing_type"),
    ("department", "department"),
    ("created_at", "created_at"),
]


@pytest.mark.parametrize(("where", "path"), SURROGATE_PLACES, ids=[p[0] for p in SURROGATE_PLACES])
def test_a_lone_surrogate_anywhere_in_a_changeset_is_refused_as_outside_the_format(server, where, path):
    steward = server.steward()
    document = _document(steward)
    _put(document, where, ["\ud800"] if where.endswith("related_codes") else "登记\ud800信息")
    body = json.dumps(document).encode()  # ASCII, with the surrogate as the escape \ud800: valid JSON text
    with server.unchanged():
        answer = server.raw_post(body, steward.key)
    assert answer.status_code == 422, answer.text
    error = _error(answer)
    assert error["code"] == "invalid_changeset"
    assert path in {d["path"] for d in error["details"]}


def test_a_lone_surrogate_in_a_member_name_is_refused_and_the_answer_is_still_utf8(server):
    steward = server.steward()
    document = _document(steward)
    document["operations"][0]["entry"]["\udfff名"] = "x"
    with server.unchanged():
        answer = server.raw_post(json.dumps(document).encode(), steward.key)
    assert answer.status_code == 422, answer.text
    answer.content.decode("utf-8")  # strict: a lone surrogate cannot be in a UTF-8 answer
    [detail] = _error(answer)["details"]
    assert detail["path"] == 'operations[0].entry."\\udfff\\u540d"'
    assert detail["reason"] == "unknown member"


@pytest.mark.parametrize("text", ["登记\x85信息", "\x9b31m", "\x80", "\x9f", "del\x7f", "\udc80", "\ud83d"])
def test_c1_controls_del_and_lone_surrogates_are_refused_alike(server, text):
    steward = server.steward()
    signable = REFUSED_CHARACTERS.search(text).group() < "\ud800"  # no lone surrogate can be canonicalised to sign
    document = _document(steward, abstract=text if signable else "x")  # signed: only the character is refused
    document["operations"][0]["entry"]["abstract"] = text
    with server.unchanged():
        answer = server.raw_post(json.dumps(document).encode(), steward.key)
    assert answer.status_code == 422, answer.text
    refused = REFUSED_CHARACTERS.search(text).group()
    assert _error(answer)["details"] == [{"path": "operations[0].entry.abstract",
                                          "reason": f"contains the refused character U+{ord(refused):04X}"}]


@pytest.mark.parametrize("text", ["tab\tline\nreturn\r", "\xa0不换行空格", "第一段\u2028第二段\u2029", "😀𠀀",
                                  "\ufeff\ufffd"])
def test_tab_newlines_and_other_unicode_are_accepted(server, text):
    steward = server.steward()
    cs = steward.changeset([changeset.op_create(steward.entry(abstract=text))])
    status, _ = steward.client.push(cs)
    assert status == 201


@pytest.mark.parametrize("created_at", [
    "2026-02-30T08:00:00Z", "2025-02-29T08:00:00Z", "2026-13-01T08:00:00Z", "2026-00-10T08:00:00Z",
    "2026-04-31T08:00:00.000Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z",
    "2026-01-01T08:00:00+24:00", "2026-01-01T08:00:00+05:60", "0000-01-01T00:00:00Z",
])
def test_an_impossible_created_at_is_refused(server, created_at):
    steward = server.steward()
    document = _document(steward, created_at)  # signed: only the date can be refused
    with server.unchanged():
        answer = server.raw_post(json.dumps(document).encode(), steward.key)
    assert answer.status_code == 422, answer.text
    assert _error(answer)["details"] == [{"path": "created_at", "reason": "must be an RFC 3339 timestamp"}]


def test_a_leap_day_created_at_is_accepted(server):
    steward = server.steward()
    cs = changeset.new_changeset(steward.department, steward.key, next(steward.seq), "2028-02-29T23:59:59.999999+08:00",
                                 "测试", [changeset.op_create(steward.entry())])
    assert steward.client.push(cs)[0] == 201


@pytest.mark.parametrize("after", [2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1])
def test_a_feed_position_out_of_range_is_a_bad_parameter(server, after):
    steward = server.steward()
    answer = _signed_get(server, steward, f"/v1/feed?after={after}")
    assert answer.status_code == 400, answer.text
    assert _error(answer)["code"] == "bad_parameters"


@pytest.mark.parametrize("changeset_id", ["%00", "3d9f0c2e-7a41-4b8e-8f5d-2c6b1e9a7d3%00", "a%00b", "%ED%A0%80",
                                          "x" * 2000, "3D9F0C2E-7A41-4B8E-8F5D-2C6B1E9A7D30"])
def test_a_changeset_id_that_is_not_a_lowercase_uuid_is_a_bad_parameter(server, changeset_id):
    steward = server.steward()
    answer = _signed_get(server, steward, f"/v1/changesets/{changeset_id}")
    assert answer.status_code == 400, answer.text
    error = _error(answer)
    assert error["code"] == "bad_parameters"
    assert [d["path"] for d in error["details"]] == ["path.changeset_id"]


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("DELETE", "/v1/changesets", {"POST"}), ("GET", "/v1/changesets", {"POST"}),
    ("POST", "/v1/feed", {"GET"}), ("PUT", "/v1/server", {"GET"}),
    ("PATCH", "/v1/changesets/3d9f0c2e-7a41-4b8e-8f5d-2c6b1e9a7d30", {"GET"}),
])
def test_a_wrong_method_is_405_naming_the_allowed_ones(server, method, path, allowed):
    answer = requests.request(method, f"{server.url}{path}", timeout=60)
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["Allow"].split(",")} == allowed
    assert _error(answer)["code"] == "method_not_allowed"


@pytest.mark.parametrize(("where", "value", "path"), [
    ("operations.0.entry.items.0.id", ["a"], "operations[0].entry.items[0].id"),
    ("operations.0.entry.items.1.id", {"a": 1}, "operations[0].entry.items[1].id"),
])
def test_an_item_id_that_is_a_list_or_an_object_is_refused(server, where, value, path):
    steward = server.steward()
    document = _document(steward)
    _put(document, where, value)
    with server.unchanged():
        answer = server.raw_post(json.dumps(document).encode(), steward.key)
    assert answer.status_code == 422, answer.text
    assert _error(answer)["details"] == [{"path": path, "reason": "must be a lowercase UUID"}]


@pytest.mark.parametrize("kind", ["set", "item_set"])
@pytest.mark.parametrize("field", [["name"], {"name": 1}])
def test_a_field_name_that_is_a_list_or_an_object_is_refused(server, kind, field):
    steward = server.steward()
    entry_id, item_id = "6f1c2a4e-8b1d-4c39-9a57-0d2f7e3b5a10", "0b7e5c1a-3f2d-4e8b-9c6a-1d2e3f4a5b6c"
    op = (changeset.op_set(entry_id, 1, "name", "a", "b") if kind == "set"
          else changeset.op_item_set(entry_id, 1, item_id, "name", "a", "b"))
    document = steward.changeset([op]).to_dict()
    document["operations"][0]["field"] = field
    with server.unchanged():
        answer = server.raw_post(json.dumps(document).encode(), steward.key)
    assert answer.status_code == 422, answer.text
    assert [d["path"] for d in _error(answer)["details"]] == ["operations[0].field"]
