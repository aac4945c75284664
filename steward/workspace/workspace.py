"""A workspace: one department's local catalogue in a folder (SQLite, migrated by Alembic)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from platformdirs import user_data_path
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import Phrase, os_reason
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


def _writable(db_path: Path) -> bool:
    """Whether this process may change the workspace: its file, and its folder (SQLite's -wal and -shm files, backups).

    os.access asks the kernel, which also refuses root an immutable file or a read-only file system.
    """
    return os.access(db_path, os.W_OK) and os.access(db_path.parent, os.W_OK | os.X_OK)


def _read_only_uri(db_path: Path) -> str:
    """An SQLite URI that reads `db_path` without writing anything, beside it either.

    `immutable` makes SQLite read the file as it is, without the -shm file (which a folder that cannot
    be written could not hold) or locks: right for a copy nobody writes. A workspace left with a -wal
    file holding commits is read through it, as SQLite reads any WAL database.
    """
    wal = Path(f"{db_path}-wal")
    immutable = not (wal.exists() and wal.stat().st_size > 0)
    return f"file:{quote(str(db_path))}?mode=ro" + ("&immutable=1" if immutable else "")


def _make_engine(db_path: Path, read_only: bool = False) -> Engine:
    if read_only:
        uri = _read_only_uri(db_path)
        engine = create_engine(f"sqlite:///{db_path}", creator=lambda: sqlite3.connect(
            uri, uri=True, timeout=15, check_same_thread=False))
    else:
        engine = create_engine(f"sqlite:///{db_path}", connect_args={"timeout": 15})
    # Setting the journal mode is a write; a read-only connection takes the file as it is, and refuses writes.
    pragmas = ("query_only=ON",) if read_only else ("journal_mode=WAL", "synchronous=NORMAL")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # We issue BEGIN ourselves (below); pysqlite's implicit transactions would defeat
        # BEGIN IMMEDIATE for writers and transactional DDL for migrations.
        dbapi_connection.isolation_level = None
        # A 32 MiB page cache (SQLite's default is 2 MiB): bulk work (a first sync, an import) inserts into
        # indexes keyed by random UUIDs, which otherwise miss the cache on nearly every row.
        for pragma in (*pragmas, "foreign_keys=ON", "busy_timeout=15000", "cache_size=-32768"):
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
        return StewardError("workspace.read_only", path=str(path))
    return StewardError("workspace.corrupt", path=str(path), reason=message)


class Workspace:
    """An open workspace. Reads run on any thread; writes go through `writing()`.

    A workspace whose file or folder cannot be written (an auditor's copy, a read-only medium) opens
    read-only: everything reads as usual, and `writing()` refuses with StewardError workspace.read_only.
    """

    def __init__(self, folder: Path, engine: Engine, backup: Path | None = None, read_only: bool = False) -> None:
        self.folder = folder
        self.engine = engine
        self.backup = backup  # the copy made before migrating, if this open migrated
        self.read_only = read_only
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
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Create the file private before SQLite opens it; the -wal and -shm files copy its mode.
            os.close(os.open(db_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except OSError as error:
            raise StewardError("workspace.cannot_create", path=str(folder), reason=os_reason(error)) from error
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
    def open(cls, folder: Path | str, *, for_writing: bool = False) -> Workspace:
        """Open a workspace, migrating an older one after a backup copy; refuse a newer one.

        One that cannot be written opens read-only, and is neither migrated nor tidied; with
        `for_writing`, it is refused at once (a command that changes the workspace says so before it starts).
        """
        folder = Path(folder)
        db_path = folder / DB_FILE
        if not db_path.is_file():
            raise StewardError("workspace.missing", path=str(folder), file=DB_FILE)
        _check_header(db_path)
        read_only = not _writable(db_path)
        if read_only and for_writing:
            raise StewardError("workspace.read_only", path=str(folder))
        engine = _make_engine(db_path, read_only)
        try:
            backup = _migrate(folder, engine, read_only)
            workspace = cls(folder, engine, backup, read_only)
            if not read_only:
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
        if self.read_only:
            raise StewardError("workspace.read_only", path=str(self.folder))
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
    """Refuse what is no SQLite database before SQLite opens it: it would make an empty file into one."""
    with open(db_path, "rb") as handle:
        header = handle.read(16)
    if not header:
        raise StewardError("workspace.corrupt", path=str(db_path), reason=Phrase("reason.empty_file"))
    if header != b"SQLite format 3\x00":
        raise StewardError("workspace.corrupt", path=str(db_path), reason=Phrase("reason.not_sqlite"))


def _migrate(folder: Path, engine: Engine, read_only: bool) -> Path | None:
    script = ScriptDirectory.from_config(_alembic_config())
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()
        if current is None:
            raise StewardError("workspace.corrupt", path=str(folder), reason=Phrase("reason.no_schema"))
        try:
            script.get_revision(current)
        except Exception as error:  # alembic raises several kinds for an unknown revision
            raise StewardError("workspace.newer", path=str(folder), revision=current) from error
        if current == script.get_current_head():
            return None
        if read_only:
            raise StewardError("workspace.read_only_older", path=str(folder))
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
