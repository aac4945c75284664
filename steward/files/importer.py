"""Importing catalogue spreadsheets: reading them in the template layout, checking every row, planning the changes.

`plan(workspace, paths)` reads whole files and changes nothing: it returns an `ImportPlan` with
every problem (sheet, row, column, reason) and the journal changes that would make the import.
`apply(workspace, plan)` makes them in one `journal.apply` (one undo step), all or nothing unless
`skip_invalid`; `write_rejected` puts the rows that were refused, with their reasons, into a
workbook in the template layout the steward can fix and import again.

A file is what the department decided: an error the catalogue rules find in the entry a row makes
(不予共享 yet 无条件开放 …) is an error of that row, like a value that cannot be read. Only a
steward who asks for it (`ImportPlan.with_errors_kept`) imports such entries, as drafts the sync
holds back until they are fixed. What a file leaves alone is not judged: an old error of an updated
entry in a field the file has no column for stays a warning.

An entry and its data items are accepted or rejected together (keyed by the resource code): an
entry without some of its items would be a different entry, and re-importing the fixed rows would
then replace the items that had been imported.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl.utils.datetime import CALENDAR_WINDOWS_1900, from_excel
from stdnum.cn import uscc

from steward.catalogue import rules
from steward.catalogue.classification import clean_code
from steward.catalogue.dates import normalize_date
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import language, render
from steward.catalogue.model import ENTRY_FIELD, ITEM_FIELD, DataItem, Entry, FieldSpec, Kind, new_id
from steward.catalogue.vocabulary import Status, normalize, vocabulary
from steward.files.sheets import CellNote, CellRange, Table, column_letter, read_tables
from steward.files.template import (
    ENTRY_COLUMNS,
    ENTRY_SHEET,
    EXCEL_CELL_LIMIT,
    FORMULA_STARTS,
    IGNORED_HEADERS,
    ITEM_COLUMNS,
    ITEM_SHEET,
    PROBLEM_HEADER,
    SOURCE_HEADER,
    open_workbook,
)
from steward.workspace import journal, store
from steward.workspace.assignments import LIST_SEPARATORS
from steward.workspace.journal import AddItem, ApplyResult, Change, CreateEntry, RemoveItem, SetField, SetItemField
from steward.workspace.workspace import Workspace

Progress = Callable[[int, int], None]
HEADER_SEARCH_ROWS = 10  # title rows above the header are common in department sheets
_STEPS = 1000  # progress is reported in thousandths of the whole import


class Severity(StrEnum):
    ERROR = "error"  # the row is not imported (unless a rule error the steward chose to keep)
    WARNING = "warning"  # imported, but worth a look: an ignored column, an old problem the file leaves alone


class Action(StrEnum):
    NEW = "new"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ImportProblem:
    """One problem of the import, where a steward finds it in the file."""

    sheet: str
    row: int | None
    column: int | None  # 0-based; shown as a letter
    header: str | None
    code: str
    severity: Severity
    params: dict[str, object] = field(default_factory=dict, hash=False)
    field: str | None = None
    source: str = ""  # the file's name
    # Told in the rejected workbook, summed up in the report: refused only because another row of its entry
    # was, or a problem of a column the sheet does not have (one line for all its rows).
    collateral: bool = False
    # A rule error imported anyway, as the steward chose: the entry is a draft the sync holds back until fixed.
    kept: bool = False

    def message(self, lang: str | None = None) -> str:
        lang = lang or language()
        params = dict(self.params)
        if "rule" in params:  # a problem of many rows, told once: the rule's own message inside
            inner = params.pop("rule_params", {})
            params["message"] = render(str(params.pop("rule")), inner if isinstance(inner, dict) else {}, lang)
        if "choices_of" in params:
            terms = vocabulary(str(params.pop("choices_of"))).terms
            params["choices"] = ("、" if lang == "zh" else ", ").join(t.label(lang) for t in terms)
        return render(self.code, params, lang)

    def location(self, lang: str | None = None) -> str:
        where = {"sheet": self.sheet, "row": self.row, "header": self.header or "",
                 "column": column_letter(self.column) if self.column is not None else ""}
        if self.row is None:
            code = "import.where_sheet" if self.column is None else "import.where_column"
        else:
            code = "import.where_row" if self.column is None else "import.where_cell"
        return render(code, where, lang)

    def to_dict(self, lang: str | None = None) -> dict[str, object]:
        return {
            "file": self.source,
            "sheet": self.sheet,
            "row": self.row,
            "column": column_letter(self.column) if self.column is not None else None,
            "header": self.header,
            "field": self.field,
            "code": self.code,
            "severity": str(self.severity),
            "kept": self.kept,
            "params": {k: v for k, v in self.params.items() if k != "choices_of"},
            "message": self.message(lang),
        }


@dataclass(frozen=True)
class PlannedEntry:
    """What the import does with one entry (for a preview)."""

    code: str
    name: str
    action: Action
    sheet: str
    row: int | None
    changes: int = 0


@dataclass
class ImportPlan:
    """Everything an import found and would do; nothing of it is written yet.

    `problems`, `entries`, `changes` and `rejected` are as the import would be made: entries with
    rule errors refused, or, in the plan `with_errors_kept` returns, imported as held-back drafts.
    """

    paths: list[Path]
    reason: str
    entries_read: int = 0
    items_read: int = 0
    keep_errors: bool = False
    problems: list[ImportProblem] = field(default_factory=list)  # errors first, then warnings
    entries: list[PlannedEntry] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # for the accepted entries only
    rejected: list[_RejectedRow] = field(default_factory=list)
    # What the lists above are made from (`_assemble`), kept to make the other choice without reading again.
    _sheet_problems: list[ImportProblem] = field(default_factory=list, repr=False)
    _outcomes: list[_Outcome] = field(default_factory=list, repr=False)
    _absent: dict[tuple[Any, ...], list[tuple[_Row, ImportProblem, str]]] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> list[ImportProblem]:
        return [p for p in self.problems if p.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[ImportProblem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.rejected

    def count(self, action: Action) -> int:
        return sum(1 for e in self.entries if e.action is action)

    @property
    def rejected_rows(self) -> int:
        return len(self.rejected)

    @property
    def held_back(self) -> int:
        """Entries imported with rule errors (kept as the steward chose): the sync holds them back until fixed."""
        return sum(1 for o in self._outcomes if o.held) if self.keep_errors else 0

    @property
    def refused_for_rules(self) -> int:
        """Entries refused only for rule errors: `with_errors_kept` would import them."""
        return 0 if self.keep_errors else sum(1 for o in self._outcomes if o.held)

    def with_errors_kept(self, keep: bool = True) -> ImportPlan:
        """The same import with entries whose only errors are rule errors imported as drafts (or, with
        `keep` False, refused as they are by default)."""
        other = replace(self, keep_errors=keep)
        other._assemble()
        return other

    def summary(self) -> dict[str, object]:
        return {
            "files": [str(p) for p in self.paths],
            "entries_read": self.entries_read,
            "items_read": self.items_read,
            "created": self.count(Action.NEW),
            "updated": self.count(Action.UPDATE),
            "unchanged": self.count(Action.UNCHANGED),
            "rejected_entries": self.count(Action.REJECTED),
            "rejected_rows": self.rejected_rows,
            "held_back": self.held_back,
            "changes": len(self.changes),
        }

    def _assemble(self) -> None:
        """Fill the public lists from the outcomes, refusing or keeping the entries with rule errors only."""
        keep = self.keep_errors
        self.entries, self.changes, rejected = [], [], []
        by_row: list[tuple[_Row, list[ImportProblem]]] = []
        for outcome in self._outcomes:
            refused = outcome.entry.action is Action.REJECTED or (outcome.held and not keep)
            extra: dict[int, list[ImportProblem]] = defaultdict(list)
            if refused:
                for row, problem in outcome.refusal:
                    extra[id(row)].append(problem)
                self.entries.append(replace(outcome.entry, action=Action.REJECTED, changes=0))
            else:
                self.changes.extend(outcome.changes)
                self.entries.append(outcome.entry)
            for row in outcome.rows:
                problems = row.problems + extra.get(id(row), [])
                if outcome.held and keep:
                    problems = [replace(p, kept=True) if p.severity is Severity.ERROR else p for p in problems]
                by_row.append((row, problems))
                if refused:
                    rejected.append(_RejectedRow(row.sheet, row, [p for p in problems if p.severity is Severity.ERROR]))
        shown = list(self._sheet_problems)
        for (sheet, field_key, code, severity, *_), found in self._absent.items():
            first = found[0][1]
            what = "import.item_sheet_absent" if field_key == "items" else "import.column_absent"
            params = {"column": found[0][2], "count": len(found), "rows": _rows_text(r for r, _, _ in found),
                      "rule": code, "rule_params": first.params}
            shown.append(ImportProblem(sheet.name, None, None, None, what, severity, params, field_key, sheet.source,
                                       kept=keep and severity is Severity.ERROR))
        by_row.sort(key=lambda pair: _row_order(pair[0]))
        for _row, problems in by_row:
            shown.extend(p for p in problems if not p.collateral)
        self.problems = [p for p in shown if p.severity is Severity.ERROR] + [
            p for p in shown if p.severity is not Severity.ERROR]
        self.rejected = sorted(rejected, key=lambda r: _row_order(r.row))


# Headers ----------------------------------------------------------------------------------------------------


def header_key(text: object) -> str:
    """A header as compared: full-width folded, spaces and required-markers dropped, a trailing (hint) dropped."""
    folded = unicodedata.normalize("NFKC", str(text))
    folded = re.sub(r"\s+", "", folded).strip("*")
    folded = re.sub(r"\([^()]*\)$", "", folded) or folded
    return folded.casefold()


# Words departments' own sheets use for the same columns, besides the guide's names and our keys.
_ENTRY_ALIASES = {
    "资源名称": "name", "资源代码": "code", "目录代码": "code", "资源摘要": "abstract", "资源提供方": "provider",
    "提供单位": "provider", "提供部门": "provider", "提供方": "provider", "统一社会信用代码": "provider_code",
    "信息资源提供方代码": "provider_code", "资源分类": "classification", "共享属性": "sharing_type",
    "开放类型": "open_type", "更新频率": "update_frequency", "发布时间": "published", "关联资源": "related_codes",
    "格式分类": "format_category", "格式类型": "format_type",
}
_ITEM_ALIASES = {
    "数据项名称": "name", "字段名称": "name", "字段名": "name", "数据项": "name", "字段类型": "data_type",
    "长度": "length", "字段长度": "length", "资源代码": "code",
}
# The guide's own table has one column for each of these pairs, its cells written 分类/类型
# (数据库/达梦 Dm, 共享平台方式/接口); the template, like most department sheets, has two.
_PAIRS = {"信息资源格式": ("format_category", "format_type"),
          "共享方式": ("sharing_method_category", "sharing_method_type")}


def _header_table(columns: Sequence[Any], aliases: dict[str, str],
                  pairs: dict[str, tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    """{header key: the field keys its column holds (one, or a pair)}."""
    table: dict[str, tuple[str, ...]] = {header_key(alias): (key,) for alias, key in aliases.items()}
    table.update((header_key(header), keys) for header, keys in pairs.items())
    for column in columns:
        for name in (column.spec.zh, column.spec.key, column.spec.en):
            table[header_key(name)] = (column.key,)
    return table


_ENTRY_HEADERS = _header_table(ENTRY_COLUMNS, _ENTRY_ALIASES, _PAIRS)
_ITEM_HEADERS = _header_table(ITEM_COLUMNS, _ITEM_ALIASES, {})
# Headers that only an item sheet has (the key "name" is both sheets' and tells nothing).
_ITEM_NAME_HEADERS = {k for k, v in _ITEM_HEADERS.items() if v == ("name",)} - set(_ENTRY_HEADERS)
_IGNORED = {header_key(h) for h in IGNORED_HEADERS}
_ITEM_SPECS = {c.key: c.spec for c in ITEM_COLUMNS}


@dataclass(eq=False)  # told apart by identity: a key of the problems told once per sheet
class _Sheet:
    """A table recognised as the entry sheet or the item sheet, with its header mapped to fields."""

    table: Table
    source: str
    items: bool
    header_row: int
    columns: dict[str, int]  # field key -> column index
    headers: dict[int, str]  # column index -> header as written
    pairs: dict[int, tuple[str, str]] = field(default_factory=dict)  # a column holding two fields: their keys

    @property
    def name(self) -> str:
        return self.table.name

    def header(self, key: str) -> str | None:
        index = self.columns.get(key)
        return self.headers.get(index) if index is not None else None


def _find_header(table: Table) -> tuple[int, list[Any], bool] | None:
    """(row number, cells, is the item sheet) of the first row that reads as the template's header."""
    for number, cells in table.rows[:HEADER_SEARCH_ROWS]:
        keys = {header_key(c) for c in cells if isinstance(c, str) and c.strip()}
        is_items = bool(keys & _ITEM_NAME_HEADERS)
        lookup = _ITEM_HEADERS if is_items else _ENTRY_HEADERS
        fields = {key for k in keys if k in lookup for key in lookup[k]}
        if "code" in fields and (is_items or len(fields) >= 2):
            return number, cells, is_items
    return None


