"""`steward template`, `steward import` and `steward export` as a steward runs them: exit codes, messages, JSON."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from steward.workspace import journal, query
from steward.workspace.workspace import Workspace
from tests.helpers import DEPARTMENT_CODE, DEPARTMENT_NAME, run_cli
from tests.spreadsheets import ENTRY_HEADERS, ITEM_HEADERS, catalogue_xlsx, csv_bytes, entry_row, item_rows, rows_of


@pytest.fixture
def ws_dir(tmp_path):
    Workspace.create(tmp_path / "ws", DEPARTMENT_CODE, DEPARTMENT_NAME).close()
    return tmp_path / "ws"


def entries_in(ws_dir) -> int:
    with Workspace.open(ws_dir) as ws:
        return query.summary(ws).entries


def test_template_then_fill_then_import(tmp_path, ws_dir):
    template = tmp_path / "编目模板.xlsx"
    result = run_cli("template", template, lang="zh")
    assert result.returncode == 0 and "编目模板" in result.stdout
    book = load_workbook(template)
    entries, items = book["资源目录"], book["信息项"]
    entries.append(list(entry_row("319001/000001").values()))
    for row in item_rows("319001/000001"):
        items.append(list(row.values()))
    book.save(template)

    result = run_cli("import", ws_dir, template, lang="zh")
    assert result.returncode == 0, result.stderr
    assert "新建 1 个条目" in result.stdout and "可撤销" in result.stdout
    assert entries_in(ws_dir) == 1


def test_a_file_with_errors_changes_nothing_and_exits_1(tmp_path, ws_dir):
    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row("319001/000001"),
                                                entry_row("319001/000002", open_type="半开放")])
    result = run_cli("import", ws_dir, path, lang="zh")
    assert result.returncode == 1
    assert "✗ 资源目录 第 3 行 M 列（开放属性）：“半开放”不是开放属性的取值" in result.stdout
    assert "工作区未做任何修改" in result.stdout and "--skip-invalid" in result.stdout
    assert entries_in(ws_dir) == 0
    english = run_cli("import", ws_dir, path, lang="en")
    assert "✗ 资源目录 row 3, column M (开放属性): “半开放” is not a value of Open attribute" in english.stdout
    assert "Traceback" not in result.stderr + english.stderr


def test_dry_run_reports_and_changes_nothing(tmp_path, ws_dir):
    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row()], item_rows())
    result = run_cli("import", ws_dir, path, "--dry-run", "--json")
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert (report["dry_run"], report["applied"], report["created"], report["rejected_rows"]) == (True, False, 1, 0)
    assert report["entries"] == [{"code": "319001/000001", "name": "企业登记信息001", "action": "new",
                                  "sheet": "资源目录", "row": 2}]
    assert entries_in(ws_dir) == 0


def test_skip_invalid_imports_the_rest_and_writes_the_rejected_rows(tmp_path, ws_dir):
    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row("319001/000001"),
                                                entry_row("319001/000002", sharing_type="看情况")],
                          item_rows("319001/000001") + item_rows("319001/000002"))
    rejected = tmp_path / "rejected.xlsx"
    result = run_cli("import", ws_dir, path, "--skip-invalid", "--rejected", rejected, "--json")
    assert result.returncode == 1  # rows were rejected
    report = json.loads(result.stdout)
    assert (report["applied"], report["created"], report["rejected_rows"]) == (True, 1, 4)  # its items go along
    assert report["rejected_file"] == str(rejected)
    problem, follow = [p for p in report["problems"] if p["severity"] == "error"]
    assert follow["code"] == "import.items_follow"
    assert (problem["sheet"], problem["row"], problem["column"], problem["code"]) == (
        "资源目录", 3, "I", "import.vocab")
    assert entries_in(ws_dir) == 1
    assert load_workbook(rejected)["资源目录"].max_row == 2 and load_workbook(rejected)["信息项"].max_row == 4


def test_unusable_files_exit_2_with_a_clear_message(tmp_path, ws_dir):
    not_a_sheet = tmp_path / "scan.xlsx"
    not_a_sheet.write_bytes(b"%PDF-1.7\n" + bytes(100))
    result = run_cli("import", ws_dir, not_a_sheet, lang="zh")
    assert result.returncode == 2 and "不是 Excel 工作簿" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("import", ws_dir, tmp_path / "missing.csv")
    assert result.returncode == 2 and "Cannot read" in result.stderr
    doubled = tmp_path / "doubled.csv"
    doubled.write_bytes(csv_bytes(rows_of([entry_row()], [*ENTRY_HEADERS, "共享类型"]), "gbk"))
    result = run_cli("import", ws_dir, doubled)
    assert result.returncode == 2 and "appears twice" in result.stdout
    assert entries_in(ws_dir) == 0


def test_export_every_format(tmp_path, ws_dir, clean_entry):
    with Workspace.open(ws_dir) as ws:
        journal.apply(ws, [journal.CreateEntry(clean_entry()), journal.CreateEntry(clean_entry(open_type="not_open"))])
    for name, fmt, written in (("c.xlsx", "xlsx", 2), ("c.csv", "csv", 2), ("c.jsonld", "dcat", 1),
                               ("c.ttl", "dcat", 1), ("data.json", "datajson", 1)):
        result = run_cli("export", ws_dir, tmp_path / name, "--json", "--base-uri", "https://data.example.cn/c")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert (report["format"], report["written"]) == (fmt, written)
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "c_信息项.csv").exists()
    result = run_cli("export", ws_dir, tmp_path / "c.jsonld", lang="zh")
    assert "已导出 1 个条目" in result.stdout and "1 个条目不予开放" in result.stdout
    bad = run_cli("export", ws_dir, tmp_path / "c.out")
    assert bad.returncode == 2 and "--format" in bad.stderr
    bad = run_cli("export", ws_dir, tmp_path / "c.jsonld", "--base-uri", "ftp://x")
    assert bad.returncode == 2 and "http" in bad.stderr


def _gbk_catalogue(tmp_path):
    """A department's catalogue as GBK CSV files: two entries break the sharing and open rules."""
    entries = [
        entry_row("319001/000001", name="企业登记信息"),
        entry_row("319001/000002", name="行政处罚信息", sharing_type="不予共享",
                  sharing_conditions="依据《某条例》第八条", sharing_method_category=None, sharing_method_type=None,
                  open_type="无条件开放"),
        entry_row("319001/000003", name="食品经营许可信息", sharing_type="有条件共享", sharing_conditions=None),
        entry_row("319001/000004", name="特种设备登记信息", sharing_type="按需共享", sharing_conditions="经审批后共享",
                  open_type="非开放"),
    ]
    items = [row for n in range(1, 5) for row in item_rows(f"319001/{n:06d}")]
    entries_csv, items_csv = tmp_path / "目录.csv", tmp_path / "信息项.csv"
    entries_csv.write_bytes(csv_bytes(rows_of(entries, ENTRY_HEADERS), "gbk"))
    items_csv.write_bytes(csv_bytes(rows_of(items, ITEM_HEADERS), "gbk"))
    return entries_csv, items_csv


