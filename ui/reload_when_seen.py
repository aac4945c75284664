"""Dialogs the main window keeps while hidden: a change marks them stale, and they read again only when seen."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QDialog, QWidget


class ReloadWhenSeen(QDialog):
    """A dialog with `reload()` (which reads on a worker) that the session's change signals call through
    `_schedule_reload`: several signals from one change make one reload, and none while it is hidden."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stale = False
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(0)
        self._reload_timer.timeout.connect(self.reload)

    def reload(self) -> None:
        """Read again (a subclass starts its worker here, after calling this)."""
        self._stale = False

    def _schedule_reload(self, *_args: object) -> None:
        if self.isVisible():
            self._reload_timer.start()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        if self._stale:
            self._reload_timer.start()
        super().showEvent(event)
