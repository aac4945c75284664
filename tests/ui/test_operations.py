"""ui/operations: the window's reads and writes of the workspace, on workers, answered on the GUI thread."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from PySide6.QtCore import QThread

import ui
from steward.catalogue.errors import StewardError
from steward.workspace import query
from ui import operations
from ui.operations import LatestRead


def test_read_runs_off_the_gui_thread_and_answers_on_it(qtbot, session):
    gui = QThread.currentThread()
    seen: dict[str, object] = {}

    def op(workspace):
        seen["worker"] = QThread.currentThread()
        return query.summary(workspace).entries

    def success(result):
        seen["answered"] = QThread.currentThread()
        seen["result"] = result

    operations.read(session, op, success)
    qtbot.waitUntil(lambda: "result" in seen, timeout=5000)
    assert seen["result"] == 60
    assert seen["worker"] is not gui and seen["answered"] is gui


def test_an_older_read_finishing_last_does_not_overwrite_the_newer_answer(qtbot, session):
    answers: list[str] = []
    failures: list[BaseException] = []
    reading = LatestRead(session, answers.append, failures.append)
    release = threading.Event()

    def slow(_workspace):
        release.wait(5)
        return "older"

    def slow_failure(_workspace):
        release.wait(5)
        raise StewardError("entry.not_found", key="x")

    reading.run(slow)
    reading.run(slow_failure)
    reading.run(lambda _workspace: "newer")
    qtbot.waitUntil(lambda: answers == ["newer"], timeout=5000)
    assert not reading.loading
    release.set()
    session.runner.wait_all()
    qtbot.wait(50)  # let the older answers' queued signals arrive
    assert answers == ["newer"] and failures == []


def test_write_announces_the_entries_it_changed_or_reports_its_failure(qtbot, session):
    changed: list[set[str]] = []
    messages: list[str] = []
    session.entries_changed.connect(changed.append)
    session.failed.connect(messages.append)

    ok, result = operations.write(session, lambda workspace: workspace.department_code, changed={"e1"})
    assert (ok, result) == (True, session.workspace.department_code) and changed == [{"e1"}]

    def refused(_workspace):
        raise StewardError("entry.not_found", key="e2")

    ok, error = operations.write(session, refused, changed={"e2"})
    assert not ok and isinstance(error, StewardError)
    assert changed == [{"e1"}] and messages == [error.message(session.language)]


def test_on_connection_hands_a_read_connection_to_a_core_function(session):
    op = operations.on_connection(query.count, query.EntryFilter())
    assert operations.read_now(session, op) == 60


UI_DIR = Path(ui.__file__).parent
# operations.py is the one way in; screenshots.py is a script that stages demo data around the window, as tests do.
SEAM = {"operations.py", "screenshots.py"}
OPENS_THE_WORKSPACE = re.compile(r"\.(reading|writing)\(\) as \w+|driver_connection|exec_driver_sql")
SQL = re.compile(r"[\"']\s*(SELECT|INSERT|UPDATE|DELETE)\b")


def test_no_widget_opens_the_workspace_or_writes_sql():
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(UI_DIR.glob("*.py")) if path.name not in SEAM
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OPENS_THE_WORKSPACE.search(line) or SQL.search(line)
    ]
    assert found == []
