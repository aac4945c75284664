"""Publish preview (issue 17): what the public catalogue gains, loses and changes when the pending changes land.

A real SQLite workspace; "synced" is the real accept path of a sync without the network (tests.helpers).
"""

from __future__ import annotations

import json

import pytest

from steward import sample
from steward.catalogue.model import DataItem
from steward.sync import conflicts, publish_preview
from steward.sync.conflicts import Take
from steward.sync.publish_preview import Change, FieldChange, Reason
from steward.workspace import journal
from steward.workspace.journal import CreateEntry, SetField, SetItemField
from steward.workspace.workspace import DB_FILE, Workspace
from tests.helpers import DEPARTMENT_CODE, DEPARTMENT_NAME, accept_pending, make_clean_entry, run_cli
from tests.workspace.read_only import read_only


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace.create(tmp_path / "ws", DEPARTMENT_CODE, DEPARTMENT_NAME)
    yield workspace
    workspace.close()


def _synced(ws, **fields):
    entry = make_clean_entry(**fields)
    journal.apply(ws, [CreateEntry(entry)])
    accept_pending(ws, [entry.id])
    return entry


def _only_row(ws):
    result = publish_preview.preview(ws)
    assert len(result.rows) == 1, result.rows
    return result.rows[0]


def test_nothing_pending_previews_nothing(ws):
    _synced(ws)
    _synced(ws, open_type="not_open")
    result = publish_preview.preview(ws)
    assert result.rows == [] and result.pending == 0
    assert (result.appearing, result.withdrawn, result.changed, result.held) == (0, 0, 0, 0)


def test_an_entry_made_unconditionally_open_appears(ws):
    entry = _synced(ws, open_type="not_open")
    journal.apply(ws, [SetField(entry.id, "open_type", "unconditional")])
    row = _only_row(ws)
    assert (row.entry_id, row.change, row.code, row.name) == (entry.id, Change.APPEARS, entry.code, entry.name)
    assert publish_preview.preview(ws).appearing == 1


def test_a_new_open_entry_appears_and_a_new_closed_one_is_no_concern_of_the_public(ws):
    opened, closed = make_clean_entry(), make_clean_entry(open_type="not_open")
    journal.apply(ws, [CreateEntry(opened), CreateEntry(closed)])
    result = publish_preview.preview(ws)
    assert [(r.entry_id, r.change) for r in result.rows] == [(opened.id, Change.APPEARS)]
    assert result.pending == 2


def test_an_entry_made_not_open_is_withdrawn_as_closed(ws):
    entry = _synced(ws)
    journal.apply(ws, [SetField(entry.id, "open_type", "not_open")], reason="含个人信息")
    row = _only_row(ws)
    assert (row.change, row.reason) == (Change.WITHDRAWN, Reason.CLOSED)


def test_a_retired_entry_is_withdrawn_as_retired(ws):
    entry = _synced(ws)
    journal.apply(ws, [SetField(entry.id, "status", "retired")])
    row = _only_row(ws)
    assert (row.change, row.reason) == (Change.WITHDRAWN, Reason.RETIRED)


def test_a_field_edit_of_an_open_entry_changes_that_field(ws):
    entry = _synced(ws)
    journal.apply(ws, [SetField(entry.id, "name", "市场主体登记信息"), SetField(entry.id, "update_frequency", "weekly"),
                       SetField(entry.id, "sharing_conditions", "只在部门之间可见")])  # not a public field
    row = _only_row(ws)
    assert row.change is Change.CHANGED and row.name == "市场主体登记信息"
    assert row.fields == (FieldChange("name", entry.name, "市场主体登记信息"),
                          FieldChange("update_frequency", "daily", "weekly"))
    name, frequency = row.fields
    assert publish_preview.field_label(name, "zh") == "信息资源名称"
    assert publish_preview.field_label(frequency, "en") == "Update frequency"
    assert publish_preview.shown_value(frequency, frequency.after, "zh") == "每周"


def test_an_item_made_not_open_leaves_the_public_schema(ws):
    entry = _synced(ws)
    item = entry.items[1]
    journal.apply(ws, [SetItemField(entry.id, item.id, "open_type", "not_open")], reason="含个人信息")
    row = _only_row(ws)
    assert row.change is Change.CHANGED
    [gone] = row.fields
    assert (gone.field, gone.item_id, gone.item_name, gone.after) == ("", item.id, item.name, None)
    assert gone.before == {"name": item.name, "data_type": item.data_type, "length": item.length}


def test_an_item_added_joins_the_schema_and_an_item_field_change_is_named(ws):
    entry = _synced(ws)
    first = entry.items[0]
    added = DataItem(name="注册资本", data_type="N", length=18, position=9)
    journal.apply(ws, [journal.AddItem(entry.id, added), SetItemField(entry.id, first.id, "length", 20)])
    row = _only_row(ws)
    assert row.fields == (FieldChange("length", 18, 20, first.id, first.name),
                          FieldChange("", None, {"name": "注册资本", "data_type": "N", "length": 18}, added.id,
                                      "注册资本"))
    assert publish_preview.field_label(row.fields[0], "zh") == "数据长度"


