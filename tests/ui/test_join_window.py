"""Joining with a profile in the window, offscreen, against a real exchange: the first-start dialog, File ▸ Open
profile…, and "waiting for approval" until the administrator approves, then a sync."""

from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox, QProgressDialog, QPushButton

from exchange import enrollment_requests, ledger, server_key
from steward import sample
from steward.catalogue.messages import render
from steward.sync import identity, joining, syncer
from steward.sync.keys import STORAGE_ENV, SigningKey, spaced
from steward.sync.profile import profile_bytes, read_profile, sign_profile
from steward.workspace.workspace import DB_FILE, Workspace, default_path
from tests.sync.conftest import running_exchange
from tests.sync.proxy import Proxy
from tests.ui.conftest import ids_where
from tests.ui.main_windows import close_window, open_window
from ui.first_start import FirstStartDialog
from ui.session import Session
from ui.settings import Settings

DEPARTMENT = sample.DEPARTMENTS[1]


@pytest.fixture(scope="module")
def local_exchange(tmp_path_factory) -> Iterator:
    with running_exchange("sqlite", tmp_path_factory.mktemp("exchange")) as running:
        yield running


def write_profile(local_exchange, folder: Path, **changes: str) -> Path:
    local, engine = local_exchange
    document = sign_profile(server_key.load(local.key_file), local.url, ledger.exchange_id(engine), DEPARTMENT.code,
                            DEPARTMENT.name)
    document.update(changes)
    path = folder / f"{DEPARTMENT.code}.steward-profile"
    path.write_bytes(profile_bytes(document))
    return path


def test_the_first_start_dialog_joins_with_a_profile(qtbot, tmp_path, local_exchange, memory_keyring):
    dialog = FirstStartDialog(default_folder=tmp_path / "ws", language="en")
    qtbot.addWidget(dialog)
    dialog.set_profile(write_profile(local_exchange, tmp_path))
    assert dialog.mode() == FirstStartDialog.JOIN and dialog.can_continue()
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted, dialog.error.text()
    with Workspace.open(dialog.chosen_path()) as ws:
        facts = ws.facts()
        assert (ws.department_code, facts["enrollment"]) == (DEPARTMENT.code, "pending")
        assert facts["exchange_key"] == server_key.load(local_exchange[0].key_file).public.to_b64()
    assert enrollment_requests.status(local_exchange[1], facts["key_id"]) == "pending"


def test_the_first_start_dialog_refuses_a_profile_whose_signature_does_not_verify(qtbot, tmp_path, local_exchange,
                                                                                 memory_keyring):
    dialog = FirstStartDialog(default_folder=tmp_path / "ws", language="en")
    qtbot.addWidget(dialog)
    dialog.set_profile(write_profile(local_exchange, tmp_path, department_name="另一个局"))
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "does not verify" in dialog.error.text()
    assert not (tmp_path / "ws" / DB_FILE).exists()


@pytest.fixture
def joined_session(qapp, tmp_path, local_exchange, memory_keyring) -> Iterator[Session]:
    joined = joining.join(tmp_path / "ws", read_profile(write_profile(local_exchange, tmp_path)), lambda _new: "")
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    ws = Workspace.open(joined.folder, for_writing=True)
    session = Session(ws, settings)
    yield session
    session.runner.wait_all()
    ws.close()


def test_the_window_says_it_waits_for_approval_and_syncs_once_approved(qtbot, joined_session, local_exchange,
                                                                       monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text, *_a: shown.append(text))
    window = open_window(qtbot, joined_session)
    try:
        qtbot.waitUntil(lambda: window.approval_label.isVisible(), timeout=10_000)
        assert "Waiting for approval" in window.approval_label.text()
        assert window.approval_timer.isActive()
        key_id = identity.require_key(joined_session.workspace).key_id
        window.sync()  # not enrolled yet: it says so in those words
        assert shown == [render("sync.awaiting_approval", {"key_id": key_id}, joined_session.language)]
        enrollment_requests.approve(local_exchange[1], server_key.load(local_exchange[0].key_file), key_id, "王五")
        window.check_approval()  # what the timer does: the key is enrolled now, so the window syncs
        qtbot.waitUntil(lambda: not window.approval_label.isVisible(), timeout=20_000)
        assert "enrollment" not in joined_session.workspace.facts()
        assert not window.approval_timer.isActive()
    finally:
        close_window(window)