# Cell values ------------------------------------------------------------------------------------------------


class _CellError(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _text(value: Any) -> str:
    """A cell as text: numbers without a needless '.0', dates as YYYY-MM-DD, outer spaces (also U+3000) gone."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    text = str(value).strip()
    # The CSV export guards text that a spreadsheet would run as a formula with an apostrophe.
    if text.startswith("'") and text[1:2] in FORMULA_STARTS:
        return text[1:]
    return text


_SERIAL_RANGE = (1, 2958466)  # Excel's serial numbers for 1900-01-01 .. 9999-12-31
_COMPACT_RANGE = (10000101, 99991231)  # 20230301 typed in Excel: a number, written as a date without separators


def parse_date(value: Any) -> str:
    """A date cell (date, Excel serial number, or text as `normalize_date` reads it) as YYYY-MM-DD.

    Text that is no date is kept as written, as the editor keeps it, and the rules report it; only a
    number that can be no date at all is a _CellError.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if float(value).is_integer() and _COMPACT_RANGE[0] <= value <= _COMPACT_RANGE[1]:
            return normalize_date(str(int(value)))
        return _from_serial(value, value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if re.fullmatch(r"\d{1,7}(\.\d+)?", text):
        return _from_serial(float(text), value)
    return normalize_date(str(value))


def _from_serial(serial: float, raw: Any) -> str:
    if not _SERIAL_RANGE[0] <= serial <= _SERIAL_RANGE[1]:
        raise _CellError("import.date", value=_text(raw))
    return from_excel(serial, CALENDAR_WINDOWS_1900).date().isoformat()


def parse_int(spec: FieldSpec, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _CellError("import.int", field=spec.key, value=_text(value))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _CellError("import.int", field=spec.key, value=_text(value))
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text)) if "." in text else int(text)
    if not text:
        return None
    raise _CellError("import.int", field=spec.key, value=_text(value))


def parse_cell(spec: FieldSpec, value: Any) -> Any:
    """The stored value for a cell of field `spec` (as the entry editor would store it); _CellError if it has none."""
    if spec.kind is Kind.DATE:
        return parse_date(value)
    if spec.kind is Kind.INT:
        return parse_int(spec, value)
    text = _text(value)
    if spec.kind is Kind.VOCAB:
        if not text:
            return Status.ACTIVE if spec.key == "status" else None
        key = vocabulary(spec.vocabulary or "").parse(text)
        if key is None:
            raise _CellError("import.vocab", field=spec.key, value=text, choices_of=spec.vocabulary)
        return key
    if spec.kind is Kind.CODES:
        return [clean_code(c) for c in LIST_SEPARATORS.split(text) if c]
    if spec.key in ("code", "classification"):
        return clean_code(text)
    if spec.key == "provider_code":
        return uscc.compact(normalize(text)).upper() if text else ""
    return text


def split_pair(category_vocabulary: str, value: Any) -> tuple[str, str]:
    """The (category, type) text of a cell of the guide's combined columns: 数据库/达梦 Dm -> (数据库, 达梦 Dm).

    A cell of one word is the category, or a type that names its category (MySQL is a 数据库), or a type alone.
    """
    text = _text(value).replace("／", "/")
    head, separator, tail = text.partition("/")
    if separator:
        return head.strip(), tail.strip()
    if not text or vocabulary(category_vocabulary).parse(text) is not None:
        return text, ""
    return _category_of(category_vocabulary, text), text


def _category_of(category_vocabulary: str, type_text: str) -> str:
    """The category whose listed types (vocabularies.json) include `type_text`, when exactly one does."""
    folded = normalize(type_text)
    owners = []
    for term in vocabulary(category_vocabulary).terms:
        types = term.extra.get("types")
        if isinstance(types, list) and folded in {normalize(str(t)) for t in types}:
            owners.append(term.zh)
    return owners[0] if len(owners) == 1 else ""


_REPEATING = {"code", "classification", "provider", "provider_code"}


def _column_parser(spec: FieldSpec, pair: tuple[str, str] | None = None) -> Callable[[Any], Any]:
    """parse_cell for one column, remembering the answers for values that repeat down a column (vocabulary
    words, dates, the item sheet's codes): 160,000 item rows hold a handful of distinct data types.

    With `pair` (the category and type keys of a combined column) it parses this field's half of the cell.
    """
    if pair is not None:
        category = ENTRY_FIELD[pair[0]].vocabulary or ""
        half = 0 if spec.key == pair[0] else 1
        whole = _column_parser(spec)
        return lambda raw: whole(split_pair(category, raw)[half] or None)
    if not (spec.kind in (Kind.VOCAB, Kind.INT, Kind.DATE) or spec.key in _REPEATING):
        return lambda raw: parse_cell(spec, raw)
    cache: dict[tuple[type, Any], Any] = {}

    def parse(raw: Any) -> Any:
        key = (type(raw), raw)  # 1, 1.0 and True are equal keys to a dict, but not the same cell
        if key in cache:
            return cache[key]
        value = cache[key] = parse_cell(spec, raw)
        return value

    return parse


# Reading rows -----------------------------------------------------------------------------------------------


@dataclass(eq=False)  # rows are told apart by identity: two rows may hold the same cells
class _Row:
    sheet: _Sheet
    number: int
    cells: list[Any]
    code: str
    values: dict[str, Any]
    problems: list[ImportProblem] = field(default_factory=list)

    def cell(self, index: int | None) -> Any:
        return self.cells[index] if index is not None and index < len(self.cells) else None

    @property
    def has_errors(self) -> bool:
        return any(p.severity is Severity.ERROR for p in self.problems)


@dataclass
class _RejectedRow:
    sheet: _Sheet
    row: _Row
    reasons: list[ImportProblem]


def _problem(sheet: _Sheet, row: int | None, column: int | None, code: str, /, severity: Severity = Severity.ERROR,
             field_key: str | None = None, collateral: bool = False, **params: object) -> ImportProblem:
    header = sheet.headers.get(column) if column is not None else None
    return ImportProblem(sheet.name, row, column, header, code, severity, params, field_key, sheet.source, collateral)


def _map_header(table: Table, source: str, problems: list[ImportProblem]) -> _Sheet | None:
    found = _find_header(table)
    if found is None:
        if table.name in (ENTRY_SHEET, ITEM_SHEET) and table.rows:
            problems.append(ImportProblem(table.name, None, None, None, "import.no_header", Severity.ERROR,
                                          {"rows": HEADER_SEARCH_ROWS}, None, source))
        return None
    number, cells, is_items = found
    lookup = _ITEM_HEADERS if is_items else _ENTRY_HEADERS
    sheet = _Sheet(table, source, is_items, number, {}, {})
    for index, cell in enumerate(cells):
        if cell is None or not str(cell).strip():
            continue
        sheet.headers[index] = str(cell).strip()
    for index, text in sheet.headers.items():
        key = header_key(text)
        keys = lookup.get(key)
        if keys is None:
            if key not in _IGNORED:
                problems.append(_problem(sheet, None, index, "import.unknown_column", Severity.WARNING, header=text))
            continue
        taken = next((k for k in keys if k in sheet.columns), None)
        if taken is not None:
            first = sheet.columns[taken]
            problems.append(_problem(sheet, None, index, "import.duplicate_column", header=text,
                                     first=column_letter(first), second=column_letter(index)))
            continue
        for fld in keys:
            sheet.columns[fld] = index
        if len(keys) == 2:
            sheet.pairs[index] = (keys[0], keys[1])
    if is_items and "name" not in sheet.columns:
        problems.append(_problem(sheet, None, None, "import.missing_column", column=ITEM_FIELD["name"].zh))
    for merged in table.merged:
        if merged.min_row <= number <= merged.max_row:
            problems.append(_problem(sheet, number, merged.min_col, "import.merged_header", range=str(merged)))
    return sheet


def _fill_merged(sheet: _Sheet) -> dict[int, list[CellRange]]:
    """Copy the value of vertically merged data cells down (a code merged over its data items' rows);
    return the merges that span columns, by row, which are errors."""
    across: dict[int, list[CellRange]] = defaultdict(list)
    vertical = [m for m in sheet.table.merged if m.min_row > sheet.header_row]
    if not vertical:
        return across
    by_number = {number: cells for number, cells in sheet.table.rows}
    for merged in vertical:
        if merged.max_col > merged.min_col:
            for number in range(merged.min_row, merged.max_row + 1):
                across[number].append(merged)
            continue
        top = by_number.get(merged.min_row)
        value = top[merged.min_col] if top is not None and merged.min_col < len(top) else None
        for number in range(merged.min_row + 1, merged.max_row + 1):
            cells = by_number.get(number)
            if cells is None:
                cells = by_number[number] = []
                sheet.table.rows.append((number, cells))
            cells.extend([None] * (merged.min_col + 1 - len(cells)))
            cells[merged.min_col] = value
    sheet.table.rows.sort(key=lambda r: r[0])
    return across


def _read_rows(sheet: _Sheet) -> list[_Row]:
    specs = _ITEM_SPECS if sheet.items else ENTRY_FIELD
    across = _fill_merged(sheet)
    notes: dict[int, list[CellNote]] = defaultdict(list)
    for note in sheet.table.notes:
        notes[note.row].append(note)
    code_column = sheet.columns.get("code")
    parsers = [(key, index, _column_parser(specs[key], sheet.pairs.get(index))) for key, index in sheet.columns.items()]
    rows: list[_Row] = []
    for number, cells in sheet.table.rows:
        if number <= sheet.header_row:
            continue
        row = _Row(sheet, number, cells, "", {})
        for note in notes.get(number, ()):
            row.problems.append(_problem(sheet, number, note.column, note.code, **note.params))
        for merged in across.get(number, ()):
            if merged.min_row == number:
                row.problems.append(_problem(sheet, number, merged.min_col, "import.merged_cells", range=str(merged)))
        values = row.values
        width = len(cells)
        too_long: set[int] = set()
        for key, index, parse in parsers:
            raw = cells[index] if index < width else None
            if isinstance(raw, str) and len(raw) > EXCEL_CELL_LIMIT:
                # More than Excel holds: an export of it would be cut short, so it is not taken in.
                if index not in too_long:
                    too_long.add(index)
                    row.problems.append(_problem(sheet, number, index, "import.too_long", field_key=key,
                                                 length=len(raw), limit=EXCEL_CELL_LIMIT))
                continue
            try:
                values[key] = parse(raw)
            except _CellError as error:
                row.problems.append(_problem(sheet, number, index, error.code, field_key=key, **error.params))
        row.code = row.values.get("code") or ""
        if not row.code:
            row.problems.append(_problem(sheet, number, code_column, "import.code_missing", field_key="code"))
        if sheet.items and not row.values.get("name") and "name" in sheet.columns:
            row.problems.append(_problem(sheet, number, sheet.columns["name"], "import.required", field_key="name",
                                         field="name", of_item=True))
        rows.append(row)
    return rows


# Planning ---------------------------------------------------------------------------------------------------


@dataclass
class _Unit:
    """One entry of the import: its entry row (if any), its item rows, the workspace's entry (if any)."""

    code: str
    entry_rows: list[_Row] = field(default_factory=list)
    item_rows: list[_Row] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)  # pks of workspace entries with this code

    def rows(self) -> list[_Row]:
        return self.entry_rows + self.item_rows