def test_an_open_entry_with_a_rule_error_is_held_with_that_reason(ws):
    published = _synced(ws)
    closed = _synced(ws, open_type="not_open")
    # 有条件开放 without its conditions breaks a rule: the sync holds both back.
    journal.apply(ws, [SetField(published.id, "open_type", "conditional"),
                       SetField(closed.id, "open_type", "conditional")], reason="先核实开放条件")
    result = publish_preview.preview(ws)
    rows = {r.entry_id: r for r in result.rows}
    assert {(r.change, r.reason) for r in rows.values()} == {(Change.HELD, Reason.RULE_ERRORS)}
    assert rows[published.id].still_public  # the exchange keeps publishing what it has
    assert not rows[closed.id].still_public
    assert (result.appearing, result.withdrawn, result.held) == (0, 0, 2)


def test_an_entry_naming_another_provider_is_held_as_the_sync_holds_it(ws):
    other = sample.DEPARTMENTS[1]
    entry = make_clean_entry(provider=other.name, provider_code=other.code)
    journal.apply(ws, [CreateEntry(entry)])
    row = _only_row(ws)
    assert (row.change, row.reason, row.still_public) == (Change.HELD, Reason.PROVIDER, False)


def test_an_entry_in_conflict_is_held_until_the_conflict_is_resolved(make_steward):
    alice, bob = make_steward(), make_steward()
    entry = make_clean_entry(provider=alice.ws.department_name, provider_code=alice.ws.department_code)
    journal.apply(alice.ws, [CreateEntry(entry)])
    alice.sync()
    bob.sync()
    journal.apply(alice.ws, [SetField(entry.id, "name", "甲的名称")])
    journal.apply(bob.ws, [SetField(entry.id, "name", "乙的名称")])
    alice.sync()
    assert bob.sync().conflicts == 1
    [row] = [r for r in publish_preview.preview(bob.ws).rows if r.entry_id == entry.id]
    assert (row.change, row.reason, row.still_public) == (Change.HELD, Reason.CONFLICT, True)
    # Alice's name is what the exchange publishes now: Bob's preview compares against it.
    conflicts.resolve_all(bob.ws, entry.id, Take.THEIRS)
    assert [r for r in publish_preview.preview(bob.ws).rows if r.entry_id == entry.id] == []


def test_conditions_of_a_conditionally_open_entry_are_a_public_field(ws):
    entry = _synced(ws, open_type="conditional", open_conditions="实名注册后下载")
    journal.apply(ws, [SetField(entry.id, "open_conditions", "签署协议后下载")])
    row = _only_row(ws)
    assert row.fields == (FieldChange("open_conditions", "实名注册后下载", "签署协议后下载"),)


# The command line, in a child process -------------------------------------------------------------------------------


def _three_kinds(ws):
    """One entry made open, one made not open, one renamed: a little of everything, all synced before."""
    opened = _synced(ws, open_type="not_open")
    closed = _synced(ws)
    renamed = _synced(ws)
    journal.apply(ws, [SetField(opened.id, "open_type", "unconditional"), SetField(renamed.id, "name", "新名称")])
    journal.apply(ws, [SetField(closed.id, "open_type", "not_open")], reason="含个人信息")
    return opened, closed, renamed


def test_the_command_lists_the_preview_as_json(ws):
    opened, closed, renamed = _three_kinds(ws)
    result = run_cli("publish-preview", ws.folder, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["pending"], data["appearing"], data["withdrawn"], data["changed"], data["held"]) == (3, 1, 1, 1, 0)
    rows = {r["entry_id"]: r for r in data["rows"]}
    assert rows[opened.id]["change"] == "appears"
    assert (rows[closed.id]["change"], rows[closed.id]["reason"]) == ("withdrawn", "closed")
    assert rows[renamed.id]["fields"] == [
        {"field": "name", "item_id": None, "item_name": "", "before": renamed.name, "after": "新名称"}]


def test_the_command_tells_the_preview_in_the_readers_language(ws):
    opened, closed, renamed = _three_kinds(ws)
    zh = run_cli("publish-preview", ws.folder, lang="zh")
    assert zh.returncode == 0, zh.stderr
    lines = zh.stdout.splitlines()
    assert f"+ {opened.code}  {opened.name}  发布" in lines
    assert f"- {closed.code}  {closed.name}  撤下（不再开放）" in lines
    assert f"~ {renamed.code}  新名称  更改" in lines
    assert f"    信息资源名称：{renamed.name} → 新名称" in lines
    assert lines[-1] == "本次同步将发布 1 个数据集，撤下 1 个，更改 1 个"
    en = run_cli("publish-preview", ws.folder, lang="en")
    assert f"    Resource name: {renamed.name} → 新名称" in en.stdout.splitlines()
    assert en.stdout.splitlines()[-1] == "This sync will publish 1 datasets, withdraw 1 and change 1"


def test_the_command_says_when_the_public_sees_no_change(ws):
    entry = _synced(ws)
    journal.apply(ws, [SetField(entry.id, "sharing_conditions", "部门之间可见")])
    result = run_cli("publish-preview", ws.folder, lang="zh")
    assert result.returncode == 0 and result.stdout.strip() == "本次同步不会改变公开的目录"


def test_the_command_works_on_a_read_only_workspace(ws):
    _three_kinds(ws)
    ws.close()
    with read_only(ws.folder / DB_FILE):
        result = run_cli("publish-preview", ws.folder, "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["appearing"] == 1
