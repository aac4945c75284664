"""The window's side of sync, offscreen with a real exchange: the Sync action and the conflict dialog."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from steward.sync import conflicts
from steward.sync.conflicts import Take
from steward.workspace import journal, query
from steward.workspace.journal import CreateEntry, SetField
from tests.helpers import make_clean_entry
from ui.conflict_dialog import ConflictDialog
from ui.main_window import MainWindow
from ui.session import Session
from ui.settings import Settings


@pytest.fixture
def session_of(qapp, tmp_path):
    made = []

    def make(steward) -> Session:
        settings = Settings(QSettings(str(tmp_path / f"settings{len(made)}.ini"), QSettings.Format.IniFormat))
        settings.exchange_url = steward.url
        session = Session(steward.ws, settings)
        made.append(session)
        return session

    yield make
    for session in made:
        session.runner.wait_all()


def _conflicting(make_steward):
    """Alice and Bob renamed the same entry differently; Alice synced first, Bob's sync found the conflict."""
    alice, bob = make_steward(), make_steward()
    entry = make_clean_entry(provider=alice.ws.department_name, provider_code=alice.ws.department_code)
    journal.apply(alice.ws, [CreateEntry(entry)])
    alice.sync()
    bob.sync()
    journal.apply(alice.ws, [SetField(entry.id, "name", "甲的名称")])
    journal.apply(bob.ws, [SetField(entry.id, "name", "乙的名称"),
                           SetField(entry.id, "update_frequency", "weekly")])
    alice.sync()
    assert bob.sync().conflicts == 1
    return alice, bob, entry


def _dialog(qtbot, session) -> ConflictDialog:
    dialog = ConflictDialog(session)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=5000)
    return dialog


def test_a_conflict_on_one_field_is_resolved_through_the_dialog(qtbot, qtmodeltester, make_steward, session_of):
    alice, bob, entry = _conflicting(make_steward)
    dialog = _dialog(qtbot, session_of(bob))
    qtmodeltester.check(dialog.model)
    model = dialog.model
    texts = [model.index(0, c).data() for c in range(4)]
    assert texts[1:] == ["乙的名称", "(choose)", "甲的名称"]
    assert not dialog.apply_button.isEnabled()  # no choice yet
    model.setData(model.index(0, model.MERGED), "商定后的名称")
    assert dialog.apply_button.isEnabled()
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=5000)
    assert conflicts.unresolved(bob.ws) == []
    assert bob.entry(entry.id).name == "商定后的名称"
    bob.sync()
    alice.sync()
    assert alice.entry(entry.id).name == "商定后的名称"
    assert alice.entry(entry.id).update_frequency == "weekly"  # Bob's other change merged without a conflict


def test_taking_theirs_with_the_keyboard(qtbot, make_steward, session_of):
    _alice, bob, entry = _conflicting(make_steward)
    dialog = _dialog(qtbot, session_of(bob))
    dialog.table.selectRow(0)
    qtbot.keyClick(dialog, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyRelease(dialog, Qt.Key.Key_Control)  # or Qt keeps Ctrl as held for the tests that follow
    assert dialog.model.choices == {dialog.model.rows[0].id: Take.THEIRS}
    dialog.apply()
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 0, timeout=5000)
    assert bob.entry(entry.id).name == "甲的名称"


def test_the_sync_action_confirms_the_exchange_then_syncs(qtbot, make_steward, session_of, monkeypatch):
    steward = make_steward()
    entry = make_clean_entry(provider=steward.ws.department_name, provider_code=steward.ws.department_code)
    journal.apply(steward.ws, [CreateEntry(entry)])
    shown: list[str] = []

    def confirm(_parent, _title, text, *_args):
        shown.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", confirm)
    window = MainWindow(session_of(steward))
    qtbot.addWidget(window)
    report = window.sync_controller.run()
    assert report is not None and report.pushed == 1
    assert any(steward.server_fingerprint[:4] in text for text in shown)  # the fingerprint was shown
    assert query.summary(steward.ws).unsynced == 0
    qtbot.waitUntil(lambda: "0" in window.unsynced_label.text(), timeout=5000)


def test_the_history_shows_a_synced_change_with_its_steward_department_and_signature(qtbot, make_steward, session_of):
    from ui.history_view import HistoryDialog

    alice, bob = make_steward(), make_steward()
    entry = make_clean_entry(provider=alice.ws.department_name, provider_code=alice.ws.department_code)
    journal.apply(alice.ws, [CreateEntry(entry)])
    alice.sync()
    bob.sync()
    dialog = HistoryDialog(session_of(bob), entry.id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.model.rowCount() > 0, timeout=5000)
    row = [dialog.model.index(0, c).data() for c in range(dialog.model.columnCount())]
    assert "测试员1" in " ".join(map(str, row)) and alice.ws.department_code in " ".join(map(str, row))
    assert "From the exchange, signature verified" in row
