"""Typed text to changes (what `steward set` and spreadsheet imports use), and new-entry helpers."""

from __future__ import annotations

import pytest

from steward.catalogue.errors import StewardError
from steward.catalogue.model import ENTRY_FIELD, ENTRY_FIELDS, ITEM_FIELD
from steward.workspace import drafts, journal, query
from steward.workspace.assignments import changes_for, entry_field, parse_value
from steward.workspace.journal import AddItem, RemoveItem, SetField, SetItemField
from tests.helpers import make_clean_entry


@pytest.mark.parametrize("spec", ENTRY_FIELDS, ids=lambda spec: spec.key)
def test_every_entry_field_is_known_by_key_and_both_names(spec):
    for name in (spec.key, spec.zh, spec.en, spec.en.upper(), f" {spec.zh} "):
        assert entry_field(name) is spec, name


@pytest.mark.parametrize("key", ["id", "version", "revision", "items", "名称", "", "信息项名称"])
def test_unknown_entry_fields(key):
    with pytest.raises(StewardError) as error:
        entry_field(key)
    assert error.value.code == "set.unknown_field"


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("sharing_type", "按需共享", "conditional"),
        ("sharing_type", "", None),
        ("open_type", " 非开放 ", "not_open"),
        ("update_frequency", "每季", "quarterly"),
        ("format_category", "表格", "spreadsheet"),
        ("published", "2021/3/4", "2021-03-04"),
        ("published", "2021年3月4日", "2021-03-04"),
        ("published", "20210304", "2021-03-04"),
        ("published", "明年三月", "明年三月"),  # kept as typed; the rules report that it is no date
        ("published", "２０２１.０３.０４", "2021-03-04"),
        ("code", " ３１９００１／００００１２ ", "319001/000012"),
        ("classification", "319 001", "319001"),
        ("provider_code", "11310000mb2f41826l", "11310000MB2F41826L"),
        ("provider_code", "1131 0000 MB2F 4182 6L", "11310000MB2F41826L"),
        ("provider_code", "", ""),
        ("related_codes", "319001/000001, 319001/000002;319001/000003", ["319001/000001", "319001/000002",
                                                                         "319001/000003"]),
        ("related_codes", "", []),
        ("name", "  企业登记信息  ", "企业登记信息"),
    ],
)
def test_parse_value(field, text, value):
    assert parse_value(ENTRY_FIELD[field], text) == value


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [("length", "18", 18), ("length", "１８", 18), ("length", "", None), ("data_type", "字符串", "C")],
)
def test_parse_item_value(field, text, value):
    assert parse_value(ITEM_FIELD[field], text) == value


@pytest.mark.parametrize(("field", "text"), [("length", "十八"), ("length", "-3"), ("length", "1.5"),
                                             ("data_type", "奇怪类型"), ("sharing_type", "随便")])
def test_parse_value_refuses(field, text):
    spec = ITEM_FIELD[field]
    with pytest.raises(StewardError) as error:
        parse_value(spec, text)
    assert error.value.code == "set.bad_value"
    assert error.value.params["field"] == field and error.value.params["value"] == text


def test_bad_vocabulary_value_lists_the_allowed_values(monkeypatch):
    monkeypatch.setenv("STEWARD_LANG", "zh")
    with pytest.raises(StewardError) as error:
        parse_value(ENTRY_FIELD["open_type"], "半开放")
    assert error.value.message("zh") == "开放属性不接受“半开放”：可选值：无条件开放、有条件开放、不予开放"


