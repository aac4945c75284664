"""Stewards with real workspaces and keys, syncing with a real exchange in a subprocess (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from exchange import ledger, server_key
from exchange.db import make_engine, migrate
from exchange.local import LocalExchange
from steward import sample
from steward.catalogue.model import Entry
from steward.sync import identity, syncer
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.sync.keys import SigningKey
from steward.workspace import query
from steward.workspace.workspace import Workspace
from tests.exchange.conftest import new_database

_numbers = itertools.count(1)


@contextlib.contextmanager
def running_exchange(kind: str, folder: Path) -> Iterator[tuple[LocalExchange, Engine]]:
    """A real exchange on a new database of `kind`, with three sample departments."""
    with new_database(kind, folder) as url:
        engine = make_engine(url)
        migrate(engine)
        for department in sample.DEPARTMENTS[:3]:
            ledger.add_department(engine, department.code, department.name)
        local = LocalExchange.start(url, folder / "server-key.json", folder / "serve.log")
        try:
            yield local, engine
        finally:
            local.stop()
            engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def exchange(request, tmp_path_factory) -> Iterator[tuple[LocalExchange, Engine]]:
    with running_exchange(request.param, tmp_path_factory.mktemp("exchange")) as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def own_exchange(request, tmp_path) -> Iterator[tuple[LocalExchange, Engine]]:
    """An exchange of the test's own, for a test that leaves it in a state no other test may meet."""
    folder = tmp_path / "own-exchange"
    folder.mkdir()
    with running_exchange(request.param, folder) as running:
        yield running


@pytest.fixture(autouse=True)
def _keys_in_memory(memory_keyring):
    """Every sync test keeps its steward keys in memory."""


@dataclass
class Steward:
    """A steward's workspace, enrolled at the exchange, able to sync."""

    ws: Workspace
    key: SigningKey
    url: str
    server_fingerprint: str

    def sync(self, retries: int = 0, **options) -> syncer.SyncReport:
        client = ExchangeClient(Connection(self.url, retries=retries), self.key)
        try:
            options.setdefault("trust", lambda offered: offered == self.server_fingerprint)
            return syncer.sync(self.ws, client, self.key, **options)
        finally:
            client.close()

    def entry(self, entry_id: str) -> Entry:
        return query.get_entry(self.ws, entry_id)

    def catalogue(self) -> dict[str, dict]:
        """Every entry's content (not the local edit counter), by id."""
        with self.ws.reading() as conn:
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM entries")]
        result = {}
        for entry_id in ids:
            data = self.entry(entry_id).to_dict()
            del data["revision"]
            result[entry_id] = data
        return result


@contextlib.contextmanager
def steward_maker(exchange: tuple[LocalExchange, Engine], folder: Path) -> Iterator:
    """make(department) -> a Steward with a new workspace and a key enrolled at `exchange`."""
    local, engine = exchange
    made: list[Steward] = []
    server_fp = server_key.load(local.key_file).public.fingerprint

    def make(department: sample.Department = sample.DEPARTMENTS[0]) -> Steward:
        ws = Workspace.create(folder / f"ws{next(_numbers)}", department.code, department.name)
        identity.create_key(ws, lambda _new: "", steward=f"测试员{len(made) + 1}")
        key = identity.signing_key(ws, lambda _new: "")
        ledger.enroll(engine, department.code, key.public, "测试员")
        steward = Steward(ws, key, local.url, server_fp)
        made.append(steward)
        return steward

    try:
        yield make
    finally:
        for steward in made:
            steward.ws.close()


@pytest.fixture
def make_steward(exchange, tmp_path) -> Iterator:
    with steward_maker(exchange, tmp_path) as make:
        yield make


@pytest.fixture
def make_own_steward(own_exchange, tmp_path) -> Iterator:
    """make_steward, at the test's own exchange."""
    with steward_maker(own_exchange, tmp_path) as make:
        yield make


def folder_of(steward: Steward) -> Path:
    return steward.ws.folder
