"""The real main window, driven as a steward would: filter, search, select, edit, undo, switch language."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import Counter

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtGui import QAction, QInputMethodEvent, QKeySequence
from PySide6.QtWidgets import QApplication

from steward.catalogue.errors import StewardError
from steward.workspace import journal, query
from steward.workspace.journal import SetField
from ui.catalogue_model import CatalogueModel, EntryIdRole
from ui.main_window import MainWindow, redo_keys


@pytest.fixture
def window(qtbot, session):
    locale = QLocale()
    win = MainWindow(session)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.model.rowCount() == 60, timeout=10000)
    qtbot.waitUntil(lambda: win.editor.entry_id is not None, timeout=5000)
    yield win
    win.close()
    # A language switch installs the Chinese catalogues in the one QApplication: the tests after it expect English.
    win.translators.install(QApplication.instance(), "en")
    QLocale.setDefault(locale)


def test_selecting_a_row_loads_the_entry_in_the_editor(qtbot, window):
    index = window.model.index(5, 0)
    window.table.setCurrentIndex(index)
    assert window.editor.entry_id == index.data(EntryIdRole)


def test_search_box_filters_as_the_user_types(qtbot, window):
    # Chinese arrives through the input method, as a commit string (QTest cannot type non-ASCII keys).
    window.search.setFocus()
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        for char in "公民身份":
            event = QInputMethodEvent()
            event.setCommitString(char)
            QApplication.sendEvent(window.search, event)
    with window.session.workspace.reading() as conn:
        expected = query.count(conn, query.EntryFilter(text="公民身份"))
    assert window.model.rowCount() == expected
    assert 0 < expected < 60


def test_quick_filters_and_reset(qtbot, window):
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.filters.boxes["sharing_type"]["not_shared"].setChecked(True)
    narrowed = window.model.rowCount()
    assert 0 < narrowed < 60
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.filters.problems_box.setChecked(True)
    assert window.model.rowCount() <= narrowed
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.reset_filters()
    assert window.model.rowCount() == 60


def test_ctrl_f_focuses_search(qtbot, window):
    window.table.setFocus()
    window.find_action.trigger()
    assert window.search.hasFocus() or QApplication.focusWidget() is window.search


def test_new_entry_is_created_selected_and_undoable(qtbot, window):
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.new_action.trigger()
    qtbot.waitUntil(lambda: window.model.rowCount() == 61, timeout=5000)
    new_id = window.editor.entry_id
    entry = query.get_entry(window.session.workspace, new_id)
    assert entry.provider_code == window.session.workspace.department_code
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.undo_action.trigger()
    assert window.model.rowCount() == 60
    with pytest.raises(StewardError, match=r"No entry|找不到"):
        query.get_entry(window.session.workspace, new_id)
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.redo_action.trigger()
    assert query.get_entry(window.session.workspace, new_id).provider_code


def test_duplicate_gets_a_new_code_and_items(qtbot, window):
    source_id = window.editor.entry_id
    source = query.get_entry(window.session.workspace, source_id)
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.duplicate_action.trigger()
    qtbot.waitUntil(lambda: window.editor.entry_id not in (None, source_id), timeout=5000)
    copy = query.get_entry(window.session.workspace, window.editor.entry_id)
    assert copy.code != source.code and copy.code.startswith(source.classification + "/")
    assert [i.name for i in copy.items] == [i.name for i in source.items]
    assert not {i.id for i in copy.items} & {i.id for i in source.items}


def test_retire_asks_a_reason_and_can_be_undone(qtbot, window, monkeypatch):
    monkeypatch.setattr("ui.main_window.ReasonDialog.ask", lambda *a, **k: "不再采集")
    entry_id = window.editor.entry_id
    window.retire_action.trigger()
    assert query.get_entry(window.session.workspace, entry_id).status == "retired"
    assert journal.history(window.session.workspace, entry_id)[-1].reason == "不再采集"
    window.undo_action.trigger()
    assert query.get_entry(window.session.workspace, entry_id).status == "active"


def test_undo_covers_edits_made_anywhere(qtbot, window):
    entry_id = window.model.index(3, 0).data(EntryIdRole)
    before = query.get_entry(window.session.workspace, entry_id).name
    window.session.apply([SetField(entry_id, "name", "表格外的修改")], "rename")
    window.undo_action.trigger()
    assert query.get_entry(window.session.workspace, entry_id).name == before
    window.redo_action.trigger()
    assert query.get_entry(window.session.workspace, entry_id).name == "表格外的修改"


@pytest.fixture
def active(qtbot, window):
    """The window as the active one, so that its shortcuts and focus work as on a desktop."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


@pytest.mark.parametrize("keys", ["Ctrl+Shift+Z", "Ctrl+Y"])
def test_both_redo_keys_redo_from_the_table_and_from_a_choice(qtbot, active, keys):
    entry_id = active.model.index(3, 0).data(EntryIdRole)
    before = query.get_entry(active.session.workspace, entry_id).name
    [combination] = QKeySequence(keys)
    for focus in (active.table, active.editor.field_widget("update_frequency")):
        active.session.apply([SetField(entry_id, "name", "改过的名称")], "rename")
        active.session.undo_stack.undo()
        assert query.get_entry(active.session.workspace, entry_id).name == before
        focus.setFocus()
        qtbot.waitUntil(focus.hasFocus)
        qtbot.keyClick(focus, combination.key(), combination.keyboardModifiers())
        assert query.get_entry(active.session.workspace, entry_id).name == "改过的名称", focus


