"""The catalogue table: columns the steward chooses from the header, widths that fit, a right-click menu on rows.

Widths are measured from the header and a sample of the rows around those in view, never every row:
the model fetches rows a page at a time, and measuring 100,000 rows would read them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QContextMenuEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import QAbstractItemView, QApplication, QHeaderView, QMenu, QTableView, QWidget

from steward.workspace import query
from ui import operations
from ui.catalogue_model import PAGE, CatalogueModel
from ui.i18n import Retranslating
from ui.settings import Settings

M = CatalogueModel
# Rows measured to fit a column: the ones in view and those next to them, well within one page of the model.
SAMPLE_ROWS = min(50, PAGE)
MAX_WIDTH = 360  # a long name or abstract must not push the other columns off screen; its tooltip has it whole
NAME_MIN_WIDTH = 160
# The narrow status columns stand next to the code, so a window of 1366 pixels (an office laptop) shows them.
DEFAULT_ORDER = (M.CODE, M.PROBLEMS, M.CHANGED, M.NAME, M.SHARING, M.OPEN, M.FREQUENCY, M.CLASSIFICATION, M.UPDATED)
DEFAULT_HIDDEN = (M.CLASSIFICATION, M.UPDATED)
ALWAYS_SHOWN = M.CODE  # a row without its code cannot be told apart


class CatalogueView(Retranslating, QTableView):
    edit_requested = Signal()  # the steward chose Edit on a row: the editor takes the focus

    def __init__(self, model: CatalogueModel, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalogue = model
        self.settings = settings
        self._row_actions: list[QAction] = []
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSortingEnabled(True)
        self.sortByColumn(M.CODE, Qt.SortOrder.AscendingOrder)
        self.setWordWrap(False)
        self.setTabKeyNavigation(False)  # Tab goes on to the editor; the arrow keys walk the cells
        self.setAlternatingRowColors(True)
        # Fixed row heights and interactive columns: the view then never measures every row.
        vertical = self.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(self.fontMetrics().height() + 8)
        vertical.hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        header.setSectionsMovable(True)
        # Also what a double-click on a column's edge measures: the sample, not the whole catalogue.
        header.setResizeContentsPrecision(SAMPLE_ROWS)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._show_header_menu)
        for visual, column in enumerate(DEFAULT_ORDER):
            header.moveSection(header.visualIndex(column), visual)

        self.edit_action = QAction(self)
        self.edit_action.triggered.connect(self.edit_requested)
        self.copy_action = QAction(self)
        self.copy_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_codes)
        self.addAction(self.copy_action)

        self._fit_pending = True  # until the rows are in and the view has its size, or the steward's widths return
        model.loaded.connect(self._fit_when_ready)
        self._apply_hidden()
        self.retranslate()

    def retranslate(self) -> None:
        self.edit_action.setText(self.tr("&Edit"))
        self.copy_action.setText(self.tr("Copy resource &code"))

    def set_row_actions(self, actions: Sequence[QAction]) -> None:
        """The window's entry actions (duplicate, retire, history…) the row menu offers, in order."""
        self._row_actions = list(actions)

    # State kept between runs --------------------------------------------------------------------------

    def restore_state(self) -> None:
        """The steward's widths, order and sort from the last run, and the columns chosen."""
        state = self.settings.state("table_header")
        if state is not None and self.horizontalHeader().restoreState(state):
            self._fit_pending = False
        self._apply_hidden()

    def save_state(self) -> None:
        self.settings.set_state("table_header", self.horizontalHeader().saveState())

    def _apply_hidden(self) -> None:
        chosen = self.settings.hidden_columns
        if chosen is None:
            hidden = set(DEFAULT_HIDDEN)
        else:
            hidden = {c for c in map(self.catalogue.column_of_key, chosen) if c is not None}
        for column in range(self.catalogue.columnCount()):
            self.setColumnHidden(column, column in hidden and column != ALWAYS_SHOWN)

    # Columns ------------------------------------------------------------------------------------------

    def set_column_shown(self, column: int, shown: bool) -> None:
        """Show or hide a column and remember the choice at once (a crash must not forget it)."""
        if column == ALWAYS_SHOWN:
            return
        self.setColumnHidden(column, not shown)
        if shown:
            self._fit_column(column)
        self.settings.hidden_columns = [self.catalogue.column_key(c) for c in range(self.catalogue.columnCount())
                                        if self.isColumnHidden(c)]

    def header_menu(self) -> QMenu:
        """Every column, ticked when shown, in the order the header shows them; and fitting the widths."""
        menu = QMenu(self)
        header = self.horizontalHeader()
        for visual in range(header.count()):
            column = header.logicalIndex(visual)
            action = menu.addAction(str(self.catalogue.headerData(column, Qt.Orientation.Horizontal)))
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.setEnabled(column != ALWAYS_SHOWN)
            action.toggled.connect(partial(self.set_column_shown, column))
        menu.addSeparator()
        menu.addAction(self.tr("&Fit column widths to their contents"), self.fit_columns)
        return menu

    def _show_header_menu(self, pos: QPoint) -> None:
        _popup(self.header_menu(), self.horizontalHeader().viewport().mapToGlobal(pos))

    def fit_columns(self) -> None:
        """Fit every shown column to its header and the sample rows; the name gives way so the rest stay in view."""
        for column in range(self.catalogue.columnCount()):
            if not self.isColumnHidden(column):
                self._fit_column(column)
        if self.isColumnHidden(M.NAME):
            return
        others = sum(self.columnWidth(c) for c in range(self.catalogue.columnCount())
                     if c != M.NAME and not self.isColumnHidden(c))
        room = self.viewport().width() - others
        if self.columnWidth(M.NAME) > room:
            self.setColumnWidth(M.NAME, max(room, NAME_MIN_WIDTH))

    def _fit_column(self, column: int) -> None:
        # Qt measures the header and, with the header's precision, SAMPLE_ROWS rows from those in view.
        self.resizeColumnToContents(column)
        self.setColumnWidth(column, min(self.columnWidth(column), MAX_WIDTH))

    def _fit_when_ready(self, *_args: object) -> None:
        if self._fit_pending and self.isVisible() and self.catalogue.rowCount():
            self._fit_pending = False
            self.fit_columns()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self._fit_when_ready)  # once the window's layout has given the view its width

    # Rows ---------------------------------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        rows: list[int] = []
        for selection_range in self.selectionModel().selection():
            rows.extend(range(selection_range.top(), selection_range.bottom() + 1))
        return sorted(set(rows))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        """As in a spreadsheet: a right-click on a row outside the selection selects that row first.

        From the keyboard (the menu key, Shift+F10) the menu is for the current row, shown beside it.
        """
        if event.reason() == QContextMenuEvent.Reason.Keyboard:
            index = self.currentIndex()
            where = self.viewport().mapToGlobal(self.visualRect(index).bottomLeft())
        else:
            index, where = self.indexAt(event.pos()), event.globalPos()
        if not index.isValid():
            return
        selection = self.selectionModel()
        flag = QItemSelectionModel.SelectionFlag
        if selection.isRowSelected(index.row(), QModelIndex()):
            selection.setCurrentIndex(index, flag.NoUpdate)
        else:
            selection.setCurrentIndex(index, flag.ClearAndSelect | flag.Rows)
        _popup(self.row_menu(), where)

    def row_menu(self) -> QMenu:
        """Edit, the window's entry actions that apply to the current row, and copying the codes."""
        menu = QMenu(self)
        menu.addAction(self.edit_action)
        menu.addActions([a for a in self._row_actions if a.isEnabled()])
        menu.addSeparator()
        menu.addAction(self.copy_action)
        return menu

    def copy_codes(self) -> None:
        """The resource codes of the selected rows, one a line in the table's order, as a spreadsheet column pastes."""
        rows = self.selected_rows() or ([self.currentIndex().row()] if self.currentIndex().isValid() else [])
        pks = self.catalogue.pks(rows)
        if not pks:
            return
        session = self.catalogue.session
        # On a worker: a selection can be the whole catalogue, more rows than the pages in the model's cache.
        ok, outcome = operations.read_and_wait(session, operations.on_connection(query.rows, pks))
        if not ok:
            session.report_failure(outcome)
            return
        QApplication.clipboard().setText("\n".join(row.code for row in outcome if row.code))


def _popup(menu: QMenu, where: QPoint) -> None:
    menu.aboutToHide.connect(menu.deleteLater)  # deleted once the chosen action has run
    menu.popup(where)
