"""Starting the desktop client: the application, its language, the workspace to open, the window."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from steward import __version__
from steward.catalogue.errors import StewardError
from steward.workspace.workspace import DB_FILE, Workspace, default_path
from ui.crash import CrashReporter, setup_logging
from ui.first_start import FirstStartDialog, choose_workspace_after_failure
from ui.focus_ring import FocusRings
from ui.i18n import Translators, application_name, core_language
from ui.main_window import MainWindow
from ui.progress import run_with_progress
from ui.resources import icon
from ui.session import Session
from ui.settings import Settings
from ui.workers import Runner

if TYPE_CHECKING:
    from ui.demo_mode import DemoMode

SMOKE_TIMEOUT_MS = 120_000


def _max_rss_mb() -> float | None:
    """This process's peak resident memory.

    On Linux, VmHWM: getrusage's ru_maxrss carries the parent's peak across exec, so a smoke run
    started by a large process (a benchmark) would report the parent's memory as its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    try:
        import resource  # not on Windows
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _open(folder: Path, language: str) -> Workspace | None:
    """Open `folder`; on failure let the steward pick another (None: they gave up).

    On a worker behind a progress dialog: an older workspace is backed up and updated as it opens,
    which on 100,000 entries takes seconds the screen must not spend frozen.
    """
    runner = Runner()
    text = QCoreApplication.translate("app", "Opening the workspace… An older one is backed up and updated first.")
    while True:
        ok, outcome = run_with_progress(runner, None, text, lambda _job, f=folder: Workspace.open(f), write=False,
                                        cancellable=False)
        if ok:
            return outcome
        if not isinstance(outcome, StewardError):
            raise outcome
        chosen = choose_workspace_after_failure(outcome.message(language), None)
        if chosen is None:
            return None
        folder = chosen


def _choose_workspace(folder: str | None, settings: Settings, language: str) -> Workspace | None:
    if folder:
        return _open(Path(folder), language)
    for candidate in (settings.last_workspace, str(default_path())):
        if candidate and (Path(candidate) / DB_FILE).is_file():
            return _open(Path(candidate), language)
    dialog = FirstStartDialog()
    if dialog.exec() != FirstStartDialog.DialogCode.Accepted:
        return None
    return _open(dialog.chosen_path(), language)


def _start_demo(settings: Settings) -> DemoMode | None:
    """The demo's exchange and first steward (made on first use); None, after saying why, if it cannot start."""
    try:
        # Imported here: the demo needs the exchange package, which a department's installer leaves out.
        from ui import demo
        from ui.demo_mode import DemoMode

        return DemoMode(demo.prepare(), settings)
    except (ImportError, RuntimeError, StewardError) as error:
        text = error.message() if isinstance(error, StewardError) else str(error)
        QMessageBox.critical(None, application_name(),
                             QCoreApplication.translate("app", "The demo cannot start: %1")
                             .replace("%1", text))
        return None


def run(folder: str | None = None, smoke: bool = False, started: float | None = None, demo: bool = False) -> int:
    """The window's main loop; with `smoke`, open, wait for the table's first paint, print timings, exit.

    With `demo`, open the demo: sample data and a local exchange of its own (see ui/demo.py).
    """
    started = started if started is not None else time.perf_counter()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName("Steward")
    app.setApplicationName("Steward")
    app.setApplicationVersion(__version__)
    app.setWindowIcon(icon("steward"))
    setup_logging()
    crash = CrashReporter(app)
    crash.install()
    FocusRings(app, parent=app)  # every window, dialogs and the first start's too, shows where the focus is
    settings = Settings()
    translators = Translators()
    language = core_language(translators.install(app, settings.language))

    demo_mode = _start_demo(settings) if demo else None
    if demo and demo_mode is None:
        return 2
    if demo_mode is not None:
        workspace: Workspace | None = Workspace.open(demo_mode.demo.workspace_folder(1))
    elif smoke:
        try:
            workspace = Workspace.open(folder or default_path())
        except StewardError as error:
            print(error.message(language), file=sys.stderr)
            return 2
    else:
        workspace = _choose_workspace(folder, settings, language)
    if workspace is None:
        return 0
    opened = time.perf_counter()
    if demo_mode is None:  # the demo's workspace is no place to come back to without its exchange
        settings.last_workspace = str(workspace.folder)
    session = Session(workspace, settings)
    session.language = language
    window = MainWindow(session, translators)
    if demo_mode is not None:
        demo_mode.attach(window)
    timings: dict[str, object] = {"workspace_open_s": round(opened - started, 3)}
    if smoke:
        _arm_smoke(app, window, timings, started)
    window.show()
    timings["window_shown_s"] = round(time.perf_counter() - started, 3)
    try:
        code = app.exec()
    finally:
        if demo_mode is not None:
            demo_mode.stop()
    session.close()
    return code if not smoke else int(timings.get("exit_code", 1))  # type: ignore[call-overload]


def _arm_smoke(app: QApplication, window: MainWindow, timings: dict[str, object], started: float) -> None:
    window.model.loaded.connect(lambda seconds: timings.setdefault("table_load_s", round(seconds, 3)))

    def painted() -> None:
        timings["first_paint_s"] = round(time.perf_counter() - started, 3)
        timings["rows"] = window.model.rowCount()
        timings["max_rss_mb"] = _max_rss_mb()
        timings["platform"] = app.platformName()
        # What the window found of its resources: a frozen build's tests check these came from inside it.
        timings["language"] = window.translators.language
        timings["catalogues"] = window.translators.catalogues()
        timings["icon"] = not app.windowIcon().pixmap(32, 32).isNull()
        timings["exit_code"] = 0
        print(json.dumps(timings), flush=True)
        window.close()
        app.quit()

    def too_slow() -> None:
        timings["exit_code"] = 1
        print(json.dumps({**timings, "error": "the table never painted"}), flush=True)
        app.quit()

    window.first_paint.connect(painted)
    QTimer.singleShot(SMOKE_TIMEOUT_MS, too_slow)

