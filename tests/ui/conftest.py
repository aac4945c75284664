"""Fixtures for the window's tests: real widgets offscreen, a real workspace, isolated settings."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings

from steward import sample
from steward.workspace import journal
from steward.workspace.workspace import Workspace
from ui.session import Session
from ui.settings import Settings

DEPARTMENT = sample.DEPARTMENTS[0]


@pytest.fixture
def settings(tmp_path):
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def sample_workspace(tmp_path):
    """A workspace with 60 generated entries (a few break rules)."""
    ws = Workspace.create(tmp_path / "ws", DEPARTMENT.code, DEPARTMENT.name)
    entries = list(sample.generate(DEPARTMENT, 60, seed=5))
    journal.apply(ws, [journal.CreateEntry(e) for e in entries], reason="sample")
    yield ws
    ws.close()


@pytest.fixture
def session(qapp, sample_workspace, settings):
    s = Session(sample_workspace, settings)
    yield s
    s.runner.wait_all()
