"""Generated hostile requests to every endpoint of a real exchange (SQLite and PostgreSQL): never a 5xx.

The endpoints come from the server's own /openapi.json. Each example picks one, a method (mostly
its own), odd path and query values, a body (a signed changeset with one value replaced by
generated JSON and signed again where it still parses, or arbitrary JSON, deep nesting, bytes)
and authentication headers (correctly signed, garbage, or missing). Whatever it sends, the
exchange answers below 500, in UTF-8.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.sync import changeset
from steward.sync.changeset import Changeset, ChangesetInvalid
from steward.sync.protocol import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIME, sign_request

ODD_CHARACTERS = ["\ud800", "\udfff", "\x00", "\x1b", "\x7f", "\x85", "\x9b", "\u202e", "\ufeff", "\uffff", "😀",
                  "𠀀", "\u0301", "\u2028", "'", '"', "\\", "%", "/", "?", "#", "&", "=", ";", " ", "\t", "\n", "é"]
odd_text = st.one_of(
    st.builds("{}{}{}".format, st.sampled_from(["", "登记", "a"]), st.sampled_from(ODD_CHARACTERS),
              st.sampled_from(["", "信息", "z"])),  # one odd character in ordinary text: the commonest attack
    st.text(max_size=12),
    st.text(st.sampled_from(ODD_CHARACTERS), max_size=12),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=12),  # surrogates included
    st.sampled_from(["", "null", "0", "-1", "1e400", "NaN", "x" * 20_001, "3d9f0c2e-7a41-4b8e-8f5d-2c6b1e9a7d30"]),
)
huge_integers = st.one_of(st.integers(), st.sampled_from([2**53, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**400]))
json_values = st.recursive(
    st.none() | st.booleans() | huge_integers | st.floats(allow_nan=False, allow_infinity=False) | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)
query_values = st.one_of(odd_text, huge_integers.map(str), huge_integers.map(str),
                         st.sampled_from(["1.5", "+3", " 3", "0x10", "١٢"]))
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                        max_size=40)
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()  # ASCII: surrogates travel as \ud800 escapes, huge integers as digits


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document that one generated value can take, members and list elements alike."""
    places = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            places += _leaves(inner, (*path, key))
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            places += _leaves(inner, (*path, n))
    return places


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[head] = _replace(document[head], tuple(rest), value) if rest else value  # the last may be a new member
    return copy


def _resigned(document: Any, steward) -> Any:
    """The document signed again by the steward where it still parses, so the request gets past the signature."""
    try:
        cs = changeset.parse(document)
        return Changeset(cs.id, cs.department, cs.key_id, cs.seq, cs.created_at, cs.author, cs.operations) \
            .sign(steward.key).to_dict()
    except (ChangesetInvalid, ValueError):  # outside the format, or another key's: sent as it is
        return document


@st.composite
def bodies(draw, steward) -> bytes:
    kind = draw(st.sampled_from(["changeset", "changeset", "changeset", "json", "nested", "bytes", "empty"]))
    if kind == "changeset":
        document = steward.changeset([changeset.op_create(steward.entry())]).to_dict()
        place = draw(st.sampled_from(_leaves(document)))
        if draw(st.booleans()) and place and isinstance(place[-1], str):  # add a member beside it instead
            place = (*place[:-1], draw(odd_text))
        value = draw(st.one_of(odd_text, odd_text, json_values))  # text is most of a changeset: often odd text
        return _encode(_resigned(_replace(document, place, value), steward))
    if kind == "json":
        return _encode(draw(json_values))
    if kind == "nested":
        depth = draw(st.integers(1, 200_000))
        return draw(st.sampled_from(["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth, "[" * depth]))\
            .encode()
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    return b""


@st.composite
def requests_to(draw, endpoints: list[tuple[str, str]], steward) -> requests.PreparedRequest:
    own_method, template = draw(st.sampled_from(endpoints))
    method = own_method if draw(st.integers(0, 4)) else draw(st.sampled_from(METHODS))
    path = template
    if "{changeset_id}" in template:
        value = draw(odd_text)
        path = template.replace("{changeset_id}", quote(value.encode("utf-8", "surrogatepass"), safe=""))
    params = draw(st.dictionaries(st.sampled_from(["after", "after", "limit", "limit", "x", "after[]", "", "%00"]),
                                  query_values, max_size=3))
    query = "&".join(f"{quote(name, safe='%')}={quote(value.encode('utf-8', 'surrogatepass'), safe='')}"
                     for name, value in params.items())
    body = draw(bodies(steward)) if method in ("POST", "PUT", "PATCH") else b""
    prepared = requests.Request(method, f"{steward.client.base}{path}{'?' + query if query else ''}",
                                data=body, headers={"Content-Type": draw(st.sampled_from(
                                    ["application/json", "text/plain", "application/json; charset=latin-1"]))}
                                ).prepare()
    auth = draw(st.sampled_from(["signed", "signed", "signed", "signed", "garbage", "stale", "none"]))
    if auth in ("signed", "stale"):
        timestamp = "2020-01-01T00:00:00Z" if auth == "stale" else None
        prepared.headers.update(sign_request(steward.key, method, prepared.path_url, body, timestamp))
    elif auth == "garbage":
        for name in (HEADER_KEY, HEADER_TIME, HEADER_SIGNATURE):
            prepared.headers[name] = draw(header_values).encode("latin-1")
    return prepared


@pytest.fixture(scope="module")
def endpoints(server) -> list[tuple[str, str]]:
    described = requests.get(f"{server.url}/openapi.json", timeout=60).json()["paths"]
    found = [(method.upper(), path) for path, operations in described.items() for method in operations]
    assert len(found) >= 7
    # Weighted towards the endpoints that take the most input: a push's body above all, the feed's and a
    # changeset status' parameters next.
    pushes = [e for e in found if e[0] == "POST"]
    parameters = [e for e in found if "{" in e[1] or e[1].endswith("/feed")]
    return [*found, *pushes * 10, *parameters * 3, ("GET", "/v1/nowhere"), ("GET", "/openapi.json")]


@pytest.fixture(scope="module")
def fuzzer(server):
    steward = server.steward()
    with requests.Session() as session:
        yield steward, session


@settings(max_examples=200, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.data())
def test_no_request_makes_the_exchange_answer_5xx(server, endpoints, fuzzer, data):
    steward, session = fuzzer
    prepared = data.draw(requests_to(endpoints, steward))
    answer = session.send(prepared, timeout=60)
    assert answer.status_code < 500, (prepared.method, prepared.path_url, prepared.body, answer.text)
    answer.content.decode("utf-8")
