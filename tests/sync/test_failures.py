"""Syncs that go wrong: a client killed mid-push, an exchange stopped mid-sync, a feed that was tampered with.

Nothing may be lost and nothing applied twice; a lying exchange is caught before anything it sent is applied.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import text

from exchange import ledger, server_key
from exchange.db import make_engine, migrate
from exchange.local import LocalExchange
from steward import sample
from steward.catalogue.errors import StewardError
from steward.sync import changeset, identity, outbox
from steward.sync.exchange_client import Connection, ExchangeClient, ExchangeRefused
from steward.sync.keys import STORAGE_ENV, b64
from steward.sync.protocol import utc_now
from steward.workspace import journal, query
from steward.workspace.journal import CreateEntry
from steward.workspace.workspace import Workspace
from tests.helpers import ROOT, make_clean_entry, steward_env
from tests.sync.conftest import Steward
from tests.sync.proxy import Proxy

PASSPHRASE = "correct horse battery"
DEPARTMENT = sample.DEPARTMENTS[0]


def _entries(ws, count=2):
    entries = [make_clean_entry(provider=ws.department_name, provider_code=ws.department_code) for _ in range(count)]
    journal.apply(ws, [CreateEntry(e) for e in entries])
    return entries


@pytest.fixture
def cli_steward(exchange, tmp_path, monkeypatch):
    """A workspace whose key is in the encrypted file, so a `steward sync` child process can unlock it."""
    local, engine = exchange
    monkeypatch.setenv(STORAGE_ENV, "file")
    ws = Workspace.create(tmp_path / "cli-ws", DEPARTMENT.code, DEPARTMENT.name)
    identity.create_key(ws, lambda _new: PASSPHRASE)
    key = identity.signing_key(ws, lambda _new: PASSPHRASE)
    ledger.enroll(engine, DEPARTMENT.code, key.public)
    yield Steward(ws, key, local.url, exchange_public(local).fingerprint)
    ws.close()


def _sync_process(steward: Steward, url: str) -> subprocess.Popen:
    env = {**steward_env("en"), STORAGE_ENV: "file", "STEWARD_KEY_PASSPHRASE": PASSPHRASE}
    return subprocess.Popen([sys.executable, "-m", "steward", "sync", str(steward.ws.folder), "--exchange", url,
                             "--trust-server-key", steward.server_fingerprint],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _times_landed(engine, changeset_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM changesets WHERE id = :i"), {"i": changeset_id}).scalar_one()


def _waiting_ids(ws) -> list[str]:
    with ws.reading() as conn:
        return [q.changeset.id for q in outbox.waiting(conn)]


@pytest.mark.parametrize("moment", ["after the exchange applied it", "before it reached the exchange"])
def test_a_client_killed_during_a_push_gets_it_applied_exactly_once(exchange, cli_steward, moment):
    local, engine = exchange
    entries = _entries(cli_steward.ws)
    proxy = Proxy(local.url)
    child: list[subprocess.Popen] = []

    def kill_client() -> None:
        child[0].send_signal(signal.SIGKILL)
        child[0].wait()

    if moment == "before it reached the exchange":
        def on_request(method, path, _body):
            if method == "POST" and path == "/v1/changesets":
                kill_client()
                return "drop"
            return "forward"
        proxy.on_request = on_request
    else:
        def on_response(method, path, _status, body):
            if method == "POST" and path == "/v1/changesets":
                kill_client()  # the exchange applied it; its receipt never reaches the client
            return body
        proxy.on_response = on_response
    try:
        child.append(_sync_process(cli_steward, proxy.url))
        assert child[0].wait(timeout=120) == -signal.SIGKILL
    finally:
        proxy.close()
    [waiting] = _waiting_ids(cli_steward.ws)  # signed and stored before it was sent
    assert query.summary(cli_steward.ws).unsynced == len(entries)
    report = cli_steward.sync()
    assert _times_landed(engine, waiting) == 1
    assert _waiting_ids(cli_steward.ws) == []
    if moment == "before it reached the exchange":
        assert (report.pushed, report.confirmed) == (1, 0)  # the same changeset, sent again
    else:
        assert (report.pushed, report.confirmed) == (0, 1)  # found landed, not sent again
    assert query.summary(cli_steward.ws).unsynced == 0
    assert [cli_steward.entry(e.id).version for e in entries] == [1] * len(entries)
    assert ledger.verify_log(engine, exchange_public(local)) == []


def exchange_public(local: LocalExchange):
    return server_key.load(local.key_file).public


def test_the_exchange_stopped_mid_sync_loses_nothing_and_the_next_sync_completes(tmp_path, make_steward):
    url = f"sqlite:///{tmp_path / 'own-exchange.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    ledger.add_department(engine, DEPARTMENT.code, DEPARTMENT.name)
    local = LocalExchange.start(url, tmp_path / "key.json", tmp_path / "serve.log")
    steward = make_steward()
    ledger.enroll(engine, DEPARTMENT.code, steward.key.public)
    steward.server_fingerprint = exchange_public(local).fingerprint
    proxy = Proxy(local.url)
    steward.url = proxy.url
    entries = _entries(steward.ws, 3)

    def stop_exchange(method, path, _body):
        if method == "POST" and path == "/v1/changesets":
            local.stop()
        return "forward"

    proxy.on_request = stop_exchange
    try:
        with pytest.raises(StewardError) as caught:
            steward.sync()
        assert caught.value.code == "exchange.unreachable"
        assert len(_waiting_ids(steward.ws)) == 1
        assert query.summary(steward.ws).unsynced == 3  # every edit still here
        restarted = LocalExchange.start(url, tmp_path / "key.json", tmp_path / "serve2.log")
        proxy.upstream = restarted.url
        proxy.on_request = lambda _m, _p, _b: "forward"
        report = steward.sync()
        assert report.pushed + report.confirmed == 1
        assert query.summary(steward.ws).unsynced == 0
        assert [steward.entry(e.id).version for e in entries] == [1, 1, 1]
        restarted.stop()
    finally:
        proxy.close()
        engine.dispose()


def _tamper_first_record(body: bytes) -> bytes:
    page = json.loads(body)
    if page["records"]:
        page["records"][0]["changeset_json"] = page["records"][0]["changeset_json"].replace(
            '"name":"企业登记信息', '"name":"被篡改的企业登记信息', 1)
    return json.dumps(page).encode()


def _tamper_checkpoint(body: bytes) -> bytes:
    page = json.loads(body)
    page["checkpoint"]["hash"] = "0" * 64
    return json.dumps(page).encode()


@pytest.mark.parametrize("tamper", [_tamper_first_record, _tamper_checkpoint])
def test_a_tampered_feed_is_detected_and_nothing_from_it_applied(exchange, make_steward, tamper):
    local, _ = exchange
    alice, bob = make_steward(), make_steward()
    _entries(alice.ws)
    alice.sync()
    bob.sync()  # bob is up to date; what follows is new
    _entries(alice.ws)
    alice.sync()
    before = (bob.catalogue(), bob.ws.facts()["feed_position"])
    proxy = Proxy(local.url)
    proxy.on_response = lambda method, path, status, body: (
        tamper(body) if path.startswith("/v1/feed") and status == 200 else body)
    bob.url = proxy.url
    try:
        with pytest.raises(StewardError) as caught:
            bob.sync()
    finally:
        proxy.close()
    assert caught.value.code == "sync.feed_invalid"
    assert "Warning" in caught.value.message("en")
    assert (bob.catalogue(), bob.ws.facts()["feed_position"]) == before


def test_a_changed_exchange_key_is_refused(exchange, make_steward, tmp_path):
    alice = make_steward()
    alice.sync()
    # Another server at the same address (the exchange's own database refuses to be served with another key).
    impostor = LocalExchange.start(f"sqlite:///{tmp_path / 'impostor.sqlite'}", tmp_path / "other-key.json",
                                   tmp_path / "impostor.log")
    alice.url = impostor.url
    try:
        with pytest.raises(StewardError) as caught:
            alice.sync()
    finally:
        impostor.stop()
    assert caught.value.code == "sync.server_key_changed"
    assert os.environ.get(STORAGE_ENV) is None


def test_a_change_to_another_departments_entry_is_refused_even_when_the_exchange_accepted_it(own_exchange,
                                                                                              make_own_steward):
    """A compromised exchange (its table of owners altered) lets department B change A's entry; A's client refuses."""
    local, engine = own_exchange
    alice, bob = make_own_steward(sample.DEPARTMENTS[0]), make_own_steward(sample.DEPARTMENTS[1])
    [entry, _] = _entries(alice.ws)
    alice.sync()
    with engine.begin() as conn:  # what only a compromised exchange would do
        conn.execute(text("UPDATE entries SET department_code = :b WHERE id = :i"),
                     {"b": bob.ws.department_code, "i": entry.id})
    version = alice.entry(entry.id).version
    operations = [
        changeset.op_set(entry.id, version, "provider_code", alice.ws.department_code, bob.ws.department_code),
        changeset.op_set(entry.id, version, "name", entry.name, "被他人改写的名称"),
    ]
    forged = changeset.new_changeset(bob.ws.department_code, bob.key, 1, utc_now(), "乙", operations)
    client = ExchangeClient(Connection(local.url), bob.key)
    try:
        status, _ = client.push(forged)
    finally:
        client.close()
    assert status == 201  # the exchange took it
    before = (alice.catalogue(), alice.ws.facts()["feed_position"])
    with pytest.raises(StewardError) as caught:
        alice.sync()
    assert caught.value.code == "sync.foreign_change"
    assert entry.code in caught.value.message("en") and bob.ws.department_code in caught.value.message("en")
    assert (alice.catalogue(), alice.ws.facts()["feed_position"]) == before


def test_a_steward_revoked_mid_sync_still_learns_which_changesets_landed(exchange, make_steward):
    local, engine = exchange
    alice = make_steward()
    entries = _entries(alice.ws)
    proxy = Proxy(local.url)

    def revoke_and_lose_the_receipt(method, path, _status, body):
        if method == "POST" and path == "/v1/changesets":
            ledger.revoke(engine, alice.key.key_id)  # the changeset landed; then the key was revoked
            return b"<html>gateway timeout</html>"
        return body
    proxy.on_response = revoke_and_lose_the_receipt
    alice.url = proxy.url
    try:
        with pytest.raises(StewardError):
            alice.sync()
    finally:
        proxy.close()
    [waiting] = _waiting_ids(alice.ws)
    alice.url = local.url
    with pytest.raises(ExchangeRefused) as refused:
        alice.sync()  # it may ask about its own changeset, and read nothing else
    assert (refused.value.status, refused.value.code) == (403, "key_revoked")
    assert _times_landed(engine, waiting) == 1 and _waiting_ids(alice.ws) == []
    assert query.summary(alice.ws).unsynced == 0
    assert [alice.entry(e.id).version for e in entries] == [1] * len(entries)


def test_an_exchange_offering_a_small_order_key_is_not_trusted(exchange, make_steward):
    local, _ = exchange
    alice = make_steward()
    proxy = Proxy(local.url)

    def identity_key(_method, path, _status, body):
        if not path.startswith("/v1/server"):
            return body
        info = json.loads(body)
        info["public_key"] = b64(bytes([1]) + bytes(31))
        return json.dumps(info).encode()
    proxy.on_response = identity_key
    alice.url = proxy.url
    try:
        with pytest.raises(StewardError) as caught:
            alice.sync(trust=lambda _fp: True)  # even a steward who would confirm anything
    finally:
        proxy.close()
    assert caught.value.code == "keys.weak.small_order"
    assert "small-order" in caught.value.message("en") and proxy.url in caught.value.message("en")
    assert alice.ws.facts().get("exchange_key") is None
