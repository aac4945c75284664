"""The exchange's database: engines for SQLite and PostgreSQL, migrations, and the write transaction.

Every push runs in one write transaction that first locks the single `head` row, so pushes are
applied one after another whatever the number of server processes: on PostgreSQL through
`SELECT ... FOR UPDATE`, on SQLite through `BEGIN IMMEDIATE`. On SQLite a process's own writers
also queue on a lock first: SQLite makes a waiting writer sleep and retry in steps of up to
100 ms, which under many concurrent pushes turns into long tail latencies.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_path
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"
DB_ENV = "STEWARD_EXCHANGE_DB"
KEY_ENV = "STEWARD_EXCHANGE_KEY"


_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def data_dir() -> Path:
    return user_data_path("steward-exchange", appauthor=False)


def default_db_url() -> str:
    return os.environ.get(DB_ENV) or f"sqlite:///{data_dir() / 'exchange.sqlite'}"


def default_key_file() -> Path:
    return Path(os.environ.get(KEY_ENV) or data_dir() / "server-key.json")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database or "")
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_engine(url: str, database: str) -> Engine:
    if database and database != ":memory:":
        path = Path(database)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=20,
                           max_overflow=20)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # We issue BEGIN ourselves so writers can take the lock up front (BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=30000"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    _sqlite_writers[engine] = threading.Lock()
    return engine


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a new database gets every table)."""
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
        if current == head:
            return
        with conn.begin():
            if conn.dialect.name == "postgresql":
                # Several server processes may start at once: one migrates, the others wait for it.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(87001)")
                if MigrationContext.configure(conn).get_current_revision() == head:
                    return
            command.upgrade(_alembic_config(conn), "head")


@contextlib.contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the exchange's write lock until it commits or rolls back."""
    with _sqlite_writers.get(engine) or contextlib.nullcontext(), engine.connect() as conn:
        conn.execution_options(write=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT position FROM head WHERE id = 1 FOR UPDATE")
            yield conn


@contextlib.contextmanager
def reading(engine: Engine, snapshot: bool = False) -> Iterator[Connection]:
    """A read transaction; with `snapshot`, every statement in it sees the same state of the database.

    SQLite (WAL) gives each read transaction one snapshot anyway; PostgreSQL's default isolation
    gives each statement its own, so a snapshot is asked for there.
    """
    with engine.connect() as conn:
        if snapshot and conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
