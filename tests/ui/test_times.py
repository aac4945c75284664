"""Times in the window read as local time, the same way everywhere (one function), not as stored UTC stamps."""

from __future__ import annotations

import time

import pytest

from steward.workspace import store
from ui.main_window import MainWindow
from ui.times import local_time

STORED = "2026-12-02T02:32:15.104274Z"  # as the syncer stores the last sync


@pytest.fixture
def shanghai(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_stored_time_reads_in_the_local_zone_to_the_second_or_minute(shanghai):
    assert local_time(STORED) == "2026-12-02 10:32:15"
    assert local_time(STORED, seconds=False) == "2026-12-02 10:32"
    assert local_time("2024-03-01T23:30:05.123+00:00") == "2024-03-02 07:30:05"  # the journal's own form
    assert local_time("not a time") == "not a time"


def test_the_last_sync_in_the_status_bar_is_local_time(qtbot, session, shanghai):
    with session.workspace.writing() as conn:
        store.set_meta(conn, {"last_sync": STORED})
    window = MainWindow(session)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: "2026" in window.last_sync_label.text(), timeout=5000)
    assert window.last_sync_label.text() == "Last sync: 2026-12-02 10:32"
    session.runner.wait_all()

