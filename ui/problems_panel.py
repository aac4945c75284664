"""The list of an entry's problems under its form; activating one takes the user to the field."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QStyle, QVBoxLayout, QWidget

from steward.catalogue.rules import Problem, Severity
from ui.i18n import Retranslating
from ui.resources import icon

ProblemIndexRole = Qt.ItemDataRole.UserRole + 1
SeverityRole = Qt.ItemDataRole.UserRole + 2

# Markers for when the severity icons cannot be shown.
MARKERS = {Severity.ERROR: "✗", Severity.WARNING: "!"}


class ProblemsPanel(Retranslating, QWidget):
    """Errors first, then warnings, each with its message in the core's language."""

    problem_activated = Signal(str, object)  # field, item id (None for a field of the entry)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._problems: list[Problem] = []
        self._language = "zh"
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.list = QListWidget(self)
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.summary.setBuddy(self.list)
        layout.addWidget(self.summary)
        layout.addWidget(self.list)
        self.list.itemActivated.connect(self._activated)
        # Where the style activates items on a double click, a single click should still lead to the field.
        if not self.style().styleHint(QStyle.StyleHint.SH_ItemView_ActivateItemOnSingleClick, None, self.list):
            self.list.itemClicked.connect(self._activated)
        self._icons = {Severity.ERROR: icon("error"), Severity.WARNING: icon("warning")}
        self.retranslate()

    def set_problems(self, problems: Iterable[Problem], language: str) -> None:
        """Show `problems` (rendered in `language`, 'zh' or 'en')."""
        # Errors before warnings; otherwise the rules' order, which follows the form.
        self._problems = sorted(problems, key=lambda p: p.severity is not Severity.ERROR)
        self._language = language
        self.list.clear()
        for n, problem in enumerate(self._problems):
            message = problem.message(language)
            severity_icon = self._icons[problem.severity]
            # The marker in the text only where the icon cannot be drawn (no SVG support in a build).
            text = message if not severity_icon.isNull() else f"{MARKERS[problem.severity]} {message}"
            row = QListWidgetItem(severity_icon, text)
            row.setData(ProblemIndexRole, n)
            row.setData(SeverityRole, str(problem.severity))
            row.setToolTip(message)
            spoken = self.tr("Error: %1") if problem.severity is Severity.ERROR else self.tr("Warning: %1")
            row.setData(Qt.ItemDataRole.AccessibleTextRole, spoken.replace("%1", message))
            self.list.addItem(row)
        self._show_summary()

    def problems(self) -> list[Problem]:
        return list(self._problems)

    def activate_row(self, row: int) -> None:
        """Go to the field of the problem in `row` (as a click or Enter on it does)."""
        item = self.list.item(row)
        if item is not None:
            self._activated(item)

    def _activated(self, row: QListWidgetItem) -> None:
        n = row.data(ProblemIndexRole)
        if isinstance(n, int) and 0 <= n < len(self._problems):
            problem = self._problems[n]
            self.problem_activated.emit(problem.field, problem.item_id)

    def _show_summary(self) -> None:
        errors = sum(1 for p in self._problems if p.severity is Severity.ERROR)
        warnings = len(self._problems) - errors
        if not self._problems:
            self.summary.setText(self.tr("No problems found."))
        else:
            self.summary.setText(
                self.tr("%1 and %2. Click one, or press Enter on it, to go to its field.")
                .replace("%1", self.tr("%n error(s)", "", errors))
                .replace("%2", self.tr("%n warning(s)", "", warnings))
            )
        self.list.setVisible(bool(self._problems))

    def retranslate(self) -> None:
        self.list.setAccessibleName(self.tr("Problems of the entry"))
        self._show_summary()
