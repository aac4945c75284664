"""An entry's history: every recorded change, grouped as it was made, with time, author, reason and state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.operations import OpKind
from steward.workspace import journal, query
from steward.workspace.journal import Operation, OpState
from steward.workspace.workspace import Workspace
from ui.change_list import ChangeDescriber, failure_text, fill, fit_columns, one_line
from ui.i18n import Retranslating
from ui.operations import LatestRead
from ui.session import Session
from ui.times import local_time

Index = QModelIndex | QPersistentModelIndex

GroupIdRole = Qt.ItemDataRole.UserRole + 1

_TOP = 0  # internalId of a group's index; an operation's index carries its group's row + 1


@dataclass
class HistoryGroup:
    """The operations one edit (one journal group) made on the entry: one revision."""

    group_id: str
    operations: list[Operation] = field(default_factory=list)

    @property
    def first(self) -> Operation:
        return self.operations[0]

    @property
    def pending(self) -> bool:
        return any(op.state is OpState.PENDING for op in self.operations)

    @property
    def one_state(self) -> bool:
        return len({op.state for op in self.operations}) == 1


@dataclass(frozen=True)
class EntryHistory:
    entry_code: str
    entry_name: str
    groups: list[HistoryGroup]  # newest first
    item_names: dict[str, str]


def read_history(workspace: Workspace, entry_id: str) -> EntryHistory:
    """The entry's operations grouped by edit (newest first) with the names its data items had."""
    operations = journal.history(workspace, entry_id)
    groups: dict[str, HistoryGroup] = {}
    for op in operations:
        groups.setdefault(op.group_id, HistoryGroup(op.group_id)).operations.append(op)
    item_names = _item_names(operations)
    found = query.names(workspace, [entry_id], items_of=[entry_id])
    item_names.update(found.items_of(entry_id))
    code, name = found.entries.get(entry_id) or _snapshot_names(operations)
    return EntryHistory(code, name, list(reversed(groups.values())), item_names)


def _item_names(operations: list[Operation]) -> dict[str, str]:
    """Names of data items as the journal recorded them: a removed item keeps the name it had."""
    names: dict[str, str] = {}
    for op in operations:
        for snapshot in (op.old, op.new):
            if not isinstance(snapshot, dict):
                continue
            if op.kind in (OpKind.CREATE, OpKind.ERASE):
                names.update((i["id"], i.get("name", "")) for i in snapshot.get("items", []) if "id" in i)
            elif "id" in snapshot:
                names[snapshot["id"]] = snapshot.get("name", "")
        if op.kind is OpKind.ITEM_SET and op.field == "name" and op.item_id and isinstance(op.new, str):
            names[op.item_id] = op.new
    return names


def _snapshot_names(operations: list[Operation]) -> tuple[str, str]:
    """An erased entry's code and name, from the last snapshot the journal holds."""
    for op in reversed(operations):
        for snapshot in (op.old, op.new):
            if op.kind in (OpKind.CREATE, OpKind.ERASE) and isinstance(snapshot, dict):
                return snapshot.get("code", ""), snapshot.get("name", "")
    return "", ""


