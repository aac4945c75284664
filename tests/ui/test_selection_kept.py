"""The catalogue table keeps the steward's selection and the current entry in view when it reads its rows again."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt

from ui.catalogue_model import CatalogueModel
from ui.main_window import MainWindow


def _window(qtbot, session) -> MainWindow:
    window = MainWindow(session)
    qtbot.addWidget(window)
    window.resize(1200, 500)  # fewer rows in view than entries: where the view stands matters
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 60 and not window.model._reading.loading, timeout=5000)
    return window


def _choose(window: MainWindow, first: int, last: int, current: int) -> tuple[set[str], str]:
    flags = QItemSelectionModel.SelectionFlag
    model, selection = window.model, window.table.selectionModel()
    selection.setCurrentIndex(model.index(current, 1), flags.NoUpdate)
    selection.select(QItemSelection(model.index(first, 0), model.index(last, model.columnCount() - 1)),
                     flags.ClearAndSelect)
    window.table.scrollTo(model.index(current, 1))
    return {model.entry_id(r) for r in range(first, last + 1)}, model.entry_id(current)


def _chosen(window: MainWindow) -> set[str]:
    return {window.model.entry_id(r) for r in window.selected_rows()}


def _in_view(window: MainWindow) -> bool:
    table = window.table
    return table.viewport().rect().contains(table.visualRect(table.currentIndex()).center())


def test_a_sort_keeps_the_selected_entries_and_the_current_one_in_view(qtbot, session):
    window = _window(qtbot, session)
    chosen, current = _choose(window, 50, 53, 52)
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        window.table.sortByColumn(CatalogueModel.NAME, Qt.SortOrder.DescendingOrder)
    assert _chosen(window) == chosen
    assert window.model.entry_id(window.table.currentIndex().row()) == current == window.current_entry_id()
    assert window.table.currentIndex().column() == 1
    assert _in_view(window)
    session.runner.wait_all()


def test_a_reload_keeps_the_current_entry_where_it_was_on_screen(qtbot, session):
    window = _window(qtbot, session)
    _chosen_ids, current = _choose(window, 40, 40, 40)
    before = window.table.visualRect(window.table.currentIndex()).top()
    with qtbot.waitSignal(window.model.loaded, timeout=5000):
        session.catalogue_changed.emit()  # as after a sync
    assert window.current_entry_id() == current and _in_view(window)
    assert window.table.visualRect(window.table.currentIndex()).top() == before
    session.runner.wait_all()
