"""Opening and closing the real main window in a test, without leaving its reads behind for the next test."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from ui.main_window import MainWindow


def open_window(qtbot, session, width: int = 0, height: int = 0) -> MainWindow:
    window = MainWindow(session)
    qtbot.addWidget(window)
    if width and height:
        window.resize(width, height)
    window.show()
    return window


def close_window(window: MainWindow) -> None:
    """Close the window once the reads it started (its status line) have answered while it still exists."""
    window.close()
    window.session.runner.wait_all()
    QApplication.processEvents()
