"""The template, and exports in its layout: export then import gives back the same catalogue."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from steward import sample
from steward.catalogue.errors import StewardError
from steward.catalogue.model import DataItem
from steward.catalogue.vocabulary import vocabulary
from steward.files import exporter, importer
from steward.files.template import ENTRY_COLUMNS, ENTRY_SHEET, GUIDE_SHEET, ITEM_COLUMNS, ITEM_SHEET, write_template
from steward.workspace import journal, store
from steward.workspace.journal import Cancelled
from steward.workspace.workspace import Workspace
from tests.helpers import DEPARTMENT


def catalogue(workspace: Workspace) -> dict[str, tuple[dict, list[tuple]]]:
    """Everything a steward keeps of each entry, by code (ids differ between workspaces)."""
    with workspace.reading() as conn:
        pks = [r[0] for r in conn.connection.driver_connection.execute("SELECT pk FROM entries")]
        entries = store.load_entries(conn, pks=pks)
    return {
        e.code: (e.content(), [(i.name, i.data_type, i.length, i.sharing_type, i.open_type, i.position)
                               for i in e.items])
        for e in entries.values()
    }


@pytest.fixture
def filled(workspace, clean_entry):
    """Sample entries (a few breaking rules, codes made unique) and entries with awkward values."""
    entries = list(sample.generate(DEPARTMENT, 120, seed=9))
    seen: set[str] = set()
    for n, entry in enumerate(entries):
        if entry.code in seen:  # entries sharing a code cannot be told apart in a file
            entry.code = f"{entry.classification}/{800000 + n}"
        seen.add(entry.code)
    tricky = [
        clean_entry(name="=HYPERLINK(\"http://x\")", abstract="第一行\n第二行,含“引号”与逗号", code="319001/900001"),
        clean_entry(code="319001/900002", status="retired", related_codes=["319001/900001", "319001/900003"],
                    published="2023-02-30", format_type=""),
        clean_entry(code="319001/900003", sharing_type="conditional", sharing_conditions="+仅限监管",
                    open_type="not_open",
                    items=[DataItem(name="@用户", data_type="C", length=None, open_type="not_open", position=1),
                           DataItem(name="-金额", data_type="Y", length=12, sharing_type="not_shared", position=2)]),
    ]
    journal.apply(workspace, [journal.CreateEntry(e) for e in [*entries, *tricky]])
    return workspace


def test_the_template_has_the_guides_headers_drop_downs_and_a_guide(tmp_path):
    path = tmp_path / "编目模板.xlsx"
    write_template(path)
    book = load_workbook(path)
    assert book.sheetnames == [ENTRY_SHEET, ITEM_SHEET, GUIDE_SHEET]
    entries, items = book[ENTRY_SHEET], book[ITEM_SHEET]
    assert [c.value for c in entries[1]] == [c.spec.zh for c in ENTRY_COLUMNS]
    assert [c.value for c in items[1]] == ["信息资源代码", "信息项名称", "数据类型", "数据长度", "共享类型", "开放属性"]
    assert entries.max_row == 1 and entries.freeze_panes == "A2"
    lists = {str(v.sqref).split(":")[0]: v.formula1 for v in entries.data_validations.dataValidation
             if v.type == "list"}
    sharing_column = next(i for i, c in enumerate(ENTRY_COLUMNS) if c.key == "sharing_type")
    assert lists[f"{chr(65 + sharing_column)}2"] == '"无条件共享,有条件共享,不予共享"'
    assert len(lists) == sum(1 for c in ENTRY_COLUMNS if c.spec.vocabulary)
    item_lists = [v.formula1 for v in items.data_validations.dataValidation]
    assert '"' + ",".join(t.zh for t in vocabulary("data_type").terms) + '"' in item_lists
    guide = "\n".join(str(c.value) for row in book[GUIDE_SHEET].iter_rows() for c in row if c.value)
    assert "按需共享" in guide and "信息资源代码" in guide and "YYYY-MM-DD" in guide


def test_the_templates_checks_tell_the_steward_what_is_wrong(tmp_path):
    path = tmp_path / "编目模板.xlsx"
    write_template(path)
    book = load_workbook(path)
    entries, items = book[ENTRY_SHEET], book[ITEM_SHEET]
    every = [*entries.data_validations.dataValidation, *items.data_validations.dataValidation]
    for validation in every:  # Excel shows neither message unless told to
        assert validation.showErrorMessage and validation.showInputMessage
        assert validation.errorTitle and validation.error and validation.promptTitle and validation.prompt
        assert any("\u4e00" <= ch <= "\u9fff" for ch in validation.error + validation.prompt)

    def at(sheet, header):
        letter = chr(65 + [c.value for c in sheet[1]].index(header))
        return next(v for v in sheet.data_validations.dataValidation if str(v.sqref).startswith(f"{letter}2:"))

    length = at(items, "数据长度")
    assert (length.type, length.operator, length.formula1, length.errorStyle) == ("whole", "greaterThan", "0", "stop")
    published = at(entries, "发布日期")
    assert (published.type, published.errorStyle) == ("date", "warning")  # 2023年3月1日 typed as text still imports
    assert "20240301" in published.prompt
    assert at(entries, "共享类型").type == "list"


def test_the_guide_says_what_the_import_does_with_codes(tmp_path):
    path = tmp_path / "编目模板.xlsx"
    write_template(path)
    rows = [[c.value for c in row] for row in load_workbook(path)[GUIDE_SHEET].iter_rows()]
    code_rows = {row[0]: " ".join(str(c) for c in row[3:] if c) for row in rows if row[1] == "信息资源代码"}
    assert "不可重复" in code_rows[ENTRY_SHEET]
    # In the item sheet the code repeats on purpose: one row per data item of the resource.
    assert "不可重复" not in code_rows[ITEM_SHEET]
    assert "每个信息项一行" in code_rows[ITEM_SHEET] and "重复" in code_rows[ITEM_SHEET]
    guide = "\n".join(str(c) for row in rows for c in row if c)
    assert "不予共享" in guide and "--keep-errors" not in guide  # the rules refuse rows; CLI words stay out


def test_the_template_is_an_xlsx(tmp_path):
    with pytest.raises(StewardError) as caught:
        write_template(tmp_path / "编目模板.csv")
    assert caught.value.code == "template.not_xlsx"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_gives_back_the_same_catalogue(filled, tmp_path, fmt):
    path = tmp_path / f"catalogue.{fmt}"
    result = exporter.export(filled, path, fmt)
    assert result.written == 123 and result.left_out_uncoded == 0
    files = [path, *result.extra_paths]

    fresh = Workspace.create(tmp_path / "fresh", DEPARTMENT.code, DEPARTMENT.name)
    # The sample breaks rules on purpose: a department's file like it is refused, unless its errors are kept.
    assert not importer.plan(fresh, files).ok
    plan = importer.plan(fresh, files, keep_errors=True)
    assert plan.ok, [f"{p.location('en')}: {p.message('en')}" for p in plan.errors]
    assert plan.held_back > 0 and all(p.kept for p in plan.errors)
    importer.apply(fresh, plan)
    assert catalogue(fresh) == catalogue(filled)
    fresh.close()

    # Back into the workspace it came from: nothing to change.
    again = importer.plan(filled, files)
    assert again.changes == [] and again.count(importer.Action.UNCHANGED) == 123


def test_csv_export_is_excel_friendly_and_guards_formulas(filled, tmp_path):
    path = tmp_path / "c.csv"
    exporter.export(filled, path, "csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM tells Excel it is UTF-8
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == [c.spec.zh for c in ENTRY_COLUMNS]
    names = [r[1] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://x\")" in names  # a spreadsheet would run it as a formula otherwise
    items = list(csv.reader(io.StringIO((tmp_path / "c_信息项.csv").read_text(encoding="utf-8-sig"))))
    assert items[0] == [c.spec.zh for c in ITEM_COLUMNS]


def test_xlsx_export_writes_text_as_text(filled, tmp_path):
    path = tmp_path / "c.xlsx"
    exporter.export(filled, path, "xlsx")
    book = load_workbook(path)
    names = [row[1] for row in book[ENTRY_SHEET].iter_rows(min_row=2, values_only=True)]
    assert "=HYPERLINK(\"http://x\")" in names
    assert book[ENTRY_SHEET].cell(1, 1).font.bold


def test_entries_without_a_code_are_left_out_and_counted(workspace, tmp_path, clean_entry):
    journal.apply(workspace, [journal.CreateEntry(clean_entry(code="")), journal.CreateEntry(clean_entry())])
    result = exporter.export(workspace, tmp_path / "c.xlsx", "xlsx")
    assert (result.written, result.left_out_uncoded) == (1, 1)


def test_a_cancelled_export_leaves_no_file_and_keeps_the_old_one(filled, tmp_path):
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"the previous export")

    def cancel(done, total):
        raise Cancelled()

    for fmt in ("xlsx", "csv", "dcat", "datajson"):
        target = path if fmt == "xlsx" else tmp_path / f"c.{fmt}"
        with pytest.raises(Cancelled):
            exporter.export(filled, target, fmt, progress=cancel)
    assert path.read_bytes() == b"the previous export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.xlsx", "ws"]


def test_export_reports_progress_up_to_the_total(filled, tmp_path):
    seen = []
    exporter.export(filled, tmp_path / "c.xlsx", "xlsx", progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (123, 123)


def test_the_format_comes_from_the_name_or_is_asked_for(tmp_path):
    assert exporter.format_for(tmp_path / "a.XLSX") == "xlsx"
    assert exporter.format_for(tmp_path / "catalogue.ttl") == "dcat"
    assert exporter.format_for(tmp_path / "data.json") == "datajson"
    assert exporter.format_for(tmp_path / "x.out", "csv") == "csv"
    with pytest.raises(StewardError) as caught:
        exporter.format_for(tmp_path / "x.out")
    assert caught.value.code == "export.format"


def test_an_unwritable_target_is_a_clear_error(filled, tmp_path):
    with pytest.raises(StewardError) as caught:
        exporter.export(filled, tmp_path / "no-such-folder" / "c.xlsx", "xlsx")
    assert caught.value.code == "export.failed"
