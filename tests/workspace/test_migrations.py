"""Workspace files: migrating an old one (with a backup), refusing newer or damaged ones, the schema."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from steward.catalogue.errors import StewardError
from steward.sync.pending import pending_changes
from steward.workspace import journal, query
from steward.workspace.workspace import BACKUP_DIR, DB_FILE, Workspace, _alembic_config, _make_engine, head_revision
from tests.helpers import DEPARTMENT_CODE, DEPARTMENT_NAME
from tests.workspace import expected_schema as schema

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def revision_of(db_path: Path) -> str | None:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    conn.close()
    return rows[0][0] if rows else None


def make_old_workspace(folder: Path) -> Path:
    """A workspace as Steward left it at schema revision 0001: one entry, its items, a pending change."""
    folder.mkdir()
    db_path = folder / DB_FILE
    engine = _make_engine(db_path)
    with engine.connect() as conn, conn.begin():
        command.upgrade(_alembic_config(conn), "0001")
    engine.dispose()
    conn = sqlite3.connect(db_path)
    with conn:
        conn.executemany(
            "INSERT INTO meta(key, value) VALUES (?, ?)",
            [("department_code", DEPARTMENT_CODE), ("department_name", DEPARTMENT_NAME),
             ("created_at", "2024-01-01T00:00:00.000+00:00")],
        )
        conn.execute(
            "INSERT INTO entries(id, code, name, classification, provider, provider_code, abstract, format_category, "
            "format_type, sharing_type, sharing_conditions, sharing_method_category, sharing_method_type, open_type, "
            "update_frequency, published, related_codes, status, version, revision, updated_at) "
            "VALUES ('old-entry', '319001/000001', '企业登记信息', '319001', ?, ?, '旧版本留下的条目', 'database', "
            "'MySQL', 'conditional', '', 'platform', 'interface', 'not_open', 'daily', '2020-01-01', "
            "'[\"319001/000002\"]', 'active', 3, 5, '2024-01-01T00:00:00.000+00:00')",
            (DEPARTMENT_NAME, DEPARTMENT_CODE),
        )
        conn.execute(
            "INSERT INTO entries(id, code, name, version, revision) "
            "VALUES ('synced-entry', '319001/000002', '已同步', 1, 1)"
        )
        conn.executemany(
            "INSERT INTO items(id, entry_pk, position, name, data_type, length) VALUES (?, 1, ?, ?, ?, ?)",
            [("item-1", 1, "统一社会信用代码", "C", 18), ("item-2", 2, "机构名称", "C", 200),
             ("item-3", 3, "成立日期", "D", 8)],
        )
        conn.execute(
            "INSERT INTO operations(id, group_id, entry_id, kind, field, old_value, new_value, base_version, revision, "
            "created_at, author, reason, state) VALUES ('op-1', 'group-1', 'old-entry', 'set', 'sharing_type', "
            "'\"unconditional\"', '\"conditional\"', 3, 5, '2024-01-02T00:00:00.000+00:00', '张三', '收紧', 'pending')"
        )
    conn.close()
    assert revision_of(db_path) == "0001"
    return folder


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Migrating -------------------------------------------------------------------------------------


def test_old_workspace_is_migrated_with_its_data_intact(tmp_path):
    folder = make_old_workspace(tmp_path / "old")
    with Workspace.open(folder) as ws:
        assert revision_of(ws.db_path) == head_revision() == "0007"
        assert (ws.department_code, ws.department_name) == (DEPARTMENT_CODE, DEPARTMENT_NAME)
        entry = query.get_entry(ws, "old-entry")
        assert (entry.name, entry.code, entry.sharing_type, entry.version, entry.revision) == (
            "企业登记信息", "319001/000001", "conditional", 3, 5
        )
        assert entry.related_codes == ["319001/000002"]
        assert [(i.id, i.name, i.position) for i in entry.items] == [
            ("item-1", "统一社会信用代码", 1), ("item-2", "机构名称", 2), ("item-3", "成立日期", 3)
        ]
        # The pending change is still pending, and marks its entry unsynced; the other one is not.
        [pending] = pending_changes(ws)
        assert (pending.entry_id, pending.field, pending.before, pending.after) == (
            "old-entry", "sharing_type", "unconditional", "conditional"
        )
        [op] = journal.history(ws, "old-entry")
        assert (op.author, op.reason) == ("张三", "收紧")
        with ws.reading() as conn:
            flags = dict(conn.exec_driver_sql("SELECT id, dirty FROM entries").all())
        assert flags == {"old-entry": 1, "synced-entry": 0}


def test_migration_keeps_a_backup_at_the_old_revision(tmp_path):
    folder = make_old_workspace(tmp_path / "old")
    with Workspace.open(folder) as ws:
        backup = ws.backup
    assert backup is not None and backup.parent == folder / BACKUP_DIR
    assert [p.name for p in (folder / BACKUP_DIR).iterdir()] == [backup.name]
    assert "r0001" in backup.name
    with open(backup, "rb") as handle:
        assert handle.read(16) == b"SQLite format 3\x00"
    conn = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0001",)]
        assert conn.execute("SELECT name FROM entries ORDER BY pk").fetchall() == [("企业登记信息",), ("已同步",)]
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (3,)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(entries)")}
        assert "dirty" not in columns
    finally:
        conn.close()
    if sys.platform != "win32":
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600


def test_migrated_workspace_is_searchable_and_checked(tmp_path):
    folder = make_old_workspace(tmp_path / "old")
    with Workspace.open(folder) as ws:
        assert [r.id for r in query.search_entries(ws, "登记").rows] == ["old-entry"]
        assert [r.id for r in query.search_entries(ws, "成立日期").rows] == ["old-entry"]  # a data item name
        assert [r.id for r in query.search_entries(ws, "旧版本").rows] == ["old-entry"]  # the abstract
        codes = [p.code for p in query.problems_of(ws, "old-entry")]
        assert codes == ["sharing.conditions_required"]
        assert query.problems_of(ws, "synced-entry")  # blank fields, no items
        row = query.search_entries(ws, "登记").rows[0]
        assert (row.problem_count, row.error_count) == (1, 1)
        assert ws.facts()["index_version"]


def test_migrated_workspace_takes_new_changes(tmp_path):
    folder = make_old_workspace(tmp_path / "old")
    with Workspace.open(folder) as ws:
        journal.apply(ws, [journal.SetField("old-entry", "sharing_conditions", "仅限监管业务使用")])
        assert query.problems_of(ws, "old-entry") == []
        assert [r.id for r in query.search_entries(ws, "企业登记").rows] == ["old-entry"]
    with Workspace.open(folder) as ws:  # opening again does not migrate or back up again
        assert ws.backup is None
        assert len(list((folder / BACKUP_DIR).iterdir())) == 1


def test_workspace_at_head_is_not_backed_up(workspace):
    folder = workspace.folder
    workspace.close()
    with Workspace.open(folder) as ws:
        assert ws.backup is None
    assert not (folder / BACKUP_DIR).exists()


# Refusing --------------------------------------------------------------------------------------


def test_newer_workspace_is_refused_and_left_alone(workspace):
    folder = workspace.folder
    workspace.close()
    conn = sqlite3.connect(folder / DB_FILE)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    before = file_hash(folder / DB_FILE)
    with pytest.raises(StewardError) as error:
        Workspace.open(folder)
    assert error.value.code == "workspace.newer"
    assert error.value.params["revision"] == "9999"
    assert "9999" in error.value.message("zh") and "更新版本" in error.value.message("zh")
    assert file_hash(folder / DB_FILE) == before
    assert not (folder / BACKUP_DIR).exists()


@pytest.mark.parametrize(
    "content",
    [b"this is not a database, just text\n" * 10, b"\x00\x01\x02" * 500, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["text", "binary", "bad-sqlite"],
)
def test_file_that_is_not_a_workspace_is_corrupt(tmp_path, content):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / DB_FILE).write_bytes(content)
    with pytest.raises(StewardError) as error:
        Workspace.open(folder)
    assert error.value.code == "workspace.corrupt"
    assert (folder / DB_FILE).read_bytes() == content


def test_sqlite_file_without_a_schema_is_corrupt(tmp_path):
    folder = tmp_path / "other"
    folder.mkdir()
    conn = sqlite3.connect(folder / DB_FILE)
    conn.execute("CREATE TABLE something_else(x)")
    conn.commit()
    conn.close()
    with pytest.raises(StewardError) as error:
        Workspace.open(folder)
    assert error.value.code == "workspace.corrupt"


@pytest.mark.parametrize("make", ["nothing", "empty folder"])
def test_missing_workspace(tmp_path, make):
    folder = tmp_path / "nowhere"
    if make == "empty folder":
        folder.mkdir()
    with pytest.raises(StewardError) as error:
        Workspace.open(folder)
    assert error.value.code == "workspace.missing"
    assert not (folder / DB_FILE).exists()


def test_creating_over_an_existing_workspace_is_refused(workspace, department, department_name):
    with pytest.raises(StewardError) as error:
        Workspace.create(workspace.folder, department, department_name)
    assert error.value.code == "workspace.exists"


@pytest.mark.parametrize(("code", "name", "error"), [
    ("11310000MB2F41826X", "部门", "department.code_invalid"),
    ("123", "部门", "department.code_invalid"),
    (DEPARTMENT_CODE, "  ", "department.name_required"),
])
def test_creating_needs_a_valid_department(tmp_path, code, name, error):
    with pytest.raises(StewardError) as raised:
        Workspace.create(tmp_path / "ws", code, name)
    assert raised.value.code == error
    assert not (tmp_path / "ws" / DB_FILE).exists()


def test_department_code_is_tidied_on_create(tmp_path):
    with Workspace.create(tmp_path / "ws", " " + DEPARTMENT_CODE.lower() + " ", " 市场监管局 ") as ws:
        assert (ws.department_code, ws.department_name) == (DEPARTMENT_CODE, "市场监管局")


# The schema ------------------------------------------------------------------------------------



def _not_fts(name, type_, parent_names) -> bool:
    """Leave out the FTS5 virtual tables and their shadow tables (search_tri_data, search_bi_idx ...)."""
    if type_ == "table":
        return not (name in schema.FTS_TABLES or name.startswith(tuple(f"{t}_" for t in schema.FTS_TABLES)))
    return True


def _compare_default(context, inspected_column, metadata_column, inspected_default, metadata_default, rendered):
    """Alembic reads server_default="" as no default; SQLite reports it as ''. Those are the same."""
    if metadata_column.server_default is not None and metadata_column.server_default.arg == "":
        return inspected_default not in ("''", "('')")
    return None  # alembic's own comparison


def test_schema_module_matches_the_migrations(workspace):
    with workspace.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": _not_fts, "compare_type": True, "compare_server_default": _compare_default}
        )
        differences = compare_metadata(context, schema.metadata)
        tables = {row[0] for row in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert differences == []
    # The comparison did look at the tables, and the FTS tables are there.
    assert set(schema.metadata.tables) <= tables
    assert {"search_tri", "search_bi"} <= tables


def test_compare_metadata_would_notice_a_difference(workspace):
    """The check above can fail: a column the schema module lacks is reported."""
    with workspace.writing() as conn:
        conn.exec_driver_sql("ALTER TABLE entries ADD COLUMN stray TEXT")
    with workspace.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _not_fts})
        differences = compare_metadata(context, schema.metadata)
    assert [(d[0], d[2], d[3].name) for d in differences] == [("remove_column", "entries", "stray")]


@posix_only
def test_workspace_files_are_private(workspace):
    assert stat.S_IMODE(workspace.db_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(workspace.folder.stat().st_mode) == 0o700
    workspace.set_fact("touched", "yes")  # a write, so SQLite has made its -wal and -shm files
    with workspace.reading():
        for suffix in ("-wal", "-shm"):
            side = Path(f"{workspace.db_path}{suffix}")
            assert side.exists(), suffix
            assert stat.S_IMODE(side.stat().st_mode) == 0o600, suffix


@posix_only
def test_private_mode_does_not_depend_on_the_umask(tmp_path, department, department_name):
    old = os.umask(0)
    try:
        with Workspace.create(tmp_path / "ws", department, department_name) as ws:
            assert stat.S_IMODE(ws.db_path.stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_wal_and_foreign_keys_are_on(workspace):
    with workspace.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # The file itself is in WAL mode, for any program that opens it.
    conn = sqlite3.connect(workspace.db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_foreign_keys_remove_items_and_problems_with_their_entry(workspace, clean_entry):
    entry = clean_entry(name="")  # one problem, so the problems table has a row
    journal.apply(workspace, [journal.CreateEntry(entry)])
    with workspace.writing() as conn:
        conn.exec_driver_sql("DELETE FROM entries")
    with workspace.reading() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM items").scalar() == 0
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM problems").scalar() == 0


def test_meta_records_the_department(workspace, department, department_name):
    facts = workspace.facts()
    assert facts["department_code"] == department
    assert facts["department_name"] == department_name
    assert facts["created_at"]
    assert json.dumps(facts, ensure_ascii=False)
