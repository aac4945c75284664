"""The window's side of sync, offscreen with a real exchange: the Sync action and the conflict dialog."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QProgressDialog, QPushButton

from steward.sync import conflicts, syncer
from steward.sync.conflicts import Take
from steward.sync.keys import SigningKey
from steward.workspace import journal, query
from steward.workspace.journal import CreateEntry, SetField
from tests.helpers import make_clean_entry
from tests.sync.proxy import Proxy
from tests.sync.tls import Authority, SilentServer, TlsServer
from ui.conflict_dialog import ConflictDialog
from ui.main_window import MainWindow
from ui.session import Session
from ui.settings import Settings
from ui.settings_dialog import SettingsDialog
from ui.times import local_time


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


def test_the_sync_names_each_entry_the_exchange_refused_and_why(qtbot, make_steward, session_of, monkeypatch):
    steward = make_steward()
    entry = make_clean_entry(provider=steward.ws.department_name, provider_code=steward.ws.department_code)
    journal.apply(steward.ws, [CreateEntry(entry)])
    steward.sync()
    journal.apply(steward.ws, [SetField(entry.id, "name", "新名称")])
    with steward.ws.writing() as conn:  # as a Steward without the character rule stored it: unmarked
        conn.exec_driver_sql("UPDATE entries SET name = '名称\x85' WHERE id = ?", (entry.id,))
    session = session_of(steward)
    session.language = "en"
    window = MainWindow(session)
    qtbot.addWidget(window)
    report = window.sync_controller.run()
    assert report is not None and [h.reason for h in report.held_back] == ["refused"]
    window.not_sent_label.linkActivated.emit("not-sent")
    dialog = window.not_sent_dialog
    rows = [[dialog.model.index(r, c).data() for c in range(3)] for r in range(dialog.model.rowCount())]
    assert rows == [[entry.code, "名称\x85", "refused by the exchange: name: contains the refused character U+0085"]]


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


# The network's failures, seen from the window ----------------------------------------------------


def _settle(qtbot, window) -> None:
    """Let the window's status refresh land while the window still exists (it is deleted after the test)."""
    qtbot.waitUntil(lambda: not window._status_timer.isActive(), timeout=5000)
    window.session.runner.wait_all()
    QApplication.processEvents()


def _warnings(monkeypatch) -> list[str]:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *_a: shown.append(text))
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    return shown


def test_a_proxy_login_entered_in_the_settings_is_used_by_the_sync(qtbot, make_steward, session_of, monkeypatch,
                                                                  tmp_path):
    steward = make_steward()
    journal.apply(steward.ws, [CreateEntry(make_clean_entry(provider=steward.ws.department_name,
                                                            provider_code=steward.ws.department_code))])
    _warnings(monkeypatch)
    proxy = Proxy(auth=("alice", "s3cret"))
    try:
        session = session_of(steward)
        dialog = SettingsDialog(session.settings)
        qtbot.addWidget(dialog)
        dialog.proxy_edit.setText(f"http://alice:s3cret@127.0.0.1:{proxy.port}")
        dialog.accept()
        window = MainWindow(session)
        qtbot.addWidget(window)
        report = window.sync_controller.run()
        _settle(qtbot, window)
    finally:
        proxy.close()
    assert report is not None and report.pushed == 1
    assert proxy.requests and all(h.get("Proxy-Authorization") for h in proxy.headers)
    settings_files = list(tmp_path.glob("settings*.ini"))
    assert settings_files and all("s3cret" not in f.read_text() for f in settings_files)


def test_a_hung_exchange_shows_still_waiting_and_ends_with_a_message(qtbot, make_steward, session_of, monkeypatch):
    steward = make_steward()
    silent = SilentServer()
    syncer.pin_exchange(steward.ws, silent.url, "hung", SigningKey.generate().public)
    shown = _warnings(monkeypatch)
    session = session_of(steward)
    session.language = "en"
    session.settings.exchange_url = silent.url
    session.settings.read_timeout = 1
    session.settings.sync_deadline = 3
    window = MainWindow(session)
    qtbot.addWidget(window)
    waiting: list[str] = []
    labels: list[str] = []

    def seen(text: str) -> None:
        waiting.append(text)
        labels.extend(d.labelText() for d in window.findChildren(QProgressDialog))

    window.sync_controller.still_waiting.connect(seen)
    try:
        assert window.sync_controller.run() is None
        _settle(qtbot, window)
    finally:
        silent.close()
    assert waiting and "Still waiting for the exchange" in waiting[0]
    assert any("Still waiting for the exchange" in label for label in labels), labels  # in the progress dialog
    assert len(shown) == 1 and ("did not answer within 1 s" in shown[0] or "stopped after 3 s" in shown[0]), shown