def test_the_window_says_when_the_administrator_declines_and_stops_asking(qtbot, joined_session, local_exchange):
    window = open_window(qtbot, joined_session)
    try:
        qtbot.waitUntil(lambda: window.approval_label.isVisible(), timeout=10_000)
        key_id = identity.require_key(joined_session.workspace).key_id
        enrollment_requests.decline(local_exchange[1], server_key.load(local_exchange[0].key_file), key_id, "王五")
        window.check_approval()
        declined = render("sync.enrollment_declined", {"key_id": key_id}, joined_session.language)
        qtbot.waitUntil(lambda: window.approval_label.text() == declined, timeout=10_000)
        assert window.approval_label.isVisible() and not window.approval_timer.isActive()
        window._refresh_status()  # a later status refresh (an edit, a sync) keeps saying so
        joined_session.runner.wait_all()
        qtbot.waitUntil(lambda: window.approval_label.text() == declined and not window.approval_timer.isActive())
    finally:
        close_window(window)


def test_once_approved_a_sync_the_steward_puts_off_is_left_to_them_not_asked_for_again(
        qtbot, tmp_path, local_exchange, memory_keyring, monkeypatch):
    monkeypatch.setenv(STORAGE_ENV, "file")  # no keyring: the sync asks for the key's passphrase
    joined = joining.join(tmp_path / "ws", read_profile(write_profile(local_exchange, tmp_path)),
                          lambda _new: "a long passphrase")
    asked: list[str] = []
    monkeypatch.setattr(QInputDialog, "getText",
                        lambda _parent, title, *_a, **_k: (asked.append(title), ("", False))[1])
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    session = Session(Workspace.open(joined.folder, for_writing=True), settings)
    window = open_window(qtbot, session)
    try:
        qtbot.waitUntil(lambda: window.approval_label.isVisible(), timeout=10_000)
        enrollment_requests.approve(local_exchange[1], server_key.load(local_exchange[0].key_file), joined.key_id,
                                    "王五")
        window.check_approval()
        qtbot.waitUntil(lambda: len(asked) == 1, timeout=10_000)  # the sync asked; the steward said not now
        session.runner.wait_all()
        qtbot.waitUntil(lambda: window.approval_label.text() == window.approved_text(), timeout=10_000)
        assert window.approval_label.isVisible() and not window.approval_timer.isActive()
        window._refresh_status()
        session.runner.wait_all()
        qtbot.waitUntil(lambda: window.approval_label.text() == window.approved_text() and
                        not window.approval_timer.isActive())
        assert len(asked) == 1
    finally:
        close_window(window)
        session.close()

# File ▸ Open profile… ---------------------------------------------------------------------------------------------


