"""A real exchange for each test module: `steward-exchange serve` in a subprocess, on SQLite and on PostgreSQL.

PostgreSQL is the server at 127.0.0.1:5432 (user postgres); each module gets a fresh database,
dropped afterwards. Where no server answers, those tests skip locally and fail on CI.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from sqlalchemy import Engine, text

from exchange import ledger, server_key
from exchange.db import KEY_ENV, make_engine, migrate, writing
from exchange.local import LocalExchange
from steward import sample
from steward.catalogue.model import Entry
from steward.sync import changeset
from steward.sync.changeset import Changeset
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.sync.keys import SigningKey
from steward.sync.protocol import utc_now
from tests.helpers import make_clean_entry, require

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
# How long a request may take to answer while a test holds the write lock before it counts as waiting for
# the lock: a deadline for answers that, without the lock, come in milliseconds (not a performance bound).
LOCK_PATIENCE_S = 20.0
T = TypeVar("T")


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN):
            return None
    except Exception as error:  # any failure to connect means: no usable server here
        return f"PostgreSQL at 127.0.0.1:5432 does not answer ({type(error).__name__}: {error})"


@contextlib.contextmanager
def new_database(kind: str, folder: Path) -> Iterator[str]:
    """A new, empty database of `kind` (sqlite or postgresql); a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'exchange.sqlite'}"
        return
    why = _pg_available()
    require(why is None, why or "")
    import psycopg

    name = f"steward_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db_url(request, tmp_path_factory) -> Iterator[str]:
    """One database per test module and backend, shared by the module's tests."""
    with new_database(request.param, tmp_path_factory.mktemp("exchange")) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_db_url(request, tmp_path) -> Iterator[str]:
    """A database of the test's own, for tests that damage it on purpose."""
    with new_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def shell_key(tmp_path, monkeypatch) -> Path:
    """The exchange key file the test's shell commands sign with ($STEWARD_EXCHANGE_KEY, in the test's folder).

    Commands that change something record it in the administration log, signed by the exchange's key; without
    this they would make (or use) the key in the user data folder of whoever runs the tests.
    """
    path = tmp_path / "shell-key.json"
    monkeypatch.setenv(KEY_ENV, str(path))
    return path


_departments = itertools.cycle(sample.DEPARTMENTS)


@dataclass
class Steward:
    """An enrolled steward: a key, its department, and the next sequence number."""

    key: SigningKey
    department: str
    department_name: str
    client: ExchangeClient
    seq: itertools.count = field(default_factory=lambda: itertools.count(1))

    def changeset(self, operations: list[dict[str, Any]], seq: int | None = None,
                  department: str | None = None) -> Changeset:
        return changeset.new_changeset(department or self.department, self.key,
                                       seq if seq is not None else next(self.seq), utc_now(), "测试", operations)

    def entry(self, **overrides: Any) -> Entry:
        """A clean entry of this steward's department."""
        values: dict[str, Any] = {"provider": self.department_name, "provider_code": self.department}
        values.update(overrides)
        return make_clean_entry(**values)


@dataclass
class Server:
    url: str
    db_url: str
    key_file: Path
    engine: Engine
    log: Path  # what the exchange process wrote: its log, refusals included

    @property
    def public(self):
        return server_key.load(self.key_file).public

    def steward(self, department: Any = None) -> Steward:
        dept = department or next(_departments)
        key = SigningKey.generate()
        ledger.enroll(self.engine, dept.code, key.public, "测试员")
        return Steward(key, dept.code, dept.name, ExchangeClient(Connection(self.url, retries=0), key))

    def head(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            return tuple(conn.execute(text("SELECT position, hash FROM head WHERE id = 1")).one())

    def catalogue(self) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT id, version, document FROM entries ORDER BY id"))]

    def verify_log(self) -> list[str]:
        return ledger.verify_log(self.engine, self.public)

    @contextlib.contextmanager
    def unchanged(self) -> Iterator[None]:
        """Asserts that the block changed neither the catalogue nor the log, and that the log still verifies."""
        before = (self.head(), self.catalogue())
        yield
        assert (self.head(), self.catalogue()) == before
        assert self.verify_log() == []

    def answer_while_locked(self, call: Callable[[], T]) -> T | None:
        """`call`'s result if it came while this test held the exchange's write lock, as a long push would;
        None if it waited for the lock (it then finishes once the lock is free)."""
        with ThreadPoolExecutor(1) as pool:
            with writing(self.engine):
                future = pool.submit(call)
                try:
                    return future.result(timeout=LOCK_PATIENCE_S)
                except FutureTimeout:
                    pass
            future.result()
        return None

    def raw_post(self, body: bytes, key: SigningKey | None, headers: dict[str, str] | None = None):
        from steward.sync.protocol import sign_request

        signed = sign_request(key, "POST", "/v1/changesets", body) if key else {}
        return requests.post(f"{self.url}/v1/changesets", data=body,
                             headers={"Content-Type": "application/json", **signed, **(headers or {})}, timeout=60)


@pytest.fixture(scope="module")
def server(request, db_url, tmp_path_factory) -> Iterator[Server]:
    """The exchange for a module; a module's SERVE_ARGS are added to `steward-exchange serve`."""
    folder = tmp_path_factory.mktemp("server")
    engine = make_engine(db_url)
    migrate(engine)
    for department in sample.DEPARTMENTS:
        ledger.add_department(engine, department.code, department.name)
    local = LocalExchange.start(db_url, folder / "server-key.json", folder / "serve.log",
                                extra=tuple(getattr(request.module, "SERVE_ARGS", ())))
    try:
        yield Server(local.url, db_url, folder / "server-key.json", engine, folder / "serve.log")
    finally:
        local.stop()
        engine.dispose()


os.environ.setdefault("STEWARD_LANG", "en")
