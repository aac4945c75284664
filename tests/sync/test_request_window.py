"""Sharing requests in the window, offscreen with a real exchange: a steward of department B applies for A's
entry in the form and syncs; the data authority passes the review; A answers in the inbox and syncs; B's
My requests shows the answer, its conditions and the verified signed trail."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDialogButtonBox

from exchange import cli as exchange_cli
from steward import sample
from steward.sync.requests import inbox
from steward.sync.requests.inbox import Box
from steward.workspace import journal
from steward.workspace.journal import CreateEntry
from tests.helpers import make_clean_entry
from tests.sync.sharing import CONDITIONAL
from ui.main_window import MainWindow
from ui.request_answer import AnswerDialog, Answering
from ui.request_form import RequestForm
from ui.request_trail import RequestTrailDialog
from ui.requests_view import Column
from ui.session import Session
from ui.settings import Settings

PROVIDER, USING = sample.DEPARTMENTS[0], sample.DEPARTMENTS[2]

# The window's side does not depend on the exchange's database: one kind is enough here.
pytestmark = pytest.mark.parametrize("exchange", ["sqlite"], indirect=True)


@pytest.fixture
def window_of(qapp, qtbot, tmp_path):
    made: list[MainWindow] = []

    def make(steward) -> MainWindow:
        settings = Settings(QSettings(str(tmp_path / f"settings{len(made)}.ini"), QSettings.Format.IniFormat))
        settings.exchange_url = steward.url
        window = MainWindow(Session(steward.ws, settings))
        qtbot.addWidget(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.session.runner.wait_all()


def _entry(steward, **fields):
    ws = steward.ws
    entry = make_clean_entry(provider=ws.department_name, provider_code=ws.department_code, **fields)
    journal.apply(ws, [CreateEntry(entry)])
    return entry


def _review(exchange, *args: str) -> None:
    local, _ = exchange
    assert exchange_cli.main(["review", *args, "--reviewer", "王五", "--db", local.db_url,
                              "--key-file", str(local.key_file)]) == 0


def _on_entry(qtbot, window: MainWindow, entry_id: str) -> None:
    """The window's table on the entry, as a click on its row puts it."""
    qtbot.waitUntil(lambda: window.model.rowCount() > 0, timeout=10000)
    window.select_entry(entry_id)
    qtbot.waitUntil(lambda: window.current_entry_id() == entry_id, timeout=5000)


def _ok(dialog) -> object:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def _loaded(qtbot, dialog) -> None:
    dialog.reload()
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=10000)


def _column(dialog, column: int) -> int:
    return dialog.model.columns.index(column)


def _cell(dialog, row: int, column: int) -> str:
    return dialog.model.index(row, _column(dialog, column)).data()


