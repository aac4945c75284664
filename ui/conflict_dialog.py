"""Resolving conflicts with other stewards' changes: per field, mine / merged / theirs (the JOSM model).

The steward picks a side for each field, or types the merged value; Apply is possible only when
every field of the entry has a choice. The choice becomes local changes on the exchange's current
version, which the next sync sends. Once the last conflict is resolved the dialog closes itself.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.model import ENTRY_FIELD, ITEM_FIELD, Kind
from steward.catalogue.vocabulary import label
from steward.sync import conflicts
from steward.sync.conflicts import Conflict, Take
from steward.sync.merge import WHOLE_ITEM
from steward.workspace import query
from steward.workspace.workspace import Workspace
from ui import operations
from ui.session import Session
from ui.times import local_time

Index = QModelIndex | QPersistentModelIndex
UNCHOSEN = object()


def show_value(conflict: Conflict, value: Any, lang: str) -> str:
    """A conflicting value as the steward reads it: vocabulary labels, item names, lists joined."""
    if conflict.field == WHOLE_ITEM:
        if value is None:
            return "—"
        return f"{value.get('name', '')} ({value.get('data_type') or ''} {value.get('length') or ''})"
    spec = ITEM_FIELD.get(conflict.field) if conflict.item_id else ENTRY_FIELD.get(conflict.field)
    if value is None:
        return "—"
    if spec is not None and spec.kind is Kind.VOCAB and spec.vocabulary and isinstance(value, str):
        return label(spec.vocabulary, value, lang)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


class ConflictModel(QAbstractTableModel):
    """The open conflicts of one entry, and the choice made for each (mine, theirs, or a typed value)."""

    FIELD, MINE, MERGED, THEIRS = range(4)
    choices_changed = Signal()

    def __init__(self, lang: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.lang = lang
        self.rows: list[Conflict] = []
        self.choices: dict[int, Any] = {}

    def load(self, rows: list[Conflict]) -> None:
        self.beginResetModel()
        self.rows, self.choices = rows, {}
        self.endResetModel()
        self.choices_changed.emit()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 4

    def field_name(self, conflict: Conflict) -> str:
        if conflict.field == WHOLE_ITEM:
            return self.tr("Data item")
        spec = ITEM_FIELD.get(conflict.field) if conflict.item_id else ENTRY_FIELD.get(conflict.field)
        name = spec.label("zh" if self.lang == "zh" else "en") if spec else conflict.field
        return self.tr("Data item: %1").replace("%1", name) if conflict.item_id else name

    def merged(self, conflict: Conflict) -> Any:
        choice = self.choices.get(conflict.id, UNCHOSEN)
        if choice is UNCHOSEN:
            return UNCHOSEN
        return conflict.mine if choice == Take.MINE else conflict.theirs if choice == Take.THEIRS else choice

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        conflict = self.rows[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == self.FIELD:
                return self.field_name(conflict)
            if column == self.MINE:
                return show_value(conflict, conflict.mine, self.lang)
            if column == self.THEIRS:
                return show_value(conflict, conflict.theirs, self.lang)
            merged = self.merged(conflict)
            return self.tr("(choose)") if merged is UNCHOSEN else show_value(conflict, merged, self.lang)
        if role == Qt.ItemDataRole.EditRole and column == self.MERGED:
            merged = self.merged(conflict)
            return "" if merged is UNCHOSEN or not isinstance(merged, str) else merged
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return (self.tr("Field"), self.tr("Mine"), self.tr("Merged"), self.tr("Theirs"))[section]

    def editable(self, conflict: Conflict) -> bool:
        """Typed values make sense for text fields; vocabularies and whole items are picked from a side."""
        if conflict.field == WHOLE_ITEM:
            return False
        spec = ITEM_FIELD.get(conflict.field) if conflict.item_id else ENTRY_FIELD.get(conflict.field)
        return spec is not None and spec.kind in (Kind.TEXT, Kind.LONG_TEXT, Kind.DATE)

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() == self.MERGED and self.editable(self.rows[index.row()]):
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or index.column() != self.MERGED:
            return False
        conflict = self.rows[index.row()]
        if not self.editable(conflict):
            return False
        self.choose(index.row(), str(value))
        return True

    def choose(self, row: int, choice: Any) -> None:
        self.choices[self.rows[row].id] = choice
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
        self.choices_changed.emit()

    def complete(self) -> bool:
        return bool(self.rows) and all(c.id in self.choices for c in self.rows)


class ConflictDialog(QDialog):
    resolved = Signal(str)  # the entry id whose conflicts were resolved

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._by_entry: dict[str, list[Conflict]] = {}
        self.entries = QStandardItemModel(self)
        self.entry_view = QListView(self)
        self.entry_view.setModel(self.entries)
        self.entry_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.entry_view.selectionModel().currentChanged.connect(self._entry_chosen)
        self.model = ConflictModel(session.language, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.found_label = QLabel(self)  # when the sync found the current entry's conflicts
        self.mine_button = QPushButton(self)
        self.theirs_button = QPushButton(self)
        self.mine_button.clicked.connect(lambda: self._take(Take.MINE))
        self.theirs_button.clicked.connect(lambda: self._take(Take.THEIRS))
        QShortcut(QKeySequence("Ctrl+M"), self, activated=lambda: self._take(Take.MINE))
        QShortcut(QKeySequence("Ctrl+T"), self, activated=lambda: self._take(Take.THEIRS))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.Close,
                                        self)
        self.apply_button = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        self.apply_button.clicked.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        self.model.choices_changed.connect(self._update_buttons)

        sides = QHBoxLayout()
        sides.addWidget(self.mine_button)
        sides.addWidget(self.theirs_button)
        sides.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.hint)
        right.addWidget(self.found_label)
        right.addWidget(self.table)
        right.addLayout(sides)
        body = QHBoxLayout()
        body.addWidget(self.entry_view, 1)
        body.addLayout(right, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(body)
        layout.addWidget(self.buttons)
        self.resize(1000, 480)
        self._resolved_any = False
        self.retranslate()
        self.reload()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Resolve conflicts"))
        self.hint.setText(self.tr("Another steward changed these fields too. For each field take mine or theirs, "
                                  "or type the merged value; Apply needs a choice for every field."))
        self.mine_button.setText(self.tr("Use &mine (Ctrl+M)"))
        self.theirs_button.setText(self.tr("Use &theirs (Ctrl+T)"))
        self.apply_button.setText(self.tr("&Apply"))
        self.entry_view.setAccessibleName(self.tr("Entries with conflicts"))
        self.table.setAccessibleName(self.tr("Conflicting fields"))
        self._show_found()

    def reload(self) -> None:
        def read(workspace: Workspace) -> tuple[list[Conflict], dict[str, str]]:
            found = conflicts.unresolved(workspace)
            entries = query.names(workspace, (c.entry_id for c in found)).entries
            return found, {entry_id: f"{code}  {name}" for entry_id, (code, name) in entries.items()}

        operations.read(self.session, read, self._show)

    def _show(self, result: tuple[list[Conflict], dict[str, str]]) -> None:
        found, names = result
        self._by_entry = {}
        for c in found:
            self._by_entry.setdefault(c.entry_id, []).append(c)
        self.entries.clear()
        for entry_id in self._by_entry:
            item = QStandardItem(names.get(entry_id, entry_id))
            item.setData(entry_id, Qt.ItemDataRole.UserRole)
            self.entries.appendRow(item)
        if self.entries.rowCount():
            self.entry_view.setCurrentIndex(self.entries.index(0, 0))
        else:
            self.model.load([])
            if self._resolved_any:  # the last one is done: nothing left to do here
                self.accept()
                return
        self._update_buttons()

    def _entry_chosen(self, current: QModelIndex, _previous: QModelIndex) -> None:
        entry_id = current.data(Qt.ItemDataRole.UserRole) if current.isValid() else None
        self.model.load(self._by_entry.get(entry_id, []))
        if self.model.rowCount():
            self.table.selectRow(0)
        self._show_found()

    def _show_found(self) -> None:
        found = min((c.created_at for c in self.model.rows), default=None)
        self.found_label.setText(self.tr("Found by the sync of %1").replace("%1", local_time(found, seconds=False))
                                 if found else "")

    def current_entry_id(self) -> str | None:
        index = self.entry_view.currentIndex()
        return index.data(Qt.ItemDataRole.UserRole) if index.isValid() else None

    def _take(self, side: Take) -> None:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()} or set(range(self.model.rowCount()))
        for row in sorted(rows):
            self.model.choose(row, side)

    def _update_buttons(self) -> None:
        self.apply_button.setEnabled(self.model.complete())
        has_rows = self.model.rowCount() > 0
        self.mine_button.setEnabled(has_rows)
        self.theirs_button.setEnabled(has_rows)

    def apply(self) -> None:
        entry_id = self.current_entry_id()
        if entry_id is None or not self.model.complete():
            return
        choices = dict(self.model.choices)
        ok, _ = operations.write(self.session, lambda workspace: conflicts.resolve(workspace, entry_id, choices),
                                 changed={entry_id})
        if not ok:
            return
        self._resolved_any = True
        self.resolved.emit(entry_id)
        self.reload()
