"""Demo mode: a local exchange and sample workspaces, so a newcomer can edit, sync and meet a conflict."""

from __future__ import annotations

import json
import os
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from steward.sync import conflicts
from steward.sync.requests import inbox
from steward.sync.requests.inbox import Box
from steward.workspace.journal import SetField, default_author
from steward.workspace.workspace import Workspace
from tests.helpers import ROOT, steward_env
from tests.ui.test_chinese_ui import english_in, english_in_modal
from ui import demo
from ui.demo_mode import DemoMode
from ui.demo_requests import REQUESTER
from ui.main_window import MainWindow
from ui.requests_view import Column
from ui.session import Session
from ui.settings import Settings

pytestmark = pytest.mark.usefixtures("memory_keyring")


@pytest.fixture
def demo_mode(qapp, tmp_path):
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    mode = DemoMode(demo.prepare(tmp_path / "demo"), settings)
    yield mode
    for window in mode.windows:
        window.close()
        window.session.runner.wait_all()
    mode.stop()


def test_a_newcomer_syncs_opens_a_second_steward_and_meets_a_conflict(qtbot, demo_mode, monkeypatch):
    shown: list[object] = []
    told: list[str] = []
    monkeypatch.setattr(MainWindow, "show_conflicts", lambda self: shown.append(self))
    for kind in ("information", "warning"):
        monkeypatch.setattr(QMessageBox, kind, lambda _parent, _title, text, *_a, **_k: told.append(text))
    first = MainWindow(Session(Workspace.open(demo_mode.demo.workspace_folder(1)), demo_mode.settings))
    qtbot.addWidget(first)
    demo_mode.attach(first)
    assert "DEMO" in first.windowTitle()
    report = first.sync_controller.run()  # no fingerprint to confirm, no passphrase to type: the demo pinned both
    # The demo starts synced (the sharing requests name its entries): the first sync finds nothing to send.
    assert report is not None and report.held_back
    second = demo_mode.open_second_steward()
    qtbot.addWidget(second)
    assert second.sync_controller.run().pulled >= 1
    with first.session.workspace.reading() as conn:
        entry_id = conn.exec_driver_sql(
            "SELECT id FROM entries WHERE dirty = 0 AND error_count = 0 ORDER BY pk LIMIT 1").scalar_one()
    first.session.apply([SetField(entry_id, "name", "管理员甲改的名称")], "rename")
    second.session.apply([SetField(entry_id, "name", "管理员乙改的名称")], "rename")
    first.sync_controller.run()
    second.sync_controller.run()
    [conflict] = conflicts.unresolved(second.session.workspace)
    assert (conflict.mine, conflict.theirs) == ("管理员乙改的名称", "管理员甲改的名称")
    assert shown == [second]  # the conflict dialog was offered
    # The sample's broken entries stay here, and the window says so: a link to them, not a box to close.
    assert second.not_sent_label.isVisibleTo(second) and "entries not sent" in second.not_sent_label.text()
    assert not any("not sent" in text for text in told)


def test_the_demo_has_sharing_requests_in_every_state_one_overdue(qtbot, demo_mode):
    """Made through the core and the demo's exchange: the trails are genuine signed steps, verified when pulled."""
    every_state = {"submitted", "awaiting_decision", "granted", "approved", "refused", "escalated", "denied",
                   "rejected", "withdrawn", "expired"}
    provider = MainWindow(Session(Workspace.open(demo_mode.demo.workspace_folder(1)), demo_mode.settings))
    qtbot.addWidget(provider)
    demo_mode.attach(provider)
    requester = demo_mode.open_requester()
    qtbot.addWidget(requester)
    assert requester.session.workspace.department_code == REQUESTER.code
    for window, box in ((requester, Box.MINE), (provider, Box.INBOX)):
        found = inbox.requests(window.session.workspace, box)
        assert {r.status for r in found} == every_state
        assert [r.status for r in found if r.overdue] == ["awaiting_decision"]
        for summary in found:
            assert all(step.verified for step in inbox.show(window.session.workspace, summary.request_id).trail)
    dialog = provider.show_inbox()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == len(found), timeout=10000)
    assert dialog.model.request_row(0).summary.overdue  # the soonest due first
    # The requesting department by the name the demo's exchange signed, its code beside it.
    assert {r.requester_name for r in found} == {REQUESTER.name}
    requester_column = dialog.model.columns.index(Column.REQUESTER)
    assert dialog.model.index(0, requester_column).data() == f"{REQUESTER.name} ({REQUESTER.code})"
    qtbot.waitUntil(lambda: "2" in provider.inbox_label.text(), timeout=10000)  # two wait for an answer


def test_steward_gui_demo_starts_with_its_own_data_folder(tmp_path):
    env = {**steward_env("en"), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "steward", "gui", "--demo", "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    timings = json.loads(done.stdout.strip().splitlines()[-1])
    assert timings["rows"] == 300
    folder = tmp_path / "data" / "Steward" / "demo"
    assert (folder / "exchange.sqlite").exists() and (folder / "steward-1" / "workspace.sqlite").exists()
    assert not (tmp_path / "data" / "Steward" / "workspace").exists()  # real work's folder untouched


def test_the_demo_speaks_chinese_in_the_chinese_ui(qtbot, demo_mode, chinese_ui):
    session = Session(Workspace.open(demo_mode.demo.workspace_folder(1)), demo_mode.settings)
    session.language = "zh"
    window = MainWindow(session)
    qtbot.addWidget(window)
    demo_mode.attach(window)
    assert window.windowTitle() == f"[演示：本地交换平台，示例数据] {demo.DEPARTMENT.name} — 数据资源目录管理"
    own = {default_author(), "sample"}
    [_second, _requester, explain] = window.menuBar().actions()[-1].menu().actions()
    assert not (found := english_in(window, own) + english_in_modal(qtbot, explain.trigger)), "\n".join(found)
