"""The catalogue table's selection through a reload: the same entries stay selected, the current one stays in view.

The catalogue model reads its rows afresh after a sync, a sort or a filter (a model reset), which
would drop the selection and jump to the top. The entries are remembered by pk before the reset and
found again after the load; the current entry is kept at the height of the view it was at.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QObject
from PySide6.QtWidgets import QAbstractItemView, QTableView

from ui.catalogue_model import CatalogueModel


class KeptSelection(QObject):
    def __init__(self, table: QTableView, model: CatalogueModel) -> None:
        super().__init__(table)
        self.table = table
        self.model = model
        self._selected: list[int] = []  # pks
        self._current: int | None = None
        self._column = 0
        self._rows_above = 0  # how many rows the view showed above the current one
        self._scrolled = 0
        self._remembered = False
        model.modelAboutToBeReset.connect(self._remember)

    def _remember(self) -> None:
        if self._remembered:  # a second reset before the load: the first one saw the steward's selection
            return
        selection = self.table.selectionModel()
        rows = sorted({row for part in selection.selection() for row in range(part.top(), part.bottom() + 1)})
        self._selected = self.model.pks(rows)
        current = self.table.currentIndex()
        found = self.model.pks([current.row()]) if current.isValid() else []
        self._current = found[0] if found else None
        self._column = max(current.column(), 0)
        row_height = max(self.table.verticalHeader().defaultSectionSize(), 1)
        self._rows_above = max(self.table.rowViewportPosition(current.row()), 0) // row_height if found else 0
        self._scrolled = self.table.verticalScrollBar().value()
        self._remembered = True

    def restore(self) -> None:
        """After the model loaded: select the remembered entries that are still listed, the current one in view."""
        if not self._remembered:
            return
        self._remembered = False
        rows = sorted(row for pk in self._selected if (row := self.model.row_of_pk(pk)) is not None)
        last_column = self.model.columnCount() - 1
        selection = QItemSelection()
        start = previous = None
        for row in [*rows, None]:  # runs of consecutive rows as one range each: select-all stays one range
            if start is not None and row != previous + 1:
                selection.select(self.model.index(start, 0), self.model.index(previous, last_column))
                start = None
            if start is None:
                start = row
            previous = row
        flags = QItemSelectionModel.SelectionFlag
        model = self.table.selectionModel()
        current = self.model.row_of_pk(self._current) if self._current is not None else None
        if current is not None:
            model.setCurrentIndex(self.model.index(current, self._column), flags.NoUpdate)
        model.select(selection, flags.ClearAndSelect)
        if current is None:
            self.table.verticalScrollBar().setValue(self._scrolled)
            return
        top = self.model.index(max(current - self._rows_above, 0), self._column)
        self.table.scrollTo(top, QAbstractItemView.ScrollHint.PositionAtTop)
        self.table.scrollTo(self.model.index(current, self._column))
