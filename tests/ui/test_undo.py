"""Undo and redo in the window keep the reasons of what they take back and bring back."""

from __future__ import annotations

from steward.workspace import journal, query
from steward.workspace.journal import SetField
from tests.ui.conftest import make_entry


def _reasons(session, entry_id, field):
    return [op.reason for op in journal.history(session.workspace, entry_id) if op.field == field]


def test_redo_of_a_tightening_carries_its_reason(session):
    session.language = "zh"
    entry_id = make_entry(session.workspace)
    session.apply([SetField(entry_id, "open_type", "not_open")], "Edit", reason="涉及个人隐私")
    session.undo_stack.undo()
    assert query.get_entry(session.workspace, entry_id).open_type == "unconditional"
    session.undo_stack.redo()
    assert query.get_entry(session.workspace, entry_id).open_type == "not_open"
    assert _reasons(session, entry_id, "open_type") == ["涉及个人隐私", "撤销：涉及个人隐私", "涉及个人隐私"]
    session.undo_stack.undo()
    assert _reasons(session, entry_id, "open_type")[-1] == "撤销：涉及个人隐私"


def test_undoing_a_loosening_restores_the_restriction_and_says_why(session):
    session.language = "en"
    entry_id = make_entry(session.workspace, open_type="not_open")
    failures: list[str] = []
    session.failed.connect(failures.append)
    session.apply([SetField(entry_id, "open_type", "unconditional")], "Edit")
    session.undo_stack.undo()  # more restrictive again: not refused, and recorded as an undo
    assert failures == []
    assert query.get_entry(session.workspace, entry_id).open_type == "not_open"
    assert _reasons(session, entry_id, "open_type") == [None, "Undo of an earlier change"]
    session.undo_stack.redo()
    assert query.get_entry(session.workspace, entry_id).open_type == "unconditional"
