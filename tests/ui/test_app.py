"""Starting the window: the workspace opens (and an older one is updated) off the GUI thread; the app's name."""

from __future__ import annotations

import threading

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import event
from sqlalchemy.engine import Engine

from steward import __version__
from steward.workspace.workspace import DB_FILE, head_revision
from tests.workspace.test_migrations import make_old_workspace, revision_of
from ui.app import _open
from ui.i18n import Translators, application_name
from ui.main_window import MainWindow


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


def test_the_apps_name_follows_the_language(qapp):
    translators = Translators()
    try:
        translators.install(qapp, "zh_CN")
        assert (application_name(), QGuiApplication.applicationDisplayName()) == ("数据资源目录管理",) * 2
    finally:
        translators.install(qapp, "en")
    assert (application_name(), QGuiApplication.applicationDisplayName()) == ("Steward",) * 2


def test_the_window_title_and_the_about_box_name_the_app_in_chinese(qtbot, session, chinese_ui, monkeypatch):
    about: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "about", lambda _parent, title, text: about.append((title, text)))
    window = MainWindow(session)
    qtbot.addWidget(window)
    # Ending in the display name, Qt does not append it again (on X11 and Windows, to every window's title).
    assert window.windowTitle() == f"{session.workspace.department_name} — 数据资源目录管理"
    window.show_about()
    [(title, text)] = about
    assert title == "关于数据资源目录管理" and text.startswith(f"数据资源目录管理 {__version__}\n")
