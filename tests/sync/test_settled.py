"""What becomes of a local change another steward's changeset settles: never shown as pending forever.

Both stewards writing the same value (merged), or a conflict resolved for the other side
(superseded), leave nothing to send: the history says so, and what the exchange kept.
"""

from __future__ import annotations

import json

from steward.sync import conflicts, syncer
from steward.sync.pending import pending_changes
from steward.workspace import journal
from steward.workspace.journal import CreateEntry, OpState, SetField, SetItemField
from tests.helpers import make_clean_entry, run_cli


def _shared_entry(alice, bob):
    entry = make_clean_entry(provider=alice.ws.department_name, provider_code=alice.ws.department_code)
    journal.apply(alice.ws, [CreateEntry(entry)])
    alice.sync()
    bob.sync()
    return entry


def _history(steward, key: str) -> list[dict]:
    done = run_cli("history", steward.ws.folder, key, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _last_pushed(steward) -> str:
    with steward.ws.reading() as conn:
        return conn.exec_driver_sql("SELECT id FROM outbox WHERE state = 'accepted' ORDER BY seq DESC").scalar()


def test_the_same_value_written_on_both_sides_is_merged_not_pending_forever(make_steward):
    alice, bob = make_steward(), make_steward()
    entry = _shared_entry(alice, bob)
    for steward in (alice, bob):
        assert run_cli("set", steward.ws.folder, entry.code, "update_frequency=monthly").returncode == 0
    alice.sync()
    bob.sync()
    assert pending_changes(bob.ws) == [] and syncer.status(bob.ws).unsynced == 0
    [op] = [h for h in _history(bob, entry.code) if h["field"] == "update_frequency"]
    assert (op["state"], op["settled_value"], op["settled_by"]) == ("merged", "monthly", _last_pushed(alice))
    shown = run_cli("history", bob.ws.folder, entry.code)
    assert "merged: the exchange had the same value" in shown.stdout
    assert "not synced" not in shown.stdout


def test_a_conflict_resolved_for_the_other_side_supersedes_the_local_change(make_steward):
    alice, bob = make_steward(), make_steward()
    entry = _shared_entry(alice, bob)
    item = entry.items[0]
    journal.apply(alice.ws, [SetField(entry.id, "name", "甲的名称"), SetItemField(entry.id, item.id, "length", 30)])
    journal.apply(bob.ws, [SetField(entry.id, "name", "乙的名称"), SetItemField(entry.id, item.id, "length", 40)])
    alice.sync()
    assert bob.sync().conflicts == 2
    conflicts.resolve_all(bob.ws, entry.id, conflicts.Take.THEIRS)
    assert pending_changes(bob.ws) == [] and syncer.status(bob.ws).unsynced == 0
    history = journal.history(bob.ws, entry.id)
    mine = [op for op in history if op.new in ("乙的名称", 40)]
    assert [(op.state, op.settled_value, op.settled_by) for op in mine] == [
        (OpState.SUPERSEDED, "甲的名称", _last_pushed(alice)), (OpState.SUPERSEDED, 30, _last_pushed(alice))]
    # Taking theirs wrote their values here: those changes have nothing to send either.
    taken = [op for op in history if op.origin == "local" and op.new in ("甲的名称", 30)]
    assert [op.state for op in taken] == [OpState.MERGED, OpState.MERGED]
    assert not [op for op in history if op.state is OpState.PENDING]
    shown = run_cli("history", bob.ws.folder, entry.code)
    assert "superseded: the exchange kept 甲的名称" in shown.stdout
    assert bob.sync().pushed == 0


def test_a_change_kept_over_the_other_side_stays_pending_until_it_lands(make_steward):
    alice, bob = make_steward(), make_steward()
    entry = _shared_entry(alice, bob)
    journal.apply(alice.ws, [SetField(entry.id, "name", "甲的名称")])
    journal.apply(bob.ws, [SetField(entry.id, "name", "乙的名称")])
    alice.sync()
    bob.sync()
    conflicts.resolve_all(bob.ws, entry.id, conflicts.Take.MINE)
    [op] = [op for op in journal.history(bob.ws, entry.id) if op.new == "乙的名称"]
    assert op.state is OpState.PENDING
    assert bob.sync().pushed == 1
    [op] = [op for op in journal.history(bob.ws, entry.id) if op.new == "乙的名称"]
    assert op.state is OpState.SYNCED