@pytest.mark.parametrize("system", [
    ["Ctrl+Shift+Z"],  # Linux desktops (X11, GNOME, KDE) and macOS
    ["Ctrl+Y", "Alt+Shift+Backspace", "Ctrl+Shift+Z"],  # Windows
    [],
])
def test_redo_has_both_keys_once_whatever_the_system_binds(system):
    keys = [k.toString(QKeySequence.SequenceFormat.PortableText)
            for k in redo_keys([QKeySequence(key) for key in system])]
    assert keys[:2] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    assert len(keys) == len(set(keys)) and set(system) <= set(keys)


X11_REDO = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtGui import QKeySequence
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication
    from steward import sample
    from steward.workspace import journal, query
    from steward.workspace.workspace import Workspace
    from ui.main_window import MainWindow
    from ui.session import Session
    from ui.settings import Settings

    folder = Path(sys.argv[1])
    app = QApplication([])
    department = sample.DEPARTMENTS[0]
    workspace = Workspace.create(folder / "ws", department.code, department.name)
    entry = next(iter(sample.generate(department, 1, seed=1)))
    journal.apply(workspace, [journal.CreateEntry(entry)], reason="test")
    session = Session(workspace, Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)))
    window = MainWindow(session)
    window.show()
    window.activateWindow()
    for _ in range(500):
        if window.isActiveWindow():
            break
        QTest.qWait(10)
    window.table.setFocus()
    redone = {}
    for keys in ("Ctrl+Shift+Z", "Ctrl+Y"):
        session.apply([journal.SetField(entry.id, "name", keys)], "rename")
        session.undo_stack.undo()
        [combination] = QKeySequence(keys)
        QTest.keyClick(window.table, combination.key(), combination.keyboardModifiers())
        redone[keys] = query.get_entry(workspace, entry.id).name == keys
    print(json.dumps({"platform": app.platformName(), "redone": redone}))
    session.runner.wait_all()
""")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs an X server for Linux's own key bindings")
def test_both_redo_keys_redo_in_a_real_x11_window(tmp_path):
    """On X11 Qt binds Redo to Ctrl+Shift+Z alone (offscreen uses Windows' bindings): the case that broke."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", X11_REDO, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"platform": "xcb", "redone": {"Ctrl+Shift+Z": True, "Ctrl+Y": True}}


def test_no_two_actions_of_the_window_share_a_shortcut(window):
    """Two actions on one key make Qt do neither ("Ambiguous shortcut overload"): every key has one action."""
    taken: Counter[tuple[int, str]] = Counter()
    for action in window.findChildren(QAction):
        widget_bound = action.shortcutContext() in (Qt.ShortcutContext.WidgetShortcut,
                                                    Qt.ShortcutContext.WidgetWithChildrenShortcut)
        scope = id(action.parent()) if widget_bound else 0  # a widget's own keys only clash with its own
        for shortcut in action.shortcuts():
            taken[(scope, shortcut.toString(QKeySequence.SequenceFormat.PortableText))] += 1
    assert [key for (_scope, key), n in taken.items() if n > 1] == []
    redo = {s.toString(QKeySequence.SequenceFormat.PortableText) for s in window.redo_action.shortcuts()}
    assert {"Ctrl+Shift+Z", "Ctrl+Y"} <= redo


def test_tab_leaves_the_table_for_the_editor(qtbot, active):
    active.table.setFocus()
    qtbot.waitUntil(active.table.hasFocus)
    row = active.table.currentIndex().row()
    qtbot.keyClick(active.table, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is active.editor.field_widget("classification")
    assert active.table.currentIndex().row() == row
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab)
    assert QApplication.focusWidget() is active.table


def test_language_switch_retranslates_without_restart(qtbot, window):
    window.apply_language("en")
    assert window.model.headerData(CatalogueModel.SHARING, Qt.Orientation.Horizontal) == "Sharing"
    assert window.filters.groups["sharing_type"].title() == "Sharing type"
    assert window.edit_menu.title() == "&Edit"
    window.apply_language("zh_CN")
    assert window.filters.groups["sharing_type"].title() == "共享类型"
    assert window.model.headerData(CatalogueModel.SHARING, Qt.Orientation.Horizontal) == "共享类型"
    assert window.edit_menu.title() == "编辑(&E)"


def test_window_state_is_remembered(qtbot, window, session):
    window.table.setColumnWidth(1, 411)
    window.save_state()
    again = MainWindow(session)
    qtbot.addWidget(again)
    assert again.table.columnWidth(1) == 411


def test_status_bar_shows_department_and_unsynced(qtbot, window):
    qtbot.waitUntil(lambda: "60" in window.unsynced_label.text(), timeout=5000)
    assert window.session.workspace.department_code in window.department_label.text()


def test_smoke_run_prints_timings_and_exits_zero(sample_workspace, tmp_path):
    sample_workspace.close()
    home = tmp_path / "home"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_STATE_HOME": str(home / "state"), "XDG_DATA_HOME": str(home / "data")}
    done = subprocess.run([sys.executable, "-m", "steward", "gui", "--smoke", str(sample_workspace.folder)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    assert timings["rows"] == 60
    assert timings["first_paint_s"] > 0
