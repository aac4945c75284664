"""File ▸ Import: choose a catalogue spreadsheet, preview what it would do with every problem, then import it.

The file is read and checked on a worker (with progress and a cancel button) and nothing changes
until Finish; then the changes are made on the write worker as ONE undo step. With rows refused,
Finish is only possible once the steward chooses to import the valid entries; the refused rows are
then written, with their reasons, to a workbook beside the file to fix and import again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.files import importer, template
from steward.files.importer import Action, ImportPlan, ImportProblem, Severity
from steward.workspace.journal import Cancelled
from ui.operations import LatestRead
from ui.progress import run_with_progress
from ui.resources import icon
from ui.session import Session
from ui.workers import Job

Index = QModelIndex | QPersistentModelIndex
SeverityRole = Qt.ItemDataRole.UserRole + 1


class _RowsModel(QAbstractTableModel):
    """A read-only table of prepared rows; subclasses name the columns and say how a row is shown."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Any] = []

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's default argument)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers())

    def headers(self) -> list[str]:
        raise NotImplementedError

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        return None


class ProblemsModel(_RowsModel):
    """Every problem of the import: errors (rows that are not imported) first, then warnings."""

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language
        self._icons = {Severity.ERROR: icon("error"), Severity.WARNING: icon("warning")}

    def set_problems(self, problems: Sequence[ImportProblem]) -> None:
        ordered = sorted(problems, key=lambda p: p.severity is not Severity.ERROR)
        self.set_rows([(p, p.location(self.language), p.message(self.language)) for p in ordered])

    def headers(self) -> list[str]:
        return [self.tr("Kind"), self.tr("Where"), self.tr("Problem")]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        problem, where, message = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return self.tr("Error") if problem.severity is Severity.ERROR else self.tr("Warning")
            return where if column == 1 else message
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self._icons[problem.severity]
        if role == Qt.ItemDataRole.ToolTipRole and column == 2:
            return message
        if role == SeverityRole:
            return str(problem.severity)
        return None


class PreviewModel(_RowsModel):
    """What the import does with each entry of the file."""

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.language = language

    def headers(self) -> list[str]:
        return [self.tr("Action"), self.tr("Resource code"), self.tr("Resource name"), self.tr("Where")]

    def _action(self, action: Action) -> str:
        return {Action.NEW: self.tr("New"), Action.UPDATE: self.tr("Update"), Action.UNCHANGED: self.tr("Unchanged"),
                Action.REJECTED: self.tr("Not imported")}[action]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return self._action(entry.action)
            if column == 1:
                return entry.code
            if column == 2:
                return entry.name
            return render("import.where_row", {"sheet": entry.sheet, "row": entry.row}, self.language)
        if role == Qt.ItemDataRole.ForegroundRole and entry.action is Action.REJECTED:
            return QColor("#b3261e")
        return None


