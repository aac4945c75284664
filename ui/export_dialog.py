"""File ▸ Export: the catalogue as xlsx or CSV in the template layout, as DCAT-AP 3.0, or as data.json.

Every entry, the entries the table's filter shows, or the selected ones. The dialog proposes a file
name (department and date) and asks before replacing a file. The export runs on a worker behind a
progress dialog with a cancel button; a cancelled export leaves no file behind (and an earlier file
of the same name as it was).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.errors import StewardError
from steward.files import exporter, template
from steward.files.dcat import DcatOptions
from steward.files.exporter import ExportResult, Format
from steward.workspace import query
from steward.workspace.journal import Cancelled
from ui.i18n import Retranslating
from ui.progress import run_with_progress
from ui.session import Session
from ui.workers import Job

CC_BY_4 = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
_NOT_IN_FILE_NAMES = re.compile(r'[\\/:*?"<>|\s]+')  # what Windows or a shell would refuse or trip over


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
    """`filtered` are the pks of the rows the table's filter shows (None when nothing is filtered out);
    `selected` the pks of the selected rows."""

    exported = Signal(object)  # the ExportResult of a finished export

    def __init__(self, session: Session, parent: QWidget | None = None, *, filtered: Sequence[int] | None = None,
                 selected: Sequence[int] = ()) -> None:
        super().__init__(parent)
        self.session = session
        self.result: ExportResult | None = None
        self.filtered = list(filtered) if filtered is not None else None
        self.selected = list(selected)
        self.replace_box: QMessageBox | None = None  # made when first needed
        self._replace_button: QPushButton | None = None
        self._replacing = Path()
        self._confirmed: Path | None = None  # the file dialog already asked about replacing this one
        self._build()
        self.retranslate()
        settings = session.settings
        self.base_edit.setText(settings.export_base_uri)
        self.license_edit.setText(settings.export_license)
        self.path_edit.setText(str(self.proposed_path()))
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

        self.scope_box = QGroupBox(self)
        self.all_button = QRadioButton(self.scope_box)
        self.filtered_button = QRadioButton(self.scope_box)
        self.selected_button = QRadioButton(self.scope_box)
        self.scope_group = QButtonGroup(self)
        scope = QVBoxLayout(self.scope_box)
        for button in (self.all_button, self.filtered_button, self.selected_button):
            self.scope_group.addButton(button)
            scope.addWidget(button)
        self.all_button.setChecked(True)
        # With nothing filtered out, "the filtered entries" would be every entry again.
        self.filtered_button.setEnabled(self.filtered is not None)
        self.selected_button.setEnabled(bool(self.selected))

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
        layout.addWidget(self.scope_box)
        layout.addWidget(self.note)
        layout.addWidget(self.portal_box)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.path_edit.textChanged.connect(self._update_ok)
        self.resize(620, 480)

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
        self.scope_box.setTitle(self.tr("Entries"))
        self.all_button.setText(self.tr("&All entries"))
        self.filtered_button.setText(self.tr("The %n entries the filter sho&ws", "", len(self.filtered or [])))
        self.selected_button.setText(self.tr("The %n selected e&ntries", "", len(self.selected)))
        self.portal_box.setTitle(self.tr("Open data portal"))
        self.base_label.setText(self.tr("Portal add&ress:"))
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
                                      "beside them (name_信息项.csv). Entries without a resource code are left out."))
        else:
            self.note.setText(self.tr("The template's two sheets and its guide; import gives the same catalogue "
                                      "back. Entries without a resource code are left out."))
        text = self.path_edit.text().strip()
        if text:
            self.path_edit.setText(str(Path(text).with_suffix(choice.suffix)))
        self._update_ok()

    def _update_ok(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.path_edit.text().strip()))

    def proposed_path(self) -> Path:
        """The department and today's date, in the folder of the last export (or the documents folder)."""
        workspace = self.session.workspace
        department = _NOT_IN_FILE_NAMES.sub("_", workspace.department_name or workspace.department_code).strip("_.")
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        # The first folder that is there: the last export's may be gone (a USB stick), documents may never exist.
        folder = next((Path(f) for f in (self.session.settings.export_folder, documents) if f and Path(f).is_dir()),
                      Path.home())
        return folder / f"{department}_{date.today().isoformat()}{self.choice().suffix}"

    def browse(self) -> None:
        choice = self.choice()
        start = self.path_edit.text().strip() or str(self.proposed_path())
        name, _ = QFileDialog.getSaveFileName(self, self.tr("Export catalogue"), start,
                                              self.tr("Files (*%1)").replace("%1", choice.suffix))
        if name:
            path = Path(name).with_suffix(choice.suffix)
            self._confirmed = path  # the file dialog asked before choosing a file that exists
            self.path_edit.setText(str(path))

    def options(self) -> DcatOptions:
        return DcatOptions(self.base_edit.text().strip() or None, self.license_edit.text().strip() or None)

    # Exporting ----------------------------------------------------------------------------------------

    def _targets(self, path: Path) -> list[Path]:
        """The files the export writes: the CSV layout writes the data items beside the entries."""
        choice = self.choice()
        return [path, template.items_csv_path(path)] if choice.format is Format.CSV else [path]

    def _entry_pks(self) -> list[int] | None:
        """The pks of the entries to export; None for every entry."""
        if self.filtered_button.isChecked() and self.filtered is not None:
            return self.filtered
        if self.selected_button.isChecked():
            return self.selected
        return None

    def accept(self) -> None:
        """Export, first asking before replacing a file the steward did not choose in the file dialog."""
        text = self.path_edit.text().strip()
        if not text:
            return
        path = Path(text)
        existing = [p for p in self._targets(path) if p.exists()]
        if existing and path != self._confirmed:
            self._ask_to_replace(path, existing)
            return
        self._export(path)

    def _ask_to_replace(self, path: Path, existing: list[Path]) -> None:
        if self.replace_box is None:
            self.replace_box = QMessageBox(QMessageBox.Icon.Question, "", "", QMessageBox.StandardButton.Cancel, self)
            self._replace_button = self.replace_box.addButton("", QMessageBox.ButtonRole.AcceptRole)
            self.replace_box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter must not overwrite
            self.replace_box.finished.connect(self._replace_answered)
        self.replace_box.setWindowTitle(self.tr("Replace the file?"))
        names = self.tr(", ").join(p.name for p in existing)
        self.replace_box.setText(self.tr("%1 already exists in %2. Replace it with this export?")
                                 .replace("%1", names).replace("%2", str(path.parent)))
        self._replace_button.setText(self.tr("&Replace"))
        self._replacing = path
        self.replace_box.open()

    def _replace_answered(self, _result: int) -> None:
        if self.replace_box is not None and self.replace_box.clickedButton() is self._replace_button:
            self._export(self._replacing)

    def _export(self, path: Path) -> None:
        choice = self.choice()
        language = self.session.language
        try:
            options = exporter.check_options(self.options()) if choice.open_data else DcatOptions()
        except StewardError as error:
            self.error_label.setText(error.message(language))
            return
        workspace = self.session.workspace
        pks = self._entry_pks()

        def export(job: Job) -> ExportResult:
            # Entries are named by id to the exporter; the table holds pks, and an entry erased meanwhile is left out.
            ids = query.entry_ids(workspace, pks) if pks is not None else None
            return exporter.export(workspace, path, choice.format, options=options, progress=job.progress,
                                   entry_ids=ids)

        ok, outcome = run_with_progress(self.session.runner, self, self.tr("Exporting the catalogue"), export,
                                        write=False)
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
        self.session.settings.export_folder = str(path.parent)
        self.result = outcome
        self.exported.emit(outcome)
        super().accept()
