"""What an import means: headers in any order, local words, updates as ordinary journal changes, all or nothing."""

from __future__ import annotations

import random

import pytest
from openpyxl import load_workbook

from steward.catalogue.errors import StewardError
from steward.catalogue.operations import OpKind
from steward.files import importer
from steward.files.importer import Action, Severity
from steward.files.template import ENTRY_SHEET, ITEM_SHEET, PROBLEM_HEADER, SOURCE_HEADER
from steward.sync.pending import pending_changes
from steward.workspace import journal, query
from tests.spreadsheets import (
    ENTRY_HEADERS,
    ITEM_HEADERS,
    catalogue_xlsx,
    csv_bytes,
    entry_row,
    item_rows,
    rows_of,
)


def entry_by_code(workspace, code):
    return query.find_entry(workspace, code)


def operation_count(workspace) -> int:
    with workspace.reading() as conn:
        return conn.connection.driver_connection.execute("SELECT COUNT(*) FROM operations").fetchone()[0]


def test_headers_in_any_order_local_words_and_unknown_columns(workspace, tmp_path):
    headers = list(ENTRY_HEADERS)
    random.Random(4).shuffle(headers)
    headers.append("备注")  # not a template field
    row = entry_row("319001/000001", sharing_type="按需共享", sharing_conditions="经审批后共享", open_type="非开放",
                    update_frequency="每季", format_category="表格", format_type="xlsx")
    row["备注"] = "内部使用"
    items = item_rows("319001/000001", 2)
    items[0]["共享类型"], items[0]["开放属性"] = "不共享", "不开放"
    path = catalogue_xlsx(tmp_path / "c.xlsx", [row], items, entry_headers=headers,
                          item_headers=list(reversed(ITEM_HEADERS)))
    plan = importer.plan(workspace, [path])
    assert plan.ok
    [ignored] = plan.warnings
    assert (ignored.code, ignored.row, ignored.header, ignored.severity) == (
        "import.unknown_column", None, "备注", Severity.WARNING)
    assert "备注" in ignored.message("zh") and ignored.location("en").startswith("资源目录 column ")
    importer.apply(workspace, plan)
    entry = entry_by_code(workspace, "319001/000001")
    assert (entry.sharing_type, entry.open_type, entry.update_frequency, entry.format_category) == (
        "conditional", "not_open", "quarterly", "spreadsheet")
    assert [(i.name, i.sharing_type, i.open_type) for i in entry.items] == [
        ("统一社会信用代码", "not_shared", "not_open"), ("机构名称", None, None)]


def test_a_new_entry_is_one_create_in_one_journal_step(workspace, tmp_path):
    entries = [entry_row(f"319001/{n:06d}") for n in (1, 2)]
    items = item_rows("319001/000001") + item_rows("319001/000002", 2)
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "目录.xlsx", entries, items)], lang="zh")
    result = importer.apply(workspace, plan)
    assert {op.kind for op in result.operations} == {OpKind.CREATE}
    assert len({op.group_id for op in result.operations}) == 1
    assert {op.reason for op in result.operations} == {"导入 目录.xlsx"}
    assert len(pending_changes(workspace)) == 2
    entry = entry_by_code(workspace, "319001/000002")
    assert [(i.name, i.data_type, i.length, i.position) for i in entry.items] == [
        ("统一社会信用代码", "C", 18, 1), ("机构名称", "C", 200, 2)]
    # Undo, as the window does it: the inverse of the step, through the journal.
    journal.apply(workspace, result.inverse(), undoes=result.group_id)
    assert query.summary(workspace).entries == 0


def test_a_sheet_without_provider_columns_is_the_departments_own(workspace, tmp_path):
    headers = [h for h in ENTRY_HEADERS if h not in ("信息资源提供方", "提供方代码")]
    importer.apply(workspace, importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", [entry_row()],
                                                                        item_rows(), entry_headers=headers)]))
    entry = entry_by_code(workspace, "319001/000001")
    assert (entry.provider, entry.provider_code) == (workspace.department_name, workspace.department_code)


def _import(workspace, path, **kwargs):
    return importer.apply(workspace, importer.plan(workspace, [path]), **kwargs)


