"""Bulk edit: set one field (sharing, open, update frequency or classification) on every selected entry at once."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRegularExpression, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.classification import is_valid_classification, level_label, levels
from steward.catalogue.errors import StewardError
from steward.catalogue.model import ENTRY_FIELD
from steward.catalogue.vocabulary import vocabulary
from steward.workspace import bulk
from steward.workspace.bulk import BULK_FIELDS, BulkPlan, NewError, SelectionValues
from ui import operations
from ui.i18n import Retranslating
from ui.operations import LatestRead
from ui.reason_dialog import ReasonEdit
from ui.session import Session


class BulkEditDialog(Retranslating, QDialog):
    """Choose a field and a value; OK makes the change on all selected entries as ONE undo step.

    The entries' values, here and on the exchange, are read once on a worker (ids and values only, never
    whole entries), so the count of entries that change, and whether the change makes any of them more
    restrictive (which requires a reason), follow every choice without touching the database again.
    The errors a choice would bring are checked on a worker too, and shown before OK can be pressed.
    """

    values_loaded = Signal()  # the selected entries' current values have arrived
    checked = Signal()  # the errors the chosen change would bring are known
    applied = Signal(int)  # the change was made on this many entries

    def __init__(self, session: Session, entry_ids: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.entry_ids = list(dict.fromkeys(entry_ids))
        self._values: SelectionValues | None = None
        self._load_error: str | None = None
        self._reading = LatestRead(session, self._loaded, self._load_failed, self)
        # The errors of the chosen (field, value), once checked: the check follows the choice.
        self._checking = LatestRead(session, self._checked, self._check_failed, self)
        self._checked_for: tuple[str, Any] | None = None
        self._new_errors: list[NewError] | None = None
        self._check_error: str | None = None
        self._applying = False
        self._build()
        self.retranslate()
        session.entries_changed.connect(self._entries_changed)
        self._load()

    # Building -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.field_label = QLabel(self)
        self.field_combo = QComboBox(self)
        for key in BULK_FIELDS:
            self.field_combo.addItem("", key)
        self.field_label.setBuddy(self.field_combo)

        self.value_label = QLabel(self)
        self.value_stack = QStackedWidget(self)
        self.value_combo = QComboBox(self)
        self.classification_edit = QLineEdit(self)
        # Digits only, 1–3 first (类): the rest of the format is checked, and explained, as one types.
        self.classification_edit.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"[1-3][0-9]{0,11}"), self.classification_edit)
        )
        self.value_stack.addWidget(self.value_combo)
        self.value_stack.addWidget(self.classification_edit)
        # A stack is as tall as it is allowed to grow: keep it one line, the reason box takes the room.
        self.value_stack.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.classification_hint = QLabel(self)
        self.classification_hint.setWordWrap(True)

        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.preview = QLabel(self)  # the errors the change would bring
        self.preview.setWordWrap(True)
        self.reason_label = QLabel(self)
        self.reason_edit = ReasonEdit(self)  # Enter applies, Tab moves on to the buttons
        self.reason_edit.setMaximumHeight(90)
        self.reason_label.setBuddy(self.reason_edit)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(self.field_label, self.field_combo)
        form.addRow(self.value_label, self.value_stack)
        form.addRow("", self.classification_hint)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(form)
        layout.addWidget(self.summary)
        layout.addWidget(self.preview)
        layout.addWidget(self.reason_label)
        layout.addWidget(self.reason_edit)
        layout.addWidget(self.buttons)

        self.setTabOrder(self.field_combo, self.value_combo)
        self.setTabOrder(self.value_combo, self.classification_edit)
        self.setTabOrder(self.classification_edit, self.reason_edit)
        self.setTabOrder(self.reason_edit, self.buttons)

        self.field_combo.currentIndexChanged.connect(self._field_changed)
        self.value_combo.currentIndexChanged.connect(self._update)
        self.classification_edit.textChanged.connect(self._update)
        self.reason_edit.textChanged.connect(self._update_ok)
        self.reason_edit.submitted.connect(self.accept)
        self.resize(520, 360)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Bulk edit"))
        self.intro.setText(
            self.tr("Set one field to the same value on all %n selected entries. The change is one step: "
                    "one undo takes it back on every entry.", "", len(self.entry_ids))
        )
        self.field_label.setText(self.tr("&Field:"))
        self.value_label.setText(self.tr("&Value:"))
        self.field_combo.setAccessibleName(self.tr("Field to set"))
        self.value_combo.setAccessibleName(self.tr("New value"))
        self.classification_edit.setAccessibleName(self.tr("New classification code"))
        self.classification_edit.setPlaceholderText(self.tr("e.g. 202003"))
        self.reason_edit.setAccessibleName(self.tr("Reason for the change"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("&Apply to all"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._fill_labels()
        self._update()

    def _fill_labels(self) -> None:
        """Field and vocabulary labels come from the core, in the session's language."""
        lang = self.session.language
        for row, key in enumerate(BULK_FIELDS):
            self.field_combo.setItemText(row, ENTRY_FIELD[key].label(lang))
        self._fill_values()

    def _fill_values(self) -> None:
        spec = ENTRY_FIELD[self.field_key()]
        if spec.vocabulary is None:
            self.value_stack.setCurrentWidget(self.classification_edit)
            self.value_label.setBuddy(self.classification_edit)
            self.classification_hint.setVisible(True)
            return
        self.value_stack.setCurrentWidget(self.value_combo)
        self.value_label.setBuddy(self.value_combo)
        self.classification_hint.setVisible(False)
        wanted = self.value_combo.currentData()
        self.value_combo.blockSignals(True)
        self.value_combo.clear()
        for term in vocabulary(spec.vocabulary).terms:
            self.value_combo.addItem(term.label(self.session.language), term.key)
        found = self.value_combo.findData(wanted)
        self.value_combo.setCurrentIndex(max(found, 0))
        self.value_combo.blockSignals(False)

    # Reading the current values -----------------------------------------------------------

    def _load(self) -> None:
        """Read (id, value) pairs for the selected entries on a worker; a newer read makes older answers moot."""
        self._reading.run(operations.on_connection(bulk.selection_values, self.entry_ids))

    def _loaded(self, values: SelectionValues) -> None:
        self._values, self._load_error = values, None
        self._checked_for = None  # the entries changed: check the choice again
        self._update()
        self.values_loaded.emit()

    def _load_failed(self, error: BaseException) -> None:
        self._load_error = error.message(self.session.language) if isinstance(error, StewardError) else str(error)
        self._update()

    def _entries_changed(self, entry_ids: set[str]) -> None:
        # Another change (an undo, say) touched selected entries: the counts must follow.
        if not self._applying and not entry_ids.isdisjoint(self.entry_ids):
            self._load()

    def is_loaded(self) -> bool:
        return self._values is not None

    # Checking what the choice would break ---------------------------------------------------

    def _check(self, plan: BulkPlan) -> None:
        """Run the rules on the would-be entries on a worker; a newer choice makes older answers moot."""
        self._checked_for = (plan.field, plan.value)
        self._new_errors = self._check_error = None
        department = self.session.workspace.department_code
        self._checking.run(operations.on_connection(bulk.new_errors, department, plan))

    def _checked(self, found: list[NewError]) -> None:
        self._new_errors = found
        self._update()
        self.checked.emit()

    def _check_failed(self, error: BaseException) -> None:
        self._check_error = error.message(self.session.language) if isinstance(error, StewardError) else str(error)
        self._update()

    def is_checked(self) -> bool:
        """Whether the errors of the present choice are known (OK waits for them)."""
        plan = self.plan()
        return plan is not None and (not plan.changes or (
            self._checked_for == (plan.field, plan.value) and self._new_errors is not None))

    # Choices -------------------------------------------------------------------------------

    def field_key(self) -> str:
        return self.field_combo.currentData() or BULK_FIELDS[0]

    def set_field(self, field_key: str) -> None:
        self.field_combo.setCurrentIndex(self.field_combo.findData(field_key))

    def value(self) -> str | None:
        """The chosen value, or None while it is not a valid one."""
        if self.value_stack.currentWidget() is self.value_combo:
            return self.value_combo.currentData()
        text = self.classification_edit.text().strip()
        return text if is_valid_classification(text) else None

    def set_value(self, value: str) -> None:
        if ENTRY_FIELD[self.field_key()].vocabulary is None:
            self.classification_edit.setText(value)
        else:
            self.value_combo.setCurrentIndex(self.value_combo.findData(value))

    def reason(self) -> str:
        return self.reason_edit.reason()

    def plan(self) -> BulkPlan | None:
        """What OK would do now, or None while the values are loading or the value is not valid."""
        value = self.value()
        if self._values is None or value is None:
            return None
        key = self.field_key()
        return bulk.plan(self.entry_ids, key, value, self._values.current[key], self._values.synced[key])

    def _field_changed(self) -> None:
        self._fill_values()
        self._update()

    # Showing what will happen --------------------------------------------------------------

    def _update(self) -> None:
        self._show_classification_hint()
        plan = self.plan()
        if plan is not None and plan.changes and self._checked_for != (plan.field, plan.value):
            self._check(plan)
        self.summary.setText(self._summary_text(plan))
        self.preview.setText(self._preview_text(plan))
        required = plan is not None and plan.needs_reason
        if required:
            self.reason_label.setText(
                self.tr("&Reason (required: %n entries become more restrictive; it is recorded with the change):",
                        "", plan.tightening)
            )
        else:
            self.reason_label.setText(self.tr("&Reason (optional, recorded with the change):"))
        self._update_ok()

    def _summary_text(self, plan: BulkPlan | None) -> str:
        if self._load_error is not None:
            return self.tr("The selected entries could not be read: %1").replace("%1", self._load_error)
        if self._values is None:
            return self.tr("Reading the selected entries…")
        if plan is None:
            return self.tr("Enter a valid value.")
        text = self.tr("%n entries will change.", "", len(plan.changes))
        if plan.unchanged:
            text += " " + self.tr("%n already have this value.", "", plan.unchanged)
        if plan.missing:
            text += " " + self.tr("%n no longer exist.", "", plan.missing)
        if plan.needs_reason:
            text += " " + self.tr("%n of them become more restrictive: a reason is required.", "", plan.tightening)
        return text

    def _preview_text(self, plan: BulkPlan | None) -> str:
        """The errors the change would bring, one line a rule, with how many entries would have it."""
        if plan is None or not plan.changes:
            return ""
        if self._check_error is not None:
            return self.tr("What the change would do could not be checked: %1").replace("%1", self._check_error)
        if not self.is_checked() or self._new_errors is None:
            return self.tr("Checking what the change would do…")
        if not self._new_errors:
            return self.tr("No new problems.")
        lang = self.session.language
        return "\n".join(
            (self.tr("%n entries would get this error: %1", "", error.entries) if error.alike
             else self.tr("%n entries would get errors such as: %1", "", error.entries))
            .replace("%1", error.example.message(lang))
            for error in self._new_errors
        )

    def _show_classification_hint(self) -> None:
        text = self.classification_edit.text().strip()
        if not text:
            self.classification_hint.setText(
                self.tr("Class (1 digit: 1, 2 or 3) + item (2 digits) + group (3 digits) + optional sub-group.")
            )
        elif is_valid_classification(text):
            lang = self.session.language
            self.classification_hint.setText(" › ".join(level_label(prefix, lang) for prefix in levels(text)))
        else:
            self.classification_hint.setText(self.tr("Incomplete: at least 6 digits are needed."))

    def _update_ok(self) -> None:
        plan = self.plan()
        ok = plan is not None and bool(plan.changes) and self.is_checked() \
            and (not plan.needs_reason or bool(self.reason()))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def can_apply(self) -> bool:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()

    # Applying ------------------------------------------------------------------------------

    def accept(self) -> None:
        """Make the change on the write worker behind a progress dialog; close only once it is made."""
        plan = self.plan()
        if plan is None or not plan.changes or not self.can_apply():
            return  # also guards Enter pressed while OK is disabled
        label = ENTRY_FIELD[plan.field].label(self.session.language)
        text = self.tr("Set %1 on %n entries", "", len(plan.changes)).replace("%1", label)
        self._applying = True
        try:
            result = self.session.apply_long(plan.changes, text, reason=self.reason() or None)
        finally:
            self._applying = False
        if result is None:
            return  # cancelled, or failed (the session reported why): the steward may try again
        self.applied.emit(len(plan.changes))
        super().accept()
