"""The sharing requests' lists and dialogs on their own: red when overdue, filtered as typed, reasons required."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from steward.catalogue.model import DataItem
from steward.sync.requests.inbox import Box
from steward.workspace import query
from tests.ui import sharing_requests
from tests.ui.conftest import make_entry
from ui.request_answer import AnswerDialog, Answering
from ui.request_form import RequestForm
from ui.request_trail import RequestTrailDialog
from ui.requests_view import OVERDUE, Column, RequestRow, RequestsDialog


def _inbox(qtbot, session, box: Box = Box.INBOX) -> RequestsDialog:
    dialog = RequestsDialog(session, box, lambda: None)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=5000)
    dialog.model.set_rows(sharing_requests.rows())
    return dialog


def _ok(dialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def test_an_overdue_request_is_red_and_says_by_how_much(qtbot, qtmodeltester, session):
    dialog = _inbox(qtbot, session)
    qtmodeltester.check(dialog.model)
    model = dialog.model
    left = model.columns.index(Column.LEFT)
    assert model.index(0, left).data(Qt.ItemDataRole.ForegroundRole) == OVERDUE
    assert model.index(0, left).data() == "overdue by 2 working day(s)"
    assert model.index(1, left).data(Qt.ItemDataRole.ForegroundRole) is None
    assert model.index(1, left).data() == "5 working day(s)"
    assert model.index(2, left).data() == ""  # answered: nothing is due


def test_the_list_filters_as_the_steward_types(qtbot, session):
    dialog = _inbox(qtbot, session, Box.MINE)
    dialog.search.setText("背景核查")  # the approval's conditions (typed: textChanged filters)
    assert dialog.model.rowCount() == 1
    assert dialog.model.request_row(0).summary.status == "approved"
    dialog.search.clear()
    assert dialog.model.rowCount() == 3


def test_the_filter_reads_what_the_columns_show_whatever_the_case_and_keeps_the_sort_and_selection(qtbot, session):
    dialog = _inbox(qtbot, session)
    code = dialog.model.columns.index(Column.CODE)
    rows = sharing_requests.rows()
    last = RequestRow(replace(rows[2].summary, request_id="0190b6a2-0000-7000-8000-00000000000f",
                              entry_code="319002/ABC900"), None)
    dialog.model.set_rows([*rows, last])
    dialog.view.sortByColumn(code, Qt.SortOrder.DescendingOrder)  # the header clicked: the model sorts
    assert dialog.model.request_row(0).summary.entry_code == "319002/ABC900"
    assert dialog.select(last.summary.request_id)
    dialog.search.setText("abc9")  # the code, typed in lower case
    assert dialog.model.rowCount() == 1
    assert dialog.current() == last
    dialog.search.setText("待提供部门答复")  # a status as shown, in the session's language
    assert dialog.model.rowCount() == 2 and dialog.current() is None
    dialog.search.setText("ABC900\n")  # no match across two columns' texts
    assert dialog.model.rowCount() == 0
    dialog.search.clear()
    assert dialog.model.request_row(0).summary.entry_code == "319002/ABC900"  # still sorted by code
    assert dialog.model.rowCount() == 4


def test_departments_show_by_name_with_their_code_and_by_code_until_named(qtbot, session):
    dialog = _inbox(qtbot, session, Box.MINE)
    using, provider = sharing_requests.USING, sharing_requests.PROVIDER
    requester = dialog.model.columns.index(Column.REQUESTER) if Column.REQUESTER in dialog.model.columns else None
    assert requester is None  # my requests name the department asked
    shown = dialog.model.columns.index(Column.PROVIDER)
    assert dialog.model.index(0, shown).data() == f"{sharing_requests.PROVIDER_NAME} ({provider})"
    answered = dialog.model.index(2, dialog.model.columns.index(Column.ANSWERED_BY)).data()
    assert answered == f"张三 ({sharing_requests.PROVIDER_NAME}, {provider})"
    dialog.search.setText(sharing_requests.PROVIDER_NAME[:4])  # found by the name as by the code
    assert dialog.model.rowCount() == 3
    dialog.search.clear()

    inbox_dialog = _inbox(qtbot, session)
    column = inbox_dialog.model.columns.index(Column.REQUESTER)
    assert inbox_dialog.model.index(0, column).data() == f"{sharing_requests.USING_NAME} ({using})"
    # Before the exchange has named the department (no sync since): its code, as it is.
    unnamed = sharing_requests.summary(named=False)
    inbox_dialog.model.set_rows([RequestRow(unnamed, None)])
    assert inbox_dialog.model.index(0, column).data() == using
    answer = AnswerDialog(Answering.REFUSE, unnamed, inbox_dialog)
    qtbot.addWidget(answer)
    assert using in answer.intro.text() and sharing_requests.USING_NAME not in answer.intro.text()


def test_the_answer_dialog_names_the_other_department(qtbot):
    named = sharing_requests.summary()
    approval = AnswerDialog(Answering.APPROVE, named)  # the inbox answers the department that asked
    qtbot.addWidget(approval)
    assert f"{sharing_requests.USING_NAME} ({sharing_requests.USING})" in approval.intro.text()
    withdrawal = AnswerDialog(Answering.WITHDRAW, named)  # my requests: the department asked
    qtbot.addWidget(withdrawal)
    assert f"{sharing_requests.PROVIDER_NAME} ({sharing_requests.PROVIDER})" in withdrawal.intro.text()


def test_the_trail_names_both_departments_and_each_signer_s(qtbot, session):
    dialog = RequestTrailDialog(session, sharing_requests.summary().request_id)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_loading(), timeout=5000)
    dialog.set_read(sharing_requests.trail())
    using = f"{sharing_requests.USING_NAME} ({sharing_requests.USING})"
    provider = f"{sharing_requests.PROVIDER_NAME} ({sharing_requests.PROVIDER})"
    assert dialog.labels["parties"][1].text() == f"{using} asks {provider}"
    signers = [dialog.model.item(n, dialog.SIGNER).text() for n in range(3)]
    assert signers == [f"李四 ({sharing_requests.USING_NAME}, {sharing_requests.USING})",
                       "王五 (the data authority)",
                       f"张三 ({sharing_requests.PROVIDER_NAME}, {sharing_requests.PROVIDER})"]


def test_the_inbox_answers_only_what_waits_for_an_answer(qtbot, session):
    dialog = _inbox(qtbot, session)
    dialog.view.selectRow(2)  # approved already
    assert not dialog.first_button.isEnabled() and dialog.trail_button.isEnabled()
    dialog.view.selectRow(1)
    assert dialog.first_button.isEnabled() and dialog.second_button.isEnabled()


def test_a_refusal_needs_a_reason_an_approval_does_not(qtbot):
    refusal = AnswerDialog(Answering.REFUSE, sharing_requests.summary())
    qtbot.addWidget(refusal)
    assert not _ok(refusal).isEnabled()
    refusal.text.setPlainText("\u3000 \u200b")  # blanks and an invisible character say nothing
    assert not _ok(refusal).isEnabled()
    refusal.show()
    qtbot.keyClick(refusal.text, Qt.Key.Key_Return)
    assert refusal.isVisible()  # Enter on a blank reason does nothing
    refusal.text.setPlainText("涉及个人信息")
    assert _ok(refusal).isEnabled()
    approval = AnswerDialog(Answering.APPROVE, sharing_requests.summary())
    qtbot.addWidget(approval)
    assert _ok(approval).isEnabled()


def test_the_form_lists_the_items_that_may_be_shared_and_needs_purpose_and_scenario(qtbot, session):
    entry_id = make_entry(session.workspace, code="319002/000950", items=[
        DataItem(name="企业名称", data_type="C", length=200, position=1),
        DataItem(name="法定代表人身份证号", data_type="C", position=2, sharing_type="not_shared",
                 open_type="not_open")])
    form = RequestForm(session, query.get_entry(session.workspace, entry_id), lambda: None)
    qtbot.addWidget(form)
    assert [form.items.item(n).text() for n in range(form.items.count())] == ["企业名称"]
    assert not _ok(form).isEnabled()
    form.purpose.setPlainText("核验")
    assert not _ok(form).isEnabled()
    form.scenario.setPlainText("背景核查")
    assert _ok(form).isEnabled()
    form.items.item(0).setCheckState(Qt.CheckState.Unchecked)
    assert not _ok(form).isEnabled()  # no data item asked for


def test_the_filter_texts_made_between_events_find_every_row(qtbot, session):
    dialog = _inbox(qtbot, session)
    first = sharing_requests.summary()
    many = [RequestRow(replace(first, request_id=f"0190b6a2-0000-7000-8000-{n:012d}", entry_code=f"319002/{n:06d}"),
                       None) for n in range(1201)]  # more than two slices
    dialog.model.set_rows(many)
    model = dialog.model
    model.prepare_filter()  # as the dialog does once the rows it read are shown
    qtbot.waitUntil(lambda: not model._after_paint.isActive() and not model._preparing.isActive(), timeout=5000)
    for n in (0, 499, 500, 1000, 1200):
        dialog.search.setText(f"319002/{n:06d}")
        assert [dialog.model.request_row(r).summary.entry_code for r in range(dialog.model.rowCount())] == \
            [f"319002/{n:06d}"]
    dialog.search.setText(sharing_requests.USING_NAME)
    assert dialog.model.rowCount() == 1201
