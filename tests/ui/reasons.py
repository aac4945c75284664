"""Answering the modal reason dialog from a test, with the keyboard, as a steward does."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from ui.reason_dialog import ReasonDialog


def in_the_dialog(qtbot, act: Callable[[ReasonDialog], None], seen: list[str] | None = None) -> None:
    """Run `act(dialog)` on the reason dialog once it is open (its explanation goes to `seen`).

    The dialog is never left open, whatever happens: a modal dialog left open would hang the test.
    """

    def run() -> None:
        dialog = QApplication.activeModalWidget()
        try:
            assert isinstance(dialog, ReasonDialog), dialog
            if seen is not None:
                seen.append(dialog.explanation)
            act(dialog)
        finally:
            if dialog is not None and dialog.isVisible():
                dialog.reject()

    QTimer.singleShot(0, run)


def answer(qtbot, reason: str, seen: list[str] | None = None) -> None:
    """Type `reason` into the next reason dialog and press Enter."""

    def give(dialog: ReasonDialog) -> None:
        if reason.isascii():
            qtbot.keyClicks(dialog.text, reason)
        else:  # as an input method commits Chinese (QTest types ASCII only)
            event = QInputMethodEvent()
            event.setCommitString(reason)
            QApplication.sendEvent(dialog.text, event)
        qtbot.keyClick(dialog.text, Qt.Key.Key_Return)

    in_the_dialog(qtbot, give, seen)


def cancel(qtbot, seen: list[str] | None = None) -> None:
    """Press Escape in the next reason dialog."""
    in_the_dialog(qtbot, lambda dialog: qtbot.keyClick(dialog.text, Qt.Key.Key_Escape), seen)
