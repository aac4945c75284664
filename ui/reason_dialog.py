"""Asking why an entry is being made more restrictive (the reason is stored with the change)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from steward.catalogue.errors import StewardError
from steward.workspace import journal
from steward.workspace.journal import Change, Tightening
from ui import operations
from ui.session import Session


class ReasonEdit(QPlainTextEdit):
    """A reason box that behaves as a form field: Enter gives the reason, Shift+Enter starts a new line,
    Tab moves on (a plain text edit would type both)."""

    submitted = Signal()  # Enter was pressed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)

    def reason(self) -> str:
        """What was written, without surrounding blanks ("" when only blanks were)."""
        return self.toPlainText().strip()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            event.accept()
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class ReasonDialog(QDialog):
    """A required free-text reason; OK (and Enter) stay without effect until something other than blanks is written."""

    def __init__(self, explanation: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.explanation = explanation
        self.setWindowTitle(self.tr("Reason for the change"))
        layout = QVBoxLayout(self)
        intro = QLabel(explanation, self)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        prompt = QLabel(self.tr("&Reason (recorded with the change):"), self)
        self.text = ReasonEdit(self)
        self.text.setAccessibleName(self.tr("Reason"))
        prompt.setBuddy(self.text)
        layout.addWidget(prompt)
        layout.addWidget(self.text)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.text.textChanged.connect(self._update)
        self.text.submitted.connect(self.accept)
        self.text.setFocus()
        self._update()

    def _update(self) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(self.reason()))

    def reason(self) -> str:
        return self.text.reason()

    def accept(self) -> None:
        if self.reason():  # a blank reason explains nothing: Enter on one does nothing
            super().accept()

    @classmethod
    def ask(cls, explanation: str, parent: QWidget | None = None) -> str | None:
        """The reason typed, or None if the user cancelled."""
        dialog = cls(explanation, parent)
        return dialog.reason() if dialog.exec() == QDialog.DialogCode.Accepted else None


@dataclass(frozen=True)
class ReasonAnswer:
    """What asking gave: go ahead with `reason` (None: none was needed), or not at all."""

    cancelled: bool
    reason: str | None = None


def reason_for(session: Session, changes: Sequence[Change], explain: Callable[[Tightening], str],
               parent: QWidget | None) -> ReasonAnswer:
    """Ask for a reason when the core says `changes` make an entry more restrictive, as it judges it
    (against the exchange's value too, so a field cleared first is no way round it).

    For the small edits of one entry that `Session.apply` makes at once: the judgement reads that entry
    and its exchange copy by key, so it may run on the GUI thread too.
    """
    try:
        found = operations.read_now(session, lambda workspace: journal.tightening(workspace, changes))
    except (StewardError, KeyError):
        found = []  # the change itself will fail (an item gone, say), and the caller will say why
    if not found:
        return ReasonAnswer(cancelled=False)
    reason = ReasonDialog.ask(explain(found[0]), parent)
    return ReasonAnswer(cancelled=not reason, reason=reason or None)
