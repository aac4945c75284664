"""Files an import must read, or refuse with a clear reason: encodings, bad files, formulas, dates, merges, size.

Every refusal leaves the workspace untouched: no entry and no journal operation is written.
"""

from __future__ import annotations

import codecs
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
from msoffcrypto.format.ooxml import OOXMLFile
from openpyxl import Workbook, load_workbook

from steward.catalogue.errors import StewardError
from steward.files import importer
from steward.files.importer import Severity
from steward.files.sheets import read_tables
from steward.workspace import query
from tests.spreadsheets import (
    ENTRY_HEADERS,
    ITEM_HEADERS,
    catalogue_xlsx,
    csv_bytes,
    entry_row,
    item_rows,
    replace_in_zip,
    rows_of,
    write_xlsx,
)


def untouched(workspace) -> bool:
    with workspace.reading() as conn:
        db = conn.connection.driver_connection
        return db.execute("SELECT COUNT(*) FROM entries").fetchone()[0] == 0 and \
            db.execute("SELECT COUNT(*) FROM operations").fetchone()[0] == 0


def codes(workspace) -> list[str]:
    with workspace.reading() as conn:
        return [r[0] for r in conn.connection.driver_connection.execute("SELECT code FROM entries ORDER BY code")]


def refused(workspace, path, code: str) -> StewardError:
    with pytest.raises(StewardError) as caught:
        importer.plan(workspace, [path])
    assert caught.value.code == code, caught.value.message("en")
    assert untouched(workspace)
    return caught.value


# CSV encodings -------------------------------------------------------------------------------------------------


def _entries_csv(names: list[str]) -> list[list[object]]:
    return rows_of([entry_row(f"319001/{n:06d}", name=name) for n, name in enumerate(names, start=1)], ENTRY_HEADERS)