def _table(model: QAbstractTableModel, parent: QWidget) -> QTableView:
    view = QTableView(parent)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class FilePage(QWizardPage):
    """Which file (an xlsx in the template layout, or CSV files of entries and of data items)."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard)
        self._wizard = wizard
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.files_label = QLabel(self)
        self.files_edit = QLineEdit(self)
        self.files_edit.setReadOnly(True)
        self.files_label.setBuddy(self.files_edit)
        self.browse_button = QPushButton(self)
        self.browse_button.clicked.connect(self.browse)
        self.template_button = QPushButton(self)
        self.template_button.clicked.connect(self.save_template)
        row = QHBoxLayout()
        row.addWidget(self.files_edit, 1)
        row.addWidget(self.browse_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.files_label)
        layout.addLayout(row)
        layout.addStretch(1)
        layout.addWidget(self.template_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Choose the file to import"))
        self.intro.setText(self.tr(
            "An Excel workbook (.xlsx) in the catalogue template's layout, or CSV files: one of entries and, "
            "optionally, one of data items (UTF-8 or GBK, detected). Columns may come in any order; local words "
            "such as 按需共享 or 非开放 are understood. Entries whose resource code is already in the workspace "
            "are updated. Nothing changes until you finish the wizard."))
        self.files_label.setText(self.tr("&Files:"))
        self.files_edit.setAccessibleName(self.tr("Files to import"))
        self.browse_button.setText(self.tr("&Choose…"))
        self.template_button.setText(self.tr("Save a blank &template…"))
        self.template_button.setToolTip(self.tr("The catalogue template, with drop-down lists and a guide"))

    def isComplete(self) -> bool:
        return bool(self._wizard.paths)

    def browse(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(
            self, self.tr("Import catalogue"), self._wizard.start_folder(),
            self.tr("Catalogue files (*.xlsx *.csv *.txt);;Excel workbooks (*.xlsx);;CSV files (*.csv *.txt)"),
        )
        if names:
            self._wizard.set_files([Path(n) for n in names])

    def save_template(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, self.tr("Save a blank catalogue template"),
            str(Path(self._wizard.start_folder()) / "编目模板.xlsx"), self.tr("Excel workbooks (*.xlsx)"))
        if name:
            self._wizard.write_template(Path(name))


class PreviewPage(QWizardPage):
    """What the import would do and every problem found, read on a worker."""

    def __init__(self, wizard: ImportWizard) -> None:
        super().__init__(wizard)
        self._wizard = wizard
        language = wizard.session.language
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton(self)
        self.cancel_button.clicked.connect(wizard.cancel_reading)
        self.problems_model = ProblemsModel(language, self)
        self.preview_model = PreviewModel(language, self)
        self.problems_view = _table(self.problems_model, self)
        self.preview_view = _table(self.preview_model, self)
        for view, widths in ((self.problems_view, (70, 260)), (self.preview_view, (90, 130, 300))):
            for column, width in enumerate(widths):
                view.setColumnWidth(column, width)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.problems_view, "")
        self.tabs.addTab(self.preview_view, "")
        self.skip_box = QCheckBox(self)
        self.skip_box.toggled.connect(self.completeChanged)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(progress_row)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.skip_box)
        self.retranslate()

    def retranslate(self) -> None:
        self.setTitle(self.tr("Check what the import will do"))
        self.cancel_button.setText(self.tr("Cancel reading"))
        self.problems_view.setAccessibleName(self.tr("Problems found in the file"))
        self.preview_view.setAccessibleName(self.tr("Entries in the file"))
        self.skip_box.setText(self.tr("Import the &valid entries; save the rows with errors, with their reasons, "
                                      "to a workbook to fix and import again"))
        self.show_plan()

    def initializePage(self) -> None:
        self._wizard.start_reading()

    def cleanupPage(self) -> None:
        self._wizard.cancel_reading()

    def isComplete(self) -> bool:
        plan = self._wizard.plan
        return plan is not None and (plan.ok or self.skip_box.isChecked())

    def reading(self) -> None:
        self.summary.setText(self.tr("Reading and checking the file…"))
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.skip_box.setEnabled(False)
        self.skip_box.setChecked(False)
        self.problems_model.set_rows([])
        self.preview_model.set_rows([])
        self.completeChanged.emit()

    def set_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, total))

    def show_plan(self) -> None:
        """Show the wizard's plan, or why there is none."""
        plan, failure = self._wizard.plan, self._wizard.failure
        self.progress.hide()
        self.cancel_button.hide()
        self.tabs.setTabText(0, self.tr("Problems (%1)").replace("%1", str(len(plan.problems) if plan else 0)))
        self.tabs.setTabText(1, self.tr("Entries (%1)").replace("%1", str(len(plan.entries) if plan else 0)))
        if plan is None:
            self.summary.setText(failure or "")
            self.skip_box.setEnabled(False)
            self.completeChanged.emit()
            return
        self.problems_model.set_problems(plan.problems)
        self.preview_model.set_rows(plan.entries)
        counts = self.tr("%n entries will be created, ", "", plan.count(Action.NEW))
        counts += self.tr("%n updated, ", "", plan.count(Action.UPDATE))
        counts += self.tr("%n unchanged.", "", plan.count(Action.UNCHANGED))
        if plan.rejected:
            counts += " " + self.tr("%n entries (with their data items) have errors and will not be imported.", "",
                                    plan.count(Action.REJECTED))
            self.tabs.setCurrentIndex(0)
        elif not plan.changes:
            counts += " " + self.tr("There is nothing to change.")
        if plan.warnings:
            counts += " " + self.tr("%n warnings: the entries are imported; see what to fix.", "",
                                    len(plan.warnings))
        self.summary.setText(counts)
        self.skip_box.setEnabled(bool(plan.rejected) and bool(plan.changes))
        self.completeChanged.emit()


