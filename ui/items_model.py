"""The data items (信息项) of the entry being edited, as an editable table; edits go through the journal.

The model shows what its owner (the entry editor) hands it with `set_entry` after each load;
its edits are journal changes made through the session, which announces them, and the owner
then hands it the entry as stored. An entry has tens of items, so plain lists are enough.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QIcon

from steward.catalogue.errors import StewardError
from steward.catalogue.model import ITEM_FIELD, DataItem, Entry
from steward.catalogue.rules import Problem, Severity
from steward.catalogue.vocabulary import label
from steward.workspace.assignments import parse_value
from steward.workspace.journal import AddItem, Change, RemoveItem, SetItemField, Tightening
from ui.reason_dialog import reason_for
from ui.resources import icon
from ui.session import Session

Index = QModelIndex | QPersistentModelIndex

ItemIdRole = Qt.ItemDataRole.UserRole + 1
FieldRole = Qt.ItemDataRole.UserRole + 2  # the item field a column shows (for delegates and focus)
SeverityRole = Qt.ItemDataRole.UserRole + 3  # "error", "warning" or None for a cell

COLUMNS: tuple[str, ...] = ("position", "name", "data_type", "length", "sharing_type", "open_type")
VOCABULARY_COLUMNS = {"data_type", "sharing_type", "open_type"}

ERROR_BACKGROUND = QColor("#fde2e1")
WARNING_BACKGROUND = QColor("#fff1d6")


class ItemsModel(QAbstractTableModel):
    """One row per data item of the current entry, in position order."""

    POSITION, NAME, DATA_TYPE, LENGTH, SHARING, OPEN = range(len(COLUMNS))

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._entry_id: str | None = None
        self._items: list[DataItem] = []
        # (item id, field) -> problems; (item id, None) -> every problem of the item
        self._problems: dict[tuple[str, str | None], list[Problem]] = {}
        self._icons: dict[Severity, QIcon] = {}

    # Content ------------------------------------------------------------------------------

    @property
    def entry_id(self) -> str | None:
        return self._entry_id

    def set_entry(self, entry: Entry | None, problems: Iterable[Problem] = ()) -> None:
        """Show `entry`'s items and problems; the same items in the same order keep the view's selection."""
        items = [replace(item) for item in entry.items] if entry else []
        same_rows = entry is not None and entry.id == self._entry_id and [i.id for i in items] == self.item_ids()
        if same_rows:
            self._items = items
            self._set_problems(problems)
            if items:
                self.dataChanged.emit(self.index(0, 0), self.index(len(items) - 1, len(COLUMNS) - 1))
            return
        self.beginResetModel()
        self._entry_id = entry.id if entry else None
        self._items = items
        self._set_problems(problems)
        self.endResetModel()

    def _set_problems(self, problems: Iterable[Problem]) -> None:
        self._problems = {}
        for problem in problems:
            if problem.item_id is None:
                continue
            self._problems.setdefault((problem.item_id, problem.field), []).append(problem)
            self._problems.setdefault((problem.item_id, None), []).append(problem)

    def refresh_labels(self) -> None:
        """Show labels and messages again in the session's language."""
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(COLUMNS) - 1)
        if self._items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._items) - 1, len(COLUMNS) - 1))

    def item_ids(self) -> list[str]:
        return [item.id for item in self._items]

    def item_at(self, row: int) -> DataItem | None:
        return self._items[row] if 0 <= row < len(self._items) else None

    def row_of(self, item_id: str) -> int | None:
        return next((row for row, item in enumerate(self._items) if item.id == item_id), None)

    @staticmethod
    def column_of(field: str) -> int:
        """The column showing item field `field` (the position column for anything else)."""
        return COLUMNS.index(field) if field in COLUMNS else 0

    # Edits --------------------------------------------------------------------------------

    def add_item(self) -> str | None:
        """Append an empty data item; its id, or None if nothing was stored."""
        if self._entry_id is None:
            return None
        item = DataItem()  # the journal gives it the position after the last
        if self._apply([AddItem(self._entry_id, item)], self.tr("Add data item")) is None:
            return None
        return item.id

    def remove_rows(self, rows: Iterable[int]) -> bool:
        """Remove the items in `rows`, as one undo step."""
        items = [self._items[row] for row in sorted(set(rows)) if 0 <= row < len(self._items)]
        if self._entry_id is None or not items:
            return False
        changes: list[Change] = [RemoveItem(self._entry_id, item.id) for item in items]
        text = self.tr("Remove %n data item(s)", "", len(items))
        return self._apply(changes, text) is not None

    def move_row(self, row: int, delta: int) -> bool:
        """Move the item in `row` up (delta -1) or down (+1) by swapping positions with its neighbour."""
        other = row + delta
        if self._entry_id is None or not (0 <= row < len(self._items) and 0 <= other < len(self._items)):
            return False
        order = list(self._items)
        order[row], order[other] = order[other], order[row]
        text = self.tr("Move data item")
        return self._apply(self._position_changes(order), text) is not None

    def _position_changes(self, order: Sequence[DataItem]) -> list[Change]:
        """Changes that put the items in `order`: a swap of two positions, or a renumbering where positions repeat."""
        assert self._entry_id is not None
        positions = [item.position for item in self._items]
        # Positions taken twice (an old import) cannot be swapped: they are numbered afresh.
        unique = len(set(positions)) == len(positions)
        wanted = sorted(positions) if unique else list(range(1, len(order) + 1))
        return [
            SetItemField(self._entry_id, item.id, "position", position)
            for item, position in zip(order, wanted, strict=True)
            if item.position != position
        ]

    def _apply(self, changes: Sequence[Change], text: str, reason: str | None = None) -> Any:
        try:
            return self.session.apply(changes, text, reason=reason)
        except KeyError:  # the item went away under us (another window, a sync): say so rather than crash
            self.session.failed.emit(self.tr("The data items changed meanwhile; look again and repeat the edit."))
            return None

    def _tightening_text(self, found: Tightening, position: int) -> str:
        lang = self.session.language
        return (
            self.tr("Changing %1 of data item %2 from “%3” to “%4” makes it more restrictive. "
                    "Please give the reason; it is recorded with the change.")
            .replace("%1", ITEM_FIELD[found.field].label(lang))
            .replace("%2", str(position))
            .replace("%3", label(found.field, found.before, lang))
            .replace("%4", label(found.field, found.after, lang))
        )

    def _parse(self, field: str, value: Any) -> Any:
        """The stored value for what an editor (or a caller) handed setData; StewardError if none fits."""
        spec = ITEM_FIELD[field]
        if value is None:
            return "" if field == "name" else None
        if field == "length" and isinstance(value, int) and not isinstance(value, bool):
            return value
        return parse_value(spec, str(value))

    # Qt model API ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Vertical:
            return str(section + 1)
        if 0 <= section < len(COLUMNS):
            return ITEM_FIELD[COLUMNS[section]].label(self.session.language)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() != self.POSITION:  # order changes through move up / move down
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        field = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(index.row(), item, field)
        if role == Qt.ItemDataRole.EditRole:
            return index.row() + 1 if field == "position" else getattr(item, field)
        if role == ItemIdRole:
            return item.id
        if role == FieldRole:
            return field
        return self._problem_data(item, field, role)

    def _display(self, row: int, item: DataItem, field: str) -> str:
        if field == "position":  # the rules' messages count items from 1 in this order
            return str(row + 1)
        value = getattr(item, field)
        if field in VOCABULARY_COLUMNS:
            return label(field, value, self.session.language)
        return "" if value is None else str(value)

    def _problem_data(self, item: DataItem, field: str, role: int) -> Any:
        # The position column speaks for the whole item; other cells for their own field.
        problems = self._problems.get((item.id, None if field == "position" else field))
        if not problems:
            return None
        worst = Severity.ERROR if any(p.severity is Severity.ERROR for p in problems) else Severity.WARNING
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(p.message(self.session.language) for p in problems)
        if role == Qt.ItemDataRole.BackgroundRole and field != "position":
            return QBrush(ERROR_BACKGROUND if worst is Severity.ERROR else WARNING_BACKGROUND)
        if role == Qt.ItemDataRole.DecorationRole and field == "position":
            return self._icon(worst)
        if role == SeverityRole:
            return str(worst)
        return None

    def _icon(self, severity: Severity) -> QIcon:
        if severity not in self._icons:
            self._icons[severity] = icon("error" if severity is Severity.ERROR else "warning")
        return self._icons[severity]

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or self._entry_id is None:
            return False
        field = COLUMNS[index.column()]
        item = self.item_at(index.row())
        if item is None or field == "position":
            return False
        try:
            new = self._parse(field, value)
        except StewardError as error:
            self.session.failed.emit(error.message(self.session.language))
            return False
        if new == getattr(item, field):
            return True
        text = self.tr("Edit %1 of data item %2").replace("%1", ITEM_FIELD[field].label(self.session.language))
        text = text.replace("%2", str(index.row() + 1))
        changes = [SetItemField(self._entry_id, item.id, field, new)]
        asked = reason_for(self.session, changes, lambda found: self._tightening_text(found, index.row() + 1),
                           self.session.dialog_parent)
        if asked.cancelled or self._apply(changes, text, asked.reason) is None:
            return False
        # The owner reloads the entry on the session's news; until then (or without an owner) show the value.
        current = self.item_at(index.row())
        if current is not None and current.id == item.id and getattr(current, field) != new:
            setattr(current, field, new)
            self.dataChanged.emit(index, index)
        return True
