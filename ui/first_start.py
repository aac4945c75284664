"""Choosing a workspace: the first start (create one, open the sample, open a folder), and after a failed open."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from steward import sample
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.catalogue.rules import is_valid_uscc
from steward.sync import joining
from steward.sync.keys import MIN_PASSPHRASE, secure_keyring_available
from steward.sync.profile import read_profile
from steward.workspace.journal import Cancelled
from steward.workspace.workspace import DB_FILE, Workspace, default_path
from ui.i18n import Retranslating, core_language
from ui.progress import run_with_progress
from ui.workers import Job, Runner

USCC_LENGTH = 18


def _language() -> str:
    """The core's language for the UI's current locale (the app sets the default locale with the language)."""
    return core_language(QLocale().name())


def normalize_code(text: str) -> str:
    """A typed 统一社会信用代码 as the core stores it: no spaces, upper case."""
    return "".join(text.split()).upper()


def open_or_make_sample(folder: Path, progress: Callable[[int, int], None]) -> Path:
    """The sample workspace in `folder`: opened if it is there, else created with generated entries."""
    if (folder / DB_FILE).exists():
        Workspace.open(folder).close()
        return folder
    department = sample.DEPARTMENTS[0]
    with Workspace.create(folder, department.code, department.name) as workspace:
        sample.add_sample(workspace, sample.DEMO_ENTRIES, seed=1, progress=progress)
    return folder


def _error_text(error: BaseException, language: str, fallback: str) -> str:
    """What to tell the steward: the core's message in their language, else the system's reason after ours."""
    if isinstance(error, StewardError):
        return error.message(language)
    return f"{fallback}\n{error}"


class FirstStartDialog(Retranslating, QDialog):
    """Shown when there is no workspace yet. Accepted once the chosen workspace exists and opens."""

    CREATE, SAMPLE, OPEN, JOIN = range(4)

    def __init__(self, parent: QWidget | None = None, *, default_folder: Path | None = None,
                 language: str | None = None, mode: int = CREATE) -> None:
        super().__init__(parent)
        self.default_folder = Path(default_folder) if default_folder else default_path()
        self.language = language or _language()
        self.runner = Runner(self)
        self._chosen: Path | None = None
        self._build()
        self.retranslate()
        self.set_mode(mode)

    # Building -----------------------------------------------------------------------------

    def _build(self) -> None:
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.mode_group = QButtonGroup(self)
        self.create_radio = QRadioButton(self)
        self.sample_radio = QRadioButton(self)
        self.open_radio = QRadioButton(self)
        self.join_radio = QRadioButton(self)
        for mode, radio in enumerate((self.create_radio, self.sample_radio, self.open_radio, self.join_radio)):
            self.mode_group.addButton(radio, mode)
        self.mode_group.idToggled.connect(self._mode_toggled)

        self.create_box = QWidget(self)
        self.name_label, self.name_edit = QLabel(self), QLineEdit(self)
        self.code_label, self.code_edit = QLabel(self), QLineEdit(self)
        self.code_edit.setMaxLength(24)  # room for pasted spaces; the check says what is wrong
        self.code_message = QLabel(self)
        self.code_message.setWordWrap(True)
        self.code_message.setTextFormat(Qt.TextFormat.PlainText)
        self.folder_label, self.folder_edit = QLabel(self), QLineEdit(str(self.default_folder), self)
        self.folder_button = self._button(self._choose_create_folder)
        self.name_label.setBuddy(self.name_edit)
        self.code_label.setBuddy(self.code_edit)
        self.folder_label.setBuddy(self.folder_edit)
        form = QFormLayout(self.create_box)
        form.setContentsMargins(24, 0, 0, 0)
        form.addRow(self.name_label, self.name_edit)
        form.addRow(self.code_label, self.code_edit)
        form.addRow("", self.code_message)
        form.addRow(self.folder_label, self._row(self.folder_edit, self.folder_button))

        self.sample_note = QLabel(self)
        self.sample_note.setWordWrap(True)
        self.sample_note.setContentsMargins(24, 0, 0, 0)

        self.open_box = QWidget(self)
        self.open_label, self.open_edit = QLabel(self), QLineEdit(self)
        self.open_button = self._button(self._choose_open_folder)
        self.open_label.setBuddy(self.open_edit)
        open_form = QFormLayout(self.open_box)
        open_form.setContentsMargins(24, 0, 0, 0)
        open_form.addRow(self.open_label, self._row(self.open_edit, self.open_button))

        # Joining with a profile: the exchange's key comes from the file, so there is no fingerprint to compare.
        self.join_box = QWidget(self)
        self.profile_label, self.profile_edit = QLabel(self), QLineEdit(self)
        self.profile_button = self._button(self._choose_profile)
        self.join_folder_label, self.join_folder_edit = QLabel(self), QLineEdit(str(self.default_folder), self)
        self.passphrase_label, self.passphrase_edit = QLabel(self), QLineEdit(self)
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.needs_passphrase = not secure_keyring_available()  # else the key goes to the OS keyring
        self.profile_label.setBuddy(self.profile_edit)
        self.join_folder_label.setBuddy(self.join_folder_edit)
        self.passphrase_label.setBuddy(self.passphrase_edit)
        join_form = QFormLayout(self.join_box)
        join_form.setContentsMargins(24, 0, 0, 0)
        join_form.addRow(self.profile_label, self._row(self.profile_edit, self.profile_button))
        join_form.addRow(self.join_folder_label, self.join_folder_edit)
        if self.needs_passphrase:
            join_form.addRow(self.passphrase_label, self.passphrase_edit)
        else:
            self.passphrase_label.hide()
            self.passphrase_edit.hide()

        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)  # paths and messages are shown as they are
        self.error.setStyleSheet("color: #b00020")
        self.error.hide()

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.create_radio)
        layout.addWidget(self.create_box)
        layout.addWidget(self.sample_radio)
        layout.addWidget(self.sample_note)
        layout.addWidget(self.open_radio)
        layout.addWidget(self.open_box)
        layout.addWidget(self.join_radio)
        layout.addWidget(self.join_box)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        order = [self.create_radio, self.name_edit, self.code_edit, self.folder_edit, self.folder_button,
                 self.sample_radio, self.open_radio, self.open_edit, self.open_button, self.join_radio,
                 self.profile_edit, self.profile_button, self.join_folder_edit, self.passphrase_edit, self.buttons]
        for first, second in pairwise(order):
            self.setTabOrder(first, second)
        for edit in (self.name_edit, self.code_edit, self.folder_edit, self.open_edit, self.profile_edit,
                     self.join_folder_edit, self.passphrase_edit):
            edit.textChanged.connect(self._update)
            edit.textChanged.connect(self.error.hide)  # an earlier failure no longer describes what is typed
        self.resize(600, 0)

    def _button(self, slot: Callable[[], None]) -> QPushButton:
        button = QPushButton(self)
        button.setAutoDefault(False)  # Enter in a field means Continue, not Browse
        button.clicked.connect(slot)
        return button

    def _row(self, edit: QLineEdit, button: QPushButton) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(button)
        return row

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Welcome to Steward"))
        self.intro.setText(self.tr("There is no workspace on this computer yet. A workspace holds your department's "
                                   "catalogue entries. How would you like to start?"))
        self.create_radio.setText(self.tr("C&reate a workspace for my department"))
        self.sample_radio.setText(self.tr("Open the &sample workspace (to try Steward out)"))
        self.open_radio.setText(self.tr("&Open an existing workspace folder"))
        self.name_label.setText(self.tr("Department &name:"))
        self.name_edit.setAccessibleName(self.tr("Department name"))
        self.name_edit.setPlaceholderText(self.tr("e.g. 上海市市场监督管理局"))
        self.code_label.setText(self.tr("Unified social credit &code:"))
        self.code_edit.setAccessibleName(self.tr("Unified social credit code of the department"))
        self.code_edit.setPlaceholderText(self.tr("18 characters, e.g. 11310000MB2F41826X"))
        self.folder_label.setText(self.tr("&Folder:"))
        self.folder_edit.setAccessibleName(self.tr("Folder of the new workspace"))
        self.folder_button.setText(self.tr("&Browse…"))
        self.folder_button.setAccessibleName(self.tr("Choose the folder of the new workspace"))
        self.sample_note.setText(
            self.tr("A made-up department with %1 generated entries, kept in %2. Creating it takes a moment.")
            .replace("%1", str(sample.DEMO_ENTRIES)).replace("%2", str(self.default_folder))
        )
        self.open_label.setText(self.tr("Fol&der:"))
        self.open_edit.setAccessibleName(self.tr("Folder of the existing workspace"))
        self.open_button.setText(self.tr("Bro&wse…"))
        self.open_button.setAccessibleName(self.tr("Choose the folder of the existing workspace"))
        self.join_radio.setText(self.tr("&Join with a profile from the exchange's administrator"))
        self.profile_label.setText(self.tr("&Profile:"))
        self.profile_edit.setAccessibleName(self.tr("Profile file"))
        self.profile_edit.setPlaceholderText(self.tr("the .steward-profile file"))
        self.profile_button.setText(self.tr("Choos&e…"))
        self.profile_button.setAccessibleName(self.tr("Choose the profile file"))
        self.join_folder_label.setText(self.tr("Fo&lder:"))
        self.join_folder_edit.setAccessibleName(self.tr("Folder of the new workspace"))
        self.passphrase_label.setText(self.tr("&Key passphrase:"))
        self.passphrase_edit.setAccessibleName(self.tr("Passphrase that protects the signing key"))
        self.passphrase_edit.setPlaceholderText(self.tr("no keyring here: 8 characters or more"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Con&tinue"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("&Quit"))
        self._update()

    # State ---------------------------------------------------------------------------------

    def mode(self) -> int:
        return max(self.mode_group.checkedId(), self.CREATE)

    def set_mode(self, mode: int) -> None:
        self.mode_group.button(mode).setChecked(True)
        self._mode_toggled()

    def _mode_toggled(self, *_args: Any) -> None:
        mode = self.mode()
        self.create_box.setEnabled(mode == self.CREATE)
        self.open_box.setEnabled(mode == self.OPEN)
        self.join_box.setEnabled(mode == self.JOIN)
        self.error.hide()
        self._update()

    def code(self) -> str:
        return normalize_code(self.code_edit.text())

    def code_problem(self) -> str | None:
        """Why the typed code cannot be used (in the steward's language), or None when it is valid."""
        code = self.code()
        if not code:
            return self.tr("Required: the 18-character code on the department's certificate.")
        if len(code) != USCC_LENGTH:
            return self.tr("A unified social credit code has 18 characters; %1 typed.").replace("%1", str(len(code)))
        if not is_valid_uscc(code):
            return render("department.code_invalid", {"value": code}, self.language)
        return None

    def _update(self) -> None:
        problem = self.code_problem()
        typed = bool(self.code())
        if problem is None:
            note = "" if self.code().startswith("11") else self.tr(
                "Valid, though codes of government organs usually start with 11.")
            self.code_message.setText(note)
            self.code_message.setStyleSheet("")
        else:
            self.code_message.setText(problem)
            # Before anything is typed the text is a hint; once something is, it is an error.
            self.code_message.setStyleSheet("color: #b00020" if typed else "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self._ready())

    def _ready(self) -> bool:
        mode = self.mode()
        if mode == self.CREATE:
            return bool(self.name_edit.text().strip()) and self.code_problem() is None \
                and bool(self.folder_edit.text().strip())
        if mode == self.OPEN:
            return bool(self.open_edit.text().strip())
        if mode == self.JOIN:
            return bool(self.profile_edit.text().strip()) and bool(self.join_folder_edit.text().strip()) and (
                not self.needs_passphrase or len(self.passphrase_edit.text()) >= MIN_PASSPHRASE)
        return True

    def can_continue(self) -> bool:
        return self.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled()

    def chosen_path(self) -> Path:
        """The workspace folder the steward chose; valid once the dialog was accepted."""
        if self._chosen is None:
            raise RuntimeError("no workspace was chosen")
        return self._chosen

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    # Choosing folders ------------------------------------------------------------------------

    def _choose_create_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Folder of the new workspace"),
                                                  self.folder_edit.text() or str(Path.home()))
        if folder:
            self.folder_edit.setText(folder)

    def _choose_profile(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, self.tr("Open profile"), str(Path.home()),
                                                    self.tr("Profiles (*.steward-profile);;All files (*)"))
        if path:
            self.set_profile(Path(path))

    def set_profile(self, path: Path) -> None:
        self.profile_edit.setText(str(path))
        self.set_mode(self.JOIN)

    def _choose_open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Folder of the existing workspace"),
                                                  self.open_edit.text() or str(Path.home()))
        if folder:
            self.open_edit.setText(folder)
            self.set_mode(self.OPEN)

    # Doing it --------------------------------------------------------------------------------

    def accept(self) -> None:
        """Create or open the chosen workspace on a worker; close only once it is there."""
        if not self._ready():
            self.show_error(self._not_ready_reason())
            return
        title, work = self._work()
        # Joining waits for the network, which may be slow: it can be cancelled; the others are disk work.
        ok, outcome = run_with_progress(self.runner, self, title, work, cancellable=self.mode() == self.JOIN)
        if not ok:
            if isinstance(outcome, Cancelled):
                self.show_error(self.tr("Joining was cancelled. Continuing with the same profile and folder goes on "
                                        "where it stopped."))
            else:
                self.show_error(_error_text(outcome, self.language, self.tr("The workspace could not be prepared.")))
            return
        self._chosen = outcome
        super().accept()

    def _not_ready_reason(self) -> str:
        if self.mode() == self.OPEN:
            return self.tr("Choose the folder of the workspace.")
        if self.mode() == self.JOIN:
            return self.tr("Choose the profile, the folder, and a passphrase of 8 characters or more.")
        if not self.name_edit.text().strip():
            return render("department.name_required", {}, self.language)
        return self.code_problem() or self.tr("Choose the folder of the new workspace.")

    def _work(self) -> tuple[str, Callable[[Job], Path]]:
        """The progress title and the worker's job for the chosen option (all disk work happens in the job)."""
        mode = self.mode()
        if mode == self.CREATE:
            folder_text, name, code = self.folder_edit.text().strip(), self.name_edit.text().strip(), self.code()

            def create(_job: Job) -> Path:
                folder = Path(folder_text).expanduser()
                Workspace.create(folder, code, name).close()
                return folder

            return self.tr("Creating the workspace…"), create
        if mode == self.JOIN:
            profile_text, join_text = self.profile_edit.text().strip(), self.join_folder_edit.text().strip()
            passphrase = self.passphrase_edit.text()

            def join(job: Job) -> Path:
                profile = read_profile(Path(profile_text).expanduser())
                return joining.join(Path(join_text).expanduser(), profile, lambda _new: passphrase,
                                    on_client=lambda client: job.on_cancel(client.cancel),
                                    cancelled=lambda: job.cancelled).folder

            return self.tr("Joining the exchange…"), join
        if mode == self.SAMPLE:
            sample_folder = self.default_folder

            def make_sample(job: Job) -> Path:
                return open_or_make_sample(sample_folder, job.progress)

            return self.tr("Preparing the sample workspace…"), make_sample
        open_text = self.open_edit.text().strip()

        def check_opens(_job: Job) -> Path:
            # Opening once here migrates an old workspace, and finds a broken one while the steward can still choose.
            folder = Path(open_text).expanduser()
            Workspace.open(folder).close()
            return folder

        return self.tr("Opening the workspace…"), check_opens


