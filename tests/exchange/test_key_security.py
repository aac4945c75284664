"""Steward keys under attack or mistake (SQLite and PostgreSQL, the exchange as a real subprocess).

Weak steward keys are refused at enrollment and their forged signatures at the door; a key file
that lies about its key is refused; a revoked key may still ask about its own changesets.
"""

from __future__ import annotations

import json

import pytest
import requests
from sqlalchemy import text

from exchange import ledger
from exchange.db import make_engine
from exchange.ledger import Refused
from steward import changeset, sample
from steward.changeset import Changeset
from steward.exchange_client import ExchangeRefused
from steward.keys import SMALL_ORDER_ENCODINGS, PublicKey, SigningKey, b64, key_id, public_key_document
from steward.model import new_id
from steward.protocol import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIME,
    RECEIPT_TAG,
    server_verify,
    utc_now,
)
from tests.exchange.test_admin import exchange_cli
from tests.helpers import make_clean_entry

DEPARTMENT = sample.DEPARTMENTS[0]
IDENTITY = bytes([1]) + bytes(31)


# Weak steward keys --------------------------------------------------------------------------


def test_the_issues_attack_an_identity_key_with_r_identity_s_zero_is_refused(server):
    """Enrolled before enrollment refused such keys, the identity "signs" anything with R = identity, S = 0."""
    weak = key_id(IDENTITY)
    with server.engine.begin() as conn:
        conn.execute(text("INSERT INTO steward_keys(key_id, department_code, public_key, steward, enrolled_at) "
                          "VALUES (:k, :d, :p, '冒名者', :t)"),
                     {"k": weak, "d": DEPARTMENT.code, "p": b64(IDENTITY), "t": utc_now()})
    forged = b64(IDENTITY + bytes(32))
    entry = make_clean_entry(provider=DEPARTMENT.name, provider_code=DEPARTMENT.code)
    cs = Changeset(new_id(), DEPARTMENT.code, weak, 1, utc_now(), "冒名者", (changeset.op_create(entry),), forged)
    with server.unchanged():
        answer = requests.post(f"{server.url}/v1/changesets", data=cs.canonical_bytes, timeout=30,
                               headers={"Content-Type": "application/json", HEADER_KEY: weak, HEADER_TIME: utc_now(),
                                        HEADER_SIGNATURE: forged})
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthenticated"


def test_a_small_order_key_file_is_not_enrolled(fresh_db_url, tmp_path):
    assert exchange_cli("department", "add", DEPARTMENT.code, DEPARTMENT.name, "--db", fresh_db_url).returncode == 0
    key_file = tmp_path / "identity.json"
    key_file.write_text(json.dumps(public_key_document(PublicKey(IDENTITY), DEPARTMENT.code, "冒名者")))
    done = exchange_cli("enroll", "--department", DEPARTMENT.code, key_file, "--db", fresh_db_url)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "small-order point" in done.stderr and str(key_file) in done.stderr
    engine = make_engine(fresh_db_url)
    assert ledger.lookup_key(engine, key_id(IDENTITY)) is None
    for raw in SMALL_ORDER_ENCODINGS:  # and by any other path to ledger.enroll
        with pytest.raises(Refused) as refused:
            ledger.enroll(engine, DEPARTMENT.code, PublicKey(raw))
        assert (refused.value.status, refused.value.code) == (422, "key_refused")
    engine.dispose()


@pytest.mark.parametrize("member", ["fingerprint", "key_id"])
def test_a_key_file_whose_member_does_not_match_its_key_is_not_enrolled(fresh_db_url, tmp_path, member):
    assert exchange_cli("department", "add", DEPARTMENT.code, DEPARTMENT.name, "--db", fresh_db_url).returncode == 0
    document = public_key_document(SigningKey.generate().public, DEPARTMENT.code, "张三")
    other = SigningKey.generate().public
    document[member] = other.fingerprint if member == "fingerprint" else other.key_id
    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(document))
    done = exchange_cli("enroll", "--department", DEPARTMENT.code, key_file, "--db", fresh_db_url)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"declares {member} {document[member]}, which does not match its public key" in done.stderr
    engine = make_engine(fresh_db_url)
    assert ledger.signed_keys(engine, SigningKey.generate()) == []
    engine.dispose()


# A revoked key ------------------------------------------------------------------------------


def test_a_revoked_key_may_still_ask_about_its_own_changesets_and_nothing_else(server):
    alice, bob = server.steward(DEPARTMENT), server.steward(DEPARTMENT)
    mine = alice.changeset([changeset.op_create(alice.entry())])
    theirs = bob.changeset([changeset.op_create(bob.entry())])
    assert alice.client.push(mine)[0] == 201 and bob.client.push(theirs)[0] == 201
    ledger.revoke(server.engine, alice.key.key_id)
    receipt = alice.client.changeset_status(mine.id)
    assert receipt["changeset_id"] == mine.id and server_verify(server.public, RECEIPT_TAG, receipt)
    for call in (lambda: alice.client.changeset_status(theirs.id), lambda: alice.client.changeset_status(new_id()),
                 lambda: alice.client.feed(0), lambda: alice.client.keys(),
                 lambda: alice.client.push(alice.changeset([changeset.op_create(alice.entry())]))):
        with pytest.raises(ExchangeRefused) as refused:
            call()
        assert (refused.value.status, refused.value.code) == (403, "key_revoked")
    assert bob.client.changeset_status(mine.id)["changeset_id"] == mine.id