def _existing_codes(workspace: Workspace, codes: Iterable[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    with workspace.reading() as conn:
        db = store.dbapi(conn)
        for chunk in store.chunked(sorted(set(codes))):
            for code, pk in db.execute(
                f"SELECT code, pk FROM entries WHERE code IN ({store.placeholders(len(chunk))}) ORDER BY pk", chunk
            ):
                found[code].append(pk)
    return found


def _rows_text(rows: Iterable[_Row]) -> str:
    """Row numbers as a steward reads them: 5、9、57–72."""
    numbers = sorted({r.number for r in rows})
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return "、".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _check_units(units: dict[str, _Unit]) -> None:
    """Problems that need the whole file and the workspace: duplicates, unknown and ambiguous codes."""
    for unit in units.values():
        if len(unit.entry_rows) > 1:
            for row in unit.entry_rows:
                row.problems.append(_problem(row.sheet, row.number, row.sheet.columns.get("code"),
                                             "import.duplicate_code", field_key="code", value=unit.code,
                                             rows=_rows_text(unit.entry_rows)))
        if len(unit.existing) > 1:
            for row in unit.rows()[:1] or []:
                row.problems.append(_problem(row.sheet, row.number, row.sheet.columns.get("code"), "import.ambiguous",
                                             field_key="code", value=unit.code))
        if not unit.entry_rows and not unit.existing:
            for row in unit.item_rows:
                row.problems.append(_problem(row.sheet, row.number, row.sheet.columns.get("code"),
                                             "import.unknown_entry", field_key="code", value=unit.code))


def _refusal(unit: _Unit) -> list[tuple[_Row, ImportProblem]]:
    """Why each row of an entry with an error stays out too: every row says why (for the rejected workbook).

    The report names only the causes, plus one line for the rest: the entry row of items with an
    error says so, or an entry row with an error says which of its item rows go with it.
    """
    rows = unit.rows()
    lines: list[tuple[_Row, ImportProblem]] = []
    bad_entry = [r for r in unit.entry_rows if r.has_errors]
    bad_items = [r for r in unit.item_rows if r.has_errors]
    following = [r for r in unit.item_rows if not r.has_errors]
    for row in rows:
        if row.has_errors:
            continue
        if bad_entry:
            first = bad_entry[0]
            lines.append((row, _problem(row.sheet, row.number, None, "import.with_entry", collateral=True,
                                        sheet=first.sheet.name, row=first.number)))
        else:
            # An entry row refused for its items is the line the report shows for them all.
            is_summary = row in unit.entry_rows
            lines.append((row, _problem(row.sheet, row.number, None, "import.with_items", collateral=not is_summary,
                                        sheet=bad_items[0].sheet.name, rows=_rows_text(bad_items))))
    if following and (bad_entry or not unit.entry_rows):
        anchor = bad_entry[0] if bad_entry else bad_items[0]
        lines.append((anchor, _problem(anchor.sheet, anchor.number, None, "import.items_follow",
                                       count=len(following), sheet=following[0].sheet.name,
                                       rows=_rows_text(following))))
    return lines


def _row_order(row: _Row) -> tuple[str, bool, int]:
    """Rows in the order of the files: entry sheet before item sheet, top to bottom."""
    return row.sheet.source, row.sheet.items, row.number


@dataclass
class _Outcome:
    """What the import does with one entry of the file, or with a row that names none."""

    entry: PlannedEntry  # as imported; REJECTED for an entry refused whatever the steward chooses
    rows: list[_Row]
    changes: list[Change] = field(default_factory=list)
    # Its only errors are rule errors: imported as a draft when the steward keeps them, refused otherwise.
    held: bool = False
    refusal: list[tuple[_Row, ImportProblem]] = field(default_factory=list)  # added to its rows when refused


def _new_item(row: _Row, position: int, base: DataItem | None = None) -> DataItem:
    values = row.values
    item = DataItem(name=values.get("name", ""), position=position, id=base.id if base else new_id())
    for key in ("data_type", "length", "sharing_type", "open_type"):
        if key in row.sheet.columns:
            setattr(item, key, values.get(key))
        elif base is not None:
            setattr(item, key, getattr(base, key))
    return item


def _build_new(unit: _Unit, workspace: Workspace) -> Entry:
    entry = Entry()
    row = unit.entry_rows[0]
    for key, value in row.values.items():
        setattr(entry, key, value)
    # A sheet without the provider columns is the department's own: it provides what it lists.
    if "provider" not in row.sheet.columns:
        entry.provider = workspace.department_name
    if "provider_code" not in row.sheet.columns:
        entry.provider_code = workspace.department_code
    entry.items = [_new_item(r, n) for n, r in enumerate(unit.item_rows, start=1)]
    return entry


def _update(unit: _Unit, before: Entry) -> tuple[Entry, list[Change]]:
    """The entry as the import leaves it, and the journal changes that get it there from `before`."""
    after = before.copy()
    changes: list[Change] = []
    if unit.entry_rows:
        for key, value in unit.entry_rows[0].values.items():
            if getattr(before, key) != value:
                setattr(after, key, value)
                changes.append(SetField(before.id, key, value))
    if not unit.item_rows:
        return after, changes  # the file says nothing of its items: they stay as they are
    waiting: dict[str, list[DataItem]] = defaultdict(list)
    for item in before.items:
        waiting[item.name].append(item)
    items: list[DataItem] = []
    item_changes: list[Change] = []
    for position, row in enumerate(unit.item_rows, start=1):
        old = waiting[row.values.get("name", "")].pop(0) if waiting.get(row.values.get("name", "")) else None
        item = _new_item(row, position, old)
        if old is None:
            item_changes.append(AddItem(before.id, item))
        else:
            for key in ("data_type", "length", "sharing_type", "open_type", "position"):
                if getattr(old, key) != getattr(item, key):
                    item_changes.append(SetItemField(before.id, item.id, key, getattr(item, key)))
        items.append(item)
    removed = [RemoveItem(before.id, i.id) for rest in waiting.values() for i in rest]
    after.items = items
    return after, changes + removed + item_changes


_AbsentKey = tuple[_Sheet, str, str, Severity, str]


def _add_rule_problems(unit: _Unit, entry: Entry, found: list[rules.Problem], before: list[rules.Problem],
                       has_item_sheet: bool, absent: dict[_AbsentKey, list[tuple[_Row, ImportProblem, str]]]) -> None:
    """Rule problems of the entry the import leaves, on the row (and cell) where the cause is.

    An error is the row's, unless the entry had it before and the file has no column for its field
    (then it is not the file's doing: a warning). A problem of a field whose column the sheet lacks
    is told once for the file (`absent`), and on each row only in the rejected workbook.
    """
    item_rows = {}
    for position, row in enumerate(unit.item_rows):
        if position < len(entry.items):
            item_rows[entry.items[position].id] = row
    old = {(p.code, p.field, p.item_id) for p in before if p.severity is rules.Severity.ERROR}
    for problem in found:
        row = item_rows.get(problem.item_id or "") or next(iter(unit.entry_rows + unit.item_rows), None)
        if row is None:
            continue
        # A cell only when the problem is of the kind of row it lands on (an entry field on the entry sheet).
        same_kind = (problem.item_id is not None) == row.sheet.items
        column = row.sheet.columns.get(problem.field) if same_kind else None
        in_file = column is not None or (problem.field == "items" and bool(unit.item_rows))
        severity = Severity(problem.severity.value)
        if severity is Severity.ERROR and not in_file and (problem.code, problem.field, problem.item_id) in old:
            severity = Severity.WARNING
        # Told once for the file: an entry field the sheet has no column for, or items with no item sheet at all.
        # (An item's problem names the item's position, different on each row: those stay on their rows.)
        label = None
        if same_kind and not in_file and "position" not in problem.params:
            if problem.field == "items":
                label = ITEM_SHEET if not has_item_sheet else None
            elif problem.field in ENTRY_FIELD:
                label = ENTRY_FIELD[problem.field].zh
        found_here = _problem(row.sheet, row.number, column, problem.code, severity, problem.field,
                              collateral=label is not None, **problem.params)
        row.problems.append(found_here)
        if label is not None:
            key = (row.sheet, problem.field, problem.code, severity, repr(sorted(problem.params.items())))
            absent.setdefault(key, []).append((row, found_here, label))


def _reason(paths: Sequence[Path], lang: str | None) -> str:
    return render("import.reason", {"file": "、".join(Path(p).name for p in paths)}, lang)


def plan(workspace: Workspace, paths: Sequence[Path | str], *, progress: Progress | None = None,
         lang: str | None = None, keep_errors: bool = False) -> ImportPlan:
    """Read `paths` (an xlsx in the template layout, or CSV files of entries and of items) and plan the import.

    Raises StewardError for a file that cannot be used at all (not a spreadsheet, password-protected,
    damaged, no table in the template layout); problems of rows are collected in the plan. With
    `keep_errors`, entries whose only errors are rule errors are imported as drafts (see
    `ImportPlan.with_errors_kept`).
    """
    files = [Path(p) for p in paths]
    result = ImportPlan(files, _reason(files, lang), keep_errors=keep_errors)
    sheets: list[_Sheet] = []
    for index, path in enumerate(files):
        def read_progress(done: int, total: int, index: int = index) -> None:
            if progress:
                share = _STEPS * 6 // 10 // len(files)
                progress(index * share + share * done // max(total, 1), _STEPS)

        tables = read_tables(path, read_progress)
        found = [s for t in tables if (s := _map_header(t, path.name, result._sheet_problems)) is not None]
        if not found and not any(p.code == "import.no_header" for p in result._sheet_problems):
            raise StewardError("import.no_tables", path=str(path))
        sheets.extend(found)
    # A missing or doubled column, or a merged header, spoils every row: nothing can be checked further.
    fatal = [p for p in result._sheet_problems
             if (p.severity is Severity.ERROR and p.row is None) or p.code == "import.merged_header"]
    if fatal:
        raise ImportUnusable(result._sheet_problems)
    rows = [row for sheet in sheets for row in _read_rows(sheet)]
    if not rows:
        raise StewardError("import.no_rows", path="、".join(str(p) for p in files))
    if progress:
        progress(_STEPS * 7 // 10, _STEPS)
    units: dict[str, _Unit] = {}
    orphans: list[_Row] = []
    for row in rows:
        if not row.code:
            orphans.append(row)
            continue
        unit = units.setdefault(row.code, _Unit(row.code))
        (unit.item_rows if row.sheet.items else unit.entry_rows).append(row)
        if row.sheet.items:
            result.items_read += 1
        else:
            result.entries_read += 1
    result.entries_read += sum(1 for r in orphans if not r.sheet.items)
    result.items_read += sum(1 for r in orphans if r.sheet.items)
    for code, pks in _existing_codes(workspace, units).items():
        units[code].existing = pks
    _check_units(units)
    if progress:
        progress(_STEPS * 8 // 10, _STEPS)

    with workspace.reading() as conn:
        wanted = [u.existing[0] for u in units.values() if len(u.existing) == 1 and not any(r.has_errors
                                                                                           for r in u.rows())]
        loaded = {}
        for chunk in store.chunked(wanted):
            loaded.update(store.load_entries(conn, pks=chunk))
        duplicates = store.duplicate_codes(conn)
        known_codes = set(units) | {row[0] for row in store.dbapi(conn).execute(
            "SELECT DISTINCT code FROM entries")}
    # The rules see the workspace as the import leaves it: related codes may name entries of the file.
    ctx = rules.Context(workspace.department_code or None, duplicate_codes=duplicates,
                        code_exists=known_codes.__contains__)

    has_item_sheet = any(sheet.items for sheet in sheets)
    for n, unit in enumerate(units.values()):
        first = (unit.entry_rows or unit.item_rows)[0]
        name = str(unit.entry_rows[0].values.get("name", "")) if unit.entry_rows else ""
        if any(r.has_errors for r in unit.rows()):
            for row, problem in _refusal(unit):
                row.problems.append(problem)
            result._outcomes.append(_Outcome(PlannedEntry(unit.code, name, Action.REJECTED, first.sheet.name,
                                                          first.number), unit.rows()))
            continue
        before: Entry | None = None
        if unit.existing:
            before = loaded[unit.existing[0]]
            after, changes = _update(unit, before)
            action = Action.UPDATE if changes else Action.UNCHANGED
            name = name or before.name
        elif unit.entry_rows:
            after = _build_new(unit, workspace)
            changes = [CreateEntry(after)]
            action = Action.NEW
        else:  # item rows of an unknown entry: _check_units refused them above
            continue
        if changes:
            _add_rule_problems(unit, after, rules.check(after, ctx), rules.check(before, ctx) if before else [],
                               has_item_sheet, result._absent)
        held = any(r.has_errors for r in unit.rows())
        result._outcomes.append(_Outcome(
            PlannedEntry(unit.code, name, action, first.sheet.name, first.number, len(changes)), unit.rows(),
            changes, held, _refusal(unit) if held else []))
        if progress and n % 500 == 0:
            progress(_STEPS * 8 // 10 + _STEPS * 2 // 10 * n // max(len(units), 1), _STEPS)
    for row in orphans:
        result._outcomes.append(_Outcome(PlannedEntry("", str(row.values.get("name", "")), Action.REJECTED,
                                                      row.sheet.name, row.number), [row]))
    result._assemble()
    if progress:
        progress(_STEPS, _STEPS)
    return result


class ImportUnusable(StewardError):
    """The files cannot be imported as they are laid out (a missing column, a merged header ...)."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems = [p for p in problems if p.severity is Severity.ERROR]
        first = self.problems[0]
        super().__init__(first.code, **first.params)

    def message(self, lang: str | None = None) -> str:
        return "\n".join(render("import.at", {"where": p.location(lang), "message": p.message(lang)}, lang)
                         for p in self.problems)


# Applying ---------------------------------------------------------------------------------------------------


def apply(workspace: Workspace, import_plan: ImportPlan, *, skip_invalid: bool = False,
          progress: Progress | None = None) -> ApplyResult | None:
    """Make the planned changes in one journal step; refused (nothing written) if rows were rejected, unless
    `skip_invalid`. Returns None when there was nothing to change.

    Entries with rule errors are among the changes only in a plan `with_errors_kept`: the journal
    records their problems, and the sync holds them back until they are fixed.
    """
    if import_plan.rejected and not skip_invalid:
        raise StewardError("import.refused", rows=import_plan.rejected_rows)
    if not import_plan.changes:
        return None
    # The reason is recorded with every change; the journal needs one for changes that tighten access.
    return journal.apply(workspace, import_plan.changes, reason=import_plan.reason, progress=progress)


def rejected_path(source: Path) -> Path:
    """Where the rejected rows of `source` go unless told: beside it, named after it."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return source.with_name(f"{source.stem}-未导入-{stamp}.xlsx")


def _cell_out(sheet: _Sheet, row: _Row, key: str) -> Any:
    """A rejected row's cell for the template column `key`, as the file had it."""
    index = sheet.columns.get(key)
    value = row.cell(index)
    if index in sheet.pairs:  # the guide's combined column: each half to its own template column
        category, _type = sheet.pairs[index]
        halves = split_pair(ENTRY_FIELD[category].vocabulary or "", value)
        value = halves[0 if key == category else 1] or None
    if isinstance(value, datetime):
        return _text(value)
    if isinstance(value, str) and len(value) > EXCEL_CELL_LIMIT:
        return None  # Excel would cut it short; the reason beside it says so, and the source file holds it whole
    return value


def write_rejected(import_plan: ImportPlan, path: Path, lang: str | None = None) -> Path:
    """The rejected rows, in the template layout, with their problems and where they came from."""
    with open_workbook(path, extra_headers=(PROBLEM_HEADER, SOURCE_HEADER), guide=True) as (entry_out, item_out):
        for rejected in import_plan.rejected:
            sheet, row = rejected.sheet, rejected.row
            columns = ITEM_COLUMNS if sheet.items else ENTRY_COLUMNS
            cells = [_cell_out(sheet, row, c.key) for c in columns]
            reasons = "\n".join(render("import.at", {"where": p.header, "message": p.message(lang)}, lang)
                                if p.header else p.message(lang) for p in rejected.reasons)
            if len(reasons) > EXCEL_CELL_LIMIT:  # a reason quoting a long cell: our words may be cut, never data
                reasons = reasons[: EXCEL_CELL_LIMIT - 1] + "…"
            where = render("import.where_row", {"sheet": f"{sheet.source} {sheet.name}", "row": row.number}, lang)
            (item_out if sheet.items else entry_out).append([*cells, reasons, where])
    return path
