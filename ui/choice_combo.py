"""A combo box whose value counts once it is chosen, not at each step on the way to it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QWheelEvent
from PySide6.QtWidgets import QComboBox, QWidget

# With Alt, the keys that open and close a combo box's list.
_LIST_KEYS = (Qt.Key.Key_Down, Qt.Key.Key_Up)


class ChoiceCombo(QComboBox):
    """Emits `chosen` when a value is picked from the list, confirmed with Enter, or the box is left.

    Qt reports every arrow key, typed letter and wheel turn over a focused combo box as `activated`:
    saving each step would store (and ask a reason for) every value passed on the way to the one
    meant. Here such steps only show the value; it counts once confirmed.
    """

    chosen = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stepping = False  # a key or wheel event is being handled: an `activated` now is a step
        self._stepped = False  # the value shown was stepped to and not confirmed yet
        self.activated.connect(self._activated)

    def _activated(self, _row: int) -> None:
        if self._stepping:
            self._stepped = True
        else:  # picked from the open list
            self._choose()

    def confirm(self) -> None:
        """Count the value stepped to, if any: the form is going (another entry, the window closing)."""
        if self._stepped:
            self._choose()

    def _choose(self) -> None:
        self._stepped = False
        self.chosen.emit()

    def event(self, event: QEvent) -> bool:
        # Alt+Down opens the list even where an action claims the key (the data items table moves rows with it).
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent)
                and event.modifiers() & Qt.KeyboardModifier.AltModifier and event.key() in _LIST_KEYS):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self._stepped:
            self._choose()
        self._stepping = True
        try:
            super().keyPressEvent(event)
        finally:
            self._stepping = False

    def wheelEvent(self, event: QWheelEvent) -> None:
        self._stepping = True
        try:
            super().wheelEvent(event)
        finally:
            self._stepping = False

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        # Its own list taking the focus is not leaving the box, nor is the steward switching to another window
        # (the box keeps the focus there, and confirming would raise a reason dialog over the other window).
        if self._stepped and event.reason() not in (Qt.FocusReason.PopupFocusReason,
                                                    Qt.FocusReason.ActiveWindowFocusReason):
            self._choose()
