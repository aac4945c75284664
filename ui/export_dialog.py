"""File ▸ Export: the catalogue as xlsx or CSV in the template layout, as DCAT-AP 3.0, or as data.json.

The export runs on a worker behind a progress dialog with a cancel button; a cancelled export
leaves no file behind (and an earlier file of the same name as it was).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.errors import StewardError
from steward.files import exporter
from steward.files.dcat import DcatOptions
from steward.files.exporter import ExportResult, Format
from steward.workspace.journal import Cancelled
from ui.i18n import Retranslating
from ui.progress import run_with_progress
from ui.session import Session

CC_BY_4 = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"


@dataclass(frozen=True)
class Choice:
    format: Format
    suffix: str

    @property
    def open_data(self) -> bool:
        return self.format in (Format.DCAT, Format.DATAJSON)


CHOICES = (
    Choice(Format.XLSX, ".xlsx"),
    Choice(Format.CSV, ".csv"),
    Choice(Format.DCAT, ".jsonld"),
    Choice(Format.DCAT, ".ttl"),
    Choice(Format.DATAJSON, ".json"),
)


class ExportDialog(Retranslating, QDialog):
    exported = Signal(object)  # the ExportResult of a finished export

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.result: ExportResult | None = None
        self._build()
        self.retranslate()
        settings = session.settings
        self.base_edit.setText(settings.export_base_uri)
        self.license_edit.setText(settings.export_license)
        self._format_changed()

    def _build(self) -> None:
        self.format_label = QLabel(self)
        self.format_combo = QComboBox(self)
        for choice in CHOICES:
            self.format_combo.addItem("", choice)
        self.format_label.setBuddy(self.format_combo)
        self.path_label = QLabel(self)
        self.path_edit = QLineEdit(self)
        self.path_label.setBuddy(self.path_edit)
        self.browse_button = QPushButton(self)
        self.browse_button.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        self.note = QLabel(self)
        self.note.setWordWrap(True)

        self.portal_box = QGroupBox(self)
        self.base_label = QLabel(self.portal_box)
        self.base_edit = QLineEdit(self.portal_box)
        self.base_label.setBuddy(self.base_edit)
        self.license_label = QLabel(self.portal_box)
        self.license_edit = QLineEdit(self.portal_box)
        self.license_label.setBuddy(self.license_edit)
        self.portal_note = QLabel(self.portal_box)
        self.portal_note.setWordWrap(True)
        portal = QFormLayout(self.portal_box)
        portal.addRow(self.base_label, self.base_edit)
        portal.addRow(self.license_label, self.license_edit)
        portal.addRow(self.portal_note)

        self.error_label = QLabel(self)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b3261e")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(self.format_label, self.format_combo)
        form.addRow(self.path_label, path_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.portal_box)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.path_edit.textChanged.connect(self._update_ok)
        self.resize(620, 380)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Export catalogue"))
        self.format_label.setText(self.tr("&Format:"))
        names = {
            ".xlsx": self.tr("Excel workbook in the template layout (.xlsx)"),
            ".csv": self.tr("CSV files in the template layout (entries and data items)"),
            ".jsonld": self.tr("DCAT-AP 3.0, JSON-LD (.jsonld)"),
            ".ttl": self.tr("DCAT-AP 3.0, Turtle (.ttl)"),
            ".json": self.tr("data.json, Project Open Data 1.1 (.json)"),
        }
        for row, choice in enumerate(CHOICES):
            self.format_combo.setItemText(row, names[choice.suffix])
        self.path_label.setText(self.tr("&Save to:"))
        self.path_edit.setAccessibleName(self.tr("File to write"))
        self.browse_button.setText(self.tr("&Choose…"))
        self.portal_box.setTitle(self.tr("Open data portal"))
        self.base_label.setText(self.tr("Portal &address:"))
        self.base_edit.setPlaceholderText(self.tr("e.g. https://data.example.gov.cn/catalogue/"))
        self.license_label.setText(self.tr("&Licence:"))
        self.license_edit.setPlaceholderText(CC_BY_4)
        self.portal_note.setText(self.tr(
            "Dataset addresses start with the portal's address; without one they are urn:uuid names. "
            "The licence is the web address of the terms the portal publishes under. Both are remembered."))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("&Export"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._format_changed()

    # Choices ------------------------------------------------------------------------------------------

    def choice(self) -> Choice:
        return self.format_combo.currentData() or CHOICES[0]

    def set_choice(self, suffix: str) -> None:
        self.format_combo.setCurrentIndex(next(n for n, c in enumerate(CHOICES) if c.suffix == suffix))

    def _format_changed(self) -> None:
        choice = self.choice()
        self.portal_box.setVisible(choice.open_data)
        if choice.open_data:
            self.note.setText(self.tr("Only entries open to the public are exported: active, with the open attribute "
                                      "无条件开放 or 有条件开放. Data items that are not open are not named."))
        elif choice.format is Format.CSV:
            self.note.setText(self.tr("Two files, in UTF-8 as Excel opens it: the entries, and the data items "
                                      "beside them (name_信息项.csv). Every entry with a resource code is exported."))
        else:
            self.note.setText(self.tr("The template's two sheets and its guide; import gives the same catalogue "
                                      "back. Every entry with a resource code is exported."))
        text = self.path_edit.text().strip()
        if text:
            self.path_edit.setText(str(Path(text).with_suffix(choice.suffix)))
        self._update_ok()

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.path_edit.text().strip()))

    def browse(self) -> None:
        choice = self.choice()
        start = self.path_edit.text().strip() or str(Path.home() / f"catalogue{choice.suffix}")
        name, _ = QFileDialog.getSaveFileName(self, self.tr("Export catalogue"), start,
                                              self.tr("Files (*%1)").replace("%1", choice.suffix))
        if name:
            self.path_edit.setText(str(Path(name).with_suffix(choice.suffix)))

    def options(self) -> DcatOptions:
        return DcatOptions(self.base_edit.text().strip() or None, self.license_edit.text().strip() or None)

    # Exporting ----------------------------------------------------------------------------------------

    def accept(self) -> None:
        path = Path(self.path_edit.text().strip())
        if not self.path_edit.text().strip():
            return
        choice = self.choice()
        language = self.session.language
        try:
            options = exporter.check_options(self.options()) if choice.open_data else DcatOptions()
        except StewardError as error:
            self.error_label.setText(error.message(language))
            return
        workspace = self.session.workspace
        ok, outcome = run_with_progress(
            self.session.runner, self, self.tr("Exporting the catalogue"),
            lambda job: exporter.export(workspace, path, choice.format, options=options, progress=job.progress),
            write=False,
        )
        if not ok:
            if isinstance(outcome, Cancelled):
                self.error_label.setText(self.tr("The export was cancelled; no file was written."))
            elif isinstance(outcome, StewardError):
                self.error_label.setText(outcome.message(language))
            else:
                raise outcome
            return
        if choice.open_data:
            self.session.settings.export_base_uri = self.base_edit.text()
            self.session.settings.export_license = self.license_edit.text()
        self.result = outcome
        self.exported.emit(outcome)
        super().accept()
