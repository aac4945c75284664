"""The exchange's key rotated: a client moves its pin only on a statement signed by the key it pinned.

A real exchange in a subprocess (SQLite and PostgreSQL), rotated with `steward-exchange rotate-key`
between syncs; an exchange that offers another key without such a statement is refused as before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from exchange import ledger, server_key
from exchange.db import make_engine, migrate
from exchange.local import LocalExchange
from steward import sample
from steward.catalogue.errors import StewardError
from steward.sync import identity, syncer
from steward.sync.keys import STORAGE_ENV, SigningKey, spaced
from steward.sync.protocol import KEY_ROTATION_TAG, RECEIPT_TAG, rotation_body, server_sign, utc_now
from steward.workspace.workspace import Workspace
from tests.exchange.conftest import new_database
from tests.exchange.test_admin import exchange_cli
from tests.helpers import ROOT, steward_env
from tests.sync.conftest import Steward
from tests.sync.proxy import Proxy
from tests.sync.test_failures import _entries

DEPARTMENT = sample.DEPARTMENTS[0]
PASSPHRASE = "correct horse battery"


class Rotating:
    """An exchange of the test's own, whose key the test rotates between syncs."""

    def __init__(self, db_url: str, folder: Path) -> None:
        self.db_url, self.folder = db_url, folder
        self.engine = make_engine(db_url)
        migrate(self.engine)
        ledger.add_department(self.engine, DEPARTMENT.code, DEPARTMENT.name)
        self.key_file = folder / "key-1.json"
        self.local = LocalExchange.start(db_url, self.key_file, folder / "serve-1.log")
        self.stewards: list[Steward] = []

    def steward(self, passphrase: str = "") -> Steward:
        ws = Workspace.create(self.folder / f"ws{len(self.stewards)}", DEPARTMENT.code, DEPARTMENT.name)
        identity.create_key(ws, lambda _new: passphrase, steward="测试员")
        key = identity.signing_key(ws, lambda _new: passphrase)
        ledger.enroll(self.engine, DEPARTMENT.code, key.public)
        steward = Steward(ws, key, self.local.url, server_key.load(self.key_file).public.fingerprint)
        self.stewards.append(steward)
        return steward

    def rotate(self) -> SigningKey:
        """Stop, rotate-key to a new key file, serve with it; every steward is pointed at the new address."""
        self.local.stop()
        new_file = self.folder / f"key-{len(ledger.key_rotations(self.engine)) + 2}.json"
        done = exchange_cli("rotate-key", "--db", self.db_url, "--key-file", self.key_file, "--new-key-file", new_file)
        assert done.returncode == 0, done.stderr
        self.key_file = new_file
        self.local = LocalExchange.start(self.db_url, new_file, self.folder / f"{new_file.stem}.log")
        for steward in self.stewards:
            steward.url = self.local.url
        return server_key.load(new_file)

    def close(self) -> None:
        self.local.stop()
        for steward in self.stewards:
            steward.ws.close()
        self.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def rotating(request, tmp_path) -> Iterator[Rotating]:
    with new_database(request.param, tmp_path) as url:
        exchange = Rotating(url, tmp_path)
        try:
            yield exchange
        finally:
            exchange.close()


def test_a_rotated_key_moves_the_pin_through_statements_signed_by_the_pinned_key(rotating):
    alice, bob = rotating.steward(), rotating.steward()
    first = server_key.load(rotating.key_file).public
    _entries(alice.ws)
    alice.sync()
    bob.sync()
    second = rotating.rotate().public
    report = alice.sync(trust=lambda _fp: False)  # nothing is asked: the statement vouches for the new key
    assert report.exchange_key_moved == (first.fingerprint, second.fingerprint)
    assert syncer.status(alice.ws).exchange_fingerprint == second.fingerprint
    third = rotating.rotate().public
    _entries(alice.ws)
    assert alice.sync().exchange_key_moved == (second.fingerprint, third.fingerprint)
    report = bob.sync(trust=lambda _fp: False)  # two rotations behind: the chain first -> second -> third
    assert report.exchange_key_moved == (first.fingerprint, third.fingerprint)
    assert syncer.status(bob.ws).exchange_fingerprint == third.fingerprint
    assert bob.catalogue() == alice.catalogue() and report.pulled == 1


