"""Pending changes view: lists what changed since the last sync, reverts a change as one undo step."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from steward.catalogue.model import DataItem
from steward.catalogue.operations import OpKind
from steward.sync import pending
from steward.workspace import journal, query
from steward.workspace.journal import AddItem, RemoveItem, SetField, SetItemField
from tests.helpers import accept_pending
from tests.ui.conftest import first_entry
from ui.change_list import fill
from ui.pending_view import PendingChangesDialog, PendingModel, PendingRow
from ui.times import local_time


@pytest.fixture
def synced(session):
    """The exchange accepted everything (the real accept path of a sync, without the network)."""
    accept_pending(session.workspace)
    return session


def _dialog(qtbot, session) -> PendingChangesDialog:
    dialog = PendingChangesDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()  # a hidden dialog leaves reading again until it is shown
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=5000)
    return dialog


def _texts(dialog: PendingChangesDialog) -> list[list[str]]:
    model = dialog.model
    return [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(model.rowCount())]


def test_lists_a_change_with_before_and_after_labels(qtbot, synced):
    synced.language = "zh"
    entry = first_entry(synced.workspace, "sharing_type = 'unconditional'")
    dialog = _dialog(qtbot, synced)
    assert dialog.model.rowCount() == 0
    assert "Nothing changed" in dialog.status.text()

    with qtbot.waitSignal(dialog.loaded, timeout=5000):
        synced.apply([SetField(entry.id, "sharing_type", "conditional")], "Set sharing", reason="收紧")

    made = journal.history(synced.workspace, entry.id)[-1].created_at
    assert _texts(dialog) == [[entry.code, entry.name, "共享类型", "无条件共享", "有条件共享",
                               local_time(made, seconds=False)]]


def test_revert_restores_the_value_and_the_row_disappears(qtbot, synced):
    ws = synced.workspace
    entry = first_entry(ws, "update_frequency != 'weekly'")
    other = first_entry(ws, f"id != '{entry.id}'")
    synced.apply([SetField(entry.id, "update_frequency", "weekly")], "Set frequency")
    synced.apply([SetField(other.id, "name", other.name + " (renamed)")], "Rename")
    dialog = _dialog(qtbot, synced)
    assert dialog.model.rowCount() == 2
    row = next(r for r in range(2) if dialog.model.pending_row(r).change.entry_id == entry.id)
    dialog.select_row(row)
    assert dialog.revert_button.isEnabled()

    with qtbot.waitSignal(dialog.loaded, timeout=5000):
        assert dialog.revert_selected()

    assert query.get_entry(ws, entry.id).update_frequency == entry.update_frequency
    assert [dialog.model.pending_row(r).change.entry_id for r in range(dialog.model.rowCount())] == [other.id]
    assert synced.undo_stack.count() == 3
    assert synced.undo_stack.undoText().startswith("Revert")
    last = journal.history(ws, entry.id)[-1]
    assert last.reason == "Reverted an unsynced change"


def test_reverting_several_changes_is_one_undo_step(qtbot, synced):
    ws = synced.workspace
    entry = first_entry(ws, "open_type = 'unconditional' AND sharing_type = 'unconditional'")
    synced.apply([SetField(entry.id, "open_type", "not_open")], "Close", reason="personal data")
    synced.apply([SetField(entry.id, "abstract", "New abstract")], "Abstract")
    dialog = _dialog(qtbot, synced)
    dialog.view.selectAll()
    assert dialog.revert_button.text().startswith("&Revert 2")

    with qtbot.waitSignal(dialog.loaded, timeout=5000):
        dialog.revert_selected()

    assert dialog.model.rowCount() == 0
    restored = query.get_entry(ws, entry.id)
    assert (restored.open_type, restored.abstract) == (entry.open_type, entry.abstract)
    with qtbot.waitSignal(dialog.loaded, timeout=5000):
        synced.undo_stack.undo()
    assert dialog.model.rowCount() == 2


def test_data_item_and_whole_entry_changes_are_described_in_words(qtbot, synced):
    synced.language = "en"
    ws = synced.workspace
    entry = first_entry(ws)
    first, second = entry.items[0], entry.items[1]
    synced.apply([SetItemField(entry.id, first.id, "data_type", "N")], "Type")
    synced.apply([RemoveItem(entry.id, second.id)], "Remove")
    synced.apply([AddItem(entry.id, DataItem(name="新增信息项", data_type="C"))], "Add")
    dialog = _dialog(qtbot, synced)
    rows = {(r[2], r[3], r[4]) for r in _texts(dialog)}
    assert (f"Data item “{first.name}”: Data type", _data_type_label(first.data_type), "Numeric") in rows
    assert (f"Data item “{second.name}”", "Present", "Removed") in rows
    assert ("Data item “新增信息项”", "(no such data item)", "Added") in rows


def _data_type_label(key: str | None) -> str:
    from steward.catalogue.vocabulary import label

    return label("data_type", key, "en")


def test_a_new_entry_shows_as_created(qtbot, session):
    # The sample's entries were never synced: each is one pending creation.
    dialog = _dialog(qtbot, session)
    assert dialog.model.rowCount() == 60
    session.language = "en"
    assert _texts(dialog)[0][2:5] == ["Whole entry", "(did not exist)", "Created"]


def test_double_click_asks_to_show_the_entry(qtbot, synced):
    entry = first_entry(synced.workspace)
    synced.apply([SetField(entry.id, "abstract", "Changed")], "Abstract")
    dialog = _dialog(qtbot, synced)
    qtbot.waitExposed(dialog)
    index = dialog.proxy.index(0, 1)
    rect = dialog.view.visualRect(index)
    with qtbot.waitSignal(dialog.entry_activated, timeout=2000) as signal:
        # A real double-click starts with a press: the view only activates the row it was pressed on.
        qtbot.mouseClick(dialog.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(dialog.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert signal.args == [entry.id]


def test_enter_on_a_row_asks_to_show_the_entry(qtbot, synced):
    entry = first_entry(synced.workspace)
    synced.apply([SetField(entry.id, "abstract", "Changed")], "Abstract")
    dialog = _dialog(qtbot, synced)
    qtbot.waitExposed(dialog)
    dialog.select_row(0)
    dialog.view.setFocus()
    with qtbot.waitSignal(dialog.entry_activated, timeout=2000) as signal:
        qtbot.keyClick(dialog.view, Qt.Key.Key_Return)
    assert signal.args == [entry.id]
    assert dialog.isVisible()
    assert dialog.model.rowCount() == 1  # Enter did not revert anything


def test_model_passes_qtmodeltester(qtmodeltester, qtbot, synced):
    ws = synced.workspace
    entry = first_entry(ws)
    synced.apply([SetField(entry.id, "related_codes", ["202003/000001", "202003/000002"])], "Related")
    synced.apply([SetField(entry.id, "sharing_type", None)], "Blank")
    dialog = _dialog(qtbot, synced)
    assert dialog.model.rowCount() == 2
    qtmodeltester.check(dialog.model)
    qtmodeltester.check(dialog.proxy)


def test_empty_model_passes_qtmodeltester(qtmodeltester, session):
    qtmodeltester.check(PendingModel(session))


def test_sorting_by_a_column_keeps_revert_on_the_right_change(qtbot, synced):
    ws = synced.workspace
    a = first_entry(ws)
    b = first_entry(ws, f"id != '{a.id}'")
    synced.apply([SetField(a.id, "name", "Zzz")], "A")
    synced.apply([SetField(b.id, "name", "Aaa")], "B")
    dialog = _dialog(qtbot, synced)
    dialog.view.sortByColumn(PendingModel.AFTER, Qt.SortOrder.AscendingOrder)
    dialog.view.selectRow(0)  # "Aaa" sorts first: entry b
    assert [r.change.entry_id for r in dialog.selected_rows()] == [b.id]


def test_fill_keeps_typed_placeholders():
    assert fill("%1 of %2", "a %2 b", "X") == "a %2 b of X"


def test_pending_row_names_an_erased_entry_from_its_snapshot(session):
    # A created-then-synced entry erased locally is gone from the table; the row still names it.
    from ui.pending_view import _row

    change = pending.PendingChange("e1", OpKind.ERASE, None, None, {"code": "1/1", "name": "N"}, None, 1, 9)
    assert _row(change, query.Names({}, {}), "") == PendingRow(change, "1/1", "N", "", "")


def test_a_hidden_dialog_reads_again_when_shown(qtbot, synced):
    entry = first_entry(synced.workspace)
    dialog = _dialog(qtbot, synced)
    dialog.hide()
    synced.apply([SetField(entry.id, "abstract", "Changed")], "Abstract")
    qtbot.wait(50)
    assert dialog.model.rowCount() == 0  # not read while hidden
    with qtbot.waitSignal(dialog.loaded, timeout=5000):
        dialog.show()
    assert dialog.model.rowCount() == 1


def test_retranslates_labels_on_language_change(qtbot, synced):
    from PySide6.QtCore import QCoreApplication, QEvent

    synced.language = "zh"
    entry = first_entry(synced.workspace, "update_frequency != 'weekly'")
    synced.apply([SetField(entry.id, "update_frequency", "weekly")], "Weekly")
    dialog = _dialog(qtbot, synced)
    assert _texts(dialog)[0][2:5] == ["更新周期", entry_label(entry.update_frequency, "zh"), "每周"]
    synced.language = "en"  # the window sets the core language, then Qt sends LanguageChange
    QCoreApplication.sendEvent(dialog, QEvent(QEvent.Type.LanguageChange))
    assert _texts(dialog)[0][2:5] == ["Update frequency", entry_label(entry.update_frequency, "en"), "Weekly"]


def entry_label(key, lang):
    from steward.catalogue.vocabulary import label

    return label("update_frequency", key, lang)