def _items_csv(tmp_path, count: int, encoding: str = "utf-8") -> Path:
    """The data items of the entries _entries_csv numbers 1 .. count (an entry needs at least one)."""
    path = tmp_path / "items.csv"
    items = [row for n in range(1, count + 1) for row in item_rows(f"319001/{n:06d}", 1)]
    path.write_bytes(csv_bytes(rows_of(items, ITEM_HEADERS), encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_in_any_usual_encoding_is_detected(workspace, tmp_path, encoding):
    names = ["企业登记信息", "食品经营许可(含“网络”销售)"]
    if encoding in ("gb18030", "utf-8", "utf-8-sig", "utf-16"):
        names.append("𠮷野家门店登记")  # outside GBK: only GB18030 and Unicode can hold it
    path = tmp_path / "entries.csv"
    path.write_bytes(csv_bytes(_entries_csv(names), encoding))
    plan = importer.plan(workspace, [path, _items_csv(tmp_path, len(names), encoding)])
    assert plan.ok, [p.message("en") for p in plan.errors]
    importer.apply(workspace, plan)
    found = sorted(query.get_entry(workspace, e.id).name for e in _entries(workspace))
    assert found == sorted(names)


def _entries(workspace):
    with workspace.reading() as conn:
        ids = [r[0] for r in conn.connection.driver_connection.execute("SELECT id FROM entries")]
    return [query.get_entry(workspace, i) for i in ids]


def test_csv_separated_by_tabs_or_semicolons_is_read(workspace, tmp_path):
    path = tmp_path / "entries.csv"
    items = _items_csv(tmp_path, 2)
    path.write_bytes(codecs.BOM_UTF8 + csv_bytes(_entries_csv(["甲", "乙"]), delimiter="\t"))
    assert importer.plan(workspace, [path, items]).count(importer.Action.NEW) == 2
    path.write_bytes(csv_bytes(_entries_csv(["甲", "乙"]), delimiter=";"))
    assert importer.plan(workspace, [path, items]).count(importer.Action.NEW) == 2


def test_gbk_csv_with_a_stray_byte_rejects_that_row_only(workspace, tmp_path):
    rows = _entries_csv(["企业登记信息", "特种设备登记信息", "产品质量抽检信息"])
    lines = csv_bytes(rows, "gbk").split(b"\r\n")
    lines[2] = lines[2].replace("特种".encode("gbk"), "特种".encode("gbk") + b"\x80", 1)  # a lone byte
    path = tmp_path / "entries.csv"
    path.write_bytes(b"\r\n".join(lines))

    plan = importer.plan(workspace, [path, _items_csv(tmp_path, 3, "gbk")])
    errors = plan.errors
    assert [(e.sheet, e.row, e.code) for e in errors][:1] == [("entries.csv", 3, "import.undecodable")]
    assert "GBK" in errors[0].message("en") and "GBK" in errors[0].message("zh")
    with pytest.raises(StewardError) as caught:
        importer.apply(workspace, plan)
    assert caught.value.code == "import.refused"
    assert untouched(workspace)

    importer.apply(workspace, plan, skip_invalid=True)
    assert codes(workspace) == ["319001/000001", "319001/000003"]


def test_text_in_no_known_encoding_is_refused(workspace, tmp_path):
    path = tmp_path / "entries.csv"
    path.write_bytes(bytes(range(0x80, 0x100)) * 40 + b"\n" + bytes(range(0x81, 0xFF, 3)) * 40 + b"\n")
    error = refused(workspace, path, "import.encoding")
    assert "UTF-8" in error.message("en")


# Files that are not (usable) spreadsheets --------------------------------------------------------------------


def test_an_empty_file_is_refused(workspace, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    refused(workspace, path, "import.empty")
    xlsx = tmp_path / "empty.xlsx"
    xlsx.write_bytes(b"")
    refused(workspace, xlsx, "import.empty")


def test_a_workbook_with_headers_and_no_rows_is_refused(workspace, tmp_path):
    path = catalogue_xlsx(tmp_path / "blank.xlsx", [])
    error = refused(workspace, path, "import.no_rows")
    assert "blank.xlsx" in error.message("zh")


def test_a_file_that_is_not_a_spreadsheet_is_refused(workspace, tmp_path):
    png = tmp_path / "photo.xlsx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    refused(workspace, png, "import.not_spreadsheet")
    docx = tmp_path / "letter.xlsx"  # a zip, but a Word document
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    refused(workspace, docx, "import.not_spreadsheet")
    binary_csv = tmp_path / "data.csv"
    binary_csv.write_bytes(b"\x00\x01\x02" * 100)
    refused(workspace, binary_csv, "import.not_spreadsheet")
    text = tmp_path / "notes.csv"
    text.write_text("这不是目录\n只是一些文字\n", encoding="utf-8")
    refused(workspace, text, "import.no_tables")


def test_a_password_protected_xlsx_is_refused(workspace, tmp_path):
    plain = catalogue_xlsx(tmp_path / "plain.xlsx", [entry_row()], item_rows())
    protected = tmp_path / "protected.xlsx"
    with open(plain, "rb") as source, open(protected, "wb") as target:
        document = OOXMLFile(source)
        document.encrypt("口令123", target)
    error = refused(workspace, protected, "import.encrypted")
    assert "密码" in error.message("zh") and "password" in error.message("en")


def test_an_old_xls_file_is_refused_with_what_to_do(workspace, tmp_path):
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "Workbook".encode("utf-16-le") + bytes(200))
    error = refused(workspace, legacy, "import.legacy_xls")
    assert ".xlsx" in error.message("zh")


def test_a_corrupt_xlsx_is_refused(workspace, tmp_path):
    good = catalogue_xlsx(tmp_path / "good.xlsx", [entry_row()], item_rows())
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    refused(workspace, truncated, "import.corrupt")
    broken_xml = tmp_path / "broken.xlsx"
    broken_xml.write_bytes(good.read_bytes())
    replace_in_zip(broken_xml, "xl/worksheets/sheet1.xml", "</sheetData>", "<row>")
    refused(workspace, broken_xml, "import.corrupt")


# Cells ------------------------------------------------------------------------------------------------------


def test_dates_as_serial_numbers_text_and_date_cells(workspace, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "资源目录"
    sheet.append(ENTRY_HEADERS)
    published = ENTRY_HEADERS.index("发布日期")
    forms = [
        45352,  # a serial number in a cell without a date format
        datetime(2024, 3, 1, 0, 0),  # a date cell (openpyxl stores a serial with a date format)
        date(2024, 3, 1),
        "2024-03-01", "2024/3/1", "2024.3.1", "2024年3月1日", "20240301", "２０２４－０３－０１", "45352",
        "2024-03-01 00:00:00",
        20240301,  # typed in Excel without separators: a number
    ]
    items = book.create_sheet("信息项")
    items.append(ITEM_HEADERS)
    for n, value in enumerate(forms, start=1):
        row = list(entry_row(f"319001/{n:06d}").values())
        row[published] = value
        sheet.append(row)
        items.append(list(item_rows(f"319001/{n:06d}", 1)[0].values()))
    path = tmp_path / "dates.xlsx"
    book.save(path)
    plan = importer.plan(workspace, [path])
    assert plan.ok
    importer.apply(workspace, plan)
    assert {e.published for e in _entries(workspace)} == {"2024-03-01"}


def test_a_date_that_is_none_is_a_rule_error_at_its_cell(workspace, tmp_path):
    # As in the editor and `steward set`: text that is no date (or names no day) is the rules' published.invalid.
    entries = [entry_row("319001/000001", published="明年三月"), entry_row("319001/000002", published="2023/2/30")]
    path = catalogue_xlsx(tmp_path / "dates.xlsx", entries, item_rows("319001/000001") + item_rows("319001/000002"))
    plan = importer.plan(workspace, [path])
    invalid = [e for e in plan.errors if e.code == "published.invalid"]
    assert [(e.row, e.column, e.params["value"]) for e in invalid] == [
        (2, ENTRY_HEADERS.index("发布日期"), "明年三月"), (3, ENTRY_HEADERS.index("发布日期"), "2023-02-30")]
    assert invalid[0].location("zh") == "资源目录 第 2 行 P 列（发布日期）"
    assert invalid[0].location("en") == "资源目录 row 2, column P (发布日期)"
    assert "明年三月" in invalid[0].message("zh")
    assert plan.count(importer.Action.REJECTED) == 2
    # A number that can be no date at all is the cell's error.
    path = catalogue_xlsx(tmp_path / "number.xlsx", [entry_row(published=99999999)], item_rows())
    [error] = [e for e in importer.plan(workspace, [path]).errors if e.code == "import.date"]
    assert (error.row, error.params["value"]) == (2, "99999999")


def test_full_width_digits_and_spaces_are_folded(workspace, tmp_path):
    row = entry_row("３１９００１／０００００７　", provider_code="　11310000MB2F41826L ",
                    classification="３１９００１", name="　企业登记信息 ", sharing_type=" 无条件共享　")
    items = [{"信息资源代码": "319001/000007 ", "信息项名称": "机构名称", "数据类型": "字符型", "数据长度": "２００",
              "共享类型": None, "开放属性": None}]
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "wide.xlsx", [row], items)])
    assert plan.ok, [p.message("en") for p in plan.problems]
    importer.apply(workspace, plan)
    [entry] = _entries(workspace)
    assert (entry.code, entry.classification, entry.provider_code, entry.name) == (
        "319001/000007", "319001", "11310000MB2F41826L", "企业登记信息")
    assert entry.sharing_type == "unconditional"
    assert [(i.name, i.length) for i in entry.items] == [("机构名称", 200)]


