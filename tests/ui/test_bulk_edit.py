"""Bulk edit: one field on many entries, one undo step, a reason when any entry becomes more restrictive."""

from __future__ import annotations

from PySide6.QtCore import Qt

from steward.catalogue.operations import OpKind
from steward.workspace import bulk, journal
from steward.workspace.journal import SetField
from tests.helpers import accept_pending
from tests.ui.conftest import ids_where, make_entry
from ui.bulk_edit import BulkEditDialog


def _values(workspace, field: str, ids: list[str]) -> dict[str, object]:
    with workspace.reading() as conn:
        return bulk.current_values(conn, ids, (field,))[field]


def _dialog(qtbot, session, ids: list[str]) -> BulkEditDialog:
    dialog = BulkEditDialog(session, ids)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.is_loaded, timeout=5000)
    return dialog


def _choose(qtbot, dialog: BulkEditDialog, field: str, value: str) -> None:
    dialog.set_field(field)
    dialog.set_value(value)
    qtbot.waitUntil(dialog.is_checked, timeout=5000)


def test_sets_the_value_on_every_entry_and_one_undo_restores_them(qtbot, session):
    ws = session.workspace
    ids = ids_where(ws, "update_frequency != 'quarterly'", 6)
    assert len(ids) == 6
    before = _values(ws, "update_frequency", ids)
    dialog = _dialog(qtbot, session, ids)
    _choose(qtbot, dialog, "update_frequency", "quarterly")
    assert dialog.can_apply()
    assert "6" in dialog.summary.text()

    with qtbot.waitSignal(dialog.applied, timeout=10000):
        dialog.accept()

    assert set(_values(ws, "update_frequency", ids).values()) == {"quarterly"}
    assert session.undo_stack.count() == 1
    session.undo_stack.undo()
    assert _values(ws, "update_frequency", ids) == before


def test_entries_already_at_the_value_are_left_out(qtbot, session):
    ws = session.workspace
    same = ids_where(ws, "update_frequency = 'daily'", 2)
    other = ids_where(ws, "update_frequency != 'daily'", 3)
    dialog = _dialog(qtbot, session, same + other)
    _choose(qtbot, dialog, "update_frequency", "daily")
    plan = dialog.plan()
    assert plan is not None
    assert {c.entry_id for c in plan.changes} == set(other)
    assert plan.unchanged == 2

    dialog.accept()

    group = journal.history(ws, other[0])[-1].group_id
    assert {op.entry_id for op in journal.group(ws, group)} == set(other)


def test_tightening_requires_a_reason_and_stores_it(qtbot, session):
    ws = session.workspace
    ids = ids_where(ws, "sharing_type = 'unconditional'", 3) + ids_where(ws, "sharing_type = 'conditional'", 2)
    dialog = _dialog(qtbot, session, ids)
    _choose(qtbot, dialog, "sharing_type", "conditional")
    assert dialog.plan().tightening == 3
    assert not dialog.can_apply()
    assert "required" in dialog.reason_label.text()

    dialog.accept()  # refused without a reason: nothing written
    assert session.undo_stack.count() == 0
    assert set(_values(ws, "sharing_type", ids[:3]).values()) == {"unconditional"}

    qtbot.keyClicks(dialog.reason_edit, "Contains personal data")
    assert dialog.can_apply()
    with qtbot.waitSignal(dialog.applied, timeout=10000):
        dialog.accept()

    for entry_id in ids[:3]:
        last = journal.history(ws, entry_id)[-1]
        assert (last.kind, last.field, last.new) == (OpKind.SET, "sharing_type", "conditional")
        assert last.reason == "Contains personal data"


def test_loosening_does_not_ask_for_a_reason(qtbot, session):
    ws = session.workspace
    ids = ids_where(ws, "open_type = 'not_open' AND sharing_type != 'not_shared'", 3)
    assert ids
    dialog = _dialog(qtbot, session, ids)
    _choose(qtbot, dialog, "open_type", "unconditional")
    assert dialog.plan().tightening == 0
    assert dialog.can_apply()
    assert "optional" in dialog.reason_label.text()

    dialog.accept()

    assert set(_values(ws, "open_type", ids).values()) == {"unconditional"}
    assert journal.history(ws, ids[0])[-1].reason is None


def test_vocabulary_values_are_shown_with_core_labels(qtbot, session):
    session.language = "zh"
    dialog = _dialog(qtbot, session, ids_where(session.workspace, "1", 2))
    dialog.set_field("sharing_type")
    labels = [dialog.value_combo.itemText(n) for n in range(dialog.value_combo.count())]
    assert labels == ["无条件共享", "有条件共享", "不予共享"]
    assert dialog.field_combo.currentText() == "共享类型"


def test_classification_must_be_valid_and_shows_its_levels(qtbot, session):
    ws = session.workspace
    ids = ids_where(ws, "classification != '202003'", 2)
    dialog = _dialog(qtbot, session, ids)
    dialog.set_field("classification")
    assert dialog.classification_edit.isVisibleTo(dialog)
    qtbot.keyClicks(dialog.classification_edit, "20")
    assert dialog.value() is None
    assert not dialog.can_apply()
    qtbot.keyClicks(dialog.classification_edit, "2003")
    qtbot.waitUntil(dialog.is_checked, timeout=5000)
    assert dialog.value() == "202003"
    assert "主题" in dialog.classification_hint.text()
    assert dialog.can_apply()
    dialog.accept()
    assert set(_values(ws, "classification", ids).values()) == {"202003"}


