"""The classification tree on the left: 基础/主题/部门 → 项 → 目, with entry counts, choosing a prefix."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QTreeView, QWidget

from steward.catalogue.classification import level_label
from steward.catalogue.vocabulary import vocabulary
from steward.workspace import query
from ui import operations
from ui.i18n import Retranslating
from ui.session import Session

PrefixRole = Qt.ItemDataRole.UserRole + 10


class ClassificationTree(Retranslating, QTreeView):
    """Emits `prefix_chosen` with '' (everything) or a classification prefix."""

    prefix_chosen = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.tree_model = QStandardItemModel(self)
        self.setModel(self.tree_model)
        self.setHeaderHidden(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setUniformRowHeights(True)
        self._counts: dict[str, int] = {}
        self._refresh = QTimer(self, singleShot=True, interval=400)
        self._refresh.timeout.connect(self.reload)
        # Bound methods, not lambdas: Qt drops the connections when this view is destroyed.
        session.catalogue_changed.connect(self._reload_soon)
        session.entries_changed.connect(self._reload_soon)
        self.selectionModel().currentChanged.connect(self._current_changed)
        self.setAccessibleName(self.tr("Classification"))
        self.reload()

    def _reload_soon(self, *_args: object) -> None:
        self._refresh.start()

    def reload(self) -> None:
        operations.read(self.session, operations.on_connection(query.classification_counts), self._show)

    def _show(self, counts: dict[str, int]) -> None:
        self._counts = counts
        chosen = self.current_prefix()
        expanded = {p for p in self._all_prefixes() if self.isExpanded(self._index_of(p))}
        self.tree_model.clear()
        lang = self.session.language
        root = QStandardItem(self.tr("All entries (%1)").replace("%1", str(sum(
            n for p, n in counts.items() if len(p) == 1))))
        root.setData("", PrefixRole)
        self.tree_model.appendRow(root)
        nodes = {"": root}
        tops = [t.key for t in vocabulary("classification_top").terms]
        # Lexical order puts every parent prefix just before its children.
        for prefix in sorted(set(tops) | set(counts)):
            if len(prefix) not in (1, 3, 6):
                continue
            parent = nodes.get({1: "", 3: prefix[:1], 6: prefix[:3]}[len(prefix)])
            if parent is None:
                continue
            item = QStandardItem(f"{level_label(prefix, lang)} ({counts.get(prefix, 0)})")
            item.setData(prefix, PrefixRole)
            parent.appendRow(item)
            nodes[prefix] = item
        self.expand(root.index())
        for prefix in expanded:
            self.expand(self._index_of(prefix))
        if chosen is not None:
            index = self._index_of(chosen)
            if index.isValid():
                self.selectionModel().blockSignals(True)
                self.setCurrentIndex(index)
                self.selectionModel().blockSignals(False)

    def _all_prefixes(self) -> list[str]:
        return ["", *self._counts]

    def _index_of(self, prefix: str) -> QModelIndex:
        matches = self.tree_model.match(
            self.tree_model.index(0, 0), PrefixRole, prefix, 1,
            Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive,
        )
        return matches[0] if matches else QModelIndex()

    def current_prefix(self) -> str | None:
        index = self.currentIndex()
        return index.data(PrefixRole) if index.isValid() else None

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.prefix_chosen.emit(current.data(PrefixRole) or "")

    def retranslate(self) -> None:
        self._show(self._counts)