def _forged(statement_for, tag=KEY_ROTATION_TAG):
    """A response hook: /v1/server offers an attacker's key, with the rotation statement a forger could make."""
    attacker = SigningKey.from_raw(bytes(range(32, 64)))

    def hook(_method: str, path: str, status: int, body: bytes) -> bytes:
        if not path.startswith("/v1/server") or status != 200:
            return body
        info = json.loads(body)
        signer, statement = statement_for(info, attacker)
        info.update(public_key=attacker.public.to_b64(), key_id=attacker.key_id,
                    fingerprint=attacker.public.fingerprint, key_rotations=[server_sign(signer, tag, statement)])
        return json.dumps(info).encode()
    return hook


def _pinned_key(rotating: Rotating) -> SigningKey:
    return server_key.load(rotating.key_file)


@pytest.mark.parametrize("case", ["signed_by_the_new_key", "another_exchange", "another_tag"])
def test_another_key_without_a_valid_statement_from_the_pinned_key_is_refused(rotating, case):
    alice = rotating.steward()
    alice.sync()
    pinned = _pinned_key(rotating)

    def statement_for(info, attacker):
        body = rotation_body(info["exchange_id"], pinned.public.to_b64(), attacker.public.to_b64(), utc_now())
        if case == "signed_by_the_new_key":
            return attacker, body
        if case == "another_exchange":
            return pinned, {**body, "exchange_id": "00000000-0000-4000-8000-000000000000"}
        return pinned, body

    proxy = Proxy(rotating.local.url)
    proxy.on_response = _forged(statement_for, RECEIPT_TAG if case == "another_tag" else KEY_ROTATION_TAG)
    alice.url = proxy.url
    try:
        with pytest.raises(StewardError) as caught:
            alice.sync()
    finally:
        proxy.close()
    assert caught.value.code == "sync.server_key_changed"
    assert syncer.status(alice.ws).exchange_fingerprint == pinned.public.fingerprint


def test_the_window_tells_the_steward_the_exchange_key_moved(qtbot, rotating, monkeypatch, tmp_path):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox, QWidget

    from ui.session import Session
    from ui.settings import Settings
    from ui.sync_controller import SyncController

    alice = rotating.steward()
    alice.sync()
    new = rotating.rotate().public
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", lambda _parent, _title, text, *_args: shown.append(text))
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.exchange_url = alice.url
    session = Session(alice.ws, settings)
    parent = QWidget()
    qtbot.addWidget(parent)
    try:
        report = SyncController(session, parent).run()  # the window's Sync action, without the rest of the window
    finally:
        session.runner.wait_all()
    assert report is not None and report.exchange_key_moved[1] == new.fingerprint
    assert any(spaced(new.fingerprint) in text for text in shown), shown


def test_steward_sync_says_the_exchange_key_moved(rotating, monkeypatch):
    monkeypatch.setenv(STORAGE_ENV, "file")  # so that the command, another process, can unlock the key
    alice = rotating.steward(PASSPHRASE)
    alice.sync()
    old, new = server_key.load(rotating.key_file).public, rotating.rotate().public
    env = {**steward_env("en"), STORAGE_ENV: "file", "STEWARD_KEY_PASSPHRASE": PASSPHRASE}
    done = subprocess.run([sys.executable, "-m", "steward", "sync", str(alice.ws.folder), "--exchange", alice.url],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert f"Old fingerprint {spaced(old.fingerprint)}, new fingerprint {spaced(new.fingerprint)}" in done.stdout
