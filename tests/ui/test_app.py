"""Starting the window: the workspace opens (and an older one is updated) off the GUI thread."""

from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

from steward.workspace.workspace import DB_FILE, head_revision
from tests.workspace.test_migrations import make_old_workspace, revision_of
from ui.app import _open


def test_an_older_workspace_is_backed_up_and_updated_on_a_worker_thread(qtbot, tmp_path):
    folder = make_old_workspace(tmp_path / "old")
    threads: list[threading.Thread] = []

    def connected(_dbapi_connection, _record) -> None:
        threads.append(threading.current_thread())

    event.listen(Engine, "connect", connected)
    try:
        workspace = _open(folder, "en")
    finally:
        event.remove(Engine, "connect", connected)
    assert workspace is not None
    try:
        assert workspace.backup is not None and workspace.backup.is_file()
        assert (revision_of(workspace.backup), revision_of(folder / DB_FILE)) == ("0001", head_revision())
        assert threads and threading.main_thread() not in threads  # the migration's connections: none on the GUI's
        with workspace.reading() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM entries").scalar() == 2
    finally:
        workspace.close()