def signed_profile(local_exchange, path: Path, department: sample.Department = DEPARTMENT, *, url: str | None = None,
                   key: SigningKey | None = None, exchange_id: str | None = None) -> Path:
    """A profile signed by `key` (the running exchange's by default) naming `url` (the running exchange's)."""
    local, engine = local_exchange
    document = sign_profile(key or server_key.load(local.key_file), url or local.url,
                            exchange_id or ledger.exchange_id(engine), department.code, department.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(profile_bytes(document))
    return path


@pytest.fixture
def told(monkeypatch) -> list[str]:
    """The texts of the message boxes the window shows (they would wait for a click)."""
    shown: list[str] = []
    for kind in ("information", "warning"):
        monkeypatch.setattr(QMessageBox, kind, lambda _parent, _title, text, *_a: shown.append(text))
    return shown


def entries_of(folder: Path) -> list[tuple[str, str]]:
    with Workspace.open(folder) as ws, ws.reading() as conn:
        return [tuple(row) for row in conn.exec_driver_sql("SELECT id, abstract FROM entries ORDER BY pk")]


def test_open_profile_makes_the_profiles_department_a_workspace_and_the_window_shows_it(
        qtbot, session, tmp_path, local_exchange, memory_keyring, told):
    a_folder = session.workspace.folder
    window = open_window(qtbot, session)
    entry_id = ids_where(session.workspace)[0]
    window.select_entry(entry_id)
    window.editor.field_widget("abstract").setPlainText("换工作区之前刚输入的摘要")  # typed, not saved yet
    before = [(i, "换工作区之前刚输入的摘要" if i == entry_id else a) for i, a in entries_of(a_folder)]

    dialog = window.open_profile(write_profile(local_exchange, tmp_path))
    assert dialog is not None
    # Offered: a folder of its own for the profile's department, beside the default workspace.
    assert dialog.folder_edit.text() == str(default_path().parent / DEPARTMENT.name)
    assert DEPARTMENT.name in dialog.summary.text() and local_exchange[0].url in dialog.summary.text()
    dialog.folder_edit.setText(str(tmp_path / "b"))
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted, dialog.error.text()

    new = window.successor
    try:
        assert new is not None and new is not window
        assert new.isVisible() and not window.isVisible()
        assert (new.session.workspace.folder, new.session.workspace.department_code) == (tmp_path / "b",
                                                                                         DEPARTMENT.code)
        assert new.windowTitle().startswith(DEPARTMENT.name)
        assert session.settings.last_workspace == str(tmp_path / "b")
        qtbot.waitUntil(lambda: new.approval_label.isVisible(), timeout=10_000)
        facts = new.session.workspace.facts()
        assert facts["enrollment"] == "pending"
        assert enrollment_requests.status(local_exchange[1], facts["key_id"]) == "pending"
        assert facts["key_id"] in told[-1] and DEPARTMENT.name in told[-1]
        # A is closed, and intact: its entries, with what was typed a moment before; no key, no exchange.
        assert session.closed
        assert entries_of(a_folder) == before
        with Workspace.open(a_folder) as a:
            assert a.department_code == sample.DEPARTMENTS[0].code
            assert not {"key_id", "exchange_key", "enrollment"} & set(a.facts())
    finally:
        if new is not None:
            close_window(new)
    assert new.session.closed  # the window a switch opened closes its own workspace as it closes


def test_open_profile_refuses_a_profile_whose_signature_does_not_verify_naming_the_file(
        qtbot, session, tmp_path, local_exchange, told):
    window = open_window(qtbot, session)
    try:
        tampered = write_profile(local_exchange, tmp_path, department_name="另一个局")
        assert window.open_profile(tampered) is None
        assert told == [render("profile.bad_signature", {"path": str(tampered)}, session.language)]
        assert window.successor is None and window.isVisible() and not session.closed
    finally:
        close_window(window)


def test_open_profile_refuses_a_profile_of_another_exchange_than_the_pinned_one(
        qtbot, session, tmp_path, local_exchange, told):
    local, engine = local_exchange
    exchange_key = server_key.load(local.key_file).public
    syncer.pin_exchange(session.workspace, local.url, ledger.exchange_id(engine), exchange_key)
    window = open_window(qtbot, session)
    try:
        other_key = SigningKey.generate()
        other = signed_profile(local_exchange, tmp_path / "other.steward-profile", url="http://127.0.0.1:1",
                               key=other_key, exchange_id="another-exchange")
        assert window.open_profile(other) is None
        assert told == [render("profile.other_exchange", {
            "url": local.url, "pinned": spaced(exchange_key.fingerprint),
            "offered": spaced(other_key.public.fingerprint)}, session.language)]
        assert window.successor is None and not session.closed
    finally:
        close_window(window)


def test_a_profile_naming_an_exchange_that_is_not_at_its_address_makes_nothing(
        qtbot, session, tmp_path, local_exchange, memory_keyring, told):
    window = open_window(qtbot, session)
    try:
        impostor_key = SigningKey.generate()
        impostor = signed_profile(local_exchange, tmp_path / "impostor.steward-profile", key=impostor_key,
                                  exchange_id="another-exchange")
        dialog = window.open_profile(impostor)
        dialog.folder_edit.setText(str(tmp_path / "b"))
        dialog.accept()
        assert dialog.result() != QDialog.DialogCode.Accepted
        assert dialog.error.text() == render("profile.exchange_mismatch", {
            "url": local_exchange[0].url, "expected": spaced(impostor_key.public.fingerprint),
            "offered": spaced(server_key.load(local_exchange[0].key_file).public.fingerprint)}, session.language)
        assert not (tmp_path / "b" / DB_FILE).exists()
        assert window.successor is None and not session.closed
    finally:
        close_window(window)


def test_a_folder_of_another_department_is_refused_and_one_joined_already_is_just_opened(
        qtbot, session, tmp_path, local_exchange, memory_keyring, told):
    local, _engine = local_exchange
    joined = joining.join(tmp_path / "b", read_profile(write_profile(local_exchange, tmp_path)), lambda _new: "")
    window = open_window(qtbot, session)
    new = None
    try:
        # The same exchange (its id and key) at an address where nothing answers: opening B must not need it.
        elsewhere = signed_profile(local_exchange, tmp_path / "elsewhere" / "p.steward-profile",
                                   url="http://127.0.0.1:1")
        dialog = window.open_profile(elsewhere)
        dialog.folder_edit.setText(str(session.workspace.folder))  # A: another department's workspace
        dialog.accept()
        assert dialog.result() != QDialog.DialogCode.Accepted
        assert dialog.error.text() == render("profile.other_department", {
            "department": f"{sample.DEPARTMENTS[0].name} {sample.DEPARTMENTS[0].code}",
            "profile": f"{DEPARTMENT.name} {DEPARTMENT.code}"}, session.language)
        dialog.folder_edit.setText(str(tmp_path / "b"))
        dialog.accept()
        assert dialog.result() == QDialog.DialogCode.Accepted, dialog.error.text()
        new = window.successor
        assert new is not None and new.session.workspace.folder == tmp_path / "b"
        assert new.session.workspace.facts()["key_id"] == joined.key_id
        assert new.session.workspace.facts()["exchange_url"] == local.url  # the pin is kept as it was
        qtbot.waitUntil(lambda: new.approval_label.isVisible(), timeout=10_000)
    finally:
        close_window(new or window)


def test_a_profile_of_the_open_workspaces_department_joins_it_in_place(
        qtbot, session, tmp_path, local_exchange, memory_keyring, told):
    window = open_window(qtbot, session)
    try:
        own = signed_profile(local_exchange, tmp_path / "own.steward-profile", sample.DEPARTMENTS[0])
        dialog = window.open_profile(own)
        assert dialog.folder_edit.text() == str(session.workspace.folder)
        assert dialog.focusWidget() is dialog.folder_edit
        qtbot.keyClick(dialog.folder_edit, Qt.Key.Key_Return)  # Enter joins, as the steward would press it
        assert dialog.result() == QDialog.DialogCode.Accepted, dialog.error.text()
        assert window.successor is None and window.isVisible() and not session.closed
        qtbot.waitUntil(lambda: window.approval_label.isVisible(), timeout=10_000)
        key_id = session.workspace.facts()["key_id"]
        assert enrollment_requests.status(local_exchange[1], key_id) == "pending"
        assert key_id in told[-1]
    finally:
        close_window(window)


@pytest.fixture
def hanging_exchange(local_exchange) -> Iterator[Proxy]:
    """A proxy in front of the exchange that holds `GET /v1/server` until the test ends."""
    release = threading.Event()
    proxy = Proxy(local_exchange[0].url)
    proxy.held = threading.Event()

    def on_request(method: str, path: str, _body: bytes) -> str:
        if method == "GET" and path.endswith("/server"):
            proxy.held.set()
            release.wait(120)
        return "forward"

    proxy.on_request = on_request
    yield proxy
    release.set()
    proxy.close()


def cancel_once_held(dialog: QDialog, proxy: Proxy) -> None:
    """Click the progress dialog's Cancel, as the steward would, once the proxy holds the request."""
    progress = dialog.findChild(QProgressDialog)
    if proxy.held.is_set() and progress is not None and progress.findChild(QPushButton) is not None:
        progress.findChild(QPushButton).click()
    else:
        QTimer.singleShot(20, lambda: cancel_once_held(dialog, proxy))


def test_the_first_start_dialogs_join_can_be_cancelled_while_the_exchange_is_slow(
        qtbot, tmp_path, local_exchange, memory_keyring, hanging_exchange):
    dialog = FirstStartDialog(default_folder=tmp_path / "ws", language="en")
    qtbot.addWidget(dialog)
    dialog.set_profile(signed_profile(local_exchange, tmp_path / "slow.steward-profile", url=hanging_exchange.url))
    QTimer.singleShot(0, lambda: cancel_once_held(dialog, hanging_exchange))
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert dialog.error.text().startswith("Joining was cancelled.")
    assert not (tmp_path / "ws" / DB_FILE).exists()


def test_joining_can_be_cancelled_while_the_exchange_is_slow_and_makes_nothing(
        qtbot, session, tmp_path, local_exchange, memory_keyring, told, hanging_exchange):
    window = open_window(qtbot, session)
    try:
        slow = signed_profile(local_exchange, tmp_path / "slow.steward-profile", url=hanging_exchange.url)
        dialog = window.open_profile(slow)
        dialog.folder_edit.setText(str(tmp_path / "b"))

        QTimer.singleShot(0, lambda: cancel_once_held(dialog, hanging_exchange))
        dialog.accept()
        assert dialog.result() != QDialog.DialogCode.Accepted
        assert dialog.error.text() == dialog.cancelled_text()
        assert not (tmp_path / "b" / DB_FILE).exists()
        assert window.successor is None and not session.closed
    finally:
        close_window(window)
