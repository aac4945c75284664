"""Syncing with a real exchange: push, pull, merge, conflicts, and the exchange's key pinned."""

from __future__ import annotations

import pytest

from steward.catalogue.errors import StewardError
from steward.sync import conflicts, syncer
from steward.sync.pending import pending_changes
from steward.workspace import journal, query
from steward.workspace.journal import CreateEntry, SetField, SetItemField
from tests.helpers import make_clean_entry


def _create(steward, count=1, **overrides):
    department = steward.ws
    entries = [make_clean_entry(provider=department.department_name, provider_code=department.department_code,
                                **overrides) for _ in range(count)]
    journal.apply(steward.ws, [CreateEntry(e) for e in entries])
    return entries


def test_a_first_sync_pushes_new_entries_and_a_second_steward_pulls_them(make_steward):
    alice, bob = make_steward(), make_steward()
    entries = _create(alice, 3)
    report = alice.sync()
    assert (report.pushed, report.operations) == (1, 3)
    assert query.summary(alice.ws).unsynced == 0
    assert [alice.entry(e.id).version for e in entries] == [1, 1, 1]
    assert pending_changes(alice.ws) == []
    pulled = bob.sync()
    assert pulled.pulled >= 1
    assert {e.id for e in entries} <= set(bob.catalogue())
    assert all(bob.catalogue()[e.id] == alice.catalogue()[e.id] for e in entries)
    assert query.summary(bob.ws).unsynced == 0


def test_changes_to_different_fields_merge_silently(make_steward):
    alice, bob = make_steward(), make_steward()
    [entry] = _create(alice)
    alice.sync()
    bob.sync()
    journal.apply(alice.ws, [SetField(entry.id, "name", "甲改的名称")])
    journal.apply(bob.ws, [SetField(entry.id, "update_frequency", "weekly"),
                           SetItemField(entry.id, entry.items[0].id, "length", 36)])
    alice.sync()
    report = bob.sync()
    assert report.conflicts == 0 and report.pushed == 1
    alice.sync()
    mine, theirs = alice.entry(entry.id), bob.entry(entry.id)
    assert (mine.name, mine.update_frequency, mine.items[0].length) == ("甲改的名称", "weekly", 36)
    assert alice.catalogue()[entry.id] == bob.catalogue()[entry.id]
    assert mine.version == theirs.version == 3


def test_both_setting_the_same_value_is_no_conflict(make_steward):
    alice, bob = make_steward(), make_steward()
    [entry] = _create(alice)
    alice.sync()
    bob.sync()
    for steward in (alice, bob):
        journal.apply(steward.ws, [SetField(entry.id, "update_frequency", "monthly")])
    alice.sync()
    report = bob.sync()
    assert report.conflicts == 0
    assert query.summary(bob.ws).unsynced == 0
    assert bob.entry(entry.id).update_frequency == "monthly"


def test_the_same_field_changed_on_both_sides_is_a_conflict_until_resolved(make_steward):
    alice, bob = make_steward(), make_steward()
    [entry] = _create(alice)
    alice.sync()
    bob.sync()
    journal.apply(alice.ws, [SetField(entry.id, "name", "甲的名称")])
    journal.apply(bob.ws, [SetField(entry.id, "name", "乙的名称")])
    alice.sync()
    report = bob.sync()
    assert report.conflicts == 1
    [c] = conflicts.unresolved(bob.ws)
    assert (c.field, c.base, c.mine, c.theirs) == ("name", entry.name, "乙的名称", "甲的名称")
    assert bob.entry(entry.id).name == "乙的名称"  # never silently overwritten
    assert [h.reason for h in report.held_back] == ["conflict"]
    again = bob.sync()  # conflicts stay recorded across syncs
    assert len(conflicts.unresolved(bob.ws)) == 1 and again.pushed == 0
    conflicts.resolve(bob.ws, entry.id, {c.id: "两人商定的名称"})
    assert bob.sync().pushed == 1
    alice.sync()
    assert alice.entry(entry.id).name == bob.entry(entry.id).name == "两人商定的名称"
    assert alice.catalogue() == {k: v for k, v in bob.catalogue().items() if k in alice.catalogue()}