def test_updates_of_existing_entries_are_field_and_item_changes(workspace, tmp_path, clean_entry):
    existing = clean_entry(code="319001/000100", sharing_type="unconditional")
    journal.apply(workspace, [journal.CreateEntry(existing)])
    before_items = {i.name: i.id for i in existing.items}
    row = entry_row("319001/000100", name=existing.name, abstract=existing.abstract, format_type="MySQL",
                    sharing_type="有条件共享", sharing_conditions="经审批后用于监管", update_frequency="每月")
    items = [  # 机构名称 changes type, 登记日期 goes, 注册资本 is new, the order changes
        {"信息资源代码": "319001/000100", "信息项名称": "机构名称", "数据类型": "备注型", "数据长度": 200,
         "共享类型": None, "开放属性": None},
        {"信息资源代码": "319001/000100", "信息项名称": "统一社会信用代码", "数据类型": "字符型", "数据长度": 18,
         "共享类型": None, "开放属性": None},
        {"信息资源代码": "319001/000100", "信息项名称": "注册资本", "数据类型": "货币型", "数据长度": 16,
         "共享类型": None, "开放属性": None},
    ]
    path = catalogue_xlsx(tmp_path / "update.xlsx", [row], items)
    plan = importer.plan(workspace, [path])
    assert [e.action for e in plan.entries] == [Action.UPDATE]
    result = importer.apply(workspace, plan)
    kinds = sorted((op.kind, op.field or "") for op in result.operations)
    assert (OpKind.SET, "sharing_type") in kinds and (OpKind.SET, "update_frequency") in kinds
    assert (OpKind.ITEM_REMOVE, "") in kinds and (OpKind.ITEM_ADD, "") in kinds
    assert (OpKind.ITEM_SET, "data_type") in kinds and (OpKind.ITEM_SET, "position") in kinds
    assert not any(op.kind is OpKind.CREATE for op in result.operations)
    entry = entry_by_code(workspace, "319001/000100")
    assert entry.id == existing.id
    assert [i.name for i in entry.items] == ["机构名称", "统一社会信用代码", "注册资本"]
    assert entry.items[0].id == before_items["机构名称"] and entry.items[0].data_type == "M"
    # Tightening the sharing attribute needs a reason: the import gives its own, recorded with the change.
    tightened = next(op for op in result.operations if op.field == "sharing_type")
    assert tightened.reason == plan.reason and "update.xlsx" in tightened.reason
    pending = {(c.kind, c.field) for c in pending_changes(workspace)}
    assert (OpKind.CREATE, None) in pending  # never synced: the create holds it all

    journal.apply(workspace, result.inverse(), undoes=result.group_id)
    back = entry_by_code(workspace, "319001/000100")
    assert back.content() == existing.content()
    assert [(i.id, i.name, i.data_type) for i in back.items] == [(i.id, i.name, i.data_type) for i in existing.items]


def test_a_second_import_of_the_same_file_changes_nothing(workspace, tmp_path):
    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row()], item_rows())
    _import(workspace, path)
    count = operation_count(workspace)
    plan = importer.plan(workspace, [path])
    assert [e.action for e in plan.entries] == [Action.UNCHANGED] and plan.changes == []
    assert importer.apply(workspace, plan) is None
    assert operation_count(workspace) == count


def test_an_update_sheet_may_hold_only_the_code_and_the_fields_to_change(workspace, tmp_path):
    _import(workspace, catalogue_xlsx(tmp_path / "c.xlsx", [entry_row(f"319001/{n:06d}") for n in (1, 2)],
                                      item_rows("319001/000001") + item_rows("319001/000002")))
    path = tmp_path / "sharing.csv"
    path.write_bytes(csv_bytes([["信息资源代码", "共享类型", "共享条件"],
                                ["319001/000001", "按需共享", "仅限监管用途"]], "gbk"))
    result = _import(workspace, path)
    assert sorted(op.field for op in result.operations) == ["sharing_conditions", "sharing_type"]
    assert len(entry_by_code(workspace, "319001/000001").items) == 3  # no item rows: items untouched


