"""Bulk edits: one value on many entries, leaving out those already there and counting what tightens."""

from __future__ import annotations

import pytest

from steward.catalogue.rules import tightens
from steward.workspace import bulk, journal, query
from steward.workspace.journal import SetField


@pytest.fixture
def three(workspace, clean_entry):
    entries = [
        clean_entry(sharing_type="unconditional"),
        clean_entry(sharing_type="conditional", sharing_conditions="仅限监管业务使用"),
        clean_entry(sharing_type="not_shared", sharing_conditions="依据保密法", open_type="not_open",
                    sharing_method_category=None, sharing_method_type=None),
    ]
    journal.apply(workspace, [journal.CreateEntry(e) for e in entries])
    return [e.id for e in entries]


@pytest.mark.parametrize(
    ("field", "old", "new", "expected"),
    [
        ("sharing_type", "unconditional", "conditional", True),
        ("sharing_type", "conditional", "not_shared", True),
        ("sharing_type", "not_shared", "unconditional", False),
        ("sharing_type", "conditional", "conditional", False),
        ("open_type", "unconditional", "not_open", True),
        ("open_type", "not_open", "conditional", False),
        ("sharing_type", None, "not_shared", False),  # nothing decided before: nothing to explain
        ("sharing_type", "bogus", "not_shared", False),
        ("update_frequency", "daily", "annual", False),
    ],
)
def test_tightens(field, old, new, expected):
    assert tightens(field, old, new) is expected


def test_current_values(workspace, three):
    with workspace.reading() as conn:
        values = bulk.current_values(conn, [*three, three[0], "gone"], ("sharing_type", "open_type"))
    assert values["sharing_type"] == dict(zip(three, ["unconditional", "conditional", "not_shared"], strict=True))
    assert values["open_type"][three[2]] == "not_open"
    with workspace.reading() as conn, pytest.raises(KeyError):
        bulk.current_values(conn, three, ("name",))


def test_plan_leaves_out_unchanged_and_counts_tightening_and_missing(workspace, three):
    with workspace.reading() as conn:
        current = bulk.current_values(conn, three, ("sharing_type",))["sharing_type"]
    result = bulk.plan([*three, three[1], "gone"], "sharing_type", "conditional", current)
    assert result.changes == [SetField(three[0], "sharing_type", "conditional"),
                              SetField(three[2], "sharing_type", "conditional")]
    assert (result.tightening, result.unchanged, result.missing) == (1, 1, 1)
    assert result.needs_reason

    loosening = bulk.plan(three, "sharing_type", "unconditional", current)
    assert (loosening.tightening, loosening.unchanged, loosening.needs_reason) == (0, 1, False)
    with pytest.raises(KeyError):
        bulk.plan(three, "name", "x", current)


def test_bulk_changes_apply_through_the_journal(workspace, three):
    with workspace.reading() as conn:
        changes, tightening = bulk.bulk_changes(conn, three, "open_type", "not_open")
    assert [c.entry_id for c in changes] == three[:2] and tightening == 2
    journal.apply(workspace, changes, reason="统一收紧")
    with workspace.reading() as conn:
        rows = query.rows(conn, query.entry_pks(conn, query.EntryFilter(open_types=frozenset({"not_open"}))))
    assert {r.id for r in rows} == set(three)
    assert {op.reason for op in journal.history(workspace, three[0])[1:]} == {"统一收紧"}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("sharing_type", "conditional", True),
        ("sharing_type", "有条件共享", False),  # labels are parsed before, keys are stored
        ("update_frequency", "annual", True),
        ("classification", "319001", True),
        ("classification", "31900", False),
        ("name", "anything", False),
        ("open_type", None, False),
    ],
)
def test_is_valid_value(field, value, expected):
    assert bulk.is_valid_value(field, value) is expected
