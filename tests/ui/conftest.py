"""Fixtures for the window's tests: real widgets offscreen, a real workspace, isolated settings."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings

from steward import sample
from steward.catalogue.model import DataItem, Entry
from steward.sync.keys import SigningKey
from steward.sync.profile import Profile, parse_profile, profile_bytes, sign_profile
from steward.workspace import journal, query
from steward.workspace.workspace import Workspace
from ui.entry_editor import EntryEditor
from ui.i18n import Translators
from ui.resources import resource_dir
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


@pytest.fixture
def editor(qtbot, session):
    widget = EntryEditor(session)
    qtbot.addWidget(widget)
    widget.resize(700, 900)
    return widget


def make_entry(workspace, **fields) -> str:
    """A clean entry (no problems) with `fields` changed, stored outside the undo stack; returns its id."""
    values = dict(
        classification="319002",
        name="企业登记信息",
        code="319002/000901",
        provider=DEPARTMENT.name,
        provider_code=DEPARTMENT.code,
        abstract="记录企业登记的基本情况",
        format_category="database",
        format_type="MySQL",
        sharing_type="unconditional",
        sharing_method_category="platform",
        sharing_method_type="interface",
        open_type="unconditional",
        update_frequency="daily",
        published="2020-05-01",
        items=[DataItem(name="企业名称", data_type="C", length=200, position=1),
               DataItem(name="成立日期", data_type="D", position=2)],
    )
    values.update(fields)
    entry = Entry(**values)
    journal.apply(workspace, [journal.CreateEntry(entry)], reason="test")
    return entry.id


def ids_where(workspace, where: str = "1", limit: int = 5) -> list[str]:
    """Ids of the first entries (in the order they were made) matching an SQL condition on `entries`."""
    with workspace.reading() as conn:
        return list(conn.exec_driver_sql(f"SELECT id FROM entries WHERE {where} ORDER BY pk LIMIT {limit}").scalars())


def a_profile() -> Profile:
    """A department's profile as a dialog shows it (signed by a key of no running exchange)."""
    key = SigningKey.generate()
    return parse_profile(profile_bytes(sign_profile(key, "https://exchange.example:8443", "exchange-1",
                                                    sample.DEPARTMENTS[1].code, sample.DEPARTMENTS[1].name)),
                         "p.steward-profile")


def first_entry(workspace, where: str = "1") -> Entry:
    """The first entry matching an SQL condition on `entries`."""
    return query.get_entry(workspace, ids_where(workspace, where, 1)[0])


@pytest.fixture
def chinese_ui(qapp):
    """The UI in Chinese, as for a steward who chose it: Qt's catalogues and ours installed, English again after."""
    folder = resource_dir() / "translations"
    for ts in folder.glob("*.ts"):
        qm = ts.with_suffix(".qm")
        assert qm.is_file() and qm.stat().st_mtime >= ts.stat().st_mtime, f"{qm.name} is out of date: make translations"
    translators = Translators()
    assert translators.install(qapp, "zh_CN") == "zh_CN"
    yield translators
    translators.install(qapp, "en")
