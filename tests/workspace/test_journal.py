"""The change journal: what each change records, atomicity, undo and history (pending changes: tests/sync)."""

from __future__ import annotations

import json

import pytest

from steward.catalogue.errors import StewardError
from steward.catalogue.model import DataItem
from steward.catalogue.operations import OpKind
from steward.sync.pending import pending_changes
from steward.workspace import journal, query
from steward.workspace.journal import (
    AddItem,
    Cancelled,
    CreateEntry,
    EraseEntry,
    RemoveItem,
    SetField,
    SetItemField,
)
from tests.helpers import accept_pending

OP_COLUMNS = (
    "seq, id, group_id, entry_id, item_id, kind, field, old_value, new_value, base_version, revision, created_at, "
    "author, reason, state, undoes"
)


def op_rows(ws) -> list[dict]:
    with ws.reading() as conn:
        result = conn.exec_driver_sql(f"SELECT {OP_COLUMNS} FROM operations ORDER BY seq")
        keys = list(result.keys())
        return [dict(zip(keys, row, strict=True)) for row in result.all()]


def entry_row(ws, entry_id) -> dict:
    with ws.reading() as conn:
        result = conn.exec_driver_sql("SELECT * FROM entries WHERE id = ?", (entry_id,))
        keys = list(result.keys())
        row = result.one_or_none()
    return dict(zip(keys, row, strict=True)) if row else {}


def db_state(ws) -> dict[str, list]:
    """Every row of every table a change may touch (the contentless index is checked by searching)."""
    with ws.reading() as conn:
        state = {
            table: sorted(map(tuple, conn.exec_driver_sql(f"SELECT * FROM {table}").all()), key=repr)
            for table in ("meta", "entries", "items", "operations", "problems")
        }
        state["search_tri"] = conn.exec_driver_sql("SELECT rowid, text FROM search_tri ORDER BY rowid").all()
    return state


def content(entry) -> dict:
    """An entry as the catalogue sees it: everything but the local edit counter."""
    data = entry.to_dict()
    del data["revision"]
    return data


def create(ws, *entries, **kwargs):
    return journal.apply(ws, [CreateEntry(e) for e in entries], author="tester", **kwargs)


def mark_synced(ws, entry_id, version: int = 1) -> None:
    """The exchange accepted everything recorded for the entry so far (the real accept path, no network)."""
    accept_pending(ws, [entry_id], version)


def dirty(ws, entry_id) -> int:
    return entry_row(ws, entry_id)["dirty"]


def search_ids(ws, text) -> set[str]:
    return {row.id for row in query.search_entries(ws, text, limit=1000).rows}


# What each change records -----------------------------------------------------------------


def test_create_records_one_operation_with_the_whole_entry(workspace, clean_entry):
    entry = clean_entry()
    expected = content(entry)
    result = create(workspace, entry, reason="新建")
    [row] = op_rows(workspace)
    assert row["kind"] == "create" and row["entry_id"] == entry.id and row["state"] == "pending"
    assert row["old_value"] == "null"
    snapshot = json.loads(row["new_value"])
    assert snapshot == {k: v for k, v in expected.items() if k != "version"}
    assert [i["position"] for i in snapshot["items"]] == [1, 2, 3]
    assert (row["base_version"], row["revision"], row["reason"], row["author"]) == (0, 1, "新建", "tester")
    assert row["group_id"] == result.group_id and row["id"] == result.operations[0].id
    assert result.entry_ids == {entry.id}
    stored = entry_row(workspace, entry.id)
    assert (stored["revision"], stored["version"], stored["dirty"]) == (1, 0, 1)
    assert content(query.get_entry(workspace, entry.id)) == expected


def test_set_field_records_old_new_base_version_and_revision(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id, version=7)
    result = journal.apply(
        workspace, [SetField(entry.id, "name", "新名称"), SetField(entry.id, "related_codes", ["319001/999999"])],
        reason="更正", author="张三",
    )
    rows = op_rows(workspace)[1:]
    assert [(r["kind"], r["field"], json.loads(r["old_value"]), json.loads(r["new_value"])) for r in rows] == [
        ("set", "name", entry.name, "新名称"),
        ("set", "related_codes", [], ["319001/999999"]),
    ]
    for row in rows:
        assert (row["base_version"], row["revision"], row["reason"], row["author"], row["state"]) == (
            7, 2, "更正", "张三", "pending"
        )
        assert row["group_id"] == result.group_id and row["item_id"] is None
    assert len({r["created_at"] for r in rows}) == 1
    stored = entry_row(workspace, entry.id)
    assert (stored["name"], stored["revision"], stored["version"], stored["dirty"]) == ("新名称", 2, 7, 1)
    assert json.loads(stored["related_codes"]) == ["319001/999999"]


