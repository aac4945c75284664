"""Unexpected errors: written to a rotating log in the platform's log folder and shown in a readable dialog."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

from platformdirs import user_log_path
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("steward")


def log_path() -> Path:
    return user_log_path("Steward", appauthor=False) / "steward.log"


def setup_logging(path: Path | None = None) -> Path:
    """Log to a rotating file (1 MB × 5); secrets never go to the log."""
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


class CrashReporter(QObject):
    """Installs sys.excepthook and threading.excepthook; the dialog always opens on the GUI thread."""

    crashed = Signal(str, str)  # summary, details

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.crashed.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self.shown = 0

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value, args.exc_traceback)

    def _hook(self, kind: type[BaseException], error: BaseException | None, tb: TracebackType | None) -> None:
        details = "".join(traceback.format_exception(kind, error, tb))
        log.error("unhandled error\n%s", details)
        self.crashed.emit(f"{kind.__name__}: {error}", details)

    def _show(self, summary: str, details: str) -> None:
        self.shown += 1
        if QApplication.instance() is None or QApplication.platformName() == "offscreen":
            return  # no one to show it to (tests, smoke runs); it is in the log
        box = QMessageBox(QApplication.activeWindow())
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(self.tr("Steward hit an unexpected error"))
        box.setText(self.tr("Something went wrong. Your edits up to this moment are saved in the workspace."))
        box.setInformativeText(
            self.tr("Details are in the log file:\n%1\n\n%2").replace("%1", str(log_path())).replace("%2", summary)
        )
        box.setDetailedText(details)
        box.exec()
