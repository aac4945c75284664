"""The catalogue template (编目模板): its sheets and columns, and writing workbooks and CSV files in its layout.

One layout serves the blank template, the xlsx and CSV exports and the sheet of rejected rows an
import writes back, so whatever Steward writes, Steward (and a steward with Excel or WPS) can read.
Headers are the national guide's field names (`FieldSpec.zh`).
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import os_reason
from steward.catalogue.model import ENTRY_FIELDS, ITEM_FIELD, DataItem, Entry, FieldSpec, Kind
from steward.catalogue.vocabulary import label, vocabulary
from steward.files.sheets import sheet_parts

ENTRY_SHEET = "资源目录"
ITEM_SHEET = "信息项"
GUIDE_SHEET = "填写说明"
CODE_HEADER = "信息资源代码"
# Extra columns of the rejected-rows workbook: read back on import without complaint, and ignored.
PROBLEM_HEADER = "问题"
SOURCE_HEADER = "来源"
IGNORED_HEADERS = ("序号", PROBLEM_HEADER, SOURCE_HEADER)
RELATED_SEPARATOR = "、"
# A CSV cell starting with one of these is a formula to a spreadsheet program (CSV injection);
# such text is written with a leading apostrophe, which the importer takes off again.
FORMULA_STARTS = ("=", "+", "-", "@")
# The most characters an Excel (or WPS) cell holds: a longer text is cut short when the file is opened.
EXCEL_CELL_LIMIT = 32_767

Progress = Callable[[int, int], None]
_COMPRESSION = 6  # zlib's default: level 1 saves little time here and makes files a third larger


@dataclass(frozen=True)
class Column:
    """One column of a template sheet: the field it holds and its header."""

    spec: FieldSpec

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def header(self) -> str:
        return self.spec.zh


# The entry sheet holds every catalogue field in the guide's order; the item sheet is keyed by the
# entry's resource code, one row per data item in the entry's order (the row order is the position).
ENTRY_COLUMNS: tuple[Column, ...] = tuple(Column(spec) for spec in ENTRY_FIELDS)
_CODE_SPEC = FieldSpec("code", CODE_HEADER, "Resource code", Kind.TEXT, required=True)
ITEM_COLUMNS: tuple[Column, ...] = (
    Column(_CODE_SPEC),
    *(Column(ITEM_FIELD[key]) for key in ("name", "data_type", "length", "sharing_type", "open_type")),
)
_WIDTHS = {"name": 28, "code": 16, "provider": 24, "provider_code": 22, "abstract": 40, "sharing_conditions": 30,
           "open_conditions": 30, "related_codes": 24, "format_type": 14}


# Values as cells --------------------------------------------------------------------------------------------


def cell_text(spec: FieldSpec, value: Any) -> str | int | None:
    """How a stored value is written in the template: vocabulary keys as Chinese labels, lists joined."""
    if spec.kind is Kind.VOCAB:
        return label(spec.vocabulary or "", value, "zh") or None
    if spec.kind is Kind.CODES:
        return RELATED_SEPARATOR.join(value) or None
    if spec.kind is Kind.INT:
        return value
    return value or None


def entry_cells(entry: Entry) -> list[Any]:
    return [cell_text(column.spec, getattr(entry, column.key)) for column in ENTRY_COLUMNS]


def item_cells(code: str, item: DataItem) -> list[Any]:
    return [code] + [cell_text(column.spec, getattr(item, column.key)) for column in ITEM_COLUMNS[1:]]


# The guide sheet ---------------------------------------------------------------------------------------------


def _values_text(spec: FieldSpec, items: bool = False) -> str:
    if spec.kind is Kind.VOCAB:
        terms = vocabulary(spec.vocabulary or "").terms
        text = " / ".join(t.zh for t in terms)
        synonyms = [f"{t.zh}:{'、'.join(t.synonyms)}" for t in terms if any(_is_chinese(s) for s in t.synonyms)]
        return text + ("\n本地用语也可:" + ";".join(synonyms) if synonyms else "")
    return {
        "classification": "分类码:类(1 位,1 基础、2 主题、3 部门)+ 项(2 位)+ 目(3 位)+ 细目(可选),如 319001",
        "code": ("每个信息项一行,同一资源的各行重复填写它的信息资源代码(也可上下合并单元格)"
                 if items else "分类码/顺序码,如 319001/000001;在“资源目录”表中不可重复"),
        "provider_code": "统一社会信用代码(18 位,含校验位)",
        "published": "日期:YYYY-MM-DD,如 2024-03-01;日期格式的单元格、2024/3/1、2024年3月1日、20240301 也可",
        "related_codes": f"信息资源代码,多个用“{RELATED_SEPARATOR}”或逗号分隔",
        "length": "正整数",
    }.get(spec.key, "文本")


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


GUIDE_INTRO: tuple[str, ...] = (
    "政务数据资源编目模板 填写说明",
    "“资源目录”表每行一个信息资源;“信息项”表每行一个信息项,用“信息资源代码”对应所属资源,"
    "同一资源的信息项按行的先后排序。",
    "表头请勿修改;列的先后可以调整,模板以外的列导入时忽略并提示。表头为橙色的字段为必填。",
    "有下拉列表的列请从列表中选择;本地用语(如 普遍共享、按需共享、不共享、非开放)也可直接填写,导入时自动换算。",
    "信息资源代码与工作区中已有条目相同时,导入会更新该条目;该资源在“信息项”表中有行时,其信息项以表中为准。",
    "导入时先检查整个文件:任何一行有错误时不做任何修改,并列出每个错误所在的表、行、列和原因。"
    "不符合共享、开放规则的行(如不予共享却无条件开放、有条件共享未填共享条件)也是错误。",
)


def guide_rows() -> list[list[str]]:
    rows: list[list[str]] = [[line] for line in GUIDE_INTRO]
    rows.append([])
    rows.append(["表", "字段", "必填", "取值", "说明"])
    notes = {
        "sharing_conditions": "有条件共享时填写共享条件;不予共享时填写不予共享的法律、法规或政策依据",
        "open_conditions": "有条件开放时必填",
        "open_type": "不予共享的资源必须不予开放",
        "status": "留空即“有效”",
        "sharing_type": "信息项留空表示与所属资源相同;信息项不可比资源更开放",
    }
    for spec in ENTRY_FIELDS:
        rows.append([ENTRY_SHEET, spec.zh, "是" if spec.required else "", _values_text(spec), notes.get(spec.key, "")])
    for column in ITEM_COLUMNS:
        spec = column.spec
        note = {"code": "所属资源的信息资源代码,须在“资源目录”表或工作区中已有;行的先后即信息项的顺序。"
                        "某资源在本表中有行时,它的信息项以本表为准(本表没有的信息项会被删除);没有行时不变",
                "sharing_type": notes["sharing_type"], "open_type": notes["sharing_type"]}.get(spec.key, "")
        rows.append([ITEM_SHEET, spec.zh, "是" if spec.required else "", _values_text(spec, items=True), note])
    return rows


# Writing xlsx -----------------------------------------------------------------------------------------------

_HEADER_FONT = Font(bold=True)
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _header_row(sheet: Any, headers: Sequence[tuple[str, bool]]) -> list[WriteOnlyCell]:
    cells = []
    for text, required in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = _HEADER_FONT
        cell.fill = _REQUIRED_FILL if required else _HEADER_FILL
        cell.alignment = Alignment(vertical="center")
        cells.append(cell)
    return cells


_LAST_DATE = 2958465  # 9999-12-31 as Excel's serial number


def _validation(spec: FieldSpec, error: str, prompt: str, **rule: Any) -> DataValidation:
    """A check Excel and WPS make as a cell is typed, with its messages shown (they are hidden by default)."""
    validation = DataValidation(allow_blank=True, showErrorMessage=True, showInputMessage=True, **rule)
    validation.errorTitle = validation.promptTitle = spec.zh
    validation.error, validation.prompt = error, prompt
    return validation


def _column_validation(spec: FieldSpec) -> DataValidation | None:
    """Drop-down lists on the vocabulary columns, a whole number for 数据长度, a date for 发布日期.

    Only 数据长度 stops the typing: other words for a vocabulary (local synonyms) and dates written as
    text (2024年3月1日) are read by the import, so there Excel and WPS warn and let the steward go on.
    """
    if spec.kind is Kind.VOCAB:
        labels = ",".join(t.zh for t in vocabulary(spec.vocabulary or "").terms)
        return _validation(spec, "不是列表中的取值。本地用语(如 按需共享、非开放)导入时仍可识别,"
                           "其他取值导入时会被拒绝。", "请从列表中选择", type="list", formula1=f'"{labels}"',
                           errorStyle="warning")
    if spec.kind is Kind.INT:
        return _validation(spec, "数据长度应为正整数,如 18。", "正整数,如 18;不适用时留空",
                           type="whole", operator="greaterThan", formula1="0", errorStyle="stop")
    if spec.kind is Kind.DATE:
        return _validation(spec, "不是日期:请填写 2024-03-01 这样的日期。2024年3月1日、20240301 等写法导入时也可识别。",
                           "日期,如 2024-03-01;2024/3/1、2024年3月1日、20240301 也可", type="date",
                           operator="between", formula1="1", formula2=str(_LAST_DATE), errorStyle="warning")
    return None


def _validations(sheet: Any, columns: Sequence[Column]) -> None:
    for index, column in enumerate(columns, start=1):
        validation = _column_validation(column.spec)
        if validation is None:
            continue
        letter = get_column_letter(index)
        validation.add(f"{letter}2:{letter}1048576")
        sheet.data_validations.append(validation)


@contextmanager
def _atomic(path: Path, suffix: str) -> Iterator[Path]:
    """A temporary file beside `path`, moved over it only when the block succeeds (no half-written exports)."""
    path = Path(path)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent or None)
    except OSError as error:
        raise StewardError("export.failed", path=str(path), reason=os_reason(error)) from error
    os.close(handle)
    try:
        yield Path(temp)
        try:
            os.replace(temp, path)
        except OSError as error:  # a folder of that name, a file another program holds open …
            raise StewardError("export.failed", path=str(path), reason=error.strerror or str(error)) from error
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LETTERS = [get_column_letter(n) for n in range(1, 65)]


class CellTooLong(Exception):
    """A text longer than an Excel cell holds: never written, since Excel would cut it short on opening."""

    def __init__(self, column: int, length: int) -> None:
        super().__init__(f"column {column}: {length} characters")
        self.column = column
        self.length = length


class RowSink:
    """Data rows of one sheet, written as sheet XML to a temporary file.

    openpyxl builds each cell as an object and serialises it element by element, about ten times
    slower than this for the million cells of a city catalogue; it still writes everything else
    (styles, drop-down lists, the guide), and `open_workbook` splices these rows into its sheets.
    Text is always written as an inline string, so text starting with '=' never becomes a formula.
    A text longer than EXCEL_CELL_LIMIT raises CellTooLong before anything of its row is written.
    """

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self.row = 1  # the header
        self.width = 0

    def append(self, values: Sequence[Any]) -> None:
        self.row += 1
        row = self.row
        cells = []
        for column, value in enumerate(values):
            if value is None or value == "":
                continue
            ref = f"{_LETTERS[column]}{row}"
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                text = str(value)
                if len(text) > EXCEL_CELL_LIMIT:
                    raise CellTooLong(column, len(text))
                if _INVALID_XML.search(text):
                    text = _INVALID_XML.sub("", text)
                text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
        self.width = max(self.width, len(values))
        self.file.write(f'<row r="{row}">{"".join(cells)}</row>')

    def close(self) -> None:
        self.file.close()


def _splice(skeleton: Path, target: Path, sinks: dict[str, RowSink]) -> None:
    """Copy the workbook openpyxl wrote, putting each sink's rows (by sheet name) at the end of its sheet's data."""
    with zipfile.ZipFile(skeleton) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED,
                                                              compresslevel=_COMPRESSION) as out:
        by_part = {part: sinks[name] for name, part in sheet_parts(source).items() if name in sinks}
        for info in source.infolist():
            data = source.read(info.filename)
            sink = by_part.get(info.filename)
            if sink is None or sink.row == 1:
                out.writestr(info, data)
                continue
            # openpyxl has written the header row, so the sheet's data always ends with </sheetData>.
            head, tail = data.decode("utf-8").split("</sheetData>", 1)
            with out.open(info.filename, "w") as member:
                member.write(head.encode("utf-8"))
                sink.file.seek(0)
                while chunk := sink.file.read(1 << 20):
                    member.write(chunk.encode("utf-8"))
                member.write(("</sheetData>" + tail).encode("utf-8"))


def _discard(book: Workbook) -> None:
    """Finish an abandoned write-only workbook, so openpyxl closes and removes its temporary sheet files."""
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        book.save(name)
    except Exception:  # already failing: the first error is the one to report
        pass
    finally:
        Path(name).unlink(missing_ok=True)


@contextmanager
def open_workbook(path: Path, extra_headers: Sequence[str] = (), guide: bool = True
                  ) -> Iterator[tuple[RowSink, RowSink]]:
    """A new workbook in the template layout: (entry sheet, item sheet) row sinks; saved atomically at the end."""
    book = Workbook(write_only=True)
    entries = book.create_sheet(ENTRY_SHEET)
    items = book.create_sheet(ITEM_SHEET)
    for sheet, columns in ((entries, ENTRY_COLUMNS), (items, ITEM_COLUMNS)):
        sheet.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column.key, 14)
        for offset, _header in enumerate(extra_headers, start=len(columns) + 1):
            sheet.column_dimensions[get_column_letter(offset)].width = 40
        _validations(sheet, columns)
        headers = [(c.header, c.spec.required) for c in columns]
        sheet.append(_header_row(sheet, headers + [(h, False) for h in extra_headers]))
    if guide:
        sheet = book.create_sheet(GUIDE_SHEET)
        for letter, width in zip("ABCDE", (10, 18, 6, 60, 50), strict=True):
            sheet.column_dimensions[letter].width = width
        for row in guide_rows():
            sheet.append(row)
    sinks = {ENTRY_SHEET: RowSink(), ITEM_SHEET: RowSink()}
    entry_sink, item_sink = sinks.values()
    saved = False
    try:
        with _atomic(path, ".xlsx") as temp:
            yield entry_sink, item_sink
            skeleton = temp.with_name(temp.name + ".skeleton.xlsx")
            try:
                saved = True
                book.save(skeleton)
                _splice(skeleton, temp, sinks)
            except OSError as error:
                raise StewardError("export.failed", path=str(path), reason=os_reason(error)) from error
            finally:
                skeleton.unlink(missing_ok=True)
    finally:
        for sink in sinks.values():
            sink.close()
        if not saved:
            _discard(book)


def write_template(path: Path) -> None:
    """A blank catalogue template: the two sheets with headers and drop-down lists, and the guide."""
    if Path(path).suffix.lower() != ".xlsx":  # Excel and WPS open a workbook by its name: x.csv would not open
        raise StewardError("template.not_xlsx", path=str(path))
    with open_workbook(path):
        pass


def _append(sink: RowSink, cells: list[Any], columns: Sequence[Column], code: str) -> None:
    try:
        sink.append(cells)
    except CellTooLong as error:
        raise StewardError("export.cell_too_long", entry=code, field=columns[error.column].header,
                           length=error.length, limit=EXCEL_CELL_LIMIT) from error


def write_xlsx(path: Path, entries: Iterable[Entry], total: int = 0, progress: Progress | None = None) -> int:
    """The entries (and their data items) in the template layout; returns how many were written.

    A text longer than an Excel cell holds is refused (StewardError naming the entry and field, no file
    written): Excel would open the file with the text cut short, and an import of it would lose the rest.
    """
    count = 0
    with open_workbook(path) as (entry_sheet, item_sheet):
        for entry in entries:
            _append(entry_sheet, entry_cells(entry), ENTRY_COLUMNS, entry.code)
            for item in entry.items:
                _append(item_sheet, item_cells(entry.code, item), ITEM_COLUMNS, entry.code)
            count += 1
            if progress and count % 200 == 0:
                progress(count, total)
    return count


# Writing CSV ------------------------------------------------------------------------------------------------


def items_csv_path(path: Path) -> Path:
    """Where the data items go beside an entries CSV: catalogue.csv -> catalogue_信息项.csv."""
    path = Path(path)
    return path.with_name(f"{path.stem}_{ITEM_SHEET}{path.suffix or '.csv'}")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _csv_writer(handle: IO[str]) -> Any:
    return csv.writer(handle, lineterminator="\r\n")


def write_csv(path: Path, entries: Iterable[Entry], total: int = 0, progress: Progress | None = None) -> int:
    """Two CSV files in the template layout (UTF-8 with BOM, which Excel opens correctly): entries and items."""
    items_path = items_csv_path(path)
    count = 0
    with _atomic(path, ".csv") as entries_temp, _atomic(items_path, ".csv") as items_temp:
        try:
            with open(entries_temp, "w", encoding="utf-8-sig", newline="") as entry_handle, \
                    open(items_temp, "w", encoding="utf-8-sig", newline="") as item_handle:
                entry_out, item_out = _csv_writer(entry_handle), _csv_writer(item_handle)
                entry_out.writerow([c.header for c in ENTRY_COLUMNS])
                item_out.writerow([c.header for c in ITEM_COLUMNS])
                for entry in entries:
                    entry_out.writerow([_csv_cell(v) for v in entry_cells(entry)])
                    item_out.writerows([_csv_cell(v) for v in item_cells(entry.code, item)] for item in entry.items)
                    count += 1
                    if progress and count % 500 == 0:
                        progress(count, total)
        except OSError as error:
            raise StewardError("export.failed", path=str(path), reason=os_reason(error)) from error
    return count
