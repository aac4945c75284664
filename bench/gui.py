"""Window scenarios (issue 3): first paint, scrolling, filter as you type, bulk edit — offscreen Qt."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import Report, percentile, stopwatch

# What a provider's steward types in the inbox, a character at a time: an entry's code, a status, a purpose.
INBOX_TYPING = ("301004/00042", "待提供部门", "核验企业")
INBOX_OPENINGS = 5
FILTER_TYPING = ("医", "医疗", "医疗机", "医疗机构", "登", "登记", "登记信", "浦", "浦东", "浦东新区", "证", "证照")


def smoke(report: Report, folder: Path, runs: int = 3) -> None:
    """`steward gui --smoke` in a fresh process, as a steward starts the app."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    paints, walls, memory = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "steward", "gui", "--smoke", str(folder)],
                              capture_output=True, text=True, env=env, timeout=300, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"smoke run failed ({done.returncode}): {done.stderr[-2000:]}")
        timings = json.loads(done.stdout.strip().splitlines()[-1])
        paints.append(timings["first_paint_s"])
        walls.append(wall)
        memory.append(timings["max_rss_mb"] or 0)
    report.add("gui smoke", "first paint (in process), median", sorted(paints)[len(paints) // 2], "s", 1.5)
    report.add("gui smoke", "launch to exit (wall), median", sorted(walls)[len(walls) // 2], "s")
    report.add("gui smoke", "max resident memory", max(memory), "MB", 400)


def in_process(report: Report, folder: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from steward.workspace.journal import SetField
    from steward.workspace.workspace import Workspace
    from ui.main_window import MainWindow
    from ui.session import Session
    from ui.settings import Settings

    app = QApplication.instance() or QApplication([])
    settings = Settings(QSettings(str(folder.parent / "bench-settings.ini"), QSettings.Format.IniFormat))
    session = Session(Workspace.open(folder), settings)
    window = MainWindow(session)
    window.resize(1400, 900)
    window.show()
    _wait(app, lambda: window.model.rowCount() > 0)
    _scrolling(report, app, window)
    _filtering(report, app, window)
    _bulk(report, app, window, session, SetField)
    window.close()
    session.close()


def _wait(app: object, condition: object, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not get there in time")
        time.sleep(0.001)


def _scrolling(report: Report, app: object, window: object) -> None:
    table = window.table  # type: ignore[attr-defined]
    bar = table.verticalScrollBar()
    step = max(1, bar.pageStep())
    samples = []
    for value in range(0, bar.maximum() + step, step):
        start = time.perf_counter()
        bar.setValue(value)
        table.viewport().repaint()  # paint now, synchronously, as the screen would
        samples.append((time.perf_counter() - start) * 1000)
    report.add("gui scroll top→bottom", "steps", len(samples), "steps")
    report.add("gui scroll top→bottom", "p50 per step", percentile(samples, 50), "ms")
    report.add("gui scroll top→bottom", "p95 per step", percentile(samples, 95), "ms", 16)
    report.add("gui scroll top→bottom", "worst step", max(samples), "ms")


def _filtering(report: Report, app: object, window: object) -> None:
    model = window.model  # type: ignore[attr-defined]
    samples = []
    for _ in range(3):
        for text in FILTER_TYPING:
            done: list[float] = []
            model.loaded.connect(done.append)
            start = time.perf_counter()
            window.search.setText(text)  # type: ignore[attr-defined]
            window._apply_filter()  # type: ignore[attr-defined]  # the debounce timer's target
            _wait(app, lambda d=done: bool(d))
            window.table.viewport().repaint()  # type: ignore[attr-defined]
            samples.append((time.perf_counter() - start) * 1000)
            model.loaded.disconnect(done.append)
    report.add("gui filter as you type", "p50", percentile(samples, 50), "ms")
    report.add("gui filter as you type", "p95", percentile(samples, 95), "ms", 100)
    window.search.setText("")  # type: ignore[attr-defined]
    window._apply_filter()  # type: ignore[attr-defined]
    _wait(app, lambda: model.rowCount() > 10_000)


def _bulk(report: Report, app: object, window: object, session: object, set_field: type) -> None:
    with session.workspace.reading() as conn:  # type: ignore[attr-defined]
        ids = list(conn.exec_driver_sql("SELECT id FROM entries ORDER BY pk LIMIT 10000").scalars())
    _bulk_preview(report, session, ids)
    changes = [set_field(i, "update_frequency", "quarterly") for i in ids]
    with stopwatch() as elapsed:
        result = session.apply_long(changes, "bench bulk edit")  # type: ignore[attr-defined]
    report.add("gui bulk edit", "entries", len(ids), "rows")
    report.add("gui bulk edit", "10,000 entries incl. undo record", elapsed(), "s", 3.0)
    report.add("gui bulk edit", "operations recorded", len(result.operations) if result else 0, "ops")
    with stopwatch() as elapsed:
        session.undo_stack.undo()  # type: ignore[attr-defined]
    report.add("gui bulk edit", "undo of it", elapsed(), "s")


def _bulk_preview(report: Report, session: object, ids: list[str]) -> None:
    """What the bulk edit dialog checks before OK is offered: the errors the change would bring."""
    from steward.workspace import bulk

    workspace = session.workspace  # type: ignore[attr-defined]
    with stopwatch() as elapsed, workspace.reading() as conn:
        values = bulk.selection_values(conn, ids)
        plan = bulk.plan(ids, "sharing_type", "conditional", values.current["sharing_type"],
                         values.synced["sharing_type"])
        found = bulk.new_errors(conn, workspace.department_code, plan)
    report.add("gui bulk edit", "preview of 10,000 (errors it would bring)", elapsed(), "s")
    report.add("gui bulk edit", "rules newly broken in the preview", len(found), "rules")


def inbox_view(report: Report, folder: Path) -> None:
    """The 待办 inbox of 10,000 requests (bench/requests.py's workspace): opening it, filtering it as one types."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from bench.requests import INBOX_REQUESTS, inbox_workspace
    from steward.sync.requests.inbox import Box
    from steward.workspace.workspace import Workspace
    from ui.requests_view import RequestsDialog
    from ui.session import Session
    from ui.settings import Settings

    app = QApplication.instance() or QApplication([])
    inbox_workspace(folder / "inbox-view-bench").close()
    settings = Settings(QSettings(str(folder / "inbox-bench-settings.ini"), QSettings.Format.IniFormat))
    session = Session(Workspace.open(folder / "inbox-view-bench"), settings)
    scenario = f"inbox view, {INBOX_REQUESTS:,} requests"
    openings = []
    for _ in range(INBOX_OPENINGS):
        start = time.perf_counter()
        dialog = RequestsDialog(session, Box.INBOX, lambda: None)
        dialog.show()
        _wait(app, lambda d=dialog: d.model.rowCount() > 0)
        dialog.view.viewport().repaint()  # the rows painted, as the screen shows them
        openings.append((time.perf_counter() - start) * 1000)
        dialog.close()
        dialog.deleteLater()
    report.add(scenario, "open (until rows shown), median", percentile(openings, 50), "ms", 100,
               note=f"median of {INBOX_OPENINGS} openings of the dialog")
    report.add(scenario, "open (until rows shown), worst", max(openings), "ms")
    dialog = RequestsDialog(session, Box.INBOX, lambda: None)
    dialog.show()
    _wait(app, lambda: dialog.model.rowCount() > 0)
    samples = []
    for _ in range(3):
        for query in (*INBOX_TYPING, ""):
            for typed in [query[:n] for n in range(1, len(query) + 1)] or [""]:  # "": the box cleared
                start = time.perf_counter()
                dialog.search.setText(typed)
                dialog.view.viewport().repaint()
                samples.append((time.perf_counter() - start) * 1000)
    report.add(scenario, "filter as you type, p50", percentile(samples, 50), "ms")
    report.add(scenario, "filter as you type, p95", percentile(samples, 95), "ms", 50,
               note=f"{len(samples)} keystrokes")
    dialog.close()
    session.close()


def run(report: Report, folder: Path) -> None:
    print("Window scenarios (offscreen)", flush=True)
    smoke(report, folder)
    in_process(report, folder)
    inbox_view(report, folder.parent)