def test_letters_cannot_be_typed_into_the_classification(qtbot, session):
    dialog = _dialog(qtbot, session, ids_where(session.workspace, "1", 1))
    dialog.set_field("classification")
    qtbot.keyClicks(dialog.classification_edit, "4ab2x")  # only the 2 can start a classification
    assert dialog.classification_edit.text() == "2"
    assert not dialog.can_apply()


def test_nothing_to_change_keeps_ok_disabled(qtbot, session):
    ids = ids_where(session.workspace, "update_frequency = 'monthly'", 3)
    dialog = _dialog(qtbot, session, ids)
    dialog.set_field("update_frequency")
    dialog.set_value("monthly")
    assert dialog.plan().changes == []
    assert not dialog.can_apply()


def test_core_bulk_changes_counts_tightening(session):
    ws = session.workspace
    loose = ids_where(ws, "open_type = 'unconditional'", 4)
    closed = ids_where(ws, "open_type = 'not_open'", 2)
    with ws.reading() as conn:
        changes, tightening = bulk.bulk_changes(conn, [*loose, *closed, "no-such-id"], "open_type", "not_open")
    assert {c.entry_id for c in changes} == set(loose)
    assert tightening == 4
    assert not bulk.is_valid_value("open_type", "nonsense")
    assert bulk.is_valid_value("classification", "202003")


def test_labels_follow_a_language_change(qtbot, session):
    from PySide6.QtCore import QCoreApplication, QEvent

    session.language = "zh"
    dialog = _dialog(qtbot, session, ids_where(session.workspace, "1", 2))
    dialog.set_field("open_type")
    dialog.set_value("conditional")
    session.language = "en"
    QCoreApplication.sendEvent(dialog, QEvent(QEvent.Type.LanguageChange))
    assert dialog.field_combo.currentText() == "Open attribute"
    assert dialog.value_combo.currentText() == "Open on conditions"  # the choice survives the switch
    assert dialog.value() == "conditional"


def test_every_input_has_an_accessible_name(qtbot, session):
    from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit

    dialog = _dialog(qtbot, session, ids_where(session.workspace, "1", 1))
    inputs = dialog.findChildren(QComboBox) + dialog.findChildren(QLineEdit) + dialog.findChildren(QPlainTextEdit)
    assert inputs and all(w.accessibleName() for w in inputs)


# What the change would do, shown before it is made ------------------------------------------------


def test_the_errors_a_change_would_make_are_shown_before_it_is_made(qtbot, session):
    session.language = "en"
    ws = session.workspace
    bare = [make_entry(ws, code=f"319002/00091{n}") for n in range(4)]
    ready = make_entry(ws, code="319002/000920", sharing_conditions="仅限监管业务使用")
    dialog = _dialog(qtbot, session, [*bare, ready])
    _choose(qtbot, dialog, "sharing_type", "conditional")
    assert "5 entries will change." in dialog.summary.text()
    assert "5 of them become more restrictive: a reason is required." in dialog.summary.text()
    assert dialog.preview.text() == "4 entries would get this error: Sharing on conditions needs the conditions"

    _choose(qtbot, dialog, "update_frequency", "annual")
    assert dialog.preview.text() == "No new problems."
    assert "restrictive" not in dialog.summary.text()


def test_ok_waits_for_the_check(qtbot, session):
    ids = ids_where(session.workspace, "update_frequency != 'annual'", 3)
    dialog = _dialog(qtbot, session, ids)
    dialog.set_field("update_frequency")
    dialog.set_value("annual")
    assert not dialog.is_checked() and not dialog.can_apply()
    assert dialog.preview.text() == "Checking what the change would do…"
    qtbot.waitUntil(dialog.is_checked, timeout=5000)
    assert dialog.can_apply()


def test_a_change_stricter_than_the_exchange_has_it_needs_a_reason(qtbot, session):
    ws = session.workspace
    ids = [make_entry(ws, code=f"319002/00093{n}", sharing_type="conditional", sharing_conditions="仅限监管")
           for n in range(3)]
    accept_pending(ws, ids)  # the exchange has them conditional
    journal.apply(ws, [SetField(i, "sharing_type", None) for i in ids])  # cleared here: no reason asked
    dialog = _dialog(qtbot, session, ids)
    _choose(qtbot, dialog, "sharing_type", "not_shared")
    assert dialog.plan().tightening == 3
    assert not dialog.can_apply()


def test_the_reason_from_the_keyboard_enter_applies(qtbot, session):
    ws = session.workspace
    ids = ids_where(ws, "open_type = 'unconditional' AND sharing_type != 'not_shared'", 2)
    dialog = _dialog(qtbot, session, ids)
    dialog.show()
    qtbot.waitExposed(dialog)
    _choose(qtbot, dialog, "open_type", "not_open")
    dialog.reason_edit.setFocus()
    qtbot.keyClicks(dialog.reason_edit, "   ")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)  # a blank reason: nothing happens
    assert dialog.isVisible() and session.undo_stack.count() == 0
    assert dialog.reason_edit.toPlainText() == "   "
    qtbot.keyClicks(dialog.reason_edit, "personal data")
    qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Tab)
    assert not dialog.reason_edit.hasFocus() and "\t" not in dialog.reason_edit.toPlainText()
    dialog.reason_edit.setFocus()
    with qtbot.waitSignal(dialog.applied, timeout=10000):
        qtbot.keyClick(dialog.reason_edit, Qt.Key.Key_Return)
    assert journal.history(ws, ids[0])[-1].reason == "personal data"
