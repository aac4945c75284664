"""What an import means: headers in any order, local words, updates as ordinary journal changes, all or nothing."""

from __future__ import annotations

import random

import pytest
from openpyxl import load_workbook

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.catalogue.operations import OpKind
from steward.catalogue.rules import MAX_TEXT
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
    replace_in_zip,
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


def test_rule_errors_refuse_their_rows_where_their_cause_is(workspace, tmp_path):
    entries = [entry_row("319001/000001", sharing_type="有条件共享", sharing_conditions=None)]
    items = item_rows("319001/000001")
    items[1]["开放属性"] = "无条件开放"
    entries[0]["开放属性"] = "不予开放"
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", entries, items)])
    assert not plan.ok  # a file is what the department decided: a rule error in it is an error of its row
    where = {(p.code, p.sheet, p.row, p.header) for p in plan.errors}
    assert ("sharing.conditions_required", "资源目录", 2, "共享条件") in where
    assert ("item.more_open_than_entry", "信息项", 3, "开放属性") in where  # an item's problem: its 信息项 row
    assert plan.count(Action.REJECTED) == 1 and plan.rejected_rows == 4
    with pytest.raises(StewardError):
        importer.apply(workspace, plan)
    assert query.summary(workspace).entries == 0 and operation_count(workspace) == 0


def _rule_breakers(tmp_path):
    entries = [entry_row("319001/000001"),
               entry_row("319001/000002", sharing_type="不予共享", sharing_conditions="依据《某条例》第八条",
                         sharing_method_category=None, sharing_method_type=None, open_type="无条件开放"),
               entry_row("319001/000003")]
    items = item_rows("319001/000001") + item_rows("319001/000002") + item_rows("319001/000003")
    return catalogue_xlsx(tmp_path / "c.xlsx", entries, items)


def test_skip_invalid_keeps_exactly_the_rows_without_rule_errors(workspace, tmp_path):
    plan = importer.plan(workspace, [_rule_breakers(tmp_path)])
    [error] = [p for p in plan.errors if p.code == "open.not_shared_but_open"]
    assert (error.sheet, error.row, error.header) == ("资源目录", 3, "开放属性")
    importer.apply(workspace, plan, skip_invalid=True)
    with workspace.reading() as conn:
        codes = [r[0] for r in conn.connection.driver_connection.execute("SELECT code FROM entries ORDER BY code")]
    assert codes == ["319001/000001", "319001/000003"]
    book = load_workbook(importer.write_rejected(plan, tmp_path / "rejected.xlsx", "zh"))
    header = [c.value for c in book[ENTRY_SHEET][1]]
    [row] = list(book[ENTRY_SHEET].iter_rows(min_row=2, values_only=True))
    assert row[header.index("信息资源代码")] == "319001/000002"
    assert "不予共享的资源" in row[header.index(PROBLEM_HEADER)]
    assert book[ITEM_SHEET].max_row == 4  # its three items go with it


def test_keep_errors_imports_rule_errors_as_drafts_held_back(workspace, tmp_path):
    plan = importer.plan(workspace, [_rule_breakers(tmp_path)]).with_errors_kept()
    assert plan.ok and plan.rejected == [] and plan.count(Action.NEW) == 3
    [kept] = [p for p in plan.errors if p.code == "open.not_shared_but_open"]
    assert kept.kept and (kept.sheet, kept.row) == ("资源目录", 3)
    assert not any(p.code in ("import.items_follow", "import.with_items") for p in plan.problems)
    importer.apply(workspace, plan)
    entry = entry_by_code(workspace, "319001/000002")
    assert "open.not_shared_but_open" in {p.code for p in query.problems_of(workspace, entry.id)}
    # Back to the strict reading of the same file: refused again.
    assert not plan.with_errors_kept(False).ok


