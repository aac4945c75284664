"""Demo mode in the window: the demo's own exchange running beside the app, and a second steward one action away."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMessageBox

from exchange.local import LocalExchange
from steward.workspace.workspace import Workspace
from ui.demo import DEMO_PASSPHRASE, Demo, steward_workspace
from ui.demo_requests import requester_folder
from ui.main_window import MainWindow
from ui.session import Session
from ui.settings import Settings

DEMO_TAG = re.compile(r"^\[[^]]*\] ")  # the demo's tag in front of a window title


class DemoMode(QObject):
    """Owns the demo exchange process for as long as the app runs, and the demo windows."""

    def __init__(self, demo: Demo, settings: Settings, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.demo = demo
        self.settings = settings
        self.exchange: LocalExchange = demo.start_exchange()
        self.windows: list[QMainWindow] = []

    def attach(self, window: QMainWindow) -> None:
        """Point the window's sync at the demo exchange, label it, and give it the Demo menu."""
        controller = window.sync_controller  # type: ignore[attr-defined]
        controller.exchange_url_override = self.exchange.url
        controller.passphrase = DEMO_PASSPHRASE
        menu = window.menuBar().addMenu("")
        second = QAction(window)
        second.triggered.connect(self.open_second_steward)
        requester = QAction(window)
        requester.triggered.connect(self.open_requester)
        about = QAction(window)
        about.triggered.connect(lambda: QMessageBox.information(window, self.tr("Demo mode"), self.explanation()))
        menu.addActions([second, requester, about])

        def retranslate() -> None:
            menu.setTitle(self.tr("&Demo"))
            second.setText(self.tr("Open a &second demo steward"))
            second.setStatusTip(self.tr("Another steward of the same department, in a window of its own, "
                                   "to make a conflict"))
            requester.setText(self.tr("Open the &requesting department's steward"))
            requester.setStatusTip(self.tr("The department that applies for this department's data, with its "
                                           "requests in every state (Requests ▸ My requests)"))
            about.setText(self.tr("&What is demo mode?"))
            # In front: the title keeps ending in the app's name (see MainWindow.retranslate).
            tag = self.tr("DEMO: local exchange, sample data")
            window.setWindowTitle(f"[{tag}] {DEMO_TAG.sub('', window.windowTitle())}")

        watcher = _LanguageWatcher(retranslate, window)
        window.installEventFilter(watcher)
        retranslate()
        self.windows.append(window)

    def explanation(self) -> str:
        text = self.tr("This is a demonstration: the entries are generated samples, and the exchange runs on this "
                  "computer (%1), with its data in %2. Edit an entry, sync (Ctrl+S), then open a second demo steward, "
                  "change the same field there and sync both to see a conflict.")
        return text.replace("%1", self.exchange.url).replace("%2", str(self.demo.folder))

    def open_second_steward(self) -> QMainWindow:
        folder = steward_workspace(self.demo, len(self.windows) + 1)
        session = Session(Workspace.open(folder), self.settings)
        window = MainWindow(session)
        self.attach(window)
        window.show()
        return window

    def open_requester(self) -> QMainWindow:
        """The steward of the department that made the demo's sharing requests, in a window of its own."""
        session = Session(Workspace.open(requester_folder(self.demo)), self.settings)
        window = MainWindow(session)
        self.attach(window)
        window.show()
        return window

    def stop(self) -> None:
        self.exchange.stop()


class _LanguageWatcher(QObject):
    def __init__(self, retranslate: object, parent: QObject) -> None:
        super().__init__(parent)
        self._retranslate = retranslate

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LanguageChange:
            # After the window has retranslated itself (filters run first), or it would drop the demo label; with
            # this watcher as context, so that Qt drops the call if the window is deleted in between.
            QTimer.singleShot(0, self, self._retranslate)  # type: ignore[call-overload]
        return False
