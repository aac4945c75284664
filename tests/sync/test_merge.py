"""The three-way merge of another steward's change: each case of field and item, without a database."""

from __future__ import annotations

from dataclasses import replace

from steward.catalogue.model import DataItem, item_order
from steward.sync.changeset import apply_operations, entry_document, op_item_add
from steward.sync.merge import WHOLE_ITEM, FieldConflict, merge
from steward.workspace.journal import AddItem, CreateEntry, RemoveItem, SetField, SetItemField
from tests.helpers import make_clean_entry


def _three():
    base = make_clean_entry()
    return base, base.copy(), base.copy()


def test_a_field_only_they_changed_takes_their_value():
    base, theirs, mine = _three()
    theirs.name = "他们的名称"
    result = merge(base, theirs, mine)
    assert result.changes == [SetField(base.id, "name", "他们的名称")] and result.conflicts == []


def test_a_field_only_i_changed_keeps_mine_and_one_we_both_set_alike_is_no_conflict():
    base, theirs, mine = _three()
    mine.abstract = "我改的摘要。"
    theirs.update_frequency = mine.update_frequency = "monthly"
    result = merge(base, theirs, mine)
    assert result.changes == [] and result.conflicts == []


def test_a_field_we_changed_differently_is_a_conflict_with_three_values():
    base, theirs, mine = _three()
    theirs.name, mine.name = "甲", "乙"
    result = merge(base, theirs, mine)
    assert result.conflicts == [FieldConflict(base.id, "name", None, base.name, "乙", "甲")]
    assert result.changes == []


def test_a_remote_retire_of_an_entry_i_changed_is_a_conflict_never_a_drop():
    base, theirs, mine = _three()
    theirs.status = "retired"
    mine.abstract = "我改的摘要。"
    result = merge(base, theirs, mine)
    assert result.conflicts == [FieldConflict(base.id, "status", None, "active", "active", "retired")]
    untouched = merge(base, theirs, base.copy())
    assert untouched.changes == [SetField(base.id, "status", "retired")] and untouched.conflicts == []


def test_items_merge_by_item():
    base, theirs, mine = _three()
    added = DataItem(name="新项", data_type="C", length=4, position=9)
    theirs.items.append(added)
    theirs.items = [i for i in theirs.items if i.id != base.items[0].id]  # they removed item 1
    theirs.items[0] = replace(theirs.items[0], length=99)  # and changed item 2
    mine.items[2] = replace(mine.items[2], name="我改的名称")  # I changed item 3
    result = merge(base, theirs, mine)
    assert result.conflicts == []
    assert result.changes == [RemoveItem(base.id, base.items[0].id),
                              SetItemField(base.id, base.items[1].id, "length", 99),
                              AddItem(base.id, added)]


def test_item_conflicts():
    base, theirs, mine = _three()
    first, second, third = base.items
    theirs.items = [second, replace(third, length=1)]  # removed first, changed third
    mine.items = [replace(first, length=2), second]  # changed first, removed third
    theirs.items[0] = replace(second, name="他们的")
    mine.items[1] = replace(second, name="我的")
    result = merge(base, theirs, mine)
    assert result.changes == []
    assert {(c.field, c.item_id) for c in result.conflicts} == {
        (WHOLE_ITEM, first.id), (WHOLE_ITEM, third.id), ("name", second.id)}
    removed_there = next(c for c in result.conflicts if c.item_id == first.id)
    assert (removed_there.mine["length"], removed_there.theirs) == (2, None)


def test_an_entry_i_do_not_have_is_created():
    theirs = make_clean_entry()
    theirs.version = 4
    [change] = merge(None, theirs, None).changes
    assert isinstance(change, CreateEntry) and change.entry.version == 0
    assert entry_document(change.entry) == entry_document(theirs)


def test_items_at_the_same_position_are_listed_alike_everywhere():
    """Two stewards each added an item at position 4: every copy orders them by id."""
    entry = make_clean_entry()
    one, two = (DataItem(name=n, data_type="C", position=4) for n in ("甲", "乙"))
    here, there = {entry.id: entry.copy()}, {entry.id: entry.copy()}
    apply_operations(here, {entry.id: 1}, [op_item_add(entry.id, 1, one), op_item_add(entry.id, 1, two)])
    apply_operations(there, {entry.id: 1}, [op_item_add(entry.id, 1, two), op_item_add(entry.id, 1, one)])
    assert here[entry.id].items == there[entry.id].items == sorted(here[entry.id].items, key=item_order)