class WorkspaceFailureDialog(Retranslating, QDialog):
    """A workspace did not open: says why, and offers another folder, a new workspace, the sample, or quitting."""

    def __init__(self, message: str, parent: QWidget | None = None, *, default_folder: Path | None = None,
                 language: str | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.default_folder = Path(default_folder) if default_folder else default_path()
        self.language = language or _language()
        self.runner = Runner(self)
        self._chosen: Path | None = None
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        self.detail = QLabel(message, self)
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to copy into a ticket
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet("color: #b00020")
        self.error.hide()
        self.open_button = QPushButton(self)
        self.create_button = QPushButton(self)
        self.sample_button = QPushButton(self)
        self.quit_button = QPushButton(self)
        self.open_button.clicked.connect(self.open_another)
        self.create_button.clicked.connect(self.create_new)
        self.sample_button.clicked.connect(self.open_sample)
        self.quit_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.detail)
        layout.addWidget(self.error)
        row = QHBoxLayout()
        for button in (self.open_button, self.create_button, self.sample_button):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        row.addWidget(self.quit_button)
        layout.addLayout(row)
        self.open_button.setDefault(True)
        self.retranslate()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("The workspace could not be opened"))
        self.intro.setText(self.tr("The workspace could not be opened:"))
        self.open_button.setText(self.tr("&Open another folder…"))
        self.create_button.setText(self.tr("&Create new…"))
        self.sample_button.setText(self.tr("Open &sample"))
        self.quit_button.setText(self.tr("&Quit"))

    def chosen_path(self) -> Path | None:
        return self._chosen

    def _choose(self, folder: Path) -> None:
        self._chosen = folder
        self.accept()

    def open_another(self) -> None:
        # The caller opens it; if that fails too, it comes back here with the new reason.
        folder = QFileDialog.getExistingDirectory(self, self.tr("Open a workspace folder"), str(Path.home()))
        if folder:
            self._choose(Path(folder))

    def create_new(self) -> None:
        dialog = FirstStartDialog(self, default_folder=self.default_folder, language=self.language,
                                  mode=FirstStartDialog.CREATE)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self._choose(dialog.chosen_path())

    def open_sample(self) -> None:
        folder = self.default_folder
        ok, outcome = run_with_progress(self.runner, self, self.tr("Preparing the sample workspace…"),
                                        lambda job: open_or_make_sample(folder, job.progress), cancellable=False)
        if ok:
            self._choose(outcome)
        else:
            self.error.setText(_error_text(outcome, self.language, self.tr("The sample workspace could not be made.")))
            self.error.show()


def choose_workspace_after_failure(message: str, parent: QWidget | None) -> Path | None:
    """Show why a workspace did not open and let the steward choose another; None means quit."""
    dialog = WorkspaceFailureDialog(message, parent)
    try:
        if dialog.exec() == QDialog.DialogCode.Accepted:
            return dialog.chosen_path()
        return None
    finally:
        dialog.deleteLater()
