"""Two stewards edit offline and sync in any order: once conflicts are resolved, their catalogues are identical."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward.catalogue.model import DataItem
from steward.sync import conflicts
from steward.workspace import journal, query
from steward.workspace.journal import AddItem, CreateEntry, RemoveItem, SetField, SetItemField
from tests.helpers import make_clean_entry

ENTRIES = 3
# Small value sets, so both stewards often pick the same value (which is no conflict).
edits = st.one_of(
    st.tuples(st.just("name"), st.sampled_from(["名称甲", "名称乙", "名称丙"])),
    st.tuples(st.just("abstract"), st.sampled_from(["摘要一。", "摘要二。"])),
    st.tuples(st.just("update_frequency"), st.sampled_from(["daily", "weekly", "monthly"])),
    st.tuples(st.just("item_length"), st.sampled_from([8, 16, 32])),
    st.tuples(st.just("item_add"), st.sampled_from(["新信息项甲", "新信息项乙"])),
    st.tuples(st.just("item_remove"), st.just(None)),
    st.tuples(st.just("retire"), st.just(None)),
)
edit_lists = st.lists(st.tuples(st.integers(0, ENTRIES - 1), edits), max_size=6)


def _apply(steward, entry_id: str, edit: tuple[str, object]) -> None:
    kind, value = edit
    entry = steward.entry(entry_id)
    if kind in ("name", "abstract", "update_frequency"):
        change = [SetField(entry_id, kind, value)]
    elif kind == "item_length":
        change = [SetItemField(entry_id, entry.items[0].id, "length", value)]
    elif kind == "item_add":
        change = [AddItem(entry_id, DataItem(name=str(value), data_type="C", length=10))]
    elif kind == "item_remove":
        if len(entry.items) <= 2:  # both may remove one: at least one item stays
            return
        change = [RemoveItem(entry_id, entry.items[-1].id)]
    else:
        change = [SetField(entry_id, "status", "retired")]
    journal.apply(steward.ws, change)


def _settle(stewards, takes) -> None:
    """Sync until nothing is unsynced and no conflict is open, resolving conflicts as `takes` says."""
    for round_ in range(6):
        for steward, take in zip(stewards, takes, strict=True):
            steward.sync()
            for entry_id in {c.entry_id for c in conflicts.unresolved(steward.ws)}:
                conflicts.resolve_all(steward.ws, entry_id, take)
        quiet = all(query.summary(s.ws).unsynced == 0 and not conflicts.unresolved(s.ws) for s in stewards)
        if quiet and round_ > 0:
            for steward in stewards:
                steward.sync()
            return
    raise AssertionError("the stewards did not settle")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alice_edits=edit_lists, bob_edits=edit_lists, order=st.lists(st.booleans(), min_size=1, max_size=4),
       takes=st.tuples(st.sampled_from(list(conflicts.Take)), st.sampled_from(list(conflicts.Take))))
def test_two_stewards_end_with_identical_catalogues(make_steward, alice_edits, bob_edits, order, takes):
    alice, bob = make_steward(), make_steward()
    department = alice.ws
    entries = [make_clean_entry(provider=department.department_name, provider_code=department.department_code)
               for _ in range(ENTRIES)]
    journal.apply(alice.ws, [CreateEntry(e) for e in entries])
    alice.sync()
    bob.sync()
    for index, edit in alice_edits:
        _apply(alice, entries[index].id, edit)
    for index, edit in bob_edits:
        _apply(bob, entries[index].id, edit)
    for alice_first in order:
        for steward in (alice, bob) if alice_first else (bob, alice):
            steward.sync()
    _settle([alice, bob], takes)
    ours = {e.id: alice.catalogue()[e.id] for e in entries}
    theirs = {e.id: bob.catalogue()[e.id] for e in entries}
    assert ours == theirs
