"""Bulk edits: one value on many entries, leaving out those already there and counting what tightens."""

from __future__ import annotations

import pytest

from steward.catalogue.errors import StewardError
from steward.catalogue.rules import tightens
from steward.workspace import bulk, journal, query
from steward.workspace.journal import SetField
from tests.helpers import accept_pending


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


@pytest.mark.parametrize(
    ("old", "new", "synced", "expected"),
    [
        (None, "not_shared", "conditional", True),  # cleared first: the exchange still has it conditional
        ("not_shared", "conditional", "unconditional", True),  # looser than before, stricter than the exchange
        ("unconditional", "not_shared", "not_shared", False),  # back to the exchange's own value
        ("unconditional", "conditional", None, True),  # never synced: the previous value alone
        ("conditional", "conditional", "unconditional", False),  # no move at all
    ],
)
def test_tightens_against_the_exchanges_value(old, new, synced, expected):
    assert tightens("sharing_type", old, new, synced) is expected


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


def test_plan_judges_tightening_against_the_exchanges_values(workspace, three):
    accept_pending(workspace, three)
    journal.apply(workspace, [SetField(i, "sharing_type", None) for i in three])  # cleared: no reason asked
    with workspace.reading() as conn:
        values = bulk.selection_values(conn, [*three, "gone"], ("sharing_type",))
    assert values.synced["sharing_type"] == dict(zip(three, ["unconditional", "conditional", "not_shared"],
                                                         strict=True))
    assert set(values.current["sharing_type"].values()) == {None}
    result = bulk.plan(three, "sharing_type", "conditional", values.current["sharing_type"],
                       values.synced["sharing_type"])
    # Stricter than the exchange's unconditional; the exchange's own value; looser than its not_shared.
    assert (len(result.changes), result.tightening) == (3, 1)
    journal.apply(workspace, result.changes, reason="统一为有条件共享")
    with pytest.raises(StewardError):  # the journal judges the same way
        journal.apply(workspace, [SetField(three[0], "sharing_type", "not_shared")])


def test_selection_values_of_never_synced_entries_have_no_exchange_value(workspace, three):
    with workspace.reading() as conn:
        values = bulk.selection_values(conn, three, ("open_type",))
    assert values.synced == {"open_type": {}}
    assert values.current["open_type"][three[2]] == "not_open"


@pytest.fixture
def mixed(workspace, clean_entry):
    """Unconditional entries, two with sharing conditions already; one already missing its sharing method."""
    entries = [
        clean_entry(),
        clean_entry(),
        clean_entry(sharing_method_category=None),  # an error it has already
        clean_entry(sharing_conditions="仅限监管"),
        clean_entry(sharing_conditions="仅限监管"),
        clean_entry(),
    ]
    entries[5].items[0].open_type = "unconditional"
    journal.apply(workspace, [journal.CreateEntry(e) for e in entries])
    return [e.id for e in entries]


def _preview(workspace, ids, field, value):
    with workspace.reading() as conn:
        current = bulk.current_values(conn, ids, (field,))[field]
        return bulk.new_errors(conn, workspace.department_code, bulk.plan(ids, field, value, current))


def test_new_errors_counts_the_entries_that_would_break_each_rule(workspace, mixed):
    found = _preview(workspace, mixed, "sharing_type", "conditional")
    assert [(e.code, e.entries) for e in found] == [("sharing.conditions_required", 4)]
    [error] = found
    assert error.example.message("en") == "Sharing on conditions needs the conditions"
    assert error.alike  # the same message for every entry


def test_new_errors_leaves_out_errors_the_entries_have_already(workspace, mixed):
    found = _preview(workspace, mixed, "sharing_type", "not_shared")
    assert {e.code: e.entries for e in found} == {"sharing.basis_required": 4, "open.not_shared_but_open": 6}
    found = _preview(workspace, mixed, "open_type", "not_open")
    assert [(e.code, e.entries) for e in found] == [("item.more_open_than_entry", 1)]
    assert _preview(workspace, mixed, "update_frequency", "annual") == []


def test_new_errors_writes_nothing_and_counts_only_what_changes(workspace, mixed):
    journal.apply(workspace, [SetField(mixed[0], "sharing_type", "conditional"),
                              SetField(mixed[0], "sharing_conditions", "")], reason="先改一个")
    assert [e.entries for e in _preview(workspace, mixed, "sharing_type", "conditional")] == [3]
    assert query.get_entry(workspace, mixed[1]).sharing_type == "unconditional"


def test_new_errors_tells_apart_messages_that_differ(workspace, clean_entry):
    entries = [clean_entry(sharing_conditions="仅限监管"), clean_entry(sharing_conditions="仅限监管")]
    for entry in entries:
        entry.items[0].sharing_type = "unconditional"
    entries[1].items[0].name = "另一个名字"
    journal.apply(workspace, [journal.CreateEntry(e) for e in entries])
    [error] = _preview(workspace, [e.id for e in entries], "sharing_type", "conditional")
    assert (error.code, error.entries, error.alike) == ("item.more_open_than_entry", 2, False)


def test_new_errors_counts_an_entry_once_per_rule(workspace, clean_entry):
    entries = [clean_entry(sharing_type="not_shared", sharing_conditions="依据保密法", open_type="not_open",
                           sharing_method_category=None, sharing_method_type=None) for _ in range(2)]
    entries[1].sharing_method_type = "interface"
    journal.apply(workspace, [journal.CreateEntry(e) for e in entries])
    [error] = _preview(workspace, [e.id for e in entries], "sharing_type", "unconditional")
    # Two method fields missing on one entry, one on the other: two entries, and one message for both.
    assert (error.code, error.entries, error.alike) == ("sharing.method_required", 2, True)
