"""History view: an entry's edits, newest first, with time, author, what changed, reason and state."""

from __future__ import annotations

import re
import time

import pytest
from PySide6.QtCore import Qt

from steward.workspace import journal
from steward.workspace.journal import OpState, RemoveItem, SetField, Settlement
from tests.ui.conftest import first_entry
from ui.history_view import HistoryDialog, HistoryModel
from ui.times import local_time


def _dialog(qtbot, session, entry_id: str) -> HistoryDialog:
    dialog = HistoryDialog(session, entry_id)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=5000)
    return dialog


def _row(model: HistoryModel, row: int, parent=None) -> list[str]:
    args = (parent,) if parent is not None else ()
    return [model.index(row, c, *args).data() or "" for c in range(model.columnCount())]


def test_shows_edits_newest_first_with_author_reason_and_labels(qtbot, session):
    session.language = "zh"
    entry = first_entry(session.workspace, "sharing_type = 'unconditional'")
    session.apply([SetField(entry.id, "name", "新名称")], "Rename")
    session.apply([SetField(entry.id, "sharing_type", "not_shared")], "Tighten", reason="涉及个人隐私")
    dialog = _dialog(qtbot, session, entry.id)
    model = dialog.model
    author = journal.default_author()

    assert model.rowCount() == 3  # created (the sample), renamed, tightened
    newest = _row(model, 0)
    assert newest[HistoryModel.REVISION] == "r3"
    assert newest[HistoryModel.AUTHOR] == author
    assert newest[HistoryModel.WHAT:HistoryModel.REASON + 1] == ["共享类型", "无条件共享", "不予共享", "涉及个人隐私"]
    assert newest[HistoryModel.STATE] == "Local, not synced"
    renamed = _row(model, 1)
    assert renamed[HistoryModel.WHAT:HistoryModel.AFTER + 1] == ["信息资源名称", entry.name, "新名称"]
    assert renamed[HistoryModel.REASON] == ""
    created = _row(model, 2)
    assert created[HistoryModel.AFTER] == "Created"
    assert created[HistoryModel.REASON] == "sample"
    assert "3" in dialog.heading.text() and entry.code in dialog.windowTitle()


def test_an_edit_of_several_fields_is_one_branch(qtbot, session):
    session.language = "en"
    entry = first_entry(session.workspace)
    session.apply([SetField(entry.id, "abstract", "Short"), SetField(entry.id, "update_frequency", "weekly"),
                   RemoveItem(entry.id, entry.items[0].id)], "Several")
    dialog = _dialog(qtbot, session, entry.id)
    model = dialog.model
    top = model.index(0, 0)
    assert _row(model, 0)[HistoryModel.WHAT] == "3 fields changed"
    assert model.rowCount(top) == 3
    children = [_row(model, r, top) for r in range(3)]
    assert (children[0][HistoryModel.WHAT], children[0][HistoryModel.AFTER]) == ("Abstract", "Short")
    assert model.index(0, HistoryModel.BEFORE, top).data(Qt.ItemDataRole.ToolTipRole) == entry.abstract
    assert children[1][HistoryModel.AFTER] == "Weekly"
    assert children[2][HistoryModel.WHAT:HistoryModel.AFTER + 1] == [
        f"Data item “{entry.items[0].name}”", "Present", "Removed"]
    assert model.rowCount(model.index(1, 0)) == 0  # the creation is one operation: no branch


def test_follows_the_entry_as_it_changes(qtbot, session):
    entry = first_entry(session.workspace)
    dialog = _dialog(qtbot, session, entry.id)
    assert dialog.model.rowCount() == 1
    with qtbot.waitSignal(dialog.loaded, timeout=5000):
        session.apply([SetField(entry.id, "published", "2024-01-01")], "Date")
    assert dialog.model.rowCount() == 2
    with qtbot.waitSignal(dialog.loaded, timeout=5000):
        session.undo_stack.undo()
    assert dialog.model.rowCount() == 3
    assert _row(dialog.model, 0)[HistoryModel.REASON] == "(undo of an earlier change)"


def test_state_shows_synced_operations(qtbot, session):
    entry = first_entry(session.workspace)
    with session.workspace.writing() as conn:  # what a sync will do; sync itself is not written yet
        conn.exec_driver_sql("UPDATE operations SET state = 'synced'")
    session.apply([SetField(entry.id, "published", "2024-01-01")], "Date")
    dialog = _dialog(qtbot, session, entry.id)
    assert [_row(dialog.model, r)[HistoryModel.STATE] for r in range(2)] == ["Local, not synced", "Synced"]


def test_state_shows_changes_another_stewards_changeset_settled(qtbot, session):
    """Merged (the exchange had the same value) or superseded (it kept another): not "not synced" for ever."""
    session.language = "en"
    entry = first_entry(session.workspace)
    session.apply([SetField(entry.id, "update_frequency", "monthly")], "Same")
    session.apply([SetField(entry.id, "name", "我的名称")], "Mine")
    ops = {op.field: op for op in journal.history(session.workspace, entry.id)}
    with session.workspace.writing() as conn:  # what a sync settling them records
        journal.settle(conn, [Settlement(ops["update_frequency"].id, OpState.MERGED, "cs-1", "monthly"),
                              Settlement(ops["name"].id, OpState.SUPERSEDED, "cs-1", "他的名称")])
    dialog = _dialog(qtbot, session, entry.id)
    assert [_row(dialog.model, r)[HistoryModel.STATE] for r in range(2)] == [
        "Superseded: the exchange kept 他的名称", "Merged: the exchange had the same value"]


def test_models_pass_qtmodeltester(qtmodeltester, qtbot, session):
    entry = first_entry(session.workspace)
    session.apply([SetField(entry.id, "abstract", "A"), SetField(entry.id, "related_codes", ["202003/000009"])], "Two")
    session.apply([SetField(entry.id, "open_type", None)], "One")
    dialog = _dialog(qtbot, session, entry.id)
    qtmodeltester.check(dialog.model)
    qtmodeltester.check(HistoryModel(session))


def test_local_time_is_readable_and_local(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert local_time("2024-03-01T23:30:05.123+00:00") == "2024-03-02 07:30:05"
    finally:
        monkeypatch.undo()
        time.tzset()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", local_time("2024-03-01T23:30:05.123+00:00"))
    assert local_time("not a time") == "not a time"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_an_erased_entry_still_has_its_history(qtbot, session, language):
    session.language = language
    entry = first_entry(session.workspace)
    session.apply([journal.EraseEntry(entry.id)], "Erase")
    dialog = _dialog(qtbot, session, entry.id)
    assert dialog.model.rowCount() == 2
    assert entry.code in dialog.windowTitle()


def test_labels_follow_a_language_change(qtbot, session):
    from PySide6.QtCore import QCoreApplication, QEvent

    session.language = "zh"
    entry = first_entry(session.workspace)
    session.apply([SetField(entry.id, "update_frequency", "irregular")], "Irregular")
    dialog = _dialog(qtbot, session, entry.id)
    assert _row(dialog.model, 0)[HistoryModel.WHAT] == "更新周期"
    session.language = "en"
    QCoreApplication.sendEvent(dialog, QEvent(QEvent.Type.LanguageChange))
    assert _row(dialog.model, 0)[HistoryModel.WHAT:HistoryModel.AFTER + 1][::2] == ["Update frequency", "Irregularly"]