def test_item_changes_record_the_item(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    first, second = entry.items[0].id, entry.items[1].id
    new_item = DataItem(name="邮政编码", data_type="C", length=6)

    journal.apply(workspace, [AddItem(entry.id, new_item)], reason="加", author="a")
    journal.apply(workspace, [SetItemField(entry.id, second, "length", 400)], reason="改", author="b")
    journal.apply(workspace, [RemoveItem(entry.id, first)], reason="删", author="c")

    add, item_set, remove = op_rows(workspace)[1:]
    assert (add["kind"], add["item_id"], add["old_value"], add["revision"], add["reason"], add["author"]) == (
        "item_add", new_item.id, "null", 2, "加", "a"
    )
    assert json.loads(add["new_value"]) == {**new_item.to_dict(), "position": 4}
    assert (item_set["kind"], item_set["item_id"], item_set["field"]) == ("item_set", second, "length")
    assert (json.loads(item_set["old_value"]), json.loads(item_set["new_value"]), item_set["revision"]) == (200, 400, 3)
    assert (remove["kind"], remove["item_id"], remove["new_value"], remove["revision"]) == (
        "item_remove", first, "null", 4
    )
    assert json.loads(remove["old_value"]) == entry.items[0].to_dict()
    for row in (add, item_set, remove):
        assert row["base_version"] == 0

    stored = query.get_entry(workspace, entry.id)
    assert [(i.name, i.length, i.position) for i in stored.items] == [
        ("机构名称", 400, 2), ("登记日期", 8, 3), ("邮政编码", 6, 4)
    ]
    assert stored.revision == 4


def test_erase_records_the_whole_entry_and_removes_everything(workspace, clean_entry):
    entry, other = clean_entry(name="要删除的条目"), clean_entry()
    create(workspace, entry, other)
    before = content(query.get_entry(workspace, entry.id))
    result = journal.apply(workspace, [EraseEntry(entry.id)], reason="录错了", author="tester")
    row = op_rows(workspace)[-1]
    assert (row["kind"], row["entry_id"], row["new_value"], row["reason"], row["revision"]) == (
        "erase", entry.id, "null", "录错了", 2
    )
    assert json.loads(row["old_value"]) == {k: v for k, v in before.items() if k != "version"}
    assert result.entry_ids == {entry.id}
    with pytest.raises(StewardError) as error:
        query.get_entry(workspace, entry.id)
    assert error.value.code == "entry.not_found"
    with workspace.reading() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM items").scalar() == len(other.items)
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM entries").scalar() == 1
    assert search_ids(workspace, "要删除") == set()
    assert search_ids(workspace, "登记") == {other.id}


def test_one_apply_is_one_group_and_one_revision_per_entry(workspace, clean_entry):
    a, b = clean_entry(), clean_entry()
    create(workspace, a, b)
    result = journal.apply(workspace, [
        SetField(a.id, "name", "甲"), SetField(b.id, "name", "乙"), SetField(a.id, "abstract", "新摘要"),
        AddItem(a.id, DataItem(name="备注", data_type="M")),
    ])
    assert len(result.operations) == 4
    assert {op.group_id for op in result.operations} == {result.group_id}
    assert {(op.entry_id, op.revision) for op in result.operations} == {(a.id, 2), (b.id, 2)}
    assert result.entry_ids == {a.id, b.id}
    assert [op.id for op in journal.group(workspace, result.group_id)] == [op.id for op in result.operations]


def test_default_author_is_the_login_name(workspace, clean_entry):
    entry = clean_entry()
    journal.apply(workspace, [CreateEntry(entry)])
    assert op_rows(workspace)[0]["author"] == journal.default_author()


# Nothing is written when anything fails ------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_change", "error"),
    [
        (lambda e: SetField("no-such-entry", "name", "x"), StewardError),
        (lambda e: SetField(e.id, "no_such_field", "x"), KeyError),
        (lambda e: SetField(e.id, "version", 5), KeyError),
        (lambda e: SetField(e.id, "name", 42), TypeError),
        (lambda e: SetField(e.id, "related_codes", "319001/000001"), TypeError),
        (lambda e: SetItemField(e.id, "no-such-item", "name", "x"), KeyError),
        (lambda e: SetItemField(e.id, e.items[0].id, "length", "18"), TypeError),
        (lambda e: RemoveItem(e.id, "no-such-item"), KeyError),
        (lambda e: AddItem(e.id, e.items[1]), KeyError),
        (lambda e: CreateEntry(e), KeyError),
        (lambda e: EraseEntry("no-such-entry"), StewardError),
    ],
)
def test_a_failing_change_writes_nothing_at_all(workspace, clean_entry, bad_change, error):
    entry, other = clean_entry(), clean_entry()
    create(workspace, entry)
    stored = query.get_entry(workspace, entry.id)
    before = db_state(workspace)
    changes = [
        SetField(entry.id, "name", "改过的名称"),
        AddItem(entry.id, DataItem(name="新增信息项", data_type="C")),
        RemoveItem(entry.id, stored.items[0].id),
        CreateEntry(other),
        bad_change(stored),
    ]
    with pytest.raises(error):
        journal.apply(workspace, changes)
    assert db_state(workspace) == before
    assert search_ids(workspace, "改过") == set()
    assert search_ids(workspace, "新增") == set()
    assert content(query.get_entry(workspace, entry.id)) == content(stored)