def test_formulas_use_their_computed_value_and_one_without_is_an_error(workspace, tmp_path):
    entries = [entry_row("319001/000001"), entry_row("319001/000002")]
    path = catalogue_xlsx(tmp_path / "formulas.xlsx", entries, item_rows("319001/000001") + item_rows("319001/000002"))
    # openpyxl writes a formula without a value (as a file never opened in Excel); Excel stores both.
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet2.xml").decode()
    assert "<v>18</v>" in sheet_xml
    replace_in_zip(path, "xl/worksheets/sheet2.xml", "<v>18</v>", "<f>6*3</f><v>18</v>")  # cached: fine
    replace_in_zip(path, "xl/worksheets/sheet2.xml", "<v>200</v>", "<f>SUM(Z1:Z9)</f>")  # no value: error
    plan = importer.plan(workspace, [path])
    [error] = [e for e in plan.errors if e.code == "import.formula"]
    assert (error.sheet, error.row, error.column) == ("信息项", 3, 3)
    assert "=SUM(Z1:Z9)" in error.message("en")
    assert [e.code for e in plan.entries if e.code] and plan.count(importer.Action.NEW) == 1
    importer.apply(workspace, plan, skip_invalid=True)
    [entry] = _entries(workspace)
    assert entry.code == "319001/000002" and entry.items[0].length == 18


