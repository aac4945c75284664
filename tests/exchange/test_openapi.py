"""The exchange's /openapi.json (from the real server) is complete enough for a schema-driven client or fuzzer."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from steward.catalogue.model import DataItem
from steward.sync import changeset

PROTOCOL_MD = Path(__file__).parents[2] / "docs" / "protocol.md"
SIGNED_PATHS = {("post", "/v1/changesets"), ("get", "/v1/changesets/{changeset_id}"), ("get", "/v1/feed"),
                ("post", "/v1/steps"),
                ("get", "/v1/checkpoint"), ("get", "/v1/keys"), ("get", "/v1/departments")}


@pytest.fixture(scope="module")
def openapi(server) -> dict[str, Any]:
    answer = requests.get(f"{server.url}/openapi.json", timeout=60)
    assert answer.status_code == 200
    return answer.json()


def _push_schema(openapi) -> jsonschema.Draft202012Validator:
    schema = openapi["paths"]["/v1/changesets"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def _parameter(openapi, path: str, name: str) -> dict[str, Any]:
    [found] = [p for p in openapi["paths"][path]["get"]["parameters"] if p["name"] == name]
    return found


def test_the_push_body_is_described_by_a_schema_the_documented_examples_meet(openapi):
    validator = _push_schema(openapi)
    assert openapi["paths"]["/v1/changesets"]["post"]["requestBody"]["required"] is True
    examples = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", PROTOCOL_MD.read_text(), re.S)
                if '"format": "steward.changeset/1"' in block]
    assert len(examples) == 2
    for example in examples:
        assert list(validator.iter_errors(example)) == []


def test_every_kind_of_operation_the_client_makes_meets_the_schema(server, openapi):
    validator = _push_schema(openapi)
    steward = server.steward()
    entry = steward.entry(related_codes=["319001/000009"])
    item, extra = entry.items[0], DataItem(name="新信息项", data_type="N", length=None, position=9)
    operations = [changeset.op_create(entry), changeset.op_set(entry.id, 1, "name", entry.name, "新名称"),
                  changeset.op_set(entry.id, 1, "related_codes", [], ["319001/000002"]),
                  changeset.op_set(entry.id, 1, "sharing_method_type", None, "file"),
                  changeset.op_retire(entry.id, 1), changeset.op_restore(entry.id, 1),
                  changeset.op_item_add(entry.id, 1, extra),
                  changeset.op_item_set(entry.id, 1, item.id, "length", item.length, None),
                  changeset.op_item_remove(entry.id, 1, item)]
    document = steward.changeset(operations).to_dict()
    changeset.parse(document)  # the format check agrees
    assert list(validator.iter_errors(document)) == []


@pytest.mark.parametrize(("where", "value"), [
    ("author", "张\ud800三"), ("author", "张\x85三"), ("author", "x" * 20_001), ("seq", 0), ("seq", 2**53),
    ("created_at", "2026-11-25 08:00:00Z"), ("id", "3D9F0C2E-7A41-4B8E-8F5D-2C6B1E9A7D30"), ("extra", 1),
    ("operations", []), ("signature", "c2lnbmF0dXJl"),
])
def test_what_the_exchange_refuses_is_outside_the_schema(server, openapi, where, value):
    validator = _push_schema(openapi)
    steward = server.steward()
    document = steward.changeset([changeset.op_create(steward.entry())]).to_dict()
    document[where] = value
    assert list(validator.iter_errors(document)) != []
    with pytest.raises(changeset.ChangesetInvalid):
        changeset.parse(document)


def test_the_three_authentication_headers_are_one_security_requirement(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert {(s["type"], s["in"], s["name"]) for s in schemes.values()} == {
        ("apiKey", "header", "Steward-Key"), ("apiKey", "header", "Steward-Timestamp"),
        ("apiKey", "header", "Steward-Signature")}
    operations = {(method, path): op for path, ops in openapi["paths"].items() for method, op in ops.items()}
    # Who the exchange is, and a new key's enrollment request (signed inside, by that key), need no signed request.
    unsigned = {("get", "/v1/server"), ("post", "/v1/enrollment-requests"), ("get", "/v1/enrollment-requests/{key_id}")}
    # The open catalogue is for the public: read-only, with no authentication (docs/open-data.md).
    unsigned |= {("get", f"/open/{path}") for path in ("catalog", "catalog.ttl", "catalog.jsonld", "catalog.rdf",
                                                        "data.json")}
    # So is the CKAN-compatible Action API over it (GET, and POST as ckanapi sends; both read-only).
    unsigned |= {("get", "/api/3/action/{action}"), ("post", "/api/3/action/{action}")}
    assert set(operations) == SIGNED_PATHS | unsigned
    for where in SIGNED_PATHS:
        assert operations[where]["security"] == [{name: [] for name in schemes}], where  # all three together
    for where in unsigned:
        assert "security" not in operations[where]


def test_the_feed_parameters_state_their_bounds(openapi):
    after, limit = _parameter(openapi, "/v1/feed", "after"), _parameter(openapi, "/v1/feed", "limit")
    assert (after["schema"]["minimum"], after["schema"]["maximum"], after["schema"]["default"]) == (0, 2**53 - 1, 0)
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"], limit["schema"]["default"]) == (1, 1000, 200)


def test_the_changeset_id_states_its_pattern(openapi):
    pattern = _parameter(openapi, "/v1/changesets/{changeset_id}", "changeset_id")["schema"]["pattern"]
    assert re.search(pattern, "3d9f0c2e-7a41-4b8e-8f5d-2c6b1e9a7d30")
    assert not re.search(pattern, "3D9F0C2E-7A41-4B8E-8F5D-2C6B1E9A7D30")
