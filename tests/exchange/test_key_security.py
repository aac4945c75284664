"""The exchange's keys under attack or mistake (SQLite and PostgreSQL, the exchange as a real subprocess).

Weak steward keys are refused at enrollment and their forged signatures at the door; a key file
that lies about its key is refused; the database is served only with the exchange key it
records, a rotation is explicit and leaves a statement signed by the old key; a revoked key may
still ask about its own changesets.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from alembic import command
from sqlalchemy import text

from exchange import ledger, server_key
from exchange.db import _alembic_config, make_engine, migrate
from exchange.ledger import Refused
from exchange.local import LocalExchange, free_port
from steward import sample
from steward.catalogue.model import new_id
from steward.sync import changeset
from steward.sync.changeset import Changeset
from steward.sync.exchange_client import Connection, ExchangeClient, ExchangeRefused
from steward.sync.keys import SMALL_ORDER_ENCODINGS, PublicKey, SigningKey, b64, key_id, public_key_document, spaced
from steward.sync.protocol import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIME,
    KEY_ROTATION_TAG,
    RECEIPT_TAG,
    server_verify,
    utc_now,
)
from tests.exchange.test_admin import exchange_cli
from tests.helpers import ROOT, make_clean_entry, steward_env

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


@pytest.mark.usefixtures("shell_key")
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


@pytest.mark.usefixtures("shell_key")
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


# The exchange's own key --------------------------------------------------------------------


def _serve_refused(db_url: str, key_file: Path) -> subprocess.CompletedProcess[str]:
    """`serve`, expected to refuse at once (a server that starts instead is stopped after 30 s)."""
    try:
        return subprocess.run([sys.executable, "-m", "exchange.cli", "serve", "--db", db_url, "--key-file",
                               str(key_file), "--port", str(free_port())], capture_output=True, text=True,
                              encoding="utf-8", env=steward_env("en"), cwd=ROOT, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve started with the key file {key_file}")


def test_serve_refuses_a_database_with_another_missing_or_unreadable_key_file(fresh_db_url, tmp_path):
    key_file = tmp_path / "server-key.json"
    LocalExchange.start(fresh_db_url, key_file, tmp_path / "first.log").stop()  # the database records this key
    recorded = spaced(server_key.load(key_file).public.fingerprint)
    other = tmp_path / "other-key.json"
    server_key.load_or_create(other)
    unreadable = tmp_path / "unreadable.json"
    unreadable.write_text("{}")
    cases = [(other, ["holds exchange key", recorded, spaced(server_key.load(other).public.fingerprint),
                      "rotate-key"]),
             (tmp_path / "mistyped-key.json", ["does not exist", recorded, "rotate-key"]),
             (unreadable, ["cannot read the exchange key"])]
    for path, phrases in cases:
        done = _serve_refused(fresh_db_url, path)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert all(phrase in done.stderr for phrase in phrases), done.stderr
    assert not (tmp_path / "mistyped-key.json").exists()
    LocalExchange.start(fresh_db_url, key_file, tmp_path / "again.log").stop()  # the right key still serves


def test_a_database_served_before_keys_were_recorded_is_not_served_with_a_new_key(fresh_db_url, tmp_path):
    engine = make_engine(fresh_db_url)
    with engine.connect() as conn, conn.begin():
        command.upgrade(_alembic_config(conn), "0001")
    ledger.exchange_id(engine)  # what its first serve did: clients know the exchange by this id, and its key
    migrate(engine)
    done = _serve_refused(fresh_db_url, tmp_path / "server-key.json")
    assert done.returncode == 2 and "has been served before" in done.stderr, done.stderr
    assert not (tmp_path / "server-key.json").exists()
    existing = server_key.load_or_create(tmp_path / "old-key.json")
    LocalExchange.start(fresh_db_url, tmp_path / "old-key.json", tmp_path / "serve.log").stop()
    assert ledger.recorded_exchange_key(engine) == existing.public  # adopted: the key it was served with
    engine.dispose()


def test_a_new_database_prepared_before_its_first_serve_gets_a_new_key(fresh_db_url, tmp_path):
    engine = make_engine(fresh_db_url)
    migrate(engine)
    ledger.add_department(engine, DEPARTMENT.code, DEPARTMENT.name)
    ledger.enroll(engine, DEPARTMENT.code, SigningKey.generate().public)  # enrolled before the first serve
    LocalExchange.start(fresh_db_url, tmp_path / "server-key.json", tmp_path / "serve.log").stop()
    assert ledger.recorded_exchange_key(engine) == server_key.load(tmp_path / "server-key.json").public
    engine.dispose()


def test_serve_help_names_where_the_key_file_really_is(tmp_path):
    env = {**steward_env("en"), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("STEWARD_EXCHANGE_KEY", None)
    done = subprocess.run([sys.executable, "-m", "exchange.cli", "serve", "--help"], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60, check=True)
    where = tmp_path / "data" / "steward-exchange" / "server-key.json"
    assert str(where) in "".join(done.stdout.split())  # argparse may wrap it
    env["STEWARD_EXCHANGE_KEY"] = str(tmp_path / "elsewhere.json")
    done = subprocess.run([sys.executable, "-m", "exchange.cli", "serve", "--help"], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=60, check=True)
    assert str(tmp_path / "elsewhere.json") in "".join(done.stdout.split())


def test_rotate_key_signs_a_statement_with_the_old_key_and_the_exchange_serves_it(fresh_db_url, tmp_path):
    old_file, new_file = tmp_path / "old-key.json", tmp_path / "new-key.json"
    engine = make_engine(fresh_db_url)
    migrate(engine)
    ledger.add_department(engine, DEPARTMENT.code, DEPARTMENT.name)
    local = LocalExchange.start(fresh_db_url, old_file, tmp_path / "old.log")
    steward = SigningKey.generate()
    ledger.enroll(engine, DEPARTMENT.code, steward.public)
    client = ExchangeClient(Connection(local.url, retries=0), steward)
    entry = make_clean_entry(provider=DEPARTMENT.name, provider_code=DEPARTMENT.code)
    cs = changeset.new_changeset(DEPARTMENT.code, steward, 1, utc_now(), "张三", [changeset.op_create(entry)])
    assert client.push(cs)[0] == 201
    local.stop()
    old = server_key.load(old_file)

    rotated = exchange_cli("rotate-key", "--db", fresh_db_url, "--key-file", old_file, "--new-key-file", new_file)
    assert rotated.returncode == 0, rotated.stderr
    new = server_key.load(new_file)
    assert spaced(old.public.fingerprint) in rotated.stdout and spaced(new.public.fingerprint) in rotated.stdout
    assert "holds exchange key" in _serve_refused(fresh_db_url, old_file).stderr  # the old key serves no more

    local = LocalExchange.start(fresh_db_url, new_file, tmp_path / "new.log")
    try:
        info = requests.get(f"{local.url}/v1/server", timeout=10).json()
        client = ExchangeClient(Connection(local.url, retries=0), steward)
        receipt = client.changeset_status(cs.id)
    finally:
        local.stop()
    assert info["public_key"] == new.public.to_b64()
    [statement] = info["key_rotations"]
    assert {k: v for k, v in statement.items() if k not in ("rotated_at", "signature")} == {
        "exchange_id": info["exchange_id"], "old_public_key": old.public.to_b64(),
        "new_public_key": new.public.to_b64()}
    assert server_verify(old.public, KEY_ROTATION_TAG, statement)
    assert not server_verify(new.public, KEY_ROTATION_TAG, statement)
    assert server_verify(new.public, RECEIPT_TAG, receipt)  # stored receipts now speak with the new key
    verified = exchange_cli("verify-log", "--db", fresh_db_url, "--key-file", new_file)
    assert verified.returncode == 0, verified.stdout
    again = exchange_cli("rotate-key", "--db", fresh_db_url, "--key-file", new_file, "--new-key-file", old_file)
    assert again.returncode == 2 and "was this exchange's key before" in again.stderr
    assert len(ledger.key_rotations(engine)) == 1
    with engine.begin() as conn:  # a statement changed afterwards no longer verifies
        conn.execute(text("UPDATE exchange_keys SET statement = replace(statement, '\"rotated_at\": \"20', "
                          "'\"rotated_at\": \"19') WHERE position = 2"))
    tampered = exchange_cli("verify-log", "--db", fresh_db_url, "--key-file", new_file)
    assert tampered.returncode == 1 and "rotation statement is not signed by the key before it" in tampered.stdout
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


def test_a_server_still_running_with_the_old_key_after_rotate_key_accepts_nothing(fresh_db_url, tmp_path):
    engine = make_engine(fresh_db_url)
    migrate(engine)
    ledger.add_department(engine, DEPARTMENT.code, DEPARTMENT.name)
    old_file = tmp_path / "old-key.json"
    local = LocalExchange.start(fresh_db_url, old_file, tmp_path / "old.log")
    steward = SigningKey.generate()
    ledger.enroll(engine, DEPARTMENT.code, steward.public)
    client = ExchangeClient(Connection(local.url, retries=0), steward)
    entry = make_clean_entry(provider=DEPARTMENT.name, provider_code=DEPARTMENT.code)
    try:
        rotated = exchange_cli("rotate-key", "--db", fresh_db_url, "--key-file", old_file, "--new-key-file",
                               tmp_path / "new-key.json")  # not stopped first, against the instructions
        assert rotated.returncode == 0, rotated.stderr
        with pytest.raises(ExchangeRefused) as refused:
            client.push(changeset.new_changeset(DEPARTMENT.code, steward, 1, utc_now(), "张三",
                                                [changeset.op_create(entry)]))
    finally:
        local.stop()
    assert (refused.value.status, refused.value.code) == (503, "exchange_key_rotated")
    assert exchange_cli("verify-log", "--db", fresh_db_url, "--key-file", tmp_path / "new-key.json").returncode == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM changesets")).scalar_one() == 0
    engine.dispose()
