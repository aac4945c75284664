"""The entry editor: every field of one catalogue entry, its data items and its problems, saved as typed.

There is no Save button: a choice is stored when made (picked from the list, confirmed with Enter,
or left after stepping with the arrow keys), text after a short pause in typing and when the field
is left, each through the session (one undo step per field while typing). The form shows what the
core says: which condition fields the sharing and open attributes need (rules.dependent_fields)
and which problems the stored entry has, each said under its field as well as listed below.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from PySide6.QtCore import QEvent, QObject, QPoint, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFocusEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue import rules
from steward.catalogue.classification import clean_code, is_valid_classification, level_label, levels
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.catalogue.model import ENTRY_FIELD, Entry, Kind
from steward.catalogue.rules import Problem, Severity
from steward.catalogue.vocabulary import label, vocabulary
from steward.workspace import query
from steward.workspace.assignments import parse_value
from steward.workspace.journal import SetField, Tightening
from steward.workspace.workspace import Workspace
from ui import operations
from ui.choice_combo import ChoiceCombo
from ui.delegates import LengthDelegate, VocabularyDelegate
from ui.i18n import Retranslating
from ui.items_model import ItemsModel
from ui.problems_panel import MARKERS, ProblemsPanel
from ui.reason_dialog import reason_for
from ui.session import Session

IDLE_MS = 600  # typing pause after which text is saved

BASIC_FIELDS = (
    "classification", "name", "code", "provider", "provider_code", "abstract", "format_category", "format_type",
    "update_frequency", "published", "related_codes", "status",
)
SHARING_FIELDS = ("sharing_type", "sharing_conditions", "sharing_method_category", "sharing_method_type")
OPEN_FIELDS = ("open_type", "open_conditions")
FORM_FIELDS = BASIC_FIELDS + SHARING_FIELDS + OPEN_FIELDS
DEPENDENT_FIELDS = ("sharing_conditions", "sharing_method_category", "sharing_method_type", "open_conditions")

# Alt+letter for the fields a steward jumps to most; none clash with the menu bar (F, E, V, S, H, and D for
# the demo's menu) or the data items table (I).
MNEMONICS = {
    "classification": "L", "name": "N", "code": "C", "provider": "P", "abstract": "A", "format_category": "M",
    "update_frequency": "U", "published": "T", "related_codes": "R", "sharing_type": "G", "open_type": "O",
}

# A frame around inputs with problems, and the colour of what is said under them; the dynamic properties
# `problem` and `severity` are set from the stored problems.
MARK_STYLE = """
*[problem="error"] { border: 2px solid #d32f2f; border-radius: 3px; }
*[problem="warning"] { border: 2px solid #ef8f00; border-radius: 3px; }
QLabel[severity="error"] { color: #c62828; }
QLabel[severity="warning"] { color: #8a5300; }
"""
ITEMS = "items"  # the data items table's key among the inputs and what is said under them

TextInput = QLineEdit | QPlainTextEdit


class _TypedText(QObject):
    """Watches one text input: asks to save after a pause in typing, and when editing ends."""

    save_requested = Signal(str, bool)  # field, final (editing ended: Return, or the field was left)

    def __init__(self, field: str, widget: TextInput, parent: QObject) -> None:
        super().__init__(parent)
        self.field = field
        self.widget = widget
        self.pending = False  # typed since the last save
        self.serial = 0  # typing again after leaving the field starts a new undo step
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(IDLE_MS)
        self.timer.timeout.connect(lambda: self.save_requested.emit(self.field, False))
        if isinstance(widget, QLineEdit):
            widget.textEdited.connect(self._typed)  # user edits only, never setText
            widget.editingFinished.connect(self.finish)
        else:
            widget.textChanged.connect(self._typed)  # set_text blocks it while loading
            widget.installEventFilter(self)

    def text(self) -> str:
        return self.widget.text() if isinstance(self.widget, QLineEdit) else self.widget.toPlainText()

    def set_text(self, text: str) -> None:
        """Show `text` without it counting as typing, keeping the cursor where it was as far as possible."""
        if self.text() == text:
            return
        with QSignalBlocker(self.widget):
            if isinstance(self.widget, QLineEdit):
                position = self.widget.cursorPosition()
                self.widget.setText(text)
                self.widget.setCursorPosition(min(position, len(text)))
            else:
                position = self.widget.textCursor().position()
                self.widget.setPlainText(text)
                cursor = self.widget.textCursor()
                cursor.setPosition(min(position, len(self.widget.toPlainText())))
                self.widget.setTextCursor(cursor)

    def _typed(self) -> None:
        self.pending = True
        self.timer.start()

    def finish(self) -> None:
        self.timer.stop()
        self.save_requested.emit(self.field, True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A multi-line input has no editingFinished: leaving it ends the edit (a context menu does not).
        if (watched is self.widget and isinstance(event, QFocusEvent) and event.type() == QEvent.Type.FocusOut
                and event.reason() != Qt.FocusReason.PopupFocusReason):
            self.finish()
        return False


class _WheelGuard(QObject):
    """Lets the wheel over a combo box without focus scroll the form rather than change (and store) its value."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()  # ignored and filtered: Qt passes the wheel on to the scroll area
            return True
        return False


class EntryEditor(Retranslating, QWidget):
    """Edits one entry; `set_entry(None)` leaves an empty, disabled form."""

    entry_loaded = Signal(str)  # an entry was loaded by set_entry (not by a reload after an edit)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._entry_id: str | None = None
        self._entry: Entry | None = None
        self._problems: list[Problem] = []
        self._loading = False  # widgets are being filled from the workspace: their signals are not edits
        self._inputs: dict[str, QWidget] = {}  # field -> the widget that takes focus and shows problem marks
        self._rows: dict[str, QWidget] = {}  # field -> the widget in the form row (hidden with the row)
        self._forms: dict[str, QFormLayout] = {}
        self._labels: dict[str, QLabel] = {}
        self._said: dict[str, QLabel] = {}  # field -> the label under its input saying its problems
        self._edited: str | None = None  # the field whose change is being stored (its problems are brought into view)
        self._texts: dict[str, _TypedText] = {}
        self._combos: dict[str, QComboBox] = {}
        self._format_types: tuple[str, ...] = ()
        self._wheel_guard = _WheelGuard(self)
        self._build()
        session.entries_changed.connect(self._entries_changed)
        self.retranslate()
        self.set_entry(None)

    # Building -------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.heading.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        layout.addWidget(self.heading)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no tab stop of its own: it follows the focused field
        layout.addWidget(self.scroll)
        self.content = QWidget(self.scroll)
        self.content.setStyleSheet(MARK_STYLE)
        content_layout = QVBoxLayout(self.content)
        self.basic_group = self._section(BASIC_FIELDS, content_layout)
        self.sharing_group = self._section(SHARING_FIELDS, content_layout)
        self.open_group = self._section(OPEN_FIELDS, content_layout)
        self.items_group = self._build_items(content_layout)
        self.problems_group = QGroupBox(self.content)
        problems_layout = QVBoxLayout(self.problems_group)
        self.problems_panel = ProblemsPanel(self.problems_group)
        self.problems_panel.problem_activated.connect(self.focus_field)
        problems_layout.addWidget(self.problems_panel)
        content_layout.addWidget(self.problems_group)
        content_layout.addStretch(1)
        self.scroll.setWidget(self.content)
        self._set_tab_order()
        # "Go to editor" (and the window's tab order) lands on the first field.
        self.setFocusProxy(self._inputs[FORM_FIELDS[0]])

    def _section(self, fields: tuple[str, ...], layout: QVBoxLayout) -> QGroupBox:
        group = QGroupBox(self.content)
        form = QFormLayout(group)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for field in fields:
            row_widget = self._make_input(field, group)
            label = QLabel(group)
            if field != "status":
                label.setBuddy(self._inputs[field])
            form.addRow(label, row_widget)
            self._labels[field] = label
            self._rows[field] = row_widget
            self._forms[field] = form
        layout.addWidget(group)
        return group

    def _make_input(self, field: str, parent: QWidget) -> QWidget:
        """The input for `field`, registered; returns its form row: the input and what is said under it."""
        spec = ENTRY_FIELD[field]
        if field == "status":  # changed by retiring or restoring the entry, not typed
            widget: QWidget = QLabel(parent)
        elif field == "format_type":
            widget = self._format_type_combo(parent)
        elif spec.kind is Kind.VOCAB:
            widget = self._vocab_combo(field, parent)
        elif spec.kind is Kind.LONG_TEXT:
            text = QPlainTextEdit(parent)
            text.setTabChangesFocus(True)
            text.setFixedHeight(text.fontMetrics().lineSpacing() * 4 + 12)
            self._watch_text(field, text)
            widget = text
        else:
            line = QLineEdit(parent)
            self._watch_text(field, line)
            widget = line
        self._inputs[field] = widget
        row = QWidget(parent)
        row_layout = QVBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.setSpacing(2)
        row_layout.addWidget(widget)
        if field == "classification":  # the classification's levels, named, under the code as it is typed
            self.levels_label = QLabel(row)
            self.levels_label.setWordWrap(True)
            row_layout.addWidget(self.levels_label)
            assert isinstance(widget, QLineEdit)
            widget.textChanged.connect(self._show_levels)
        row_layout.addWidget(self._problem_label(field, row))
        return row

    def _problem_label(self, field: str, parent: QWidget) -> QLabel:
        """Where the problems of `field` are said, right under it: where the steward is looking."""
        said = QLabel(parent)
        said.setWordWrap(True)
        said.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        said.hide()
        self._said[field] = said
        return said

    def _vocab_combo(self, field: str, parent: QWidget) -> QComboBox:
        combo = ChoiceCombo(parent)
        self._guard_wheel(combo)
        combo.chosen.connect(lambda f=field: self._choice_made(f))
        self._combos[field] = combo
        return combo

    def _format_type_combo(self, parent: QWidget) -> QComboBox:
        """Free text with the format category's usual types to pick from."""
        combo = ChoiceCombo(parent)
        self._guard_wheel(combo)
        combo.setEditable(True)
        combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        line = combo.lineEdit()
        assert line is not None
        watcher = self._watch_text("format_type", line)
        combo.chosen.connect(watcher.finish)  # a type picked from the list, or stepped to and confirmed
        return combo

    def _guard_wheel(self, combo: QComboBox) -> None:
        combo.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: scrolling past must not pick a value
        combo.installEventFilter(self._wheel_guard)

    def _watch_text(self, field: str, widget: TextInput) -> _TypedText:
        watcher = _TypedText(field, widget, self)
        watcher.save_requested.connect(self._save_text)
        self._texts[field] = watcher
        return watcher

    def _build_items(self, layout: QVBoxLayout) -> QGroupBox:
        group = QGroupBox(self.content)
        group_layout = QVBoxLayout(group)
        self.items_model = ItemsModel(self.session, self)
        self.items_view = QTableView(group)
        self.items_view.setModel(self.items_model)
        self.items_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.items_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.items_view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.items_view.setTabKeyNavigation(False)  # Tab leaves the table, as everywhere else in the form
        self.items_view.verticalHeader().hide()
        self.items_view.setMinimumHeight(self.items_view.fontMetrics().height() * 14)
        header = self.items_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(ItemsModel.NAME, QHeaderView.ResizeMode.Stretch)
        language = self._language
        self.items_view.setItemDelegateForColumn(
            ItemsModel.DATA_TYPE, VocabularyDelegate("data_type", language, parent=self.items_view))
        self.items_view.setItemDelegateForColumn(
            ItemsModel.SHARING, VocabularyDelegate("sharing_type", language, inherits=True, parent=self.items_view))
        self.items_view.setItemDelegateForColumn(
            ItemsModel.OPEN, VocabularyDelegate("open_type", language, inherits=True, parent=self.items_view))
        self.items_view.setItemDelegateForColumn(ItemsModel.LENGTH, LengthDelegate(self.items_view))
        self.items_view.selectionModel().selectionChanged.connect(self._update_item_actions)
        self.items_view.selectionModel().currentChanged.connect(self._update_item_actions)
        self.items_label = QLabel(group)
        self.items_label.setBuddy(self.items_view)
        bar = QHBoxLayout()
        self.add_item_action = self._item_action(self._add_item, QKeySequence(Qt.Key.Key_Insert))
        self.remove_items_action = self._item_action(self._remove_items, QKeySequence(QKeySequence.StandardKey.Delete))
        self.move_up_action = self._item_action(lambda: self._move_item(-1), QKeySequence("Alt+Up"))
        self.move_down_action = self._item_action(lambda: self._move_item(1), QKeySequence("Alt+Down"))
        self.item_buttons: list[QToolButton] = []
        for action in (self.add_item_action, self.remove_items_action, self.move_up_action, self.move_down_action):
            button = QToolButton(group)
            button.setDefaultAction(action)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            bar.addWidget(button)
            self.item_buttons.append(button)
        bar.addStretch(1)
        group_layout.addWidget(self.items_label)
        group_layout.addLayout(bar)
        group_layout.addWidget(self.items_view)
        group_layout.addWidget(self._problem_label(ITEMS, group))
        self._inputs[ITEMS] = self.items_view
        layout.addWidget(group)
        return group

    def _item_action(self, slot: Callable[[], object], shortcut: QKeySequence) -> QAction:
        action = QAction(self.items_view)
        action.setShortcut(shortcut)
        # Only while the table (or one of its cell editors) has the focus: Delete elsewhere deletes text.
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.items_view.addAction(action)
        return action

    def _set_tab_order(self) -> None:
        chain: list[QWidget] = [self._inputs[f] for f in FORM_FIELDS if f != "status"]
        chain += [*self.item_buttons, self.items_view, self.problems_panel.list]
        for first, second in pairwise(chain):
            QWidget.setTabOrder(first, second)

    # Public API -------------------------------------------------------------------------------

    @property
    def entry_id(self) -> str | None:
        return self._entry_id

    @property
    def entry(self) -> Entry | None:
        """The entry as last loaded from the workspace (a copy: change it through the session only)."""
        return self._entry.copy() if self._entry else None

    def set_entry(self, entry_id: str | None) -> None:
        """Show the entry `entry_id` (one query), or an empty, disabled form for None."""
        self.flush()  # text typed into the previous entry is saved to that entry
        self._entry_id = entry_id
        if entry_id is None:
            self._show_nothing(self.tr("No entry selected."))
            return
        if self._reload():
            self.entry_loaded.emit(entry_id)

    def focus_field(self, field: str, item_id: str | None = None) -> None:
        """Put the keyboard focus on `field` (of data item `item_id` when given) and scroll it into view."""
        if item_id is not None:
            row = self.items_model.row_of(item_id)
            if row is not None:
                self._select_item_cell(row, ItemsModel.column_of(field))
            return
        widget = self._inputs.get(field)
        if widget is None or not widget.isEnabled() or (field in self._rows and self._rows[field].isHidden()):
            return
        widget.setFocus(Qt.FocusReason.OtherFocusReason)
        self.scroll.ensureWidgetVisible(widget)

    def field_widget(self, field: str) -> QWidget:
        """The input of an entry field ('items' for the data items table)."""
        return self._inputs[field]

    def field_label(self, field: str) -> QLabel:
        return self._labels[field]

    def problem_label(self, field: str) -> QLabel:
        """The label under the input of `field` ('items' for the data items) that says its problems."""
        return self._said[field]

    def is_field_shown(self, field: str) -> bool:
        """Whether the form row of `field` is shown (condition fields come and go with the attributes)."""
        return not self._rows[field].isHidden()

    def flush(self) -> None:
        """Save text typed, or a choice stepped to, but not saved yet (the window calls this before it closes)."""
        for watcher in self._texts.values():
            if watcher.pending:
                self._save_text(watcher.field, True)
        for combo in self._combos.values():
            if isinstance(combo, ChoiceCombo):
                combo.confirm()

    # Loading ----------------------------------------------------------------------------------

    def _language(self) -> str:
        return self.session.language

    def _reload(self) -> bool:
        assert self._entry_id is not None
        entry_id = self._entry_id

        def read(workspace: Workspace) -> tuple[Entry, list[Problem]]:
            return query.get_entry(workspace, entry_id), query.problems_of(workspace, entry_id)

        try:
            # On the GUI thread: one entry and its problems by the entry's id, off indexes (95 % under 1 ms
            # with 100,000 entries).
            # The form must show the entry chosen or just edited before the steward's next keystroke; read
            # on a worker, a late answer could overwrite what is being typed.
            entry, problems = operations.read_now(self.session, read)
        except StewardError:  # erased meanwhile (another window, an undo of its creation)
            self._show_nothing(self.tr("This entry no longer exists."))
            return False
        self._entry, self._problems = entry, problems
        self._show(entry, problems)
        return True

    def _entries_changed(self, entry_ids: set[str]) -> None:
        if self._entry_id is not None and self._entry_id in entry_ids:
            self._reload()

    def _show(self, entry: Entry, problems: list[Problem]) -> None:
        self._loading = True
        try:
            self.content.setEnabled(not self.session.workspace.read_only)
            self.heading.setText(" ".join(part for part in (entry.code, entry.name) if part) or self.tr("(untitled)"))
            for field in self._texts:
                self._show_text(field, getattr(entry, field))
            self._show_format_types(entry.format_category)
            for field in self._combos:
                self._select(field, getattr(entry, field))
            self._show_status(entry.status)
            self._show_levels()
            self._show_dependent_fields(entry)
            self._show_items(entry, problems)
            self._show_problems(problems)
        finally:
            self._loading = False

    def _show_nothing(self, heading: str) -> None:
        self._loading = True
        try:
            self._entry, self._problems = None, []
            self.heading.setText(heading)
            for watcher in self._texts.values():
                watcher.timer.stop()
                watcher.pending = False
                watcher.set_text("")
            for field in self._combos:
                self._select(field, None)
            self._show_status(None)
            self._show_format_types(None)
            self._show_levels()
            self._show_dependent_fields(None)
            self.items_model.set_entry(None)
            self._show_problems([])
            self.content.setEnabled(False)
        finally:
            self._loading = False

    def _show_status(self, status: str | None) -> None:
        widget = self._inputs["status"]
        assert isinstance(widget, QLabel)
        widget.setText(label("status", status, self._language()))

    def _show_text(self, field: str, value: Any) -> None:
        watcher = self._texts[field]
        if watcher.pending:  # typed a moment ago and about to be saved: the user's text wins
            return
        if watcher.widget.hasFocus() and self._means(field, watcher.text(), value):
            return  # the text being edited already says this (perhaps written differently): leave it and the cursor
        watcher.set_text(_display(value))

    def _select(self, field: str, value: str | None) -> None:
        combo = self._combos[field]
        with QSignalBlocker(combo):
            known = len(vocabulary(ENTRY_FIELD[field].vocabulary or field).terms) + 1
            while combo.count() > known:  # a value from outside the vocabulary shown earlier
                combo.removeItem(combo.count() - 1)
            row = combo.findData(value) if value else 0
            if row < 0:  # kept as stored (an import may carry one) so that showing it never changes it
                combo.addItem(str(value), value)
                row = combo.count() - 1
            combo.setCurrentIndex(row)

    def _show_format_types(self, category: str | None) -> None:
        """Offer the usual types of the entry's format category (vocabularies.json), keeping the typed text."""
        types: tuple[str, ...] = ()
        if category and category in vocabulary("format_category"):
            types = tuple(str(t) for t in vocabulary("format_category").term(category).extra.get("types", ()))
        if types == self._format_types:
            return
        self._format_types = types
        combo = self._inputs["format_type"]
        assert isinstance(combo, QComboBox)
        line = combo.lineEdit()
        assert line is not None
        text, position = line.text(), line.cursorPosition()
        with QSignalBlocker(combo), QSignalBlocker(line):
            combo.clear()
            combo.addItems(list(types))
            combo.setCurrentIndex(-1)
            line.setText(text)
            line.setCursorPosition(position)

    def _show_levels(self) -> None:
        line = self._inputs["classification"]
        assert isinstance(line, QLineEdit)
        code = clean_code(line.text())
        lang = self._language()
        names = [level_label(prefix, lang) for prefix in levels(code)] if is_valid_classification(code) else []
        self.levels_label.setText(" › ".join(names))

    def _show_dependent_fields(self, entry: Entry | None) -> None:
        """Show the condition and method fields the core says the attributes bring into play."""
        needs = rules.dependent_fields(entry.sharing_type, entry.open_type) if entry else {}
        for field in DEPENDENT_FIELDS:
            self._forms[field].setRowVisible(self._rows[field], field in needs)
        self._show_labels(needs)

    def _show_items(self, entry: Entry, problems: list[Problem]) -> None:
        """Hand the model the stored items, keeping the current cell on the same item."""
        current = self.items_view.currentIndex()
        item = self.items_model.item_at(current.row()) if current.isValid() else None
        current_item = item.id if item else None
        same_entry = self.items_model.entry_id == entry.id
        self.items_model.set_entry(entry, problems)
        if same_entry and current_item is not None:
            row = self.items_model.row_of(current_item)
            if row is not None and row != self.items_view.currentIndex().row():
                self.items_view.setCurrentIndex(self.items_model.index(row, current.column()))
        self._update_item_actions()

    def _show_problems(self, problems: list[Problem]) -> None:
        """Mark each input with a problem (frame, tooltip, accessible description), say it under it, list them all."""
        lang = self._language()
        by_field: dict[str, list[Problem]] = {}
        said: dict[str, list[Problem]] = {}
        for problem in problems:
            if problem.item_id is None:
                by_field.setdefault(problem.field, []).append(problem)
            said.setdefault(problem.field if problem.item_id is None else ITEMS, []).append(problem)
        for field, label_widget in self._said.items():
            found = said.get(field, [])
            severity = _severity(found)
            label_widget.setText("\n".join(f"{MARKERS[p.severity]} {p.message(lang)}" for p in found))
            label_widget.setVisible(bool(found))
            if label_widget.property("severity") != severity:
                label_widget.setProperty("severity", severity)
                label_widget.style().unpolish(label_widget)
                label_widget.style().polish(label_widget)
        for field, widget in self._inputs.items():
            found = by_field.get(field, [])
            severity = _severity(found)
            if widget.property("problem") != severity:
                widget.setProperty("problem", severity)
                widget.style().unpolish(widget)
                widget.style().polish(widget)
            text = "\n".join(p.message(lang) for p in found)
            widget.setToolTip(text)
            widget.setAccessibleDescription(text)
        self.problems_panel.set_problems(problems, lang)
        if self._edited is not None and said.get(self._edited):
            self._bring_into_view(self._edited)

    def _bring_into_view(self, field: str) -> None:
        """Scroll so that what is said under the field just changed shows, should it reach below the fold."""
        row = self._rows[field]
        if row.isHidden():
            return
        top_left = row.mapTo(self.content, QPoint(0, 0))
        # The row's size hint already counts the label shown a moment ago; its geometry follows on the next layout.
        self.scroll.ensureVisible(top_left.x(), top_left.y() + row.sizeHint().height(), 0, 4)

    # Saving -----------------------------------------------------------------------------------

    def _means(self, field: str, text: str, value: Any) -> bool:
        try:
            return parse_value(ENTRY_FIELD[field], text) == value
        except StewardError:
            return False

    def _save_text(self, field: str, final: bool) -> None:
        watcher = self._texts[field]
        watcher.timer.stop()
        if self._loading or self._entry is None:
            return
        entry_id, text = self._entry.id, watcher.text()
        try:
            value = parse_value(ENTRY_FIELD[field], text)
        except StewardError as error:  # text fields take any text today; a stricter field reports, never raises
            self.session.failed.emit(error.message(self._language()))
            return
        watcher.pending = False
        if value != getattr(self._entry, field):
            merge_key = (entry_id, field, str(watcher.serial))
            self._edited = field
            try:
                result = self.session.apply([SetField(entry_id, field, value)], self._step_text(field),
                                            merge_key=merge_key)
            finally:
                self._edited = None
            if result is None:  # not stored (reported by the session): keep the text to try again
                watcher.pending = True
                return
        if final:
            watcher.serial += 1
            if self._entry is not None and self._entry.id == entry_id:
                watcher.set_text(_display(getattr(self._entry, field)))  # as stored: 2024/1/2 typed, 2024-01-02 kept

    def _choice_made(self, field: str) -> None:
        if self._loading or self._entry is None:
            return
        new = self._combos[field].currentData()
        self.flush()  # may reload the form, which shows the stored choice again until this one is stored
        entry = self._entry
        if entry is None:
            return
        old = getattr(entry, field)
        if new == old:
            self._select(field, old)
            return
        changes = [SetField(entry.id, field, new)]
        asked = reason_for(self.session, changes, lambda found: self._tightening_text(found, old), self)
        if asked.cancelled:
            self._select(field, old)  # the entry keeps its attribute
            return
        self._edited = field
        try:
            result = self.session.apply(changes, self._step_text(field), reason=asked.reason)
        finally:
            self._edited = None
        if result is None and self._entry is not None:
            self._select(field, getattr(self._entry, field))

    def _step_text(self, field: str) -> str:
        return self.tr("Edit %1").replace("%1", self._field_name(field))

    def _tightening_text(self, found: Tightening, old: str | None) -> str:
        vocab, lang = ENTRY_FIELD[found.field].vocabulary or found.field, self._language()
        if found.before == old:
            text = self.tr("Changing %1 from “%2” to “%3” makes the entry more restrictive. "
                           "Please give the reason; it is recorded with the change.")
        else:  # judged against the exchange's value (the field was cleared or loosened since)
            text = self.tr("Setting %1 to “%3” makes the entry more restrictive than the exchange has it (“%2”). "
                           "Please give the reason; it is recorded with the change.")
        return (
            text.replace("%1", self._field_name(found.field))
            .replace("%2", label(vocab, found.before, lang))
            .replace("%3", label(vocab, found.after, lang))
        )

    # Data items -------------------------------------------------------------------------------

    def _commit_cell_editor(self) -> None:
        """Save a cell being edited before the rows change under it."""
        editor = QApplication.focusWidget()
        if editor is not None and self.items_view.state() == QAbstractItemView.State.EditingState \
                and self.items_view.isAncestorOf(editor):
            self.items_view.commitData(editor)
            self.items_view.closeEditor(editor, QAbstractItemDelegate.EndEditHint.NoHint)

    def _add_item(self) -> None:
        self._commit_cell_editor()
        item_id = self.items_model.add_item()
        row = self.items_model.row_of(item_id) if item_id else None
        if row is not None:
            self._select_item_cell(row, ItemsModel.NAME)
            self.items_view.edit(self.items_model.index(row, ItemsModel.NAME))

    def _selected_rows(self) -> list[int]:
        rows = {index.row() for index in self.items_view.selectionModel().selectedIndexes()}
        if not rows and self.items_view.currentIndex().isValid():
            rows = {self.items_view.currentIndex().row()}
        return sorted(rows)

    def _remove_items(self) -> None:
        self._commit_cell_editor()
        rows = self._selected_rows()
        if rows and self.items_model.remove_rows(rows):
            remaining = self.items_model.rowCount()
            if remaining:
                self._select_item_cell(min(rows[0], remaining - 1), max(self.items_view.currentIndex().column(), 0))

    def _move_item(self, delta: int) -> None:
        self._commit_cell_editor()
        current = self.items_view.currentIndex()
        item = self.items_model.item_at(current.row()) if current.isValid() else None
        if item is None or not self.items_model.move_row(current.row(), delta):
            return
        row = self.items_model.row_of(item.id)
        if row is not None:
            self._select_item_cell(row, current.column())

    def _select_item_cell(self, row: int, column: int) -> None:
        index = self.items_model.index(row, column)
        self.items_view.setCurrentIndex(index)
        self.items_view.scrollTo(index)
        self.items_view.setFocus(Qt.FocusReason.OtherFocusReason)
        self.scroll.ensureWidgetVisible(self.items_view)

    def _update_item_actions(self) -> None:
        has_entry = self._entry is not None
        row = self.items_view.currentIndex().row() if self.items_view.currentIndex().isValid() else -1
        self.add_item_action.setEnabled(has_entry)
        self.remove_items_action.setEnabled(has_entry and bool(self._selected_rows()))
        self.move_up_action.setEnabled(has_entry and row > 0)
        self.move_down_action.setEnabled(has_entry and 0 <= row < self.items_model.rowCount() - 1)

    # Language ---------------------------------------------------------------------------------

    def _field_name(self, field: str) -> str:
        """The field's label in the core's language; the sharing conditions of a resource not shared are its basis."""
        if field == "sharing_conditions" and self._entry is not None and rules.dependent_fields(
                self._entry.sharing_type, self._entry.open_type).get(field) == "sharing.basis_required":
            return render("label.sharing_basis", lang=self._language())
        return ENTRY_FIELD[field].label(self._language())

    def _show_labels(self, needs: dict[str, str | None]) -> None:
        for field, label_widget in self._labels.items():
            name = self._field_name(field)
            required = ENTRY_FIELD[field].required or needs.get(field) is not None
            text = _with_mnemonic(name, MNEMONICS[field]) if field in MNEMONICS else name.replace("&", "&&")
            label_widget.setText(f"{text} *" if required else text)
            self._inputs[field].setAccessibleName(name)
        # One label width for the three sections, so their fields line up.
        width = max(label_widget.sizeHint().width() for label_widget in self._labels.values())
        for label_widget in self._labels.values():
            label_widget.setMinimumWidth(width)

    def retranslate(self) -> None:
        """Set every text again: ours through tr, the core's labels and messages in session.language."""
        lang = self._language()
        for group, title in (
            (self.basic_group, self.tr("Basic information")),
            (self.sharing_group, self.tr("Sharing with other departments")),
            (self.open_group, self.tr("Opening to the public")),
            (self.items_group, self.tr("Data items")),
            (self.problems_group, self.tr("Problems")),
        ):
            group.setTitle(title)
        self._loading = True
        try:
            for field, combo in self._combos.items():
                with QSignalBlocker(combo):
                    combo.clear()
                    combo.addItem("", None)
                    for term in vocabulary(ENTRY_FIELD[field].vocabulary or field).terms:
                        combo.addItem(term.label(lang), term.key)
                self._select(field, getattr(self._entry, field) if self._entry else None)
        finally:
            self._loading = False
        entry = self._entry
        self._show_labels(rules.dependent_fields(entry.sharing_type, entry.open_type) if entry else {})
        self._show_status(entry.status if entry else None)
        self._show_levels()
        published = self._inputs["published"]
        assert isinstance(published, QLineEdit)
        published.setPlaceholderText(self.tr("YYYY-MM-DD"))
        related = self._inputs["related_codes"]
        assert isinstance(related, QLineEdit)
        related.setPlaceholderText(self.tr("Resource codes, separated by commas"))
        self.items_label.setText(_with_mnemonic(self.tr("Data items of the entry"), "I"))
        self.items_view.setAccessibleName(self.tr("Data items"))
        self._retranslate_item_actions()
        self.items_model.refresh_labels()
        self._show_problems(self._problems)
        if entry is None:
            self.heading.setText(self.tr("No entry selected."))

    def _retranslate_item_actions(self) -> None:
        for action, text in (
            (self.add_item_action, self.tr("Add")),
            (self.remove_items_action, self.tr("Remove")),
            (self.move_up_action, self.tr("Move up")),
            (self.move_down_action, self.tr("Move down")),
        ):
            action.setText(text)
        for action, tip in (
            (self.add_item_action, self.tr("Add a data item at the end")),
            (self.remove_items_action, self.tr("Remove the selected data items")),
            (self.move_up_action, self.tr("Move the current data item up")),
            (self.move_down_action, self.tr("Move the current data item down")),
        ):
            shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{tip} ({shortcut})")


def _severity(problems: list[Problem]) -> str:
    """The worst severity among `problems` as the style sheets name it; '' for none."""
    if not problems:
        return ""
    return "error" if any(p.severity is Severity.ERROR for p in problems) else "warning"


def _display(value: Any) -> str:
    """A stored value as text in its input."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _with_mnemonic(text: str, letter: str) -> str:
    """`text` with an Alt+`letter` mnemonic: on the letter in English, appended as (&X) in Chinese."""
    text = text.replace("&", "&&")
    at = text.lower().find(letter.lower())
    if text.isascii() and at >= 0:
        return f"{text[:at]}&{text[at:]}"
    return f"{text}(&{letter})" if not text.isascii() else f"{text} (&{letter})"
