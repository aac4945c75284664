"""Real spreadsheet files for the import tests: xlsx written with openpyxl (as Excel would lay them out), CSV bytes."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from steward.files.template import ENTRY_COLUMNS, ITEM_COLUMNS
from tests.helpers import DEPARTMENT_CODE, DEPARTMENT_NAME

ENTRY_HEADERS = [c.header for c in ENTRY_COLUMNS]
ITEM_HEADERS = [c.header for c in ITEM_COLUMNS]


def entry_row(code: str | None = "319001/000001", **values: Any) -> dict[str, Any]:
    """A clean entry as template cells ({header: cell}); keyword arguments by field key replace cells."""
    row: dict[str, Any] = {
        "classification": (code or "319001").split("/")[0],
        "name": f"企业登记信息{(code or '')[-3:]}",
        "code": code,
        "provider": DEPARTMENT_NAME,
        "provider_code": DEPARTMENT_CODE,
        "abstract": "记录企业登记工作中形成的登记信息,用于跨部门业务协同。",
        "format_category": "数据库",
        "format_type": "MySQL",
        "sharing_type": "无条件共享",
        "sharing_conditions": None,
        "sharing_method_category": "共享平台方式",
        "sharing_method_type": "接口",
        "open_type": "无条件开放",
        "open_conditions": None,
        "update_frequency": "每日",
        "published": "2020-01-01",
        "related_codes": None,
        "status": None,
    }
    row.update(values)
    return {c.header: row[c.key] for c in ENTRY_COLUMNS}


def item_rows(code: str = "319001/000001", count: int = 3) -> list[dict[str, Any]]:
    names = [("统一社会信用代码", "字符型", 18), ("机构名称", "字符型", 200), ("登记日期", "日期型", 8),
             ("注册资本", "货币型", 16), ("经营范围", "备注型", 2000)]
    return [{"信息资源代码": code, "信息项名称": n, "数据类型": t, "数据长度": length,
             "共享类型": None, "开放属性": None} for n, t, length in names[:count]]


def rows_of(dicts: Sequence[dict[str, Any]], headers: Sequence[str]) -> list[list[Any]]:
    return [list(headers)] + [[d.get(h) for h in headers] for d in dicts]


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]], shared: bool = True) -> Path:
    """A workbook with one sheet per name, rows as given; text in a shared string table, as Excel and WPS
    write it (openpyxl writes text inline), unless `shared` is False."""
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    if shared:
        to_shared_strings(path)
    return path


_INLINE = re.compile(r't="inlineStr"><is><t(?: [^>]*)?>(.*?)</t></is>', re.S)


def to_shared_strings(path: Path) -> None:
    """Rewrite an openpyxl workbook as Excel lays text out: each distinct string once in xl/sharedStrings.xml,
    cells pointing at it by index."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    strings: dict[str, int] = {}

    def shared(match: re.Match[str]) -> str:
        return f't="s"><v>{strings.setdefault(match.group(1), len(strings))}</v>'

    for name in [n for n in parts if n.startswith("xl/worksheets/sheet")]:
        parts[name] = _INLINE.sub(shared, parts[name].decode("utf-8")).encode("utf-8")
    table = "".join(f'<si><t xml:space="preserve">{text}</t></si>' for text in strings)
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'count="{len(strings)}" uniqueCount="{len(strings)}">{table}</sst>'
    ).encode()
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    parts["xl/_rels/workbook.xml.rels"] = rels.replace("</Relationships>", (
        '<Relationship Id="rIdStrings" Target="sharedStrings.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'
        "</Relationships>")).encode("utf-8")
    types = parts["[Content_Types].xml"].decode("utf-8")
    parts["[Content_Types].xml"] = types.replace("</Types>", (
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
    )).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)


def catalogue_xlsx(path: Path, entries: Iterable[dict[str, Any]], items: Iterable[dict[str, Any]] = (),
                   entry_headers: Sequence[str] = ENTRY_HEADERS, item_headers: Sequence[str] = ITEM_HEADERS) -> Path:
    return write_xlsx(path, {"资源目录": rows_of(list(entries), entry_headers),
                             "信息项": rows_of(list(items), item_headers)})


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(
        [["" if v is None else v for v in row] for row in rows]
    )
    return text.getvalue().encode(encoding)


def replace_in_zip(path: Path, member: str, old: str, new: str) -> None:
    """Edit one part of an xlsx in place (to make what openpyxl will not write: a formula with a cached value)."""
    with zipfile.ZipFile(path) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    text = parts[member].decode("utf-8")
    assert old in text, f"{old!r} not in {member}"
    parts[member] = text.replace(old, new, 1).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