def test_two_departments_run_a_request_through_the_window(qtbot, exchange, make_steward, window_of):
    provider, using = make_steward(PROVIDER), make_steward(USING)
    entry = _entry(provider, sharing_type="conditional", sharing_conditions="经审批后共享", open_type="not_open",
                   items=CONDITIONAL.items)
    provider.sync()
    using.sync()

    # B applies for A's entry in the form, offline.
    b = window_of(using)
    _on_entry(qtbot, b, entry.id)
    assert b.request_action.isEnabled()
    assert b.request_action in b.table.row_menu().actions()  # offered on a right-click on the row as well
    form = b.apply_for_sharing()
    assert isinstance(form, RequestForm)
    assert not _ok(form).isEnabled()  # no purpose, no scenario yet
    form.purpose.setPlainText("核验企业登记信息")
    form.scenario.setPlainText("网约车驾驶员背景核查")
    assert form.items.count() == len(entry.items)
    for n in range(1, form.items.count()):
        form.items.item(n).setCheckState(Qt.CheckState.Unchecked)
    assert _ok(form).isEnabled()
    form.until.setDate(form.until.date().addDays(-30))
    qtbot.mouseClick(_ok(form), Qt.MouseButton.LeftButton)
    request_id = form.request_id
    assert request_id is not None
    mine = b.show_my_requests()
    _loaded(qtbot, mine)
    assert mine.model.rowCount() == 1
    assert mine.model.request_row(0).summary.status == inbox.UNSENT
    assert b.sync_controller.run() is not None  # sent at the sync
    _review(exchange, "pass", request_id)

    # A's inbox shows it with its due date, counted in the status bar after A's sync.
    a = window_of(provider)
    assert a.sync_controller.run() is not None
    qtbot.waitUntil(lambda: "1" in a.inbox_label.text(), timeout=10000)
    box = a.show_inbox()
    _loaded(qtbot, box)
    assert box.model.rowCount() == 1
    summary = box.model.request_row(0).summary
    assert summary.request_id == request_id and summary.due is not None and not summary.overdue
    assert _cell(box, 0, Column.DUE) == summary.due
    # B by its name as the exchange signed it, its code beside it (a steward knows no 18-character codes).
    assert _cell(box, 0, Column.REQUESTER) == f"{USING.name} ({USING.code})"
    assert "working day" in _cell(box, 0, Column.LEFT)
    box.search.setText("不在其中的字")
    assert box.model.rowCount() == 0  # the filter box finds nothing
    box.search.setText("核验企业")  # part of the purpose
    assert box.model.rowCount() == 1
    box.select(request_id)
    assert box.first_button.isEnabled() and box.second_button.isEnabled()

    # Refusing needs a reason: a blank one keeps OK off.
    refusal = box.answer(Answering.REFUSE)
    assert isinstance(refusal, AnswerDialog)
    refusal.text.setPlainText("\u3000  ")
    assert not _ok(refusal).isEnabled()
    refusal.reject()

    approval = box.answer(Answering.APPROVE)
    assert f"{USING.name} ({USING.code})" in approval.intro.text()
    approval.text.setPlainText("仅用于背景核查")
    with qtbot.waitSignal(box.signed, timeout=10000):
        qtbot.mouseClick(_ok(approval), Qt.MouseButton.LeftButton)
    assert a.sync_controller.run() is not None
    qtbot.waitUntil(lambda: "0" in a.inbox_label.text(), timeout=10000)

    # B's My requests: approved, who answered, A's conditions; the trail verified step by step.
    assert b.sync_controller.run() is not None
    _loaded(qtbot, mine)
    row = mine.model.request_row(0)
    assert row.summary.status == "approved"
    assert _cell(mine, 0, Column.CONDITIONS) == "仅用于背景核查"
    assert provider.ws.facts()["key_steward"] in _cell(mine, 0, Column.ANSWERED_BY)
    assert f"({PROVIDER.name}, {PROVIDER.code})" in _cell(mine, 0, Column.ANSWERED_BY)
    assert _cell(mine, 0, Column.PROVIDER) == f"{PROVIDER.name} ({PROVIDER.code})"
    mine.select(request_id)
    assert not mine.first_button.isEnabled() and not mine.second_button.isEnabled()  # nothing to escalate
    trail = mine.show_trail()
    assert isinstance(trail, RequestTrailDialog)
    qtbot.waitUntil(lambda: trail.model.rowCount() == 3, timeout=10000)
    kinds = [trail.model.item(n, trail.STEP).text() for n in range(3)]
    assert len(set(kinds)) == 3
    assert all("verified" in trail.model.item(n, trail.VERIFIED).text() for n in range(3))
    assert "王五" in trail.model.item(1, trail.SIGNER).text()
    assert f"({USING.name}, {USING.code})" in trail.model.item(0, trail.SIGNER).text()
    assert f"({PROVIDER.name}, {PROVIDER.code})" in trail.model.item(2, trail.SIGNER).text()
    assert trail.labels["parties"][1].text() == f"{USING.name} ({USING.code}) asks {PROVIDER.name} ({PROVIDER.code})"
    assert "仅用于背景核查" in trail.model.item(2, trail.SAYS).text()
    assert trail.labels["items"][1].text() == entry.items[0].name


def test_a_not_shared_entry_shows_its_legal_basis_instead_of_a_form(qtbot, exchange, make_steward, window_of):
    provider, using = make_steward(PROVIDER), make_steward(USING)
    entry = _entry(provider, sharing_type="not_shared", sharing_conditions="《条例》第十条", open_type="not_open")
    provider.sync()
    using.sync()
    b = window_of(using)
    _on_entry(qtbot, b, entry.id)
    notice = b.apply_for_sharing()
    assert not isinstance(notice, RequestForm)
    assert "《条例》第十条" in notice.informativeText()
    notice.close()
    assert [r for r in inbox.requests(using.ws, Box.MINE) if r.entry_id == entry.id] == []


def test_own_entries_are_not_applied_for(qtbot, exchange, make_steward, window_of):
    provider = make_steward(PROVIDER)
    entry = _entry(provider)
    a = window_of(provider)
    _on_entry(qtbot, a, entry.id)
    assert not a.request_action.isEnabled()
