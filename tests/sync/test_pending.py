"""Pending changes: what the workspace holds that the exchange does not, and the unsynced mark that follows it."""

from __future__ import annotations

from steward.catalogue.model import DataItem
from steward.catalogue.operations import OpKind
from steward.sync.pending import pending_changes
from steward.workspace import journal, query
from steward.workspace.journal import AddItem, EraseEntry, RemoveItem, SetField, SetItemField
from tests.workspace.test_journal import content, create, dirty, mark_synced, mixed_changes


def test_pending_folds_edits_of_one_field(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id, version=3)
    for name in ("甲", "乙", "丙"):
        journal.apply(workspace, [SetField(entry.id, "name", name)])
    journal.apply(workspace, [SetField(entry.id, "abstract", "改了又改回")])
    journal.apply(workspace, [SetField(entry.id, "abstract", entry.abstract)])
    [change] = pending_changes(workspace)
    assert (change.kind, change.field, change.before, change.after, change.base_version) == (
        OpKind.SET, "name", entry.name, "丙", 3
    )
    assert dirty(workspace, entry.id) == 1


def test_pending_drops_items_added_then_removed_and_folds_item_edits(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    temporary = DataItem(name="临时", data_type="C")
    kept = entry.items[1]
    journal.apply(workspace, [AddItem(entry.id, temporary)])
    journal.apply(workspace, [SetItemField(entry.id, temporary.id, "length", 5)])
    journal.apply(workspace, [SetItemField(entry.id, kept.id, "length", 10)])
    journal.apply(workspace, [SetItemField(entry.id, kept.id, "length", 20)])
    journal.apply(workspace, [RemoveItem(entry.id, temporary.id)])
    [change] = pending_changes(workspace)
    assert (change.kind, change.item_id, change.field, change.before, change.after) == (
        OpKind.ITEM_SET, kept.id, "length", kept.length, 20
    )


def test_pending_shows_an_added_item_once_with_its_latest_state(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    item = DataItem(name="新项", data_type="C")
    journal.apply(workspace, [AddItem(entry.id, item)])
    journal.apply(workspace, [SetItemField(entry.id, item.id, "name", "改名后的新项")])
    changes = pending_changes(workspace)
    assert [(c.kind, c.item_id) for c in changes] == [(OpKind.ITEM_ADD, item.id)]


def test_pending_of_a_created_then_erased_entry_is_nothing(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    journal.apply(workspace, [SetField(entry.id, "name", "x")])
    journal.apply(workspace, [EraseEntry(entry.id)])
    assert pending_changes(workspace) == []


def test_pending_can_be_limited_to_some_entries(workspace, clean_entry):
    a, b = clean_entry(), clean_entry()
    create(workspace, a, b)
    assert {c.entry_id for c in pending_changes(workspace, [b.id])} == {b.id}
    assert {c.entry_id for c in pending_changes(workspace)} == {a.id, b.id}


def test_reverting_every_pending_change_restores_the_synced_entry(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    synced = query.get_entry(workspace, entry.id)
    journal.apply(workspace, mixed_changes(synced), reason="收紧")
    journal.apply(workspace, [SetField(entry.id, "name", "再改一次")])
    pending = pending_changes(workspace)
    assert {c.kind for c in pending} == {OpKind.SET, OpKind.ITEM_ADD, OpKind.ITEM_SET, OpKind.ITEM_REMOVE}
    journal.apply(workspace, [c.revert() for c in reversed(pending)])
    assert content(query.get_entry(workspace, entry.id)) == content(synced)
    assert pending_changes(workspace) == []
    assert dirty(workspace, entry.id) == 0


def test_reverting_a_single_pending_change(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    journal.apply(workspace, [SetField(entry.id, "name", "甲"), SetField(entry.id, "abstract", "乙")])
    name_change = next(c for c in pending_changes(workspace) if c.field == "name")
    journal.apply(workspace, [name_change.revert()])
    assert query.get_entry(workspace, entry.id).name == entry.name
    assert [c.field for c in pending_changes(workspace)] == ["abstract"]


def test_reverting_a_pending_create_erases_it(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    [pending] = pending_changes(workspace)
    journal.apply(workspace, [pending.revert()])
    assert pending_changes(workspace) == []
    with workspace.reading() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM entries").scalar() == 0


def test_dirty_always_means_something_is_pending(workspace, clean_entry):
    """The unsynced mark agrees with pending_changes, even when one apply changes a field and back."""
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    item = DataItem(name="临时", data_type="C")
    steps = [
        [SetField(entry.id, "name", "甲"), SetField(entry.id, "name", entry.name)],
        [AddItem(entry.id, item), RemoveItem(entry.id, item.id)],
        [SetField(entry.id, "name", "乙")],
        [SetField(entry.id, "name", entry.name)],
    ]
    for changes in steps:
        journal.apply(workspace, changes)
        pending = bool(pending_changes(workspace, [entry.id]))
        assert dirty(workspace, entry.id) == int(pending), changes
        assert query.summary(workspace).unsynced == int(pending)


