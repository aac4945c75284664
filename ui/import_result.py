"""What an import did, shown once the import wizard has closed: the counts, every problem, the rows left out.

A status bar line is cut off and gone after a few seconds; the steward needs to read the problems and
find the workbook of rows left out, so they stay in a window until it is closed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import Retranslating
from ui.import_wizard import ImportOutcome, ProblemsModel


class ImportResultDialog(Retranslating, QDialog):
    def __init__(self, outcome: ImportOutcome, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.outcome = outcome
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.rejected_note = QLabel(self)
        self.rejected_note.setWordWrap(True)
        # The path whole and selectable: it is long, and the steward may paste it into a file dialog.
        self.rejected_path = QLabel(str(outcome.rejected_file or ""), self)
        self.rejected_path.setWordWrap(True)
        self.rejected_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_folder_button = QPushButton(self)
        self.open_folder_button.clicked.connect(self.open_folder)
        rejected_row = QHBoxLayout()
        rejected_row.addWidget(self.rejected_path, 1)
        rejected_row.addWidget(self.open_folder_button)
        for widget in (self.rejected_note, self.rejected_path, self.open_folder_button):
            widget.setVisible(outcome.rejected_file is not None)

        self.problems_label = QLabel(self)
        self.problems_model = ProblemsModel(language, self)
        self.problems_model.set_problems(outcome.problems)
        self.problems_view = QTableView(self)
        self.problems_view.setModel(self.problems_model)
        self.problems_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.problems_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.problems_view.setWordWrap(False)
        self.problems_view.verticalHeader().hide()
        self.problems_view.horizontalHeader().setStretchLastSection(True)
        self.problems_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.problems_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        for widget in (self.problems_label, self.problems_view):
            widget.setVisible(bool(outcome.problems))

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.rejected_note)
        layout.addLayout(rejected_row)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.problems_view, 1)
        if not outcome.problems:
            layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.resize(760, 460 if outcome.problems else 220)
        self.retranslate()

    def retranslate(self) -> None:
        outcome = self.outcome
        self.setWindowTitle(self.tr("Import finished"))
        names = ", ".join(p.name for p in outcome.paths)
        text = self.tr("Imported %1.").replace("%1", names) + " "
        text += self.tr("%n entries created, ", "", outcome.created)
        text += self.tr("%n updated, ", "", outcome.updated)
        text += self.tr("%n unchanged.", "", outcome.unchanged)
        if outcome.rejected:
            text += " " + self.tr("%n entries with errors were not imported.", "", outcome.rejected)
        self.summary.setText(text)
        self.rejected_note.setText(self.tr("The rows not imported are saved with their reasons, to fix and import "
                                           "again, in:"))
        self.open_folder_button.setText(self.tr("&Open folder"))
        self.problems_label.setText(self.tr("Problems found (%1):").replace("%1", str(len(outcome.problems))))
        self.problems_view.setAccessibleName(self.tr("Problems found in the file"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("Close"))

    def open_folder(self) -> None:
        if self.outcome.rejected_file is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.outcome.rejected_file.parent)))