def test_csv_files_of_entries_and_items(workspace, tmp_path):
    entries, items = tmp_path / "entries.csv", tmp_path / "items.csv"
    entries.write_bytes(csv_bytes(rows_of([entry_row()], ENTRY_HEADERS), "utf-8-sig"))
    items.write_bytes(csv_bytes(rows_of(item_rows(), ITEM_HEADERS), "gb18030"))
    plan = importer.plan(workspace, [items, entries])  # in any order: each file is known by its header
    assert (plan.entries_read, plan.items_read) == (1, 3)
    importer.apply(workspace, plan)
    assert len(entry_by_code(workspace, "319001/000001").items) == 3


def test_every_problem_is_reported_and_nothing_changes(workspace, tmp_path):
    entries = [
        entry_row("319001/000001"),
        entry_row("319001/000002", sharing_type="随便共享"),  # not a value
        entry_row("319001/000003"),
        entry_row("319001/000003", name="重复的代码"),  # the same code twice
        entry_row(None, name="没有代码"),
    ]
    items = [
        *item_rows("319001/000001"),
        {"信息资源代码": "319001/000009", "信息项名称": "孤儿", "数据类型": "字符型", "数据长度": 1,
         "共享类型": None, "开放属性": None},  # no such entry anywhere
        {"信息资源代码": "319001/000001", "信息项名称": "长度不对", "数据类型": "字符型", "数据长度": "十八",
         "共享类型": None, "开放属性": None},
    ]
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "bad.xlsx", entries, items)])
    found = {(p.sheet, p.row, p.code) for p in plan.errors}
    assert ("资源目录", 3, "import.vocab") in found
    assert {("资源目录", 4, "import.duplicate_code"), ("资源目录", 5, "import.duplicate_code")} <= found
    assert ("资源目录", 6, "import.code_missing") in found
    assert ("信息项", 5, "import.unknown_entry") in found
    assert ("信息项", 6, "import.int") in found
    # The entry of the bad item row is refused with all its rows: the report says so once, on the entry row;
    # the rejected rows, written back for fixing, each carry the reason.
    assert ("资源目录", 2, "import.with_items") in found
    assert not {("信息项", n, "import.with_items") for n in (2, 3, 4)} & found
    reasons = {(r.row.sheet.name, r.row.number): [p.code for p in r.reasons] for r in plan.rejected}
    assert {reasons[("信息项", n)][0] for n in (2, 3, 4)} == {"import.with_items"}
    summary = next(p for p in plan.errors if p.code == "import.with_items")
    assert summary.message("zh") == "同一条目的其他行有错误（信息项 第 6 行），整个条目未导入"
    vocab = next(p for p in plan.errors if p.code == "import.vocab")
    assert (vocab.column, vocab.header, vocab.field) == (ENTRY_HEADERS.index("共享类型"), "共享类型", "sharing_type")
    assert vocab.message("zh") == "“随便共享”不是共享类型的取值（可选：无条件共享、有条件共享、不予共享）"
    assert vocab.message("en") == ("“随便共享” is not a value of Sharing type (allowed: Shared unconditionally, "
                                   "Shared on conditions, Not shared)")
    assert plan.count(Action.REJECTED) == 5 and not plan.ok

    with pytest.raises(StewardError) as caught:
        importer.apply(workspace, plan)
    assert caught.value.code == "import.refused"
    assert query.summary(workspace).entries == 0 and operation_count(workspace) == 0


def test_an_entry_refused_takes_its_items_along_in_one_line(workspace, tmp_path):
    items = item_rows("319001/000001", 5)
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", [entry_row(update_frequency="偶尔")], items)])
    assert [(p.sheet, p.row, p.code) for p in plan.errors] == [
        ("资源目录", 2, "import.vocab"), ("资源目录", 2, "import.items_follow")]
    assert plan.errors[1].message("zh") == "它的 5 个信息项行（信息项 第 2–6 行）一并未导入"
    assert plan.rejected_rows == 6


