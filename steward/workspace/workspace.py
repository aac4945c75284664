"""A workspace: one department's local catalogue in a folder (SQLite, migrated by Alembic)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_path
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from steward.catalogue.errors import StewardError
from steward.catalogue.rules import is_valid_uscc
from steward.sync import shadow
from steward.workspace import search, store

DB_FILE = "workspace.sqlite"
BACKUP_DIR = "backups"
MIGRATIONS = Path(__file__).parent / "migrations"


def default_path() -> Path:
    """Where the workspace lives when none is named."""
    return user_data_path("Steward", appauthor=False) / "workspace"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def _make_engine(db_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{db_path}", connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # We issue BEGIN ourselves (below); pysqlite's implicit transactions would defeat
        # BEGIN IMMEDIATE for writers and transactional DDL for migrations.
        dbapi_connection.isolation_level = None
        # A 32 MiB page cache (SQLite's default is 2 MiB): bulk work (a first sync, an import) inserts into
        # indexes keyed by random UUIDs, which otherwise miss the cache on nearly every row.
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL", "busy_timeout=15000",
                       "cache_size=-32768"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front so two writers queue instead of failing mid-way.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

    return engine


def _translate_db_error(path: Path, error: Exception) -> StewardError:
    message = str(error)
    if "locked" in message or "busy" in message:
        return StewardError("workspace.locked", path=str(path))
    if "readonly" in message or "read-only" in message or "permission" in message.lower():
        return StewardError("workspace.readonly", path=str(path), reason=message)
    return StewardError("workspace.corrupt", path=str(path), reason=message)


class Workspace:
    """An open workspace. Reads run on any thread; writes go through `writing()`."""

    def __init__(self, folder: Path, engine: Engine, backup: Path | None = None) -> None:
        self.folder = folder
        self.engine = engine
        self.backup = backup  # the copy made before migrating, if this open migrated
        facts = self.facts()
        self.department_code = facts.get("department_code", "")
        self.department_name = facts.get("department_name", "")

    @property
    def db_path(self) -> Path:
        return self.folder / DB_FILE

    # Opening and creating -------------------------------------------------------------

    @classmethod
    def create(cls, folder: Path | str, department_code: str, department_name: str) -> Workspace:
        folder = Path(folder)
        department_code = department_code.strip().upper()
        if not is_valid_uscc(department_code):
            raise StewardError("department.code_invalid", value=department_code)
        if not department_name.strip():
            raise StewardError("department.name_required")
        db_path = folder / DB_FILE
        if db_path.exists():
            raise StewardError("workspace.exists", path=str(folder))
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Create the file private before SQLite opens it; the -wal and -shm files copy its mode.
        os.close(os.open(db_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        engine = _make_engine(db_path)
        try:
            with engine.connect() as conn, conn.begin():
                command.upgrade(_alembic_config(conn), "head")
                facts = {
                    "department_code": department_code,
                    "department_name": department_name.strip(),
                    "created_at": now(),
                    "index_version": search.INDEX_VERSION,
                    "shadow_version": shadow.SHADOW_VERSION,
                }
                store.set_meta(conn, facts)
        except BaseException:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_path}{suffix}").unlink(missing_ok=True)
            raise
        return cls(folder, engine)

    @classmethod
    def open(cls, folder: Path | str) -> Workspace:
        """Open a workspace, migrating an older one after a backup copy; refuse a newer one."""
        folder = Path(folder)
        db_path = folder / DB_FILE
        if not db_path.is_file():
            raise StewardError("workspace.missing", path=str(folder), file=DB_FILE)
        _check_header(db_path)
        engine = _make_engine(db_path)
        try:
            backup = _migrate(folder, engine)
            workspace = cls(folder, engine, backup)
            workspace._refresh_derived()
            return workspace
        except StewardError:
            engine.dispose()
            raise
        except (DBAPIError, sqlite3.DatabaseError) as error:
            engine.dispose()
            raise _translate_db_error(folder, error) from error

    @classmethod
    def open_or_create(cls, folder: Path | str, department_code: str, department_name: str) -> Workspace:
        folder = Path(folder)
        if (folder / DB_FILE).exists():
            return cls.open(folder)
        return cls.create(folder, department_code, department_name)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Connections ----------------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection with one consistent snapshot (a deferred transaction)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def writing(self) -> Iterator[Connection]:
        """A connection holding the write lock; everything in the block commits together or not at all."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(write=True)
                with conn.begin():
                    yield conn
        except (DBAPIError, sqlite3.DatabaseError) as error:
            raise _translate_db_error(self.folder, error) from error

    # Facts ----------------------------------------------------------------------------

    def facts(self) -> dict[str, str]:
        with self.reading() as conn:
            return dict(conn.execute(text("SELECT key, value FROM meta")).all())

    def set_fact(self, key: str, value: str) -> None:
        with self.writing() as conn:
            store.set_meta(conn, {key: value})

    def _refresh_derived(self) -> None:
        """Rebuild what older code did not keep or kept differently: the exchange's copies, the index, problems."""
        facts = self.facts()
        if facts.get("shadow_version") != shadow.SHADOW_VERSION:
            with self.writing() as conn:
                shadow.build_missing(conn, self.department_code)
                store.set_meta(conn, {"shadow_version": shadow.SHADOW_VERSION})
        if facts.get("index_version") == search.INDEX_VERSION:
            return
        with self.writing() as conn:
            search.rebuild(conn)
            store.revalidate_all(conn, self.department_code)
            store.set_meta(conn, {"index_version": search.INDEX_VERSION})


def _check_header(db_path: Path) -> None:
    with open(db_path, "rb") as handle:
        header = handle.read(16)
    if header and header != b"SQLite format 3\x00":
        raise StewardError("workspace.corrupt", path=str(db_path), reason="not an SQLite database")


def _migrate(folder: Path, engine: Engine) -> Path | None:
    script = ScriptDirectory.from_config(_alembic_config())
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
        if current is None:
            raise StewardError("workspace.corrupt", path=str(folder), reason="no schema version")
        try:
            script.get_revision(current)
        except Exception as error:  # alembic raises several kinds for an unknown revision
            raise StewardError("workspace.newer", path=str(folder), revision=current) from error
        if current == script.get_current_head():
            return None
        backup = _backup(folder, engine, current)
        with conn.begin():
            command.upgrade(_alembic_config(conn), "head")
        return backup


def _backup(folder: Path, engine: Engine, revision: str) -> Path:
    """Copy the database with SQLite's online backup, so the copy is consistent even under WAL."""
    backup_dir = folder / BACKUP_DIR
    backup_dir.mkdir(mode=0o700, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = backup_dir / f"workspace-r{revision}-{stamp}.sqlite"
    os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    raw = engine.raw_connection()
    try:
        destination = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(destination)
        finally:
            destination.close()
    finally:
        raw.close()
    return target
