"""The reason dialog from the keyboard: Enter gives the reason, Tab moves on, a blank reason cannot be given."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox

from tests.ui.reasons import answer, cancel
from ui.reason_dialog import ReasonDialog


def _dialog(qtbot) -> ReasonDialog:
    dialog = ReasonDialog("Making the entry more restrictive.")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def _ok(dialog: ReasonDialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_ok_stays_disabled_while_the_reason_is_blank(qtbot):
    dialog = _dialog(qtbot)
    assert not _ok(dialog).isEnabled()
    qtbot.keyClicks(dialog.text, "   ")
    assert not _ok(dialog).isEnabled()
    qtbot.keyClicks(dialog.text, "x")
    assert _ok(dialog).isEnabled()


def test_enter_gives_the_reason(qtbot):
    dialog = _dialog(qtbot)
    assert dialog.text.hasFocus()  # the steward can start typing at once
    qtbot.keyClicks(dialog.text, "Contains personal data")
    with qtbot.waitSignal(dialog.accepted, timeout=2000):
        qtbot.keyClick(dialog.text, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.reason() == "Contains personal data"


def test_enter_on_a_blank_reason_does_nothing(qtbot):
    dialog = _dialog(qtbot)
    qtbot.keyClicks(dialog.text, "  ")
    qtbot.keyClick(dialog.text, Qt.Key.Key_Enter)
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.text.toPlainText() == "  "  # no line break typed either


def test_shift_enter_starts_a_new_line(qtbot):
    dialog = _dialog(qtbot)
    qtbot.keyClicks(dialog.text, "first")
    qtbot.keyClick(dialog.text, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(dialog.text, "second")
    assert dialog.isVisible()
    assert dialog.reason() == "first\nsecond"


def test_tab_moves_focus_on_rather_than_typing_a_tab(qtbot):
    dialog = _dialog(qtbot)
    qtbot.keyClicks(dialog.text, "why")
    qtbot.keyClick(dialog.text, Qt.Key.Key_Tab)
    assert dialog.text.toPlainText() == "why"
    assert not dialog.text.hasFocus()
    assert dialog.buttons.isAncestorOf(QApplication.focusWidget())
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert dialog.text.hasFocus()


def test_ask_returns_what_was_typed_or_none(qtbot):
    answer(qtbot, "  trimmed  ")
    assert ReasonDialog.ask("Why?") == "trimmed"
    seen: list[str] = []
    cancel(qtbot, seen)
    assert ReasonDialog.ask("Why not?") is None
    assert seen == ["Why not?"]
