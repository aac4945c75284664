"""Pending changes: what changed locally since the last sync, per entry and field, each one revertible."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.operations import OpKind
from steward.sync.pending import PendingChange, changed_at, pending_changes
from steward.workspace import query
from steward.workspace.workspace import Workspace
from ui.change_list import ChangeDescriber, failure_text, fill, fit_columns, one_line
from ui.i18n import Retranslating
from ui.operations import LatestRead
from ui.reload_when_seen import ReloadWhenSeen
from ui.session import Session
from ui.times import local_time

Index = QModelIndex | QPersistentModelIndex

EntryIdRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2

# More changes than this are reverted on the write worker behind a progress dialog.
LONG_REVERT = 200


@dataclass(frozen=True)
class PendingRow:
    """One pending change with the names it is shown under (read with it, on the worker)."""

    change: PendingChange
    entry_code: str
    entry_name: str
    item_name: str
    changed_at: str  # when the steward last changed the entry (UTC, as the journal has it)


def read_pending(workspace: Workspace) -> list[PendingRow]:
    """Pending changes with their entries' codes and names, their data items' names and when they were made."""
    changes = pending_changes(workspace)
    found = query.names(workspace, (c.entry_id for c in changes), items_of=(c.entry_id for c in changes if c.item_id))
    times = changed_at(workspace, (c.last_seq for c in changes))
    return [_row(c, found, times.get(c.last_seq, "")) for c in changes]


def _row(change: PendingChange, found: query.Names, when: str) -> PendingRow:
    code, name = found.entries.get(change.entry_id, ("", ""))
    if not code and not name:  # an erased entry: its snapshot still names it
        snapshot = change.before if isinstance(change.before, dict) else change.after
        if isinstance(snapshot, dict):
            code, name = snapshot.get("code", ""), snapshot.get("name", "")
    item_name = found.items.get((change.entry_id, change.item_id or ""), "")
    if change.item_id and not item_name:  # a removed item: its snapshot names it
        for snapshot in (change.before, change.after):
            if isinstance(snapshot, dict) and snapshot.get("name"):
                item_name = snapshot["name"]
                break
    if change.kind is OpKind.CREATE:
        # Reverting a creation needs only the id; a fresh workspace holds thousands of these whole snapshots.
        change = replace(change, after=None)
    return PendingRow(change, code, name, item_name, when)


class PendingModel(QAbstractTableModel):
    """The pending changes as a table: entry code, entry name, what changed, before, after, and when."""

    CODE, NAME, FIELD, BEFORE, AFTER, CHANGED = range(6)
    COLUMNS = 6

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.describer = ChangeDescriber(session, self)
        self._rows: list[PendingRow] = []

    def set_rows(self, rows: list[PendingRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def pending_row(self, row: int) -> PendingRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.COLUMNS - 1)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, self.COLUMNS - 1))

    # Qt model API ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < self.COLUMNS:
            return None
        return (self.tr("Resource code"), self.tr("Resource name"), self.tr("What changed"), self.tr("Before"),
                self.tr("After"), self.tr("Changed at"))[section]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        found = self.pending_row(index.row())
        if found is None:
            return None
        if role == SortRole and index.column() == self.CHANGED:
            return found.changed_at  # ISO 8601 in UTC sorts as time does
        if role in (Qt.ItemDataRole.DisplayRole, SortRole):
            text = self._text(found, index.column())
            return text if role == SortRole else one_line(text)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._text(found, index.column()) or None
        if role == EntryIdRole:
            return found.change.entry_id
        return None

    def _text(self, row: PendingRow, column: int) -> str:
        change = row.change
        if column == self.CODE:
            return row.entry_code
        if column == self.NAME:
            return row.entry_name
        if column == self.FIELD:
            return self.describer.what(change.kind, change.field, row.item_name)
        if column == self.BEFORE:
            return self.describer.before(change.kind, change.field, change.before)
        if column == self.AFTER:
            return self.describer.after(change.kind, change.field, change.after)
        return local_time(row.changed_at, seconds=False) if row.changed_at else ""


class PendingChangesDialog(Retranslating, ReloadWhenSeen):
    """Lists the pending changes; reverts the chosen ones (one undo step); double-click shows the entry."""

    entry_activated = Signal(str)  # the steward asked to see this entry in the main window
    loaded = Signal()  # the list was (re)read

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._reading = LatestRead(session, self._loaded, self._failed, self)
        self.model = PendingModel(session, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self._build()
        self.retranslate()
        session.entries_changed.connect(self._schedule_reload)
        session.catalogue_changed.connect(self._schedule_reload)
        self.reload()

    def _build(self) -> None:
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # keep the journal's order until a header is clicked
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.view.activated.connect(self._activated)  # double-click, or Enter on the keyboard
        self.view.selectionModel().selectionChanged.connect(self._update_actions)

        self.revert_action = QAction(self)
        self.revert_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.revert_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.revert_action.triggered.connect(self.revert_selected)
        self.show_action = QAction(self)
        self.show_action.triggered.connect(self._show_current)
        self.view.addActions([self.revert_action, self.show_action])

        self.revert_button = QPushButton(self)
        self.revert_button.clicked.connect(self.revert_selected)
        self.show_button = QPushButton(self)
        self.show_button.clicked.connect(self._show_current)
        # Enter on a row shows its entry; it must never fall through to a button and revert something.
        for button in (self.revert_button, self.show_button):
            button.setAutoDefault(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setAutoDefault(False)  # Escape closes

        row = QHBoxLayout()
        row.addWidget(self.revert_button)
        row.addWidget(self.show_button)
        row.addStretch(1)
        row.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        self.setTabOrder(self.view, self.revert_button)
        self.setTabOrder(self.revert_button, self.show_button)
        self.setTabOrder(self.show_button, self.buttons)
        self.resize(860, 480)
        self._update_actions()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Pending changes"))
        self.view.setAccessibleName(self.tr("Changes not yet synced"))
        self.show_action.setText(self.tr("&Show entry"))
        self.show_button.setText(self.tr("&Show entry"))
        self.show_button.setToolTip(self.tr("Select this entry in the main window (Enter or double-click)"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("&Close"))
        self.model.retranslate()
        self._update_actions()
        self._show_status()

    # Loading -----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the pending changes on a worker; a newer read makes older answers moot."""
        super().reload()
        self._reading.run(read_pending)
        self._show_status()

    def _loaded(self, rows: list[PendingRow]) -> None:
        first_rows = self.model.rowCount() == 0
        self.model.set_rows(rows)
        if first_rows and rows:  # size the columns once; later the steward's own widths stay
            fit_columns(self.view, PendingModel.COLUMNS)
        self._update_actions()
        self._show_status()
        self.loaded.emit()

    def _failed(self, error: BaseException) -> None:
        self.status.setText(failure_text(self.tr("The pending changes could not be read: %1"), error,
                                         self.session.language))

    def is_loading(self) -> bool:
        return self._reading.loading

    def _show_status(self) -> None:
        if self._reading.loading and not self.model.rowCount():
            self.status.setText(self.tr("Reading the pending changes…"))
            return
        count = self.model.rowCount()
        if count == 0:
            self.status.setText(self.tr("Nothing changed since the last sync."))
        else:
            self.status.setText(self.tr("%n change(s) not yet synced. Reverting one puts back the synced value.",
                                        "", count))

    # Acting on the selection ----------------------------------------------------------------

    def selected_rows(self) -> list[PendingRow]:
        rows = {self.proxy.mapToSource(i).row() for i in self.view.selectionModel().selectedRows()}
        return [r for r in (self.model.pending_row(n) for n in sorted(rows)) if r is not None]

    def select_row(self, row: int) -> None:
        """Select a row of the model (source order), as a click would."""
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        # Through the selection model: QTableView.selectRow would read the keyboard's modifiers and toggle.
        flags = QItemSelectionModel.SelectionFlag
        self.view.selectionModel().setCurrentIndex(index, flags.ClearAndSelect | flags.Rows)

    def _update_actions(self) -> None:
        count = len(self.view.selectionModel().selectedRows()) if self.view.selectionModel() else 0
        text = self.tr("&Revert %n changes", "", count) if count > 1 else self.tr("&Revert this change")
        self.revert_action.setText(text)
        self.revert_button.setText(text)
        self.revert_button.setToolTip(self.tr("Put back the value of the last sync (Delete)"))
        for widget in (self.revert_action, self.revert_button):
            widget.setEnabled(count > 0)
        for widget in (self.show_action, self.show_button):
            widget.setEnabled(count == 1)

    def revert_selected(self) -> bool:
        """Put the selected changes back as they were at the last sync, as one undo step."""
        return self.revert(self.selected_rows())

    def revert(self, rows: Iterable[PendingRow]) -> bool:
        chosen = sorted(rows, key=lambda r: r.change.last_seq, reverse=True)  # newest first, as undo does
        if not chosen:
            return False
        changes = [r.change.revert() for r in chosen]
        text = self._undo_text(chosen)
        # The core does not ask for a reason to go back to the synced value; the history still says why.
        reason = self.tr("Reverted an unsynced change")
        apply = self.session.apply_long if len(changes) > LONG_REVERT else self.session.apply
        return apply(changes, text, reason=reason) is not None

    def _undo_text(self, chosen: list[PendingRow]) -> str:
        if len(chosen) > 1:
            return self.tr("Revert %n changes", "", len(chosen))
        row = chosen[0]
        what = self.model.describer.what(row.change.kind, row.change.field, row.item_name)
        return fill(self.tr("Revert %1 of %2"), what, row.entry_code or row.entry_name)

    def _activated(self, index: QModelIndex) -> None:
        entry_id = index.data(EntryIdRole)
        if entry_id and not self._is_erased(index):
            self.entry_activated.emit(entry_id)

    def _show_current(self) -> None:
        index = self.view.currentIndex()
        if index.isValid():
            self._activated(index)

    def _is_erased(self, index: QModelIndex) -> bool:
        row = self.model.pending_row(self.proxy.mapToSource(index).row())
        return row is not None and row.change.kind is OpKind.ERASE
