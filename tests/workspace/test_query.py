"""Looking entries up by id, by row key and by name: what the window shows beside changes recorded by id."""

from __future__ import annotations

from steward.catalogue.model import DataItem
from steward.workspace import journal, query
from steward.workspace.journal import CreateEntry, EraseEntry


def _two(workspace, clean_entry):
    first = clean_entry(name="企业登记信息", items=[DataItem(name="企业名称", data_type="C", length=50, position=1),
                                                  DataItem(name="成立日期", data_type="D", position=2)])
    second = clean_entry(name="食品经营许可证信息", items=[DataItem(name="许可证编号", data_type="C", length=20,
                                                                position=1)])
    journal.apply(workspace, [CreateEntry(first), CreateEntry(second)])
    return first, second


def test_entry_pk_finds_the_row_key_and_none_once_erased(workspace, clean_entry):
    first, second = _two(workspace, clean_entry)
    pks = [query.entry_pk(workspace, first.id), query.entry_pk(workspace, second.id)]
    with workspace.reading() as conn:
        assert sorted(pks) == sorted(query.entry_pks(conn, query.EntryFilter()))
    journal.apply(workspace, [EraseEntry(first.id)])
    assert query.entry_pk(workspace, first.id) is None
    assert query.entry_pk(workspace, "no-such-entry") is None


def test_entry_ids_keep_the_order_given_and_leave_out_erased_entries(workspace, clean_entry):
    first, second = _two(workspace, clean_entry)
    pk1, pk2 = query.entry_pk(workspace, first.id), query.entry_pk(workspace, second.id)
    assert query.entry_ids(workspace, [pk2, pk1]) == [second.id, first.id]
    journal.apply(workspace, [EraseEntry(second.id)])
    assert query.entry_ids(workspace, [pk2, pk1, 999_999]) == [first.id]


def test_names_of_entries_and_of_the_items_asked_for(workspace, clean_entry):
    first, second = _two(workspace, clean_entry)
    found = query.names(workspace, [first.id, second.id, first.id, "gone"], items_of=[first.id])
    assert found.entries == {first.id: (first.code, "企业登记信息"), second.id: (second.code, "食品经营许可证信息")}
    assert found.items == {(first.id, i.id): i.name for i in first.items}
    assert found.items_of(first.id) == {i.id: i.name for i in first.items}
    assert found.items_of(second.id) == {}
    assert query.names(workspace, []) == query.Names({}, {})