def test_cancelled_apply_writes_nothing(workspace, clean_entry):
    before = db_state(workspace)

    def cancel(done, total):
        raise Cancelled

    with pytest.raises(Cancelled):
        journal.apply(workspace, [CreateEntry(clean_entry()) for _ in range(3)], progress=cancel)
    assert db_state(workspace) == before


def test_progress_is_reported_to_the_end(workspace, clean_entry):
    calls = []
    journal.apply(workspace, [CreateEntry(clean_entry()) for _ in range(3)], progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)


# No-op changes -----------------------------------------------------------------------------


def test_setting_the_same_value_records_nothing(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    before = db_state(workspace)
    result = journal.apply(workspace, [
        SetField(entry.id, "name", entry.name),
        SetField(entry.id, "related_codes", []),
        SetField(entry.id, "format_category", entry.format_category),
        SetItemField(entry.id, entry.items[0].id, "name", entry.items[0].name),
        SetItemField(entry.id, entry.items[0].id, "length", entry.items[0].length),
    ])
    assert result.operations == [] and result.entry_ids == set()
    assert db_state(workspace) == before
    assert pending_changes(workspace) == []
    assert dirty(workspace, entry.id) == 0


def test_an_empty_change_list_records_nothing(workspace):
    before = db_state(workspace)
    assert journal.apply(workspace, []).operations == []
    assert db_state(workspace) == before


# Undo ----------------------------------------------------------------------------------------


def mixed_changes(entry):
    first, second, third = (item.id for item in entry.items)
    return [
        SetField(entry.id, "name", "新的名称"),
        SetField(entry.id, "sharing_type", "conditional"),
        SetField(entry.id, "related_codes", ["319001/999999"]),
        AddItem(entry.id, DataItem(name="邮政编码", data_type="C", length=6)),
        SetItemField(entry.id, second, "name", "单位名称"),
        SetItemField(entry.id, third, "position", 0),  # moves it to the front
        RemoveItem(entry.id, first),
    ]


def test_inverse_undoes_exactly(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    original = query.get_entry(workspace, entry.id)

    result = journal.apply(workspace, mixed_changes(original), reason="整理")
    changed = query.get_entry(workspace, entry.id)
    assert [i.name for i in changed.items] == ["登记日期", "单位名称", "邮政编码"]
    assert dirty(workspace, entry.id) == 1
    assert query.problems_of(workspace, entry.id)  # 有条件共享 without its conditions
    assert search_ids(workspace, "单位名称") == {entry.id}

    undo = journal.apply(workspace, result.inverse(), undoes=result.group_id)
    restored = query.get_entry(workspace, entry.id)
    assert content(restored) == content(original)
    assert [i.id for i in restored.items] == [i.id for i in original.items]
    assert restored.revision == original.revision + 2
    assert {op.undoes for op in undo.operations} == {result.group_id}
    assert pending_changes(workspace) == []
    assert dirty(workspace, entry.id) == 0
    assert query.problems_of(workspace, entry.id) == []
    assert search_ids(workspace, "单位名称") == set()
    assert search_ids(workspace, "统一社会信用代码") == {entry.id}


def test_partial_undo_leaves_the_entry_unsynced(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    journal.apply(workspace, [SetField(entry.id, "name", "第一次")])
    second = journal.apply(workspace, [SetField(entry.id, "abstract", "第二次")])
    journal.apply(workspace, second.inverse())
    assert dirty(workspace, entry.id) == 1
    pending = [(c.field, c.before, c.after) for c in pending_changes(workspace)]
    assert pending == [("name", entry.name, "第一次")]


def test_undoing_a_create_erases_and_undoing_an_erase_restores(workspace, clean_entry):
    entry = clean_entry(name="撤销测试条目")
    created = create(workspace, entry)
    original = query.get_entry(workspace, entry.id)
    erased = journal.apply(workspace, [EraseEntry(entry.id)])
    assert search_ids(workspace, "撤销测试") == set()
    journal.apply(workspace, erased.inverse())
    restored = query.get_entry(workspace, entry.id)
    assert content(restored) == content(original)
    assert search_ids(workspace, "撤销测试") == {entry.id}
    assert query.problems_of(workspace, entry.id) == []
    # The restored entry is still new to the exchange: one pending create.
    [pending] = pending_changes(workspace)
    assert (pending.kind, pending.entry_id) == (OpKind.CREATE, entry.id)
    assert dirty(workspace, entry.id) == 1

    journal.apply(workspace, created.inverse())
    assert pending_changes(workspace) == []
    assert search_ids(workspace, "撤销测试") == set()


def test_a_created_entry_stays_pending_after_undoing_its_edits(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    result = journal.apply(workspace, mixed_changes(query.get_entry(workspace, entry.id)), reason="收紧")
    journal.apply(workspace, result.inverse(), undoes=result.group_id)
    [pending] = pending_changes(workspace)
    assert pending.kind is OpKind.CREATE
    assert dirty(workspace, entry.id) == 1


# Erasing synced entries ----------------------------------------------------------------------


def test_erasing_a_synced_entry_is_refused(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    before = db_state(workspace)
    with pytest.raises(StewardError) as error:
        journal.apply(workspace, [EraseEntry(entry.id)])
    assert error.value.code == "entry.erase_synced"
    assert error.value.params == {"key": entry.code}
    assert db_state(workspace) == before


def test_erasing_an_entry_with_synced_operations_is_refused_even_at_version_0(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    with workspace.writing() as conn:
        conn.exec_driver_sql("UPDATE operations SET state = 'synced' WHERE entry_id = ?", (entry.id,))
    with pytest.raises(StewardError) as error:
        journal.apply(workspace, [EraseEntry(entry.id)])
    assert error.value.code == "entry.erase_synced"


def test_erasing_a_version_1_entry_is_refused(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    with workspace.writing() as conn:
        conn.exec_driver_sql("UPDATE entries SET version = 1")
    with pytest.raises(StewardError, match="synced"):
        journal.apply(workspace, [EraseEntry(entry.id)])


# History -------------------------------------------------------------------------------------


def test_history_returns_operations_in_order(workspace, clean_entry):
    entry, other = clean_entry(), clean_entry()
    create(workspace, entry, other)
    journal.apply(workspace, [SetField(entry.id, "name", "一")], reason="第一")
    journal.apply(workspace, [SetField(other.id, "name", "别的")])
    journal.apply(workspace, [AddItem(entry.id, DataItem(name="二", data_type="C"))])
    result = journal.apply(workspace, [SetField(entry.id, "name", "三")], reason="第三")
    journal.apply(workspace, result.inverse(), undoes=result.group_id, lang="zh")

    ops = journal.history(workspace, entry.id)
    assert [(op.kind, op.field, op.new if op.kind is OpKind.SET else None) for op in ops] == [
        (OpKind.CREATE, None, None),
        (OpKind.SET, "name", "一"),
        (OpKind.ITEM_ADD, None, None),
        (OpKind.SET, "name", "三"),
        (OpKind.SET, "name", "一"),
    ]
    seqs = [op.seq for op in ops]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert [op.revision for op in ops] == [1, 2, 3, 4, 5]
    assert [op.reason for op in ops] == [None, "第一", None, "第三", "撤销：第三"]  # the undo says what it took back
    assert ops[-1].undoes == result.group_id
    assert {op.entry_id for op in ops} == {entry.id}


# Reasons for tightening ----------------------------------------------------------------------


@pytest.mark.parametrize(("field", "start", "tighter"), [
    ("sharing_type", "unconditional", "conditional"),
    ("open_type", "unconditional", "not_open"),
])
def test_making_an_entry_more_restrictive_needs_a_reason(workspace, clean_entry, field, start, tighter):
    entry = clean_entry()
    setattr(entry, field, start)
    create(workspace, entry)
    before = db_state(workspace)
    with pytest.raises(StewardError) as error:
        journal.apply(workspace, [SetField(entry.id, field, tighter)])
    assert error.value.code == "reason.required"
    assert db_state(workspace) == before
    result = journal.apply(workspace, [SetField(entry.id, field, tighter)], reason="依据新规定")
    assert journal.history(workspace, entry.id)[-1].reason == "依据新规定"
    # Loosening needs no reason, and neither does undoing a tightening.
    journal.apply(workspace, result.inverse(), undoes=result.group_id)
    assert getattr(query.get_entry(workspace, entry.id), field) == start


def _refused_without_reason(ws, changes, reason=None) -> None:
    before = db_state(ws)
    with pytest.raises(StewardError) as error:
        journal.apply(ws, changes, reason=reason)
    assert error.value.code in ("reason.required", "reason.required_item")
    assert db_state(ws) == before


@pytest.mark.parametrize("field", ["sharing_type", "open_type"])
def test_clearing_first_does_not_dodge_the_reason_on_a_synced_entry(workspace, clean_entry, field):
    entry = clean_entry(sharing_type="conditional", sharing_conditions="仅限监管", open_type="conditional",
                        open_conditions="实名申请")
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    tighter = {"sharing_type": "not_shared", "open_type": "not_open"}[field]
    journal.apply(workspace, [SetField(entry.id, field, None)])  # clearing is no tightening in itself
    # The exchange still has it conditional: the stricter value is judged against that.
    _refused_without_reason(workspace, [SetField(entry.id, field, tighter)])
    journal.apply(workspace, [SetField(entry.id, field, tighter)], reason="依据保密规定")
    assert journal.history(workspace, entry.id)[-1].reason == "依据保密规定"


def test_clearing_and_tightening_in_one_step_needs_a_reason_too(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    _refused_without_reason(workspace, [SetField(entry.id, "open_type", None),
                                        SetField(entry.id, "open_type", "not_open")])


def test_a_partial_loosening_of_a_pending_tightening_is_judged_against_the_exchange(workspace, clean_entry):
    entry = clean_entry()  # unconditional on the exchange
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    journal.apply(workspace, [SetField(entry.id, "sharing_type", "not_shared")], reason="涉密")
    # Looser than the last keystroke, but stricter than what the exchange has: still a tightening.
    _refused_without_reason(workspace, [SetField(entry.id, "sharing_type", "conditional")])


def test_going_back_to_the_exchanges_value_needs_no_reason(workspace, clean_entry):
    entry = clean_entry(sharing_type="not_shared", sharing_conditions="依据保密法", open_type="not_open",
                        sharing_method_category=None, sharing_method_type=None)
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    journal.apply(workspace, [SetField(entry.id, "sharing_type", "unconditional")])
    journal.apply(workspace, [SetField(entry.id, "sharing_type", "not_shared")])  # nothing stricter than before
    assert query.get_entry(workspace, entry.id).sharing_type == "not_shared"


@pytest.mark.parametrize("blank", ["", "   ", "\n\t　"])
def test_a_blank_reason_is_no_reason(workspace, clean_entry, blank):
    entry = clean_entry()
    create(workspace, entry)
    _refused_without_reason(workspace, [SetField(entry.id, "sharing_type", "conditional")], reason=blank)


def test_a_reason_is_stored_without_surrounding_blanks(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    journal.apply(workspace, [SetField(entry.id, "open_type", "not_open")], reason="  涉及个人信息 \n")
    assert journal.history(workspace, entry.id)[-1].reason == "涉及个人信息"


@pytest.mark.parametrize(("field", "entry_value", "old", "tighter"), [
    ("sharing_type", "conditional", None, "not_shared"),  # blank means "as the entry": conditional
    ("sharing_type", "unconditional", "unconditional", "conditional"),
    ("open_type", "unconditional", None, "not_open"),
])
def test_a_data_item_made_more_restrictive_needs_a_reason(workspace, clean_entry, field, entry_value, old, tighter):
    entry = clean_entry(sharing_conditions="仅限监管")
    setattr(entry, field, entry_value)
    setattr(entry.items[0], field, old)
    create(workspace, entry)
    item_id = entry.items[0].id
    _refused_without_reason(workspace, [SetItemField(entry.id, item_id, field, tighter)])
    journal.apply(workspace, [SetItemField(entry.id, item_id, field, tighter)], reason="含身份证号")
    last = journal.history(workspace, entry.id)[-1]
    assert (last.kind, last.field, last.reason) == (OpKind.ITEM_SET, field, "含身份证号")
    # Back to "as the entry" is a loosening: no reason.
    journal.apply(workspace, [SetItemField(entry.id, item_id, field, None)])


def test_an_item_set_explicitly_to_the_entrys_own_value_is_no_tightening(workspace, clean_entry):
    entry = clean_entry(sharing_type="conditional", sharing_conditions="仅限监管")
    create(workspace, entry)
    journal.apply(workspace, [SetItemField(entry.id, entry.items[0].id, "sharing_type", "conditional")])


def test_an_item_of_a_cleared_entry_is_judged_against_the_exchange(workspace, clean_entry):
    entry = clean_entry(open_type="conditional", open_conditions="实名申请")
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    journal.apply(workspace, [SetField(entry.id, "open_type", None)])  # the item, "as the entry", has none now
    _refused_without_reason(workspace, [SetItemField(entry.id, entry.items[0].id, "open_type", "not_open")])


def test_clearing_an_items_own_more_open_value_tightens_it(workspace, clean_entry):
    entry = clean_entry(open_type="conditional", open_conditions="实名申请")
    entry.items[0].open_type = "conditional"
    create(workspace, entry)
    journal.apply(workspace, [SetItemField(entry.id, entry.items[0].id, "open_type", "unconditional")])
    # "As the entry" is conditional again: stricter than the item was.
    _refused_without_reason(workspace, [SetItemField(entry.id, entry.items[0].id, "open_type", None)])


def test_tightening_tells_which_changes_need_a_reason_and_writes_nothing(workspace, clean_entry):
    entry = clean_entry(sharing_type="conditional", sharing_conditions="仅限监管")
    create(workspace, entry)
    mark_synced(workspace, entry.id)
    journal.apply(workspace, [SetField(entry.id, "sharing_type", None)])
    before = db_state(workspace)
    changes = [SetField(entry.id, "sharing_type", "not_shared"), SetField(entry.id, "name", "新名"),
               SetItemField(entry.id, entry.items[1].id, "open_type", "not_open")]
    found = journal.tightening(workspace, changes)
    assert [(t.entry_id, t.item_id, t.field, t.before, t.after) for t in found] == [
        (entry.id, None, "sharing_type", "conditional", "not_shared"),  # judged against the exchange
        (entry.id, entry.items[1].id, "open_type", "unconditional", "not_open"),
    ]
    assert db_state(workspace) == before
    assert journal.tightening(workspace, [SetField(entry.id, "name", "x")]) == []


# Undo and redo keep the reasons ---------------------------------------------------------------------


def test_undo_and_redo_of_a_tightening_keep_its_reason(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    done = journal.apply(workspace, [SetField(entry.id, "sharing_type", "not_shared"),
                                     SetField(entry.id, "sharing_conditions", "依据保密法")], reason="涉密")
    undone = journal.apply(workspace, done.inverse(), undoes=done.group_id, lang="zh")
    assert {op.reason for op in undone.operations} == {"撤销：涉密"}
    redone = journal.apply(workspace, undone.inverse(), undoes=undone.group_id, lang="zh")
    assert {op.reason for op in redone.operations} == {"涉密"}  # the same decision, the same reason
    assert query.get_entry(workspace, entry.id).sharing_type == "not_shared"
    history = journal.history(workspace, entry.id)
    assert [op.reason for op in history if op.field == "sharing_type"] == ["涉密", "撤销：涉密", "涉密"]


def test_undoing_a_loosening_is_a_tightening_and_says_it_is_an_undo(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    journal.apply(workspace, [SetField(entry.id, "open_type", "not_open")], reason="涉密")
    loosened = journal.apply(workspace, [SetField(entry.id, "open_type", "unconditional")])
    assert loosened.operations[0].reason is None
    undone = journal.apply(workspace, loosened.inverse(), undoes=loosened.group_id, lang="en")
    [op] = undone.operations
    assert (op.new, op.undoes, op.reason) == ("not_open", loosened.group_id, "Undo of an earlier change")


def test_an_undo_that_changes_nothing_stricter_records_no_reason(workspace, clean_entry):
    entry = clean_entry()
    create(workspace, entry)
    renamed = journal.apply(workspace, [SetField(entry.id, "name", "新名")])
    undone = journal.apply(workspace, renamed.inverse(), undoes=renamed.group_id)
    assert undone.operations[0].reason is None