class ImportWizard(QWizard):
    plan_ready = Signal()  # the files were read and checked, or found unusable (see `failure`)
    imported = Signal(str)  # the import was made: a summary for the status bar

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.paths: list[Path] = []
        self.plan: ImportPlan | None = None
        self.failure: str | None = None
        self.rejected_file: Path | None = None
        self._job: Job | None = None
        self._reading = LatestRead(session, self._read, self._read_failed, self)
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage)
        self.file_page = FilePage(self)
        self.preview_page = PreviewPage(self)
        self.addPage(self.file_page)
        self.addPage(self.preview_page)
        self.resize(900, 620)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Import catalogue"))
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("&Import"))

    # Files ----------------------------------------------------------------------------------------------

    def start_folder(self) -> str:
        return str(self.paths[0].parent) if self.paths else str(Path.home())

    def set_files(self, paths: Sequence[Path]) -> None:
        self.paths = [Path(p) for p in paths]
        self.plan, self.failure = None, None
        self.file_page.files_edit.setText("; ".join(p.name for p in self.paths))
        self.file_page.files_edit.setToolTip("\n".join(str(p) for p in self.paths))
        self.file_page.completeChanged.emit()

    def write_template(self, path: Path) -> bool:
        ok, outcome = self.session.runner.wait(self.session.runner.read(lambda _job: template.write_template(path)))
        if not ok:
            self._fail(outcome)
        return ok

    # Reading --------------------------------------------------------------------------------------------

    def start_reading(self) -> None:
        self.cancel_reading()
        self.plan, self.failure = None, None
        self.preview_page.reading()
        paths, language = list(self.paths), self.session.language
        # The outcome slots are connected by the runner before the job starts: a quick failure is not missed.
        self._job = self._reading.run_with_progress(
            lambda workspace, progress: importer.plan(workspace, paths, progress=progress, lang=language))
        self._job.progressed.connect(self.preview_page.set_progress)

    def cancel_reading(self) -> None:
        if self._job is not None and not self._job.done:
            self._job.cancel()

    def _read(self, plan: ImportPlan) -> None:
        self.plan = plan
        self.preview_page.show_plan()
        self.plan_ready.emit()

    def _read_failed(self, error: BaseException) -> None:
        language = self.session.language
        if isinstance(error, Cancelled):
            self.failure = self.tr("Reading was cancelled. Go back and choose the file again to retry.")
        elif isinstance(error, importer.ImportUnusable):
            self.failure = self.tr("The file cannot be imported as it is laid out:")
        elif isinstance(error, StewardError):
            self.failure = error.message(language)
        else:
            raise error
        self.preview_page.show_plan()
        if isinstance(error, importer.ImportUnusable):
            self.preview_page.problems_model.set_problems(error.problems)
            self.preview_page.tabs.setTabText(0, self.tr("Problems (%1)").replace("%1", str(len(error.problems))))
        self.plan_ready.emit()

    # Importing ------------------------------------------------------------------------------------------

    def accept(self) -> None:
        """Make the import as one undo step; with rows refused, save them to fix. Stays open if it fails."""
        plan = self.plan
        if plan is None or not self.preview_page.isComplete():
            return
        names = ", ".join(p.name for p in plan.paths)
        operations = 0
        if plan.changes:
            result = self.session.apply_long(plan.changes, self.tr("Import %1").replace("%1", names),
                                             reason=plan.reason)
            if result is None:
                return  # cancelled, or failed and the session said why
            operations = len(result.operations)
        summary = self.tr("Imported %1: %n changes.", "", operations).replace("%1", names)
        if plan.rejected:
            target = importer.rejected_path(plan.paths[0])
            if self._run(lambda _job: importer.write_rejected(plan, target, self.session.language)):
                self.rejected_file = target
                summary += " " + self.tr("The rows not imported are in %1.").replace("%1", str(target))
        self.imported.emit(summary)
        super().accept()

    def reject(self) -> None:
        self.cancel_reading()
        super().reject()

    def _run(self, fn: Callable[[Job], Any]) -> bool:
        ok, outcome = run_with_progress(self.session.runner, self, self.tr("Saving the rows not imported"), fn,
                                        write=False, cancellable=False)
        if not ok:
            self._fail(outcome)
        return ok

    def _fail(self, error: BaseException) -> None:
        if isinstance(error, StewardError):
            self.session.failed.emit(error.message(self.session.language))
        else:
            raise error