def test_error_cells_are_reported(workspace, tmp_path):
    path = catalogue_xlsx(tmp_path / "errors.xlsx", [entry_row()], item_rows())
    replace_in_zip(path, "xl/worksheets/sheet2.xml", "<v>18</v>", "<v>#N/A</v>")
    replace_in_zip(path, "xl/worksheets/sheet2.xml", '<c r="D2" t="n">', '<c r="D2" t="e">')
    plan = importer.plan(workspace, [path])
    assert [(e.code, e.row) for e in plan.errors if e.code == "import.cell_error"] == [("import.cell_error", 2)]


def test_merged_header_cells_make_the_file_unusable(workspace, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "资源目录"
    sheet.append(["编目信息", None, *ENTRY_HEADERS[2:]])
    sheet.append(list(entry_row().values()))
    sheet.merge_cells("A1:B1")
    path = tmp_path / "merged.xlsx"
    book.save(path)
    with pytest.raises(importer.ImportUnusable) as caught:
        importer.plan(workspace, [path])
    assert any(p.code == "import.merged_header" and "A1:B1" in p.message("zh") for p in caught.value.problems)
    assert untouched(workspace)


def test_a_title_row_above_the_header_and_codes_merged_down_the_item_rows(workspace, tmp_path):
    book = Workbook()
    entries = book.active
    entries.title = "资源目录"
    entries.append(["上海市市场监督管理局 政务数据资源目录(2024 年版)"])
    entries.merge_cells("A1:F1")
    entries.append(ENTRY_HEADERS)
    entries.append(list(entry_row("319001/000001").values()))
    items = book.create_sheet("信息项")
    items.append(ITEM_HEADERS)
    for row in item_rows("319001/000001", 3):
        items.append(list(row.values()))
    items.merge_cells("A2:A4")  # one code cell for the entry's three items, as departments lay them out
    path = tmp_path / "laid-out.xlsx"
    book.save(path)
    plan = importer.plan(workspace, [path])
    assert plan.ok, [p.message("en") for p in plan.problems]
    importer.apply(workspace, plan)
    [entry] = _entries(workspace)
    assert [i.name for i in entry.items] == ["统一社会信用代码", "机构名称", "登记日期"]


def test_cells_merged_across_columns_in_data_rows_are_errors(workspace, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "资源目录"
    sheet.append(ENTRY_HEADERS)
    sheet.append(list(entry_row("319001/000001").values()))
    sheet.merge_cells("J2:K2")
    path = tmp_path / "across.xlsx"
    book.save(path)
    plan = importer.plan(workspace, [path])
    assert [(e.code, e.row) for e in plan.errors] == [("import.merged_cells", 2)]


# Size --------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_fifty_thousand_rows_with_one_bad_row(workspace, tmp_path):
    rows = [ENTRY_HEADERS]
    template = list(entry_row().values())
    code_at, open_at = ENTRY_HEADERS.index("信息资源代码"), ENTRY_HEADERS.index("开放属性")
    for n in range(1, 50_001):
        row = list(template)
        row[code_at] = f"319001/{n:06d}"
        row[ENTRY_HEADERS.index("信息资源名称")] = f"登记信息{n}"
        if n == 49_998:
            row[open_at] = "半开放"
        rows.append(row)
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(rows, "utf-8-sig"))
    plan = importer.plan(workspace, [path, _items_csv(tmp_path, 50_000, "utf-8-sig")])
    assert plan.entries_read == 50_000
    assert [(e.row, e.column, e.code) for e in plan.errors] == [(49_999, open_at, "import.vocab"),
                                                                (49_999, None, "import.items_follow")]
    assert "半开放" in plan.errors[0].message("zh")
    with pytest.raises(StewardError):
        importer.apply(workspace, plan)
    assert untouched(workspace)
    result = importer.apply(workspace, plan, skip_invalid=True)
    assert result is not None
    assert query.summary(workspace).entries == 49_999


def test_reading_reports_progress_and_can_be_cancelled(workspace, tmp_path):
    from steward.workspace.journal import Cancelled

    path = catalogue_xlsx(tmp_path / "c.xlsx", [entry_row(f"319001/{n:06d}") for n in range(1, 200)])
    seen = []
    importer.plan(workspace, [path], progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1] and all(d <= t for d, t in seen)

    def stop(done, total):
        raise Cancelled()

    with pytest.raises(Cancelled):
        importer.plan(workspace, [path], progress=stop)
    assert untouched(workspace)


def test_the_reader_takes_shared_and_inline_strings_and_prefixed_xml(tmp_path):
    rows = [["甲", 1, 2.5, True, "甲"], [None, "乙 & <丙>"]]
    inline = write_xlsx(tmp_path / "inline.xlsx", {"表": rows}, shared=False)
    path = write_xlsx(tmp_path / "s.xlsx", {"表": rows})
    with zipfile.ZipFile(path) as archive:
        assert 't="s"' in archive.read("xl/worksheets/sheet1.xml").decode()
    assert [list(r) for r in load_workbook(path).active.iter_rows(values_only=True)] == [
        ["甲", 1, 2.5, True, "甲"], [None, "乙 & <丙>", None, None, None]]  # a workbook Excel's readers take
    expected = [(1, ["甲", 1, 2.5, True, "甲"]), (2, [None, "乙 & <丙>"])]
    assert read_tables(inline)[0].rows == expected
    [table] = read_tables(path)
    assert table.rows == expected
    # Rich text runs make one value; the phonetic guide (rPh) that Japanese and Chinese Excel keep is no part of it.
    replace_in_zip(path, "xl/sharedStrings.xml", '<si><t xml:space="preserve">甲</t></si>',
                   "<si><r><t>甲</t></r><r><rPr><b/></rPr><t>乙</t></r><rPh sb=\"0\" eb=\"1\"><t>jia</t></rPh></si>")
    assert read_tables(path)[0].rows[0][1][0] == "甲乙"
    # Some producers write every element with a namespace prefix (x:row, x:c …).
    path = write_xlsx(tmp_path / "prefixed.xlsx", {"表": rows})
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    prefixed = (xml.replace("<worksheet xmlns=", "<x:worksheet xmlns:x=").replace("</worksheet>", "</x:worksheet>")
                .replace("<sheetData", "<x:sheetData").replace("</sheetData", "</x:sheetData")
                .replace("<row", "<x:row").replace("</row", "</x:row").replace("<c ", "<x:c ")
                .replace("</c>", "</x:c>").replace("<v>", "<x:v>").replace("</v>", "</x:v>"))
    replace_in_zip(path, "xl/worksheets/sheet1.xml", xml, prefixed)
    [table] = read_tables(path)
    assert table.rows == expected


def test_problems_keep_the_files_order_and_name_the_allowed_values(workspace, tmp_path):
    entries = [entry_row("319001/000001", sharing_type="有时共享"), entry_row("319001/000002", open_type="半开放")]
    plan = importer.plan(workspace, [catalogue_xlsx(tmp_path / "c.xlsx", entries)])
    assert [(p.row, p.severity) for p in plan.errors] == [(2, Severity.ERROR), (3, Severity.ERROR)]
    text = "\n".join(p.message("zh") for p in plan.errors)
    assert "有时共享" in text and "无条件共享、有条件共享、不予共享" in text


def test_a_cell_pointing_past_the_shared_strings_is_damage(workspace, tmp_path):
    path = write_xlsx(tmp_path / "s.xlsx", {"资源目录": rows_of([entry_row()], ENTRY_HEADERS)})
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    first_string = xml[xml.index('t="s"><v>') :].split("</v>")[0]
    replace_in_zip(path, "xl/worksheets/sheet1.xml", first_string + "</v>", 't="s"><v>99999</v>')
    refused(workspace, path, "import.corrupt")
