"""Sync scenarios (issue 5): a new workspace's first sync pulling the catalogue, and an incremental sync.

The exchange (SQLite, in a child process) is filled in-process through the ledger, as pushes would;
the workspaces sync with it over HTTP as stewards do. The first sync is the `steward sync` command
in its own process, as a steward runs it: measured in this process it would also pay for the
garbage collector walking the generated catalogue this process holds, which no client holds.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from unittest.mock import patch

import keyring
import requests

from bench.harness import Report, stopwatch
from exchange import ledger, server_key
from exchange.db import make_engine, migrate
from exchange.local import LocalExchange
from steward import sample
from steward.catalogue import rules
from steward.catalogue.model import Entry
from steward.sync import changeset, identity, syncer
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.sync.keys import PASSPHRASE_ENV, STORAGE_ENV, SigningKey
from steward.sync.protocol import sign_request, utc_now
from steward.workspace import journal
from steward.workspace.journal import SetField
from steward.workspace.workspace import Workspace
from tests.keyring_backend import MemoryKeyring

DEPARTMENT = sample.DEPARTMENTS[0]
CREATE_BATCH = 1_000
REMOTE_CHANGES, LOCAL_CHANGES = 1_000, 100
PASSPHRASE = "bench passphrase"  # the first sync's steward keeps the key in the encrypted file the command unlocks


def _clean(count: int) -> list[Entry]:
    ctx = rules.Context(department_code=DEPARTMENT.code)
    chosen: dict[str, Entry] = {}
    for entry in sample.generate(DEPARTMENT, int(count * 1.2), seed=57):
        if entry.code not in chosen and not rules.has_errors(rules.check(entry, ctx)):
            chosen[entry.code] = entry
    return list(chosen.values())[:count]


def _fill_exchange(engine, key: SigningKey, entries: list[Entry]) -> None:
    server = server_key.load_or_create(Path(str(engine.url.database)).parent / "bench-exchange-key.json")
    exchange = ledger.exchange_id(engine)
    record = ledger.lookup_key(engine, key.key_id)
    for seq, start in enumerate(range(0, len(entries), CREATE_BATCH), start=1):
        ops = [changeset.op_create(e) for e in entries[start : start + CREATE_BATCH]]
        ledger.push(engine, server, exchange, changeset.new_changeset(DEPARTMENT.code, key, seq, utc_now(), "bench",
                                                                       ops), record)


def _new_steward(folder: Path, engine, name: str) -> tuple[Workspace, SigningKey]:
    ws = Workspace.create(folder / name, DEPARTMENT.code, DEPARTMENT.name)
    identity.create_key(ws, lambda _new: PASSPHRASE, steward=name)
    key = identity.signing_key(ws, lambda _new: PASSPHRASE)
    ledger.enroll(engine, DEPARTMENT.code, key.public, name)
    return ws, key


def _file_key_env() -> dict[str, str]:
    return {**os.environ, STORAGE_ENV: "file", PASSPHRASE_ENV: PASSPHRASE, "PYTHONIOENCODING": "utf-8"}


def _sync_command(folder: Path, url: str, fingerprint: str) -> dict:
    """`steward sync` in a child process; its JSON report."""
    done = subprocess.run([sys.executable, "-m", "steward", "sync", str(folder), "--exchange", url,
                           "--trust-server-key", fingerprint, "--json"], capture_output=True, text=True,
                          encoding="utf-8", env=_file_key_env(), check=False)
    if done.returncode != 0:
        raise RuntimeError(f"steward sync failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def _sync(ws: Workspace, url: str, key: SigningKey, fingerprint: str) -> syncer.SyncReport:
    client = ExchangeClient(Connection(url, retries=0, read_timeout=600, deadline=3600), key)
    try:
        return syncer.sync(ws, client, key, trust=lambda offered: offered == fingerprint)
    finally:
        client.close()


def _floor(url: str, key: SigningKey, folder: Path, entries: list[Entry]) -> float:
    """Fetching the same feed bytes, plus a raw sqlite3 bulk insert of the same entries and items."""
    rows = [(e.id, e.code, e.name, e.abstract) for e in entries]
    items = [(i.id, e.id, i.position, i.name, i.data_type, i.length) for e in entries for i in e.items]
    with stopwatch() as elapsed:
        after = 0
        session = requests.Session()
        while True:
            target = f"/v1/feed?after={after}&limit=200"
            page = session.get(url + target, headers=sign_request(key, "GET", target), timeout=600).json()
            if page["records"]:
                after = page["records"][-1]["position"]
            if not page["more"]:
                break
        db = sqlite3.connect(folder / "floor.sqlite", isolation_level=None)
        db.execute("CREATE TABLE entries(id TEXT PRIMARY KEY, code TEXT, name TEXT, abstract TEXT)")
        db.execute("CREATE TABLE items(id TEXT PRIMARY KEY, entry_id TEXT, position INT, name TEXT, type TEXT, "
                   "length INT)")
        db.execute("BEGIN")
        db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", items)
        db.execute("COMMIT")
        db.close()
    return elapsed()


def run(report: Report, folder: Path, entries: int) -> None:
    print(f"Sync scenarios at {entries:,} entries", flush=True)
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())  # the benchmark never touches the OS keychain
    url = f"sqlite:///{folder / 'sync-exchange.sqlite'}"
    engine = make_engine(url)
    migrate(engine)
    ledger.add_department(engine, DEPARTMENT.code, DEPARTMENT.name)
    author = SigningKey.generate()
    ledger.enroll(engine, DEPARTMENT.code, author.public, "bench")
    catalogue = _clean(entries)
    started = time.perf_counter()
    _fill_exchange(engine, author, catalogue)
    print(f"  (exchange filled with {len(catalogue):,} entries in {time.perf_counter() - started:.1f} s)", flush=True)
    local = LocalExchange.start(url, folder / "bench-exchange-key.json", folder / "sync-exchange.log")
    fingerprint = server_key.load(local.key_file).public.fingerprint
    try:
        with patch.dict(os.environ, {STORAGE_ENV: "file"}):  # steward-a's key in the file the command unlocks
            ws, key = _new_steward(folder, engine, "steward-a")
        ws.close()
        with stopwatch() as first:
            pulled = _sync_command(ws.folder, local.url, fingerprint)
        ws = Workspace.open(ws.folder)
        floor = _floor(local.url, key, folder, catalogue)
        scenario = f"first sync ({len(catalogue):,} entries)"
        report.add(scenario, "changesets pulled", pulled["pulled"], "cs")
        report.add(scenario, "seconds", first(), "s", 60.0)
        report.add(scenario, "floor: fetch + raw insert", floor, "s")
        report.add(scenario, "ratio to floor", first() / floor, "x")
        report.add(scenario, "entries per second", len(catalogue) / first(), "1/s")
        _incremental(report, folder, engine, local.url, fingerprint, ws, key, catalogue)
        ws.close()
    finally:
        local.stop()
        engine.dispose()
        keyring.set_keyring(previous)


def _incremental(report: Report, folder: Path, engine, url: str, fingerprint: str, ws: Workspace, key: SigningKey,
                 catalogue: list[Entry]) -> None:
    """Another steward changes 1,000 entries; this one changes 100 others; then this one syncs."""
    other, other_key = _new_steward(folder, engine, "steward-b")
    _sync(other, url, other_key, fingerprint)  # the other steward's first sync, not measured
    remote = catalogue[:REMOTE_CHANGES]
    journal.apply(other, [SetField(e.id, "abstract", e.abstract + "(已更新)") for e in remote])
    _sync(other, url, other_key, fingerprint)
    mine = catalogue[REMOTE_CHANGES : REMOTE_CHANGES + LOCAL_CHANGES]
    journal.apply(ws, [SetField(e.id, "name", e.name + "(本地修改)") for e in mine])
    with stopwatch() as elapsed:
        result = _sync(ws, url, key, fingerprint)
    scenario = "incremental sync"
    report.add(scenario, "remote changes pulled", REMOTE_CHANGES, "entries")
    report.add(scenario, "local changes pushed", result.operations, "ops")
    report.add(scenario, "seconds", elapsed(), "s", 3.0)
    other.close()