def test_an_untrusted_certificate_is_explained_in_the_window(qtbot, make_steward, session_of, monkeypatch, tmp_path):
    steward = make_steward()
    authority = Authority(tmp_path)
    server = TlsServer(*authority.server_files(authority.leaf(), send_intermediate=False))
    shown = _warnings(monkeypatch)
    session = session_of(steward)
    session.language = "en"
    session.settings.exchange_url = server.url
    window = MainWindow(session)
    qtbot.addWidget(window)
    try:
        assert window.sync_controller.run() is None
        _settle(qtbot, window)
    finally:
        server.close()
    assert len(shown) == 1 and "Steward Test Root CA" in shown[0] and "does not trust" in shown[0], shown


def test_a_certificate_bundle_gone_since_it_was_chosen_is_named_not_a_crash(qtbot, make_steward, session_of,
                                                                           monkeypatch, tmp_path):
    steward = make_steward()
    bundle = Authority(tmp_path).bundle
    shown = _warnings(monkeypatch)
    session = session_of(steward)
    session.language = "en"
    session.settings.ca_bundle = str(bundle)
    bundle.unlink()  # moved away after it was set
    window = MainWindow(session)
    qtbot.addWidget(window)
    assert window.sync_controller.run() is None
    _settle(qtbot, window)
    assert len(shown) == 1 and str(bundle) in shown[0] and "does not exist" in shown[0], shown


# The result in a steward's words, and what a sync does to the window --------------------------------


def _create(steward, count=1, **overrides):
    entries = [make_clean_entry(provider=steward.ws.department_name, provider_code=steward.ws.department_code,
                                **overrides) for _ in range(count)]
    journal.apply(steward.ws, [CreateEntry(e) for e in entries])
    return entries


def _boxes(monkeypatch) -> list[str]:
    """Every message box the sync shows, whatever its kind (the fingerprint is confirmed)."""
    shown: list[str] = []
    for kind in ("warning", "information"):
        monkeypatch.setattr(QMessageBox, kind, lambda _parent, _title, text, *_a: shown.append(text))
    monkeypatch.setattr(QMessageBox, "question", lambda *_a: QMessageBox.StandardButton.Yes)
    return shown


def _english_window(qtbot, session) -> MainWindow:
    session.language = "en"
    window = MainWindow(session)
    qtbot.addWidget(window)
    return window


def test_the_result_says_how_many_entries_came_and_went(qtbot, make_steward, session_of, monkeypatch):
    alice, bob = make_steward(), make_steward()
    alice.sync()  # what other tests left at the exchange is here before counting starts
    bob.sync()
    first, _second = _create(alice, 2)
    boxes = _boxes(monkeypatch)
    window = _english_window(qtbot, session_of(alice))
    assert window.sync_controller.run() is not None
    assert window.statusBar().currentMessage() == "Synced: received 0 update(s), sent 2 change(s)"
    _settle(qtbot, window)
    # Bob receives both; then Alice changes two fields of one entry: one change, received as one update.
    bobs = _english_window(qtbot, session_of(bob))
    bobs.sync_controller.run()
    assert bobs.statusBar().currentMessage() == "Synced: received 2 update(s), sent 0 change(s)"
    journal.apply(alice.ws, [SetField(first.id, "name", "新名称"), SetField(first.id, "update_frequency", "weekly")])
    window.sync_controller.run()
    assert window.statusBar().currentMessage() == "Synced: received 0 update(s), sent 1 change(s)"
    bobs.sync_controller.run()
    assert bobs.statusBar().currentMessage() == "Synced: received 1 update(s), sent 0 change(s)"
    assert boxes == []  # nothing else to read: no box to close
    _settle(qtbot, window)
    _settle(qtbot, bobs)


def test_entries_not_sent_are_a_link_to_each_with_its_reason(qtbot, make_steward, session_of, monkeypatch):
    _alice, bob, in_conflict = _conflicting(make_steward)
    [broken] = _create(bob, sharing_type="conditional", sharing_conditions="")
    boxes = _boxes(monkeypatch)
    window = _english_window(qtbot, session_of(bob))
    window.show_conflicts = lambda: None  # the conflict dialog has tests of its own
    window.sync_controller.run()
    assert boxes == []
    assert window.not_sent_label.isVisibleTo(window)
    assert "2 entries not sent" in window.not_sent_label.text() and "<a " in window.not_sent_label.text()
    window.not_sent_label.linkActivated.emit("not-sent")
    dialog = window.not_sent_dialog
    assert dialog is not None and dialog.isVisible()
    rows = {dialog.model.index(r, 0).data(): [dialog.model.index(r, c).data() for c in range(3)]
            for r in range(dialog.model.rowCount())}
    assert rows[broken.code][1:] == [broken.name, "rule errors"]
    assert rows[in_conflict.code][2] == "unresolved conflicts"
    row = next(r for r in range(dialog.model.rowCount()) if dialog.model.index(r, 0).data() == broken.code)
    dialog.view.activated.emit(dialog.model.index(row, 1))
    qtbot.waitUntil(lambda: window.current_entry_id() == broken.id, timeout=5000)
    _settle(qtbot, window)


