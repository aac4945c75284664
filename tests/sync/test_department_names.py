"""Departments by name: the exchange signs each registered department's name, and a sync keeps the names that
verify with the pinned exchange key, against a real exchange (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re

import pytest

from exchange import ledger
from steward import sample
from steward.sync import departments
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.sync.keys import PublicKey, SigningKey
from steward.sync.protocol import DEPARTMENT_TAG, server_sign

USING = sample.DEPARTMENTS[2]


def test_a_sync_keeps_the_names_the_exchange_signs(exchange, make_steward):
    steward = make_steward(USING)
    with steward.ws.reading() as conn:
        assert departments.names(conn) == {}  # a new workspace knows none yet
    steward.sync()
    with steward.ws.reading() as conn:
        assert departments.names(conn) == {d.code: d.name for d in sample.DEPARTMENTS[:3]}


def test_a_department_registered_since_is_named_at_the_next_sync(own_exchange, make_own_steward):
    _, engine = own_exchange
    steward = make_own_steward(USING)
    steward.sync()
    newcomer = sample.DEPARTMENTS[3]
    ledger.add_department(engine, newcomer.code, newcomer.name)
    steward.sync()
    with steward.ws.reading() as conn:
        assert departments.names(conn)[newcomer.code] == newcomer.name


@pytest.fixture
def served(exchange, make_steward) -> tuple[list[dict], PublicKey]:
    """The exchange's list of departments as a steward's client receives it, and the exchange's key it pins."""
    steward = make_steward(USING)
    client = ExchangeClient(Connection(steward.url, retries=0), steward.key)
    try:
        return client.departments(), PublicKey.from_b64(client.server_info()["public_key"])
    finally:
        client.close()


def test_every_department_served_is_signed_by_the_exchange(served):
    listed, public = served
    assert {(d.code, d.name) for d in departments.vouched(listed, public)} == \
        {(d.code, d.name) for d in sample.DEPARTMENTS[:3]}


def test_a_name_the_exchange_did_not_sign_is_not_kept(served):
    listed, public = served
    genuine = listed[0]
    renamed = {**genuine, "name": "冒名顶替的部门"}  # changed on the way: its signature no longer verifies
    stranger = server_sign(SigningKey.generate(), DEPARTMENT_TAG, {"code": sample.DEPARTMENTS[4].code,
                                                                   "name": "另一个平台签名的部门"})
    unsigned = {"code": sample.DEPARTMENTS[5].code, "name": "未签名的部门"}
    padded = {**genuine, "note": "extra"}
    blank = server_sign(SigningKey.generate(), DEPARTMENT_TAG, {"code": genuine["code"], "name": " "})
    assert departments.vouched([renamed, stranger, unsigned, padded, blank, "not a department", None], public) == []
    assert departments.vouched([genuine], public) == [departments.Department(genuine["code"], genuine["name"])]


def test_the_protocol_document_s_example_is_signed_by_the_exchange_key_it_names():
    from tests.sync.test_profile_doc import DOC

    [example] = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", DOC, re.S) if '"departments"' in block]
    exchange_key = SigningKey.from_raw(bytes(range(0x80, 0xA0))).public
    [named] = departments.vouched(example["departments"], exchange_key)
    assert (named.code, named.name) == ("11310000MB2F41826L", "上海市市场监督管理局")
    assert departments.vouched(example["departments"], SigningKey.from_raw(bytes(range(32))).public) == []
