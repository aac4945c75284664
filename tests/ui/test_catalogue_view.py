"""The catalogue table as a steward uses it: columns to choose, widths that fit, a menu on the rows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QLocale, QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

from steward import sample
from steward.workspace import journal, query
from tests.ui.main_windows import close_window, open_window
from ui.catalogue_model import PAGE, CatalogueModel, EntryIdRole
from ui.history_view import HistoryDialog


@pytest.fixture
def window(qtbot, session):
    locale = QLocale()
    win = open_window(qtbot, session, 1366, 768)  # the screen many stewards' office computers have
    qtbot.waitUntil(lambda: win.model.rowCount() == 60, timeout=10000)
    qtbot.waitUntil(lambda: win.editor.entry_id is not None, timeout=5000)
    yield win
    close_window(win)
    win.translators.install(QApplication.instance(), "en")
    QLocale.setDefault(locale)


def within_viewport(view, column: int) -> bool:
    left = view.columnViewportPosition(column)
    return not view.isColumnHidden(column) and left >= 0 and left + view.columnWidth(column) <= view.viewport().width()


def context_menu(widget, pos: QPoint) -> QMenu:
    """Right-click `widget` at `pos` and return the menu that pops up."""
    QApplication.sendEvent(widget, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, widget.mapToGlobal(pos)))
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    return menu


def action_named(menu: QMenu, text: str):
    found = [a for a in menu.actions() if a.text().replace("&", "") == text]
    assert found, [a.text() for a in menu.actions()]
    return found[0]


def row_point(view, row: int) -> QPoint:
    return QPoint(view.columnViewportPosition(CatalogueModel.CODE) + 5, view.rowViewportPosition(row) + 3)


def test_problems_and_changed_columns_are_in_view_at_1366_by_768(qtbot, window):
    view = window.table
    qtbot.waitUntil(lambda: within_viewport(view, CatalogueModel.PROBLEMS), timeout=5000)
    assert within_viewport(view, CatalogueModel.CHANGED)
    assert within_viewport(view, CatalogueModel.CODE) and within_viewport(view, CatalogueModel.NAME)


def test_column_widths_fit_the_header_and_the_rows_shown(qtbot, window):
    view, header = window.table, window.table.horizontalHeader()
    problems = CatalogueModel.PROBLEMS
    qtbot.waitUntil(lambda: view.columnWidth(problems) >= header.sectionSizeHint(problems), timeout=5000)
    metrics = view.fontMetrics()
    for column in (CatalogueModel.CODE, CatalogueModel.SHARING, CatalogueModel.OPEN, CatalogueModel.FREQUENCY,
                   CatalogueModel.PROBLEMS, CatalogueModel.CHANGED):
        assert view.columnWidth(column) >= header.sectionSizeHint(column), column  # the header is not cut off
        widest = max(metrics.horizontalAdvance(window.model.index(r, column).data() or "") for r in range(10))
        assert view.columnWidth(column) > widest, column


def test_fitting_widths_reads_a_sample_of_rows_not_every_one(qtbot, session):
    department = sample.department_for(session.workspace.department_code, session.workspace.department_name)
    journal.apply(session.workspace, [journal.CreateEntry(e) for e in
                                      sample.generate(department, PAGE * 3, seed=9, first_sequence=5000)])
    win = open_window(qtbot, session, 1366, 768)
    qtbot.waitUntil(lambda: win.model.rowCount() == 60 + PAGE * 3, timeout=10000)
    win.table.fit_columns()
    assert list(win.model._pages) == [0]  # only the page in view was fetched to measure
    close_window(win)


def test_the_header_menu_hides_and_shows_columns_and_remembers_the_choice(qtbot, window, session):
    header = window.table.horizontalHeader()
    assert window.table.isColumnHidden(CatalogueModel.CLASSIFICATION)  # extra columns are offered, not shown
    menu = context_menu(header.viewport(), QPoint(10, 5))
    code = action_named(menu, "Resource code")
    assert code.isChecked() and not code.isEnabled()  # the code always stays
    action_named(menu, "Update frequency").trigger()
    menu.close()
    assert window.table.isColumnHidden(CatalogueModel.FREQUENCY)
    menu = context_menu(header.viewport(), QPoint(10, 5))
    action_named(menu, "Classification").trigger()
    menu.close()
    assert not window.table.isColumnHidden(CatalogueModel.CLASSIFICATION)
    assert session.settings.hidden_columns == ["update_frequency", "updated_at"]

    again = open_window(qtbot, session)  # without closing the first: the choice is kept the moment it is made
    assert again.table.isColumnHidden(CatalogueModel.FREQUENCY)
    assert not again.table.isColumnHidden(CatalogueModel.CLASSIFICATION)
    close_window(again)


def test_the_extra_columns_show_the_classification_and_the_last_change(qtbot, window):
    row = window.model.entry_row(0)
    assert window.model.index(0, CatalogueModel.CLASSIFICATION).data() == row.classification
    assert window.model.index(0, CatalogueModel.UPDATED).data()[:4] == row.updated_at[:4]


def test_right_click_on_a_row_selects_it_and_offers_the_entry_actions(qtbot, window):
    view = window.table
    menu = context_menu(view.viewport(), row_point(view, 4))
    entry_id = window.model.index(4, 0).data(EntryIdRole)
    assert window.editor.entry_id == entry_id and window.selected_rows() == [4]
    names = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    for wanted in ("Edit", "Duplicate entry", "Retire entry", "Entry history", "Copy resource code"):
        assert wanted in names

    action_named(menu, "Copy resource code").trigger()
    menu.close()
    assert QApplication.clipboard().text() == window.model.index(4, CatalogueModel.CODE).data()

    menu = context_menu(view.viewport(), row_point(view, 4))
    action_named(menu, "Entry history").trigger()
    menu.close()
    dialogs = [d for d in window.findChildren(HistoryDialog) if d.isVisible()]
    assert dialogs and dialogs[0].entry_id == entry_id

    menu = context_menu(view.viewport(), row_point(view, 4))
    action_named(menu, "Edit").trigger()
    menu.close()
    assert window.editor.isAncestorOf(QApplication.focusWidget()) or window.editor.hasFocus()


def test_duplicate_from_the_row_menu_is_one_undo_step(qtbot, window):
    view = window.table
    source = query.get_entry(window.session.workspace, window.model.index(2, 0).data(EntryIdRole))
    menu = context_menu(view.viewport(), row_point(view, 2))
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        action_named(menu, "Duplicate entry").trigger()
    menu.close()
    qtbot.waitUntil(lambda: window.editor.entry_id not in (None, source.id), timeout=5000)
    copy = query.get_entry(window.session.workspace, window.editor.entry_id)
    assert copy.code != source.code and copy.code.startswith(source.classification + "/")
    assert window.session.undo_stack.undoText() == "Duplicate entry"
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.session.undo_stack.undo()
    assert window.model.rowCount() == 60


def test_copy_takes_the_codes_of_every_selected_row(qtbot, window):
    view = window.table
    view.selectRow(1)
    view.selectionModel().select(window.model.index(3, 0), view.selectionModel().SelectionFlag.Select
                                 | view.selectionModel().SelectionFlag.Rows)
    menu = context_menu(view.viewport(), row_point(view, 3))  # a row of the selection keeps the selection
    action_named(menu, "Copy resource code").trigger()
    menu.close()
    codes = [window.model.index(r, CatalogueModel.CODE).data() for r in (1, 3)]
    assert QApplication.clipboard().text() == "\n".join(codes)

    QApplication.clipboard().clear()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)  # as in a spreadsheet
    qtbot.keyClick(view, Qt.Key.Key_Escape)  # QTest leaves Ctrl down in the application until the next key
    assert QApplication.clipboard().text() == "\n".join(codes)


def test_the_menu_key_opens_the_row_menu_for_the_current_row(qtbot, window):
    view = window.table
    flag = view.selectionModel().SelectionFlag
    view.selectionModel().setCurrentIndex(window.model.index(6, 0), flag.ClearAndSelect | flag.Rows)
    QApplication.sendEvent(view, QContextMenuEvent(QContextMenuEvent.Reason.Keyboard, QPoint(0, 0),
                                                   view.mapToGlobal(QPoint(0, 0))))
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu) and window.selected_rows() == [6]
    action_named(menu, "Edit")
    menu.close()


def test_hidden_columns_survive_a_language_switch(qtbot, window):
    window.table.set_column_shown(CatalogueModel.OPEN, False)
    window.apply_language("zh_CN")
    assert window.table.isColumnHidden(CatalogueModel.OPEN)
    menu = context_menu(window.table.horizontalHeader().viewport(), QPoint(10, 5))
    assert action_named(menu, "开放属性").isChecked() is False
    menu.close()
    assert window.model.headerData(CatalogueModel.CLASSIFICATION, Qt.Orientation.Horizontal)
