"""File ▸ Open profile…: the folder of the workspace for the profile's department, then joining on a worker.

The profile was read and its signature checked before this dialog opens (it shows what the profile
names). Joining talks to the exchange and makes a key, so it runs on a worker behind a progress
dialog whose Cancel stops the request in flight; the folder is examined there too, before anything
is written: a workspace of another department or exchange is refused, one joined already is only
opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.sync import joining
from steward.sync.exchange_client import ExchangeRefused
from steward.sync.keys import MIN_PASSPHRASE, secure_keyring_available, spaced
from steward.sync.profile import Profile
from steward.workspace.journal import Cancelled
from ui.i18n import Retranslating, core_language
from ui.progress import run_with_progress
from ui.workers import Job, Runner

ENROLLED = "enrolled"
WIDTH = 640  # px: room for a folder's path and a fingerprint's line


@dataclass(frozen=True)
class ProfileOutcome:
    profile: Profile
    folder: Path
    joined: joining.Joined | None  # None: the folder's workspace was joined already and is only opened


class OpenProfileDialog(Retranslating, QDialog):
    """Asks where the profile's workspace goes; accepted once it is joined (or was), with `outcome` set."""

    joined = Signal(object)  # the ProfileOutcome, once the dialog has closed

    def __init__(self, profile: Profile, path: Path, parent: QWidget | None = None, *, folder: Path,
                 runner: Runner | None = None, language: str | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.path = Path(path)
        self.language = language or core_language(QLocale().name())
        self.runner = runner or Runner(self)
        self.outcome: ProfileOutcome | None = None
        self.needs_passphrase = not secure_keyring_available()  # else the key goes to the OS keyring
        self._build(folder)
        self.retranslate()
        self._fit()

    def _fit(self) -> None:
        """Tall enough for the wrapped texts at this width (a dialog's minimum height ignores how labels wrap)."""
        width = max(self.width(), WIDTH) if self.isVisible() else WIDTH
        self.layout().activate()
        self.resize(width, max(self.layout().totalHeightForWidth(width), self.sizeHint().height()))

    def _build(self, folder: Path) -> None:
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # names and addresses are shown as they are
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.folder_label, self.folder_edit = QLabel(self), QLineEdit(str(folder), self)
        self.folder_button = QPushButton(self)
        self.folder_button.setAutoDefault(False)  # Enter in a field means Join, not Browse
        self.folder_button.clicked.connect(self._choose_folder)
        self.folder_note = QLabel(self)
        self.folder_note.setWordWrap(True)
        self.passphrase_label, self.passphrase_edit = QLabel(self), QLineEdit(self)
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.folder_label.setBuddy(self.folder_edit)
        self.passphrase_label.setBuddy(self.passphrase_edit)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # to copy into a ticket
        self.error.setStyleSheet("color: #b00020")
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        row = QHBoxLayout()
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.folder_button)
        form = QFormLayout()
        form.addRow(self.folder_label, row)
        if self.needs_passphrase:
            form.addRow(self.passphrase_label, self.passphrase_edit)
        else:
            self.passphrase_label.hide()
            self.passphrase_edit.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.folder_note)  # not in the form: a wrapped label there gets one line's height
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        for first, second in pairwise([self.folder_edit, self.folder_button, self.passphrase_edit, self.buttons]):
            self.setTabOrder(first, second)
        for edit in (self.folder_edit, self.passphrase_edit):
            edit.textChanged.connect(self._update)
            edit.textChanged.connect(self.error.hide)  # an earlier failure no longer describes what is typed
        self.folder_edit.setFocus()

    def retranslate(self) -> None:
        profile = self.profile
        self.setWindowTitle(self.tr("Join with a profile"))
        self.summary.setText(
            self.tr("The profile %1 joins %2 (%3) to the exchange at %4, whose key fingerprint is:\n%5")
            .replace("%1", str(self.path)).replace("%2", profile.department_name)
            .replace("%3", profile.department_code).replace("%4", profile.exchange_url)
            .replace("%5", spaced(profile.exchange_public.fingerprint)))
        self.folder_label.setText(self.tr("Workspace &folder:"))
        self.folder_edit.setAccessibleName(self.tr("Folder of the department's workspace"))
        self.folder_button.setText(self.tr("&Browse…"))
        self.folder_button.setAccessibleName(self.tr("Choose the folder of the department's workspace"))
        self.folder_note.setText(self.tr(
            "A new workspace is made there, with your signing key, and its enrollment request is sent; it waits for "
            "the exchange's administrator to approve it. A folder that holds this department's workspace already "
            "is used as it is."))
        self.passphrase_label.setText(self.tr("&Key passphrase:"))
        self.passphrase_edit.setAccessibleName(self.tr("Passphrase that protects the signing key"))
        self.passphrase_edit.setPlaceholderText(self.tr("no keyring here: 8 characters or more"))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("&Join"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Cancel"))
        self._update()

    def cancelled_text(self) -> str:
        return self.tr("Joining was cancelled. Opening the profile again with the same folder continues where it "
                       "stopped.")

    # State ---------------------------------------------------------------------------------

    def folder(self) -> Path:
        return Path(self.folder_edit.text().strip()).expanduser()

    def _ready(self) -> bool:
        return bool(self.folder_edit.text().strip()) and (
            not self.needs_passphrase or len(self.passphrase_edit.text()) >= MIN_PASSPHRASE)

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(self._ready())

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        self._fit()

    def _choose_folder(self) -> None:
        # The folder itself may not exist yet: start from the nearest one that does.
        start = self.folder()
        while not start.is_dir() and start != start.parent:
            start = start.parent
        chosen = QFileDialog.getExistingDirectory(self, self.tr("Folder of the department's workspace"), str(start))
        if chosen:
            self.folder_edit.setText(chosen)

    # Joining ---------------------------------------------------------------------------------

    def accept(self) -> None:
        """Join on a worker (Cancel stops it); close only once the workspace is there and its request sent."""
        if not self._ready():
            self.show_error(self.tr("Choose the folder, and a passphrase of 8 characters or more."))
            return
        folder, profile, passphrase = self.folder(), self.profile, self.passphrase_edit.text()

        def work(job: Job) -> ProfileOutcome:
            if joining.examine(folder, profile) is joining.Found.JOINED:
                return ProfileOutcome(profile, folder, None)
            joined = joining.join(folder, profile, lambda _new: passphrase,
                                  on_client=lambda client: job.on_cancel(client.cancel),
                                  cancelled=lambda: job.cancelled)
            return ProfileOutcome(profile, folder, joined)

        ok, outcome = run_with_progress(self.runner, self, self.tr("Joining the exchange…"), work)
        if not ok:
            self.show_error(self._failure_text(outcome))
            return
        joined = outcome.joined
        if joined is not None and joined.status not in (joining.PENDING, ENROLLED):
            self.show_error(render("join.refused", {"status": joined.status, "path": str(folder),
                                                    "url": profile.exchange_url, "key_id": joined.key_id},
                                   self.language))
            return
        self.outcome = outcome
        super().accept()
        self.joined.emit(outcome)  # after closing: the window may now replace itself

    def _failure_text(self, error: BaseException) -> str:
        if isinstance(error, Cancelled):
            return self.cancelled_text()
        if isinstance(error, StewardError):
            return error.message(self.language)
        if isinstance(error, ExchangeRefused):
            return self.tr("The exchange refused: %1").replace("%1", error.message)
        if isinstance(error, OSError):  # the folder (or the CA certificate beside it) could not be written
            return self.tr("The folder %1 cannot be used: %2").replace("%1", str(self.folder())).replace(
                "%2", error.strerror or str(error))
        raise error  # a bug: the crash handler shows and logs it
