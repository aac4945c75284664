"""The sync's confirmation states what it publishes (issue 17), with a real exchange and a real window."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from steward.workspace import journal, query
from steward.workspace.journal import CreateEntry, SetField
from tests.helpers import make_clean_entry
from tests.ui.conftest import chinese_ui  # noqa: F401 - the fixture
from ui.main_window import MainWindow
from ui.session import Session
from ui.settings import Settings

# The window's side does not depend on the exchange's database: one kind is enough here.
pytestmark = pytest.mark.parametrize("exchange", ["sqlite"], indirect=True)


def _entry(steward, **fields):
    ws = steward.ws
    return make_clean_entry(provider=ws.department_name, provider_code=ws.department_code, **fields)


def test_the_sync_states_how_many_datasets_it_publishes_and_withdraws_before_it_sends(
        qtbot, make_steward, tmp_path, monkeypatch, chinese_ui):  # noqa: F811
    steward = make_steward()
    published = _entry(steward)
    journal.apply(steward.ws, [CreateEntry(published)])
    steward.sync()  # with what other tests left at the exchange: none of it is pending here
    new = [_entry(steward) for _ in range(3)]
    journal.apply(steward.ws, [CreateEntry(e) for e in new])
    journal.apply(steward.ws, [SetField(published.id, "open_type", "not_open")], reason="含个人信息")
    asked: list[str] = []
    answers = [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes]

    def question(_parent, _title, text, *_args):
        asked.append(text)
        return answers[len(asked) - 1]

    monkeypatch.setattr(QMessageBox, "question", question)
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.exchange_url = steward.url
    session = Session(steward.ws, settings)
    window = MainWindow(session)
    qtbot.addWidget(window)
    try:
        assert window.sync_controller.run() is None  # declined: nothing sent
        assert asked[0].startswith("本次同步将发布 3 个数据集，撤下 1 个，更改 0 个。")
        assert query.summary(steward.ws).unsynced == 4
        report = window.sync_controller.run()  # confirmed
        assert report is not None and report.pushed >= 1
        assert len(asked) == 2 and asked[1] == asked[0]
        assert query.summary(steward.ws).unsynced == 0
        assert window.sync_controller.run() is not None  # nothing to publish: nothing asked
        assert len(asked) == 2
    finally:
        session.runner.wait_all()
