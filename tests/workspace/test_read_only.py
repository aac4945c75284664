"""A workspace that cannot be written (an auditor's copy, a folder or file without write permission) opens for reading.

Reading it writes nothing: not the database, not SQLite's -wal and -shm files beside it. Changing it is
refused up front, in the reader's language.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from steward.catalogue.errors import StewardError
from steward.files import exporter
from steward.workspace import journal, query
from steward.workspace.workspace import DB_FILE, Workspace
from tests.workspace.read_only import read_only
from tests.workspace.test_migrations import make_old_workspace


def snapshot(folder: Path) -> tuple[list[str], str]:
    """The folder's names and the database's bytes."""
    return sorted(os.listdir(folder)), hashlib.sha256((folder / DB_FILE).read_bytes()).hexdigest()


@pytest.fixture
def closed(tmp_path, department, department_name, clean_entry):
    """A closed workspace with two entries, one of them open to the public: (folder, that entry)."""
    entry = clean_entry()
    with Workspace.create(tmp_path / "ws", department, department_name) as ws:
        journal.apply(ws, [journal.CreateEntry(entry), journal.CreateEntry(clean_entry(open_type="not_open"))])
    return tmp_path / "ws", entry


def frozen_paths(folder: Path, what: str) -> list[Path]:
    return {"file": [folder / DB_FILE], "folder": [folder], "both": [folder / DB_FILE, folder]}[what]


@pytest.mark.parametrize("what", ["file", "folder", "both"])
def test_a_read_only_workspace_opens_for_reading_and_writes_nothing(closed, tmp_path, what):
    folder, entry = closed
    before = snapshot(folder)
    with read_only(*frozen_paths(folder, what)), Workspace.open(folder) as ws:
        assert ws.read_only
        assert query.summary(ws).entries == 2
        assert query.find_entry(ws, entry.code).name == entry.name
        assert query.search_entries(ws, entry.name[:4]).total == 2
        result = exporter.export(ws, tmp_path / "data.json", "datajson")
        assert result.written == 1
        with pytest.raises(StewardError) as refused:
            journal.apply(ws, [journal.SetField(entry.id, "name", "新名字")])
        assert refused.value.code == "workspace.read_only"
    assert snapshot(folder) == before


def test_opening_for_writing_says_plainly_that_the_workspace_is_read_only(closed):
    folder, _ = closed
    with read_only(folder / DB_FILE), pytest.raises(StewardError) as refused:
        Workspace.open(folder, for_writing=True)
    assert refused.value.code == "workspace.read_only"
    assert "只读" in refused.value.message("zh") and "read-only" in refused.value.message("en")


def test_a_writable_workspace_is_not_read_only(closed):
    folder, _ = closed
    with Workspace.open(folder, for_writing=True) as ws:
        assert not ws.read_only


def test_an_older_read_only_workspace_is_not_upgraded(tmp_path):
    folder = make_old_workspace(tmp_path / "old")
    before = snapshot(folder)
    with read_only(folder), pytest.raises(StewardError) as refused:
        Workspace.open(folder)
    assert refused.value.code == "workspace.read_only_older"
    assert snapshot(folder) == before


def test_an_empty_file_is_not_a_workspace_and_stays_empty(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / DB_FILE).touch()
    with pytest.raises(StewardError) as refused:
        Workspace.open(folder)
    assert refused.value.code == "workspace.corrupt"
    assert "空文件" in refused.value.message("zh")
    assert snapshot(folder) == ([DB_FILE], hashlib.sha256(b"").hexdigest())


@pytest.mark.parametrize("where", ["the folder itself", "a new folder in it"])
def test_creating_a_workspace_in_a_read_only_folder_says_so(tmp_path, department, department_name, where):
    parent = tmp_path / "parent"
    parent.mkdir()
    target = parent if where == "the folder itself" else parent / "ws"
    with read_only(parent), pytest.raises(StewardError) as refused:
        Workspace.create(target, department, department_name)
    assert refused.value.code == "workspace.cannot_create"
    assert str(target) in refused.value.message("zh") and "没有权限" in refused.value.message("zh")
    assert os.listdir(parent) == []