def test_errors_come_before_warnings_and_a_missing_column_is_told_once(workspace, tmp_path):
    headers = [h for h in ENTRY_HEADERS if h not in ("共享方式分类", "共享方式类型")]
    headers.append("备注")
    entries = [entry_row(f"319001/{n:06d}") for n in range(1, 6)]
    entries.append(entry_row("319001/000006", update_frequency="偶尔"))
    items = [row for n in range(1, 7) for row in item_rows(f"319001/{n:06d}")]
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", entries, items, entry_headers=headers)])
    severities = [p.severity for p in plan.problems]
    assert severities == sorted(severities, key=lambda s: s is not Severity.ERROR)
    assert plan.problems[-1].code == "import.unknown_column"
    missing = [p for p in plan.problems if p.params.get("rule") == "sharing.method_required"]
    assert len(missing) == 2  # one per missing column, not one per row
    first = missing[0]
    assert (first.sheet, first.row, first.column, first.severity) == ("资源目录", None, None, Severity.ERROR)
    assert first.message("zh") == ("表中没有“共享方式分类”列（涉及 5 行：第 2–6 行）："
                                   + render("sharing.method_required", {"field": "sharing_method_category"}, "zh"))
    assert first.location("en") == "sheet 资源目录"
    # Each refused row still says why in the rejected workbook.
    reasons = {r.row.number: [p.code for p in r.reasons] for r in plan.rejected if not r.row.sheet.items}
    assert reasons[2] == ["sharing.method_required", "sharing.method_required", "import.items_follow"]


def test_an_update_is_not_refused_for_an_old_error_in_a_field_the_file_leaves_alone(workspace, tmp_path,
                                                                                    clean_entry):
    existing = clean_entry(code="319001/000100", sharing_type="conditional", sharing_conditions="")
    journal.apply(workspace, [journal.CreateEntry(existing)])
    path = tmp_path / "frequency.csv"
    path.write_bytes(csv_bytes([["信息资源代码", "更新周期"], ["319001/000100", "每月"]], "gbk"))
    plan = importer.plan(workspace, [path])
    assert plan.ok
    [old] = plan.warnings  # told once for the sheet, which has no 共享条件 column
    assert (old.code, old.params["rule"], old.params["rows"]) == ("import.column_absent", "sharing.conditions_required",
                                                                  "2")
    importer.apply(workspace, plan)
    assert entry_by_code(workspace, "319001/000100").update_frequency == "monthly"
    # A file that has the faulty field's column is judged on it.
    path.write_bytes(csv_bytes([["信息资源代码", "更新周期", "共享条件"], ["319001/000100", "每周", ""]], "gbk"))
    assert [p.code for p in importer.plan(workspace, [path]).errors] == ["sharing.conditions_required"]


def test_the_guides_own_headers(workspace, tmp_path):
    headers = [h for h in ENTRY_HEADERS if h not in ("提供方代码", "信息资源格式分类", "信息资源格式类型",
                                                     "共享方式分类", "共享方式类型")]
    headers += ["信息资源提供方代码", "信息资源格式", "共享方式"]
    rows = []
    for n, (fmt, method) in enumerate([("数据库/达梦 Dm", "共享平台方式/数据库"), ("电子表格／xlsx", "邮件方式 / 文件"),
                                       ("MySQL", "介质方式/文件"), ("服务接口", "共享平台/接口")], start=1):
        row = entry_row(f"319001/{n:06d}")
        row.update({"信息资源提供方代码": "12310000425003998C", "信息资源格式": fmt, "共享方式": method})
        rows.append(row)
    items = [row for n in range(1, 5) for row in item_rows(f"319001/{n:06d}")]
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "guide.xlsx", rows, items, entry_headers=headers)])
    assert not [p for p in plan.problems if p.code == "import.unknown_column"]
    assert plan.ok, [p.message("en") for p in plan.errors]
    importer.apply(workspace, plan)
    found = [(e.provider_code, e.format_category, e.format_type, e.sharing_method_category, e.sharing_method_type)
             for e in (entry_by_code(workspace, f"319001/{n:06d}") for n in range(1, 5))]
    assert found == [
        ("12310000425003998C", "database", "达梦 Dm", "platform", "database"),
        ("12310000425003998C", "spreadsheet", "xlsx", "email", "file"),
        ("12310000425003998C", "database", "MySQL", "media", "file"),  # a type names its category
        ("12310000425003998C", "service", "", "platform", "interface"),
    ]