def codes_in(ws_dir) -> list[str]:
    with Workspace.open(ws_dir) as ws, ws.reading() as conn:
        return [r[0] for r in conn.connection.driver_connection.execute("SELECT code FROM entries ORDER BY code")]


def test_a_gbk_csv_breaking_the_rules_is_refused_whole_and_skip_invalid_keeps_exactly_the_valid_rows(tmp_path,
                                                                                                   ws_dir):
    entries_csv, items_csv = _gbk_catalogue(tmp_path)
    result = run_cli("import", ws_dir, entries_csv, items_csv, lang="zh")
    assert result.returncode == 1, result.stderr
    assert "✗ 目录.csv 第 3 行 M 列（开放属性）：不予共享的资源" in result.stdout
    assert "✗ 目录.csv 第 4 行 J 列（共享条件）：" in result.stdout
    assert "工作区未做任何修改" in result.stdout
    assert codes_in(ws_dir) == []

    rejected = tmp_path / "未导入.xlsx"
    result = run_cli("import", ws_dir, entries_csv, items_csv, "--skip-invalid", "--rejected", rejected, "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["created"], report["rejected_entries"], report["rejected_rows"]) == (2, 2, 8)
    assert codes_in(ws_dir) == ["319001/000001", "319001/000004"]
    book = load_workbook(rejected)
    assert [r[2] for r in book["资源目录"].iter_rows(min_row=2, values_only=True)] == ["319001/000002",
                                                                                    "319001/000003"]
    assert book["信息项"].max_row == 7


def test_keep_errors_imports_them_as_drafts_held_back_from_sync(tmp_path, ws_dir):
    entries_csv, items_csv = _gbk_catalogue(tmp_path)
    result = run_cli("import", ws_dir, entries_csv, items_csv, "--keep-errors", lang="zh")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 个条目带着错误导入" in result.stdout
    assert codes_in(ws_dir) == [f"319001/{n:06d}" for n in range(1, 5)]
    report = json.loads(run_cli("import", ws_dir, entries_csv, items_csv, "--keep-errors", "--dry-run",
                                "--json").stdout)
    assert report["held_back"] == 0 and report["unchanged"] == 4  # nothing left to import
    assert json.loads(run_cli("validate", ws_dir, "--json").stdout)["entries_with_errors"] == 2


def test_an_unwritable_rejected_file_stops_the_import_before_anything_changes(tmp_path, ws_dir):
    entries_csv, items_csv = _gbk_catalogue(tmp_path)
    for target in (tmp_path / "no-such-folder" / "r.xlsx", tmp_path):  # a missing folder; a folder
        result = run_cli("import", ws_dir, entries_csv, items_csv, "--skip-invalid", "--rejected", target, lang="zh")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "无法写入" in result.stderr and "Traceback" not in result.stderr
        assert codes_in(ws_dir) == []


def test_template_wants_an_xlsx_name(tmp_path):
    result = run_cli("template", tmp_path / "模板.csv", lang="zh")
    assert result.returncode == 2 and ".xlsx" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "模板.csv").exists()


def test_set_reads_the_usual_date_forms(ws_dir, clean_entry):
    entry = clean_entry()
    with Workspace.open(ws_dir) as ws:
        journal.apply(ws, [journal.CreateEntry(entry)])
    for typed in ("2023年3月1日", "2023/3/2", "20230303"):
        assert run_cli("set", ws_dir, entry.code, f"发布日期={typed}").returncode == 0
    with Workspace.open(ws_dir) as ws:
        assert query.get_entry(ws, entry.id).published == "2023-03-03"


def test_an_xlsx_export_refuses_a_cell_excel_would_cut_short(tmp_path, ws_dir, clean_entry):
    long_entry = clean_entry(code="319001/000009", abstract="长" * 40_000)
    with Workspace.open(ws_dir) as ws:
        journal.apply(ws, [journal.CreateEntry(clean_entry()), journal.CreateEntry(long_entry)])
    result = run_cli("export", ws_dir, tmp_path / "c.xlsx", lang="zh")
    assert result.returncode == 2
    assert "319001/000009" in result.stderr and "信息资源摘要" in result.stderr and "CSV" in result.stderr
    assert not (tmp_path / "c.xlsx").exists() and list(tmp_path.glob(".c.xlsx*")) == []
    assert run_cli("export", ws_dir, tmp_path / "c.csv").returncode == 0  # CSV holds any length
