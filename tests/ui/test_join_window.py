"""Joining with a profile in the window, offscreen, against a real exchange: the first-start dialog, File ▸ Open
profile…, and "waiting for approval" until the administrator approves, then a sync."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QMessageBox

from exchange import enrollment_requests, ledger, server_key
from steward import sample
from steward.catalogue.messages import render
from steward.sync import identity, joining
from steward.sync.profile import profile_bytes, read_profile, sign_profile
from steward.workspace.workspace import DB_FILE, Workspace
from tests.sync.conftest import running_exchange
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


def test_open_profile_in_the_window_joins_its_workspace_and_refuses_another_departments(
        qtbot, qapp, tmp_path, local_exchange, memory_keyring, monkeypatch):
    told: list[str] = []
    for kind in ("information", "warning"):
        monkeypatch.setattr(QMessageBox, kind, lambda _parent, _title, text, *_a: told.append(text))
    ws = Workspace.create(tmp_path / "own", DEPARTMENT.code, DEPARTMENT.name)
    identity.create_key(ws, lambda _new: "")
    session = Session(ws, Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    window = open_window(qtbot, session)
    try:
        joined = window.open_profile(write_profile(local_exchange, tmp_path))
        assert joined is not None and joined.status == "pending"
        assert joined.key_id in told[-1] and DEPARTMENT.name in told[-1]
        qtbot.waitUntil(lambda: window.approval_label.isVisible(), timeout=10_000)
        other = tmp_path / "other"
        other.mkdir()
        local, engine = local_exchange
        document = sign_profile(server_key.load(local.key_file), local.url, ledger.exchange_id(engine),
                                sample.DEPARTMENTS[2].code, sample.DEPARTMENTS[2].name)
        (other / "p.steward-profile").write_bytes(profile_bytes(document))
        assert window.open_profile(other / "p.steward-profile") is None
        assert told[-1] == render("profile.other_department", {
            "department": f"{DEPARTMENT.name} {DEPARTMENT.code}",
            "profile": f"{sample.DEPARTMENTS[2].name} {sample.DEPARTMENTS[2].code}"}, session.language)
    finally:
        close_window(window)
        session.runner.wait_all()
        ws.close()