def test_a_combined_column_with_a_word_of_no_vocabulary_is_an_error_at_its_cell(workspace, tmp_path):
    headers = [h for h in ENTRY_HEADERS if h not in ("共享方式分类", "共享方式类型")] + ["共享方式"]
    row = entry_row()
    row["共享方式"] = "飞鸽传书/文件"
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", [row], item_rows(), entry_headers=headers)])
    [error] = [p for p in plan.errors if p.code == "import.vocab"]
    assert (error.row, error.header, error.field) == (2, "共享方式", "sharing_method_category")
    assert "飞鸽传书" in error.message("zh")
    rejected = load_workbook(importer.write_rejected(plan, tmp_path / "r.xlsx"))[ENTRY_SHEET]
    header = [c.value for c in rejected[1]]
    cells = [c.value for c in rejected[2]]
    assert (cells[header.index("共享方式分类")], cells[header.index("共享方式类型")]) == ("飞鸽传书", "文件")


def test_a_cell_longer_than_excel_holds_is_refused(workspace, tmp_path):
    entries = tmp_path / "entries.csv"
    long_abstract = "长" * 5_000_000  # 5 MB of text: Excel would keep 32,767 characters of it
    entries.write_bytes(csv_bytes(rows_of([entry_row(abstract=long_abstract)], ENTRY_HEADERS), "utf-8"))
    items = tmp_path / "items.csv"
    items.write_bytes(csv_bytes(rows_of(item_rows(), ITEM_HEADERS), "utf-8"))
    plan = importer.plan(workspace, [entries, items])
    [error] = [p for p in plan.errors if p.code == "import.too_long"]
    assert (error.row, error.header) == (2, "信息资源摘要")
    assert "5000000" in error.message("en") and "32767" in error.message("en")
    assert not plan.ok
    # The rejected workbook leaves the cell out rather than write what Excel would cut short.
    book = load_workbook(importer.write_rejected(plan, tmp_path / "r.xlsx", "en"))
    header = [c.value for c in book[ENTRY_SHEET][1]]
    cells = [c.value for c in book[ENTRY_SHEET][2]]
    assert cells[header.index("信息资源摘要")] is None
    assert "32767" in cells[header.index(PROBLEM_HEADER)]
    # An xlsx that another program wrote can hold one too (openpyxl itself cuts text short: written here by hand).
    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row(), entry_row("319001/000002", sharing_conditions="长条件")],
                          item_rows() + item_rows("319001/000002"))
    replace_in_zip(path, "xl/sharedStrings.xml", ">长条件<", ">" + "条" * 32_768 + "<")
    [error] = [p for p in importer.plan(workspace, [path]).errors if p.code == "import.too_long"]
    assert (error.row, error.header, error.params["length"]) == (3, "共享条件", 32_768)
    # As long as a cell may be: no longer than Excel holds, but longer than the exchange takes.
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "full.xlsx", [entry_row(abstract="长" * 32_767)],
                                                    item_rows())])
    assert next(p.code for p in plan.errors) == "text.too_long"  # (its items follow it out)
    assert importer.plan(workspace, [catalogue_xlsx(
        tmp_path / "most.xlsx", [entry_row(abstract="长" * MAX_TEXT)], item_rows())]).ok
    # A reason quoting a long cell is cut short itself, rather than the workbook not being written.
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "word.xlsx", [entry_row(sharing_type="共" * 32_760)],
                                                    item_rows())])
    book = load_workbook(importer.write_rejected(plan, tmp_path / "r2.xlsx", "zh"))
    header = [c.value for c in book[ENTRY_SHEET][1]]
    reasons = book[ENTRY_SHEET].cell(2, header.index(PROBLEM_HEADER) + 1).value
    assert 32_000 < len(reasons) <= 32_767 and reasons.endswith("…")


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
