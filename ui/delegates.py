"""Cell editors for the data items table: vocabulary combo boxes and a length spin box.

Editors show labels but hand the model stored values (vocabulary keys, ints or None); the
model turns them into journal changes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QSpinBox, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from steward.catalogue.vocabulary import vocabulary
from ui.choice_combo import ChoiceCombo

Index = QModelIndex | QPersistentModelIndex

MAX_LENGTH = 2_147_483_647  # the largest length a database column declares (and SQLite stores as an int)


class VocabularyDelegate(QStyledItemDelegate):
    """A combo box of one vocabulary's labels, holding keys, with an empty first choice."""

    def __init__(self, vocabulary_name: str, language: Callable[[], str], *, inherits: bool = False,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.vocabulary_name = vocabulary_name
        self.language = language
        # An item's sharing and open attributes may be left empty: they then follow the entry's.
        self.inherits = inherits

    def empty_label(self) -> str:
        return self.tr("(as the entry)") if self.inherits else ""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        combo = ChoiceCombo(parent)
        combo.setAccessibleName(_column_name(index))
        combo.addItem(self.empty_label(), None)
        for term in vocabulary(self.vocabulary_name).terms:
            combo.addItem(term.label(self.language()), term.key)
        # A choice picked from the list is saved at once, as the entry's own combo boxes do; arrow keys only step
        # (Enter, Tab and leaving the cell save through the view, as in every cell).
        combo.chosen.connect(lambda c=combo: self._chosen(c))
        return combo

    def _chosen(self, combo: QComboBox) -> None:
        if not combo.isVisible():  # the view closed it already (the cell was left): saved then
            return
        self.commitData.emit(combo)
        self.closeEditor.emit(combo, QStyledItemDelegate.EndEditHint.NoHint)

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if not isinstance(editor, QComboBox):
            return
        key = index.data(Qt.ItemDataRole.EditRole)
        row = editor.findData(key) if key else 0
        if row < 0:  # a value outside the vocabulary (from an import): shown as it is, so nothing is lost silently
            editor.addItem(str(key), key)
            row = editor.count() - 1
        editor.setCurrentIndex(row)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class LengthDelegate(QStyledItemDelegate):
    """A spin box for a data item's length; 0 (shown as blank) means no length."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        spin = QSpinBox(parent)
        spin.setRange(0, MAX_LENGTH)
        spin.setSpecialValueText(self.tr("(none)"))
        spin.setAccessibleName(_column_name(index))
        return spin

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        if isinstance(editor, QSpinBox):
            value = index.data(Qt.ItemDataRole.EditRole)
            editor.setValue(value if isinstance(value, int) and 0 <= value <= MAX_LENGTH else 0)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        if isinstance(editor, QSpinBox):
            editor.interpretText()
            model.setData(index, editor.value() or None, Qt.ItemDataRole.EditRole)


def _column_name(index: Index) -> str:
    """The column's header (the field's label from the core) names the editor for screen readers."""
    name = index.model().headerData(index.column(), Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
    return str(name or "")