class HistoryModel(QAbstractItemModel):
    """A tree: one row per edit (newest first); an edit that changed several fields has one child per field."""

    REVISION, TIME, AUTHOR, WHAT, BEFORE, AFTER, REASON, STATE = range(8)
    COLUMNS = 8

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.describer = ChangeDescriber(session, self)
        self._groups: list[HistoryGroup] = []
        self._item_names: dict[str, str] = {}

    def set_history(self, history: EntryHistory) -> None:
        self.beginResetModel()
        self._groups = list(history.groups)
        self._item_names = dict(history.item_names)
        self.endResetModel()

    def group(self, row: int) -> HistoryGroup | None:
        return self._groups[row] if 0 <= row < len(self._groups) else None

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, self.COLUMNS - 1)
        if not self._groups:
            return
        last = self.COLUMNS - 1
        self.dataChanged.emit(self.index(0, 0), self.index(len(self._groups) - 1, last))
        for row in range(len(self._groups)):  # dataChanged covers one parent's rows: each branch too
            parent = self.index(row, 0)
            count = self.rowCount(parent)
            if count:
                self.dataChanged.emit(self.index(0, 0, parent), self.index(count - 1, last, parent))

    # Tree structure -------------------------------------------------------------------

    def _children(self, group: HistoryGroup) -> list[Operation]:
        # An edit of one field is shown on its own row; only several make a branch.
        return group.operations if len(group.operations) > 1 else []

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, _TOP)
        if parent.internalId() == _TOP:
            return self.createIndex(row, column, parent.row() + 1)
        return QModelIndex()

    def parent(self, child: Index | None = None) -> Any:  # type: ignore[override]
        if child is None:  # QObject.parent()
            return QObject.parent(self)
        if not child.isValid() or child.internalId() == _TOP:
            return QModelIndex()
        return self.createIndex(child.internalId() - 1, 0, _TOP)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._groups)
        if parent.internalId() != _TOP or parent.column() != 0:
            return 0
        group = self.group(parent.row())
        return len(self._children(group)) if group else 0

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return self.COLUMNS

    def _at(self, index: Index) -> tuple[HistoryGroup, Operation | None] | None:
        """The group of `index`, and its operation for a child row (None on a group's row)."""
        if index.internalId() == _TOP:
            group = self.group(index.row())
            return (group, None) if group else None
        group = self.group(index.internalId() - 1)
        if group is None:
            return None
        children = self._children(group)
        return (group, children[index.row()]) if 0 <= index.row() < len(children) else None

    # Data -------------------------------------------------------------------------------

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < self.COLUMNS:
            return None
        return (self.tr("Revision"), self.tr("Time"), self.tr("Author"), self.tr("What changed"), self.tr("Before"),
                self.tr("After"), self.tr("Reason"), self.tr("State"))[section]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        found = self._at(index)
        if found is None:
            return None
        group, op = found
        if role == Qt.ItemDataRole.DisplayRole:
            return one_line(self._text(group, op, index.column()))
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._text(group, op, index.column()) or None
        if role == GroupIdRole:
            return group.group_id
        return None

    def _text(self, group: HistoryGroup, op: Operation | None, column: int) -> str:
        if op is not None:
            return self._operation_text(op, column)
        first = group.first
        if column == self.REVISION:
            return fill(self.tr("r%1"), str(first.revision))
        if column == self.TIME:
            return local_time(first.created_at)
        if column == self.AUTHOR:
            if first.origin == "remote":
                return fill(self.tr("%1 (department %2)"), first.author, first.department_code or "")
            return first.author
        if column == self.REASON:
            return self._reason(first)
        if column == self.STATE:
            if first.origin == "remote" or group.one_state:
                return self._state(first)
            return self.tr("Local, not synced") if group.pending else self.tr("Settled with the exchange")
        if len(group.operations) == 1:
            return self._operation_text(first, column)
        if column == self.WHAT:
            return self.tr("%n fields changed", "", len(group.operations))
        return ""

    def _operation_text(self, op: Operation, column: int) -> str:
        item_name = self._item_names.get(op.item_id or "", "")
        if column == self.WHAT:
            return self.describer.what(op.kind, op.field, item_name)
        if column == self.BEFORE:
            return self.describer.before(op.kind, op.field, op.old)
        if column == self.AFTER:
            return self.describer.after(op.kind, op.field, op.new)
        if column == self.STATE:
            return self._state(op)
        return ""

    def _state(self, op: Operation) -> str:
        if op.origin == "remote":
            if op.verified:
                return self.tr("From the exchange, signature verified")
            return self.tr("From the exchange, signature NOT verified")
        if op.state is OpState.MERGED:
            return self.tr("Merged: the exchange had the same value")
        if op.state is OpState.SUPERSEDED:  # a whole data item is named by its name
            kept = op.settled_value.get("name") if isinstance(op.settled_value, dict) else op.settled_value
            return fill(self.tr("Superseded: the exchange kept %1"), self.describer.value(op.kind, op.field, kept))
        return self.tr("Synced") if op.state is OpState.SYNCED else self.tr("Local, not synced")

    def _reason(self, op: Operation) -> str:
        if op.reason:
            return op.reason
        return self.tr("(undo of an earlier change)") if op.undoes else ""


class HistoryDialog(Retranslating, QDialog):
    """The history of one entry; it follows the entry as it changes."""

    loaded = Signal()  # the history was (re)read

    def __init__(self, session: Session, entry_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # opened with show(); nothing keeps it after
        self.session = session
        self.entry_id = entry_id
        self._history: EntryHistory | None = None
        self._reading = LatestRead(session, self._loaded, self._failed, self)
        self.model = HistoryModel(session, self)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(0)
        self._reload_timer.timeout.connect(self.reload)
        self._build()
        self.retranslate()
        session.entries_changed.connect(self._entries_changed)
        session.catalogue_changed.connect(self._reload_timer.start)
        self.reload()

    def _build(self) -> None:
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)  # entry names are typed text, never markup
        self.view = QTreeView(self)
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setUniformRowHeights(True)
        self.view.setAlternatingRowColors(True)
        self.view.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.header().setStretchLastSection(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.buttons)
        self.resize(960, 480)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Entry history"))
        self.view.setAccessibleName(self.tr("Earlier versions of the entry"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("&Close"))
        self.model.retranslate()
        self._show_heading()

    # Loading -----------------------------------------------------------------------------

    def _entries_changed(self, entry_ids: set[str]) -> None:
        if self.entry_id in entry_ids:
            self._reload_timer.start()

    def reload(self) -> None:
        entry_id = self.entry_id
        self._reading.run(lambda workspace: read_history(workspace, entry_id))

    def _loaded(self, history: EntryHistory) -> None:
        self._history = history
        self.model.set_history(history)
        self.view.expandAll()  # the branches are short: a few fields per edit
        fit_columns(self.view, HistoryModel.COLUMNS)
        self._show_heading()
        self.loaded.emit()

    def _failed(self, error: BaseException) -> None:
        self.heading.setText(failure_text(self.tr("The history could not be read: %1"), error, self.session.language))

    def is_loading(self) -> bool:
        return self._reading.loading

    def _show_heading(self) -> None:
        history = self._history
        if history is None:
            self.heading.setText(self.tr("Reading the history…"))
            return
        title = " ".join(part for part in (history.entry_code, history.entry_name) if part)
        self.setWindowTitle(fill(self.tr("History of %1"), title))
        if not history.groups:
            self.heading.setText(fill(self.tr("%1: nothing recorded yet."), title))
        else:
            self.heading.setText(fill(self.tr("%1: %n edit(s) recorded, newest first.", "", len(history.groups)),
                                      title))