def test_changes_for_every_kind_of_assignment():
    entry = make_clean_entry()
    first, second = entry.items[0], entry.items[1]
    changes = changes_for(entry, [
        "共享类型=按需共享", "items.2.数据长度=300", "items.1.信息项名称=信用代码", "items+=电子邮箱:字符型:100",
        "items+=备注", "items-=3", "Abstract=新的摘要",
    ])
    assert changes[:3] == [
        SetField(entry.id, "sharing_type", "conditional"),
        SetItemField(entry.id, second.id, "length", 300),
        SetItemField(entry.id, first.id, "name", "信用代码"),
    ]
    added, bare = changes[3], changes[4]
    assert isinstance(added, AddItem) and (added.item.name, added.item.data_type, added.item.length) == (
        "电子邮箱", "C", 100
    )
    assert isinstance(bare, AddItem) and (bare.item.name, bare.item.data_type, bare.item.length) == ("备注", None, None)
    assert changes[5:] == [RemoveItem(entry.id, entry.items[2].id), SetField(entry.id, "abstract", "新的摘要")]


@pytest.mark.parametrize(
    ("assignment", "code"),
    [
        ("没有等号", "set.syntax"),
        ("=值", "set.syntax"),
        ("id=abc", "set.unknown_field"),
        ("version=3", "set.unknown_field"),
        ("items.1.position=3", "set.unknown_field"),
        ("items.1.nothing=3", "set.unknown_field"),
        ("items.0.name=x", "set.no_item"),
        ("items.4.name=x", "set.no_item"),
        ("items-=0", "set.no_item"),
        ("items-=x", "set.no_item"),
        ("items+=电子邮箱:奇怪类型", "set.bad_value"),
        ("items+=电子邮箱:C:很长", "set.bad_value"),
        ("items.1.数据长度=十八", "set.bad_value"),
        ("共享类型=随便共享", "set.bad_value"),
    ],
)
def test_changes_for_refuses(assignment, code):
    with pytest.raises(StewardError) as error:
        changes_for(make_clean_entry(), ["信息资源名称=新名字", assignment])
    assert error.value.code == code


def test_changes_apply_through_the_journal(workspace, clean_entry):
    entry = clean_entry()
    journal.apply(workspace, [journal.CreateEntry(entry)])
    stored = query.get_entry(workspace, entry.id)
    journal.apply(workspace, changes_for(stored, ["items-=1", "items+=电子邮箱:C:100", "开放属性=禁止开放"]),
                  reason="收紧")
    after = query.get_entry(workspace, entry.id)
    assert [i.name for i in after.items] == ["机构名称", "登记日期", "电子邮箱"]
    assert after.open_type == "not_open"


# New entries ---------------------------------------------------------------------------------


def test_next_code_follows_the_highest_sequence_of_the_classification(workspace, clean_entry):
    assert drafts.next_code(workspace, "319001") == "319001/000001"
    entries = [clean_entry(code="319001/000007"), clean_entry(code="319001/000003"),
               clean_entry(classification="3190011", code="3190011/000050"), clean_entry(code="31900/9")]
    journal.apply(workspace, [journal.CreateEntry(e) for e in entries])
    assert drafts.next_code(workspace, "319001") == "319001/000008"
    assert drafts.next_code(workspace, "3190011") == "3190011/000051"
    assert drafts.next_code(workspace, "202003") == "202003/000001"


def test_blank_entry_belongs_to_the_department(workspace):
    entry = drafts.blank_entry(workspace)
    assert (entry.provider, entry.provider_code) == (workspace.department_name, workspace.department_code)


def test_duplicate_entry_gets_fresh_ids_and_the_next_code(workspace, clean_entry):
    source = clean_entry(code="319001/000005")
    journal.apply(workspace, [journal.CreateEntry(source)])
    copy = drafts.duplicate_entry(workspace, query.get_entry(workspace, source.id), "(副本)")
    assert copy.id != source.id and copy.name == source.name + "(副本)"
    assert copy.code == "319001/000006"
    assert [i.name for i in copy.items] == [i.name for i in source.items]
    assert not {i.id for i in copy.items} & {i.id for i in source.items}
    assert (copy.version, copy.revision, copy.status) == (0, 0, "active")
    journal.apply(workspace, [journal.CreateEntry(copy)])
    assert query.problems_of(workspace, copy.id) == []