def test_skip_invalid_imports_the_rest_and_writes_the_rejected_rows_to_fix(workspace, tmp_path):
    entries = [entry_row("319001/000001"), entry_row("319001/000002", open_type="半开放"), entry_row("319001/000003")]
    items = item_rows("319001/000001") + item_rows("319001/000002") + item_rows("319001/000003")
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", entries, items)])
    importer.apply(workspace, plan, skip_invalid=True)
    assert query.summary(workspace).entries == 2
    rejected = importer.write_rejected(plan, tmp_path / "rejected.xlsx", "zh")

    book = load_workbook(rejected)
    entry_sheet, item_sheet = book[ENTRY_SHEET], book[ITEM_SHEET]
    header = [c.value for c in entry_sheet[1]]
    assert header[-2:] == [PROBLEM_HEADER, SOURCE_HEADER]
    assert entry_sheet.max_row == 2 and item_sheet.max_row == 4
    row = [c.value for c in entry_sheet[2]]
    assert row[header.index("开放属性")] == "半开放"
    assert "“半开放”不是开放属性的取值" in row[header.index(PROBLEM_HEADER)]
    assert row[header.index(SOURCE_HEADER)] == "c.xlsx 资源目录 第 3 行"

    # The steward fixes the cell and imports the rejected file itself: its extra columns are no trouble.
    entry_sheet.cell(2, header.index("开放属性") + 1, "有条件开放")
    entry_sheet.cell(2, header.index("开放条件") + 1, "实名申请")
    book.save(rejected)
    plan = importer.plan(workspace, [rejected])
    assert plan.ok and plan.warnings == []
    importer.apply(workspace, plan)
    entry = entry_by_code(workspace, "319001/000002")
    assert entry.open_type == "conditional" and len(entry.items) == 3


def test_rule_problems_are_warnings_where_their_cause_is(workspace, tmp_path):
    entries = [entry_row("319001/000001", sharing_type="有条件共享", sharing_conditions=None)]
    items = item_rows("319001/000001")
    items[1]["开放属性"] = "无条件开放"
    entries[0]["开放属性"] = "不予开放"
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", entries, items)])
    assert plan.ok  # imported: the workspace keeps work in progress and shows its problems
    where = {(p.code, p.sheet, p.row, p.header) for p in plan.warnings}
    assert ("sharing.conditions_required", "资源目录", 2, "共享条件") in where
    assert ("item.more_open_than_entry", "信息项", 3, "开放属性") in where
    importer.apply(workspace, plan)
    problems = {p.code for p in query.problems_of(workspace, entry_by_code(workspace, "319001/000001").id)}
    assert {"sharing.conditions_required", "item.more_open_than_entry"} <= problems


def test_a_missing_or_doubled_column_makes_the_file_unusable(workspace, tmp_path):
    # The item sheet without its item names cannot be read as one.
    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row()], item_rows(), item_headers=["信息资源代码", "数据类型"])
    with pytest.raises(importer.ImportUnusable) as caught:
        importer.plan(workspace, [path])
    assert [(p.sheet, p.code) for p in caught.value.problems] == [("信息项", "import.no_header")]
    headers = ["信息资源代码", "信息项名称", "数据类型", "数据类型"]
    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row()], item_rows(), item_headers=headers)
    with pytest.raises(importer.ImportUnusable) as caught:
        importer.plan(workspace, [path])
    [problem] = caught.value.problems
    assert problem.code == "import.duplicate_column" and "C" in problem.message("en") and "D" in problem.message("en")
    assert query.summary(workspace).entries == 0


def test_ambiguous_codes_in_the_workspace_are_refused(workspace, tmp_path, clean_entry):
    journal.apply(workspace, [journal.CreateEntry(clean_entry(code="319001/000500")),
                              journal.CreateEntry(clean_entry(code="319001/000500"))])
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", [entry_row("319001/000500")])])
    assert [p.code for p in plan.errors] == ["import.ambiguous"]


def test_header_keys_fold_marks_hints_and_width():
    assert importer.header_key(" 共享类型* ") == importer.header_key("共享类型")
    assert importer.header_key("发布日期(YYYY-MM-DD)") == importer.header_key("发布日期")
    assert importer.header_key("Sharing Type") == importer.header_key("sharing type")