def test_the_conflict_dialog_closes_itself_when_the_last_conflict_is_resolved(qtbot, make_steward, session_of):
    _alice, bob, entry = _conflicting(make_steward)
    dialog = _dialog(qtbot, session_of(bob))
    [conflict] = conflicts.unresolved(bob.ws)
    assert dialog.found_label.text() == f"Found by the sync of {local_time(conflict.created_at, seconds=False)}"
    dialog.model.choose(0, Take.THEIRS)
    dialog.apply()
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert bob.entry(entry.id).name == "甲的名称"


def test_cancel_ends_a_hung_sync_at_once_and_a_second_sync_waits_its_turn(qtbot, make_steward, session_of,
                                                                          monkeypatch):
    """The exchange hangs for two minutes on the feed; Cancel ends the sync without waiting for it."""
    steward = make_steward()
    _create(steward)
    held, release = threading.Event(), threading.Event()
    proxy = Proxy(steward.url)

    def hang_the_feed(_method: str, path: str, _body: bytes) -> str:
        if "/feed" in path:
            held.set()
            release.wait(120)
        return "forward"

    proxy.on_request = hang_the_feed
    boxes = _boxes(monkeypatch)
    session = session_of(steward)
    session.settings.exchange_url = proxy.url
    session.settings.read_timeout = 30  # still longer than the bound below: only the cancel can end it sooner
    window = _english_window(qtbot, session)
    seen: dict[str, object] = {}
    late: list[bool] = []
    # A generous bound, not a measurement: after it the hang is released so that a failing test ends too.
    watchdog = QTimer(window, singleShot=True, interval=10_000)
    watchdog.timeout.connect(lambda: (late.append(True), release.set()))

    def while_hung() -> None:
        if not held.is_set():
            return
        poll.stop()
        asked = len(proxy.requests)
        window.sync_action.trigger()  # Ctrl+S again, while the first sync waits
        seen["second"] = window.statusBar().currentMessage()
        seen["asked"] = len(proxy.requests) - asked
        progress = next(d for d in window.findChildren(QProgressDialog) if d.windowTitle().startswith("Syncing"))
        watchdog.start()
        progress.findChild(QPushButton).click()  # its Cancel button (the cancel() slot alone tells nobody)

    poll = QTimer(window, interval=50)
    poll.timeout.connect(while_hung)
    poll.start()
    try:
        report = window.sync_controller.run()
    finally:
        watchdog.stop()
        release.set()
        proxy.close()
    assert not late, "the sync waited for the exchange after Cancel"
    assert report is None
    assert boxes == ["Sync cancelled: what was finished is kept; the next sync continues."]
    assert seen["second"] == "A sync is already running." and seen["asked"] == 0
    _settle(qtbot, window)
    session.settings.exchange_url = steward.url
    assert window.sync_controller.run() is not None  # nothing was left half done
    assert query.summary(steward.ws).unsynced == 0
    _settle(qtbot, window)


def test_the_selection_and_the_current_entry_stay_through_a_sync(qtbot, make_steward, session_of, monkeypatch):
    steward = make_steward()
    entries = _create(steward, 80)
    _boxes(monkeypatch)
    window = _english_window(qtbot, session_of(steward))
    window.resize(1200, 500)
    window.show()
    qtbot.waitUntil(lambda: window.model.rowCount() == 80, timeout=5000)
    table = window.table
    flags = QItemSelectionModel.SelectionFlag
    table.selectionModel().select(QItemSelection(window.model.index(60, 0), window.model.index(62, 6)),
                                  flags.ClearAndSelect)
    table.selectionModel().setCurrentIndex(window.model.index(61, 0), flags.NoUpdate)
    table.scrollTo(window.model.index(61, 0))
    chosen = {window.model.entry_id(r) for r in (60, 61, 62)}
    current = window.model.entry_id(61)
    assert window.sync_controller.run() is not None
    qtbot.waitUntil(lambda: not window.model._reading.loading, timeout=5000)
    QApplication.processEvents()
    assert {window.model.entry_id(r) for r in window.selected_rows()} == chosen
    assert window.current_entry_id() == current == window.model.entry_id(table.currentIndex().row())
    assert table.viewport().rect().contains(table.visualRect(table.currentIndex()).center())
    assert len(entries) == 80
    _settle(qtbot, window)