def test_a_remote_retire_of_an_entry_edited_here_is_a_conflict(make_steward):
    alice, bob = make_steward(), make_steward()
    [entry] = _create(alice)
    alice.sync()
    bob.sync()
    journal.apply(alice.ws, [SetField(entry.id, "status", "retired")])
    journal.apply(bob.ws, [SetField(entry.id, "abstract", "乙补充了摘要。")])
    alice.sync()
    bob.sync()
    [c] = conflicts.unresolved(bob.ws)
    assert (c.field, c.mine, c.theirs) == ("status", "active", "retired")
    assert bob.entry(entry.id).status == "active"
    conflicts.resolve_all(bob.ws, entry.id, conflicts.Take.THEIRS)
    bob.sync()
    alice.sync()
    assert alice.entry(entry.id).status == bob.entry(entry.id).status == "retired"
    assert alice.entry(entry.id).abstract == "乙补充了摘要。"


def test_another_departments_entries_arrive_read_only(make_steward):
    from steward import sample

    other, mine = make_steward(sample.DEPARTMENTS[1]), make_steward(sample.DEPARTMENTS[0])
    [entry] = _create(other)
    other.sync()
    mine.sync()
    assert mine.entry(entry.id).name == entry.name
    with pytest.raises(StewardError) as caught:
        journal.apply(mine.ws, [SetField(entry.id, "name", "别人的条目")])
    assert caught.value.code == "entry.read_only"
    history = journal.history(mine.ws, entry.id)
    assert [(op.origin, op.department_code, op.verified) for op in history] == [
        ("remote", other.ws.department_code, True)]


def test_entries_with_rule_errors_are_held_back(make_steward):
    alice = make_steward()
    [bad] = _create(alice, sharing_type="conditional", sharing_conditions="")
    [good] = _create(alice)
    report = alice.sync()
    assert [(h.entry_id, h.reason) for h in report.held_back] == [(bad.id, "errors")]
    assert alice.entry(good.id).version == 1 and alice.entry(bad.id).version == 0


def test_an_entry_with_a_refused_character_is_held_back_and_the_rest_is_pushed(make_steward):
    """Before, a C1 control or a lone surrogate went out in the changeset and the exchange refused all of it."""
    alice = make_steward()
    [bad] = _create(alice, abstract="摘要\x9b31m")
    [good] = _create(alice)
    report = alice.sync()
    assert [(h.entry_id, h.reason) for h in report.held_back] == [(bad.id, "errors")]
    assert alice.entry(good.id).version == 1 and alice.entry(bad.id).version == 0


def test_first_contact_needs_the_fingerprint_confirmed_then_it_is_pinned(make_steward):
    alice = make_steward()
    with pytest.raises(StewardError) as caught:
        alice.sync(trust=lambda _fp: False)
    assert caught.value.code == "sync.server_untrusted"
    alice.sync()
    assert syncer.status(alice.ws).exchange_fingerprint == alice.server_fingerprint


def _stored_copy(ws, entry_id):
    with ws.reading() as conn:
        return conn.exec_driver_sql("SELECT document FROM server_entries WHERE entry_id = ?", (entry_id,)).scalar()


def test_a_pulled_entry_is_stored_once_and_its_first_local_edit_keeps_the_exchanges_copy(make_steward):
    alice, bob = make_steward(), make_steward()
    [entry] = _create(alice)
    alice.sync()
    bob.sync()
    # Pushed or pulled, the exchange's copy is the entry as each of them stores it.
    assert _stored_copy(alice.ws, entry.id) is None and _stored_copy(bob.ws, entry.id) is None
    old_name, old_length = entry.name, entry.items[0].length
    journal.apply(bob.ws, [SetField(entry.id, "name", "乙改的名称"),
                           SetItemField(entry.id, entry.items[0].id, "length", old_length + 1)])
    assert _stored_copy(bob.ws, entry.id) is not None
    pending = {(c.field or "", c.item_id or ""): (c.before, c.after) for c in pending_changes(bob.ws)}
    assert pending == {("name", ""): (old_name, "乙改的名称"),
                       ("length", entry.items[0].id): (old_length, old_length + 1)}
    # Undone, the entry equals the exchange's copy again and nothing is pending.
    journal.apply(bob.ws, [SetField(entry.id, "name", old_name),
                           SetItemField(entry.id, entry.items[0].id, "length", old_length)])
    assert pending_changes(bob.ws) == [] and query.summary(bob.ws).unsynced == 0
    # A remote change to the entry, stored once here, merges as usual.
    journal.apply(alice.ws, [SetField(entry.id, "update_frequency", "monthly")])
    alice.sync()
    bob.sync()
    assert bob.entry(entry.id).update_frequency == "monthly"
    assert bob.catalogue()[entry.id] == alice.catalogue()[entry.id]
    assert query.summary(bob.ws).unsynced == 0
