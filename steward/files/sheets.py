"""Reading spreadsheet files (xlsx, CSV) into tables of raw cell values, before anything judges what they mean.

xlsx sheets are read straight from their XML with expat rather than through openpyxl's reader: a
catalogue of 10,000 entries and 160,000 data items is over a million cells, which openpyxl's
per-cell objects read about three times slower. Reading the XML also tells us what a spreadsheet
program knows and a value reader hides: formulas without a computed value, error cells, merged
ranges. CSV text is decoded as UTF-8 (with or without BOM), then GB18030 (a superset of GBK), and
UTF-16 when it carries a BOM; the encoding is detected, never asked.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from steward.catalogue.errors import StewardError

Progress = Callable[[int, int], None]

CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_CHUNK = 1 << 16
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: legacy .xls, or an encrypted xlsx
# Built-in number formats that show dates: the common ones, and those Chinese, Japanese and Korean
# Excel shows as 年/月/日 (ids 27–36 and 50–58 have no fixed code; their meaning depends on the locale).
_DATE_FORMAT_IDS = frozenset(range(14, 23)) | frozenset(range(27, 37)) | frozenset(range(45, 48)) | frozenset(
    range(50, 59)
)
# Share of lines that may fail to decode before we call the file undecodable rather than blame those rows.
_BAD_LINE_SHARE = 0.01
# The csv module refuses a field over 128 KiB as if the file were damaged; a long cell is the importer's to
# judge (it names the row and column). The whole file is in memory already: no field can be larger.
_CSV_FIELD_LIMIT = 2**31 - 1


@dataclass(frozen=True)
class CellNote:
    """Something about one cell (or a whole row) the reader could not take as it is."""

    row: int  # 1-based, as the spreadsheet shows it
    column: int | None  # 0-based; None for a whole row
    code: str  # a message code
    params: dict[str, object] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class CellRange:
    """A merged range: rows 1-based, columns 0-based, both inclusive."""

    min_row: int
    min_col: int
    max_row: int
    max_col: int

    def __str__(self) -> str:
        return f"{column_letter(self.min_col)}{self.min_row}:{column_letter(self.max_col)}{self.max_row}"


@dataclass
class Table:
    """One sheet of a workbook, or one CSV file: its non-empty rows with their 1-based numbers."""

    name: str
    rows: list[tuple[int, list[Any]]]
    merged: list[CellRange] = field(default_factory=list)
    notes: list[CellNote] = field(default_factory=list)
    encoding: str | None = None  # for CSV: the encoding detected


def column_letter(index: int) -> str:
    """'A' for column 0, 'AA' for column 26."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_tables(path: Path, progress: Progress | None = None) -> list[Table]:
    """The tables of a spreadsheet file; StewardError (import.*) when it cannot be read as one."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise StewardError("import.unreadable", path=str(path), reason=error.strerror or str(error)) from error
    if not head:
        raise StewardError("import.empty", path=str(path))
    if head.startswith(_ZIP_MAGIC):
        return _read_xlsx(path, progress)
    if head == _OLE_MAGIC:
        raise StewardError("import.encrypted" if _is_encrypted_ole(path) else "import.legacy_xls", path=str(path))
    if path.suffix.lower() in CSV_SUFFIXES:
        return [_read_csv(path, progress)]
    raise StewardError("import.not_spreadsheet", path=str(path))


def _is_encrypted_ole(path: Path) -> bool:
    """An encrypted OOXML file is a Compound File holding streams named EncryptionInfo and EncryptedPackage."""
    data = path.read_bytes()
    return "EncryptedPackage".encode("utf-16-le") in data


# xlsx ----------------------------------------------------------------------------------------------------


def _local(name: str) -> str:
    """The local part of an expat name 'namespace local' (files use prefixes freely: x:c, c)."""
    return name[name.rfind(" ") + 1 :]


def _attr(attrs: dict[str, str], local: str) -> str | None:
    for key, value in attrs.items():
        if _local(key) == local:
            return value
    return None


def _parse(stream: Any, start: Callable[..., None] | None = None, end: Callable[..., None] | None = None,
           text: Callable[[str], None] | None = None) -> None:
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if text:
        parser.CharacterDataHandler = text
    parser.ParseFile(stream)


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """{id: (type, resolved target)} of a part's relationships."""
    rels_path = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    found: dict[str, tuple[str, str]] = {}
    if rels_path not in archive.NameToInfo:
        return found

    def start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship" and attrs.get("TargetMode") != "External":
            found[attrs.get("Id", "")] = (attrs.get("Type", ""), _resolve(part, attrs.get("Target", "")))

    with archive.open(rels_path) as stream:
        _parse(stream, start)
    return found


@dataclass
class _Workbook:
    sheets: list[tuple[str, str]]  # (name, part path) in workbook order
    strings: list[str]
    date_styles: frozenset[int]
    epoch: datetime


def _workbook(archive: zipfile.ZipFile, path: Path) -> _Workbook:
    package = _relationships(archive, "")
    workbook_part = next((t for kind, t in package.values() if kind.endswith("/officeDocument")), "xl/workbook.xml")
    if workbook_part not in archive.NameToInfo:
        raise StewardError("import.not_spreadsheet", path=str(path))
    rels = _relationships(archive, workbook_part)
    sheets: list[tuple[str, str]] = []
    date1904 = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal date1904
        local = _local(name)
        if local == "sheet":
            rel = rels.get(_attr(attrs, "id") or "")
            if rel and rel[0].endswith("/worksheet"):
                sheets.append((attrs.get("name", ""), rel[1]))
        elif local == "workbookPr":
            date1904 = attrs.get("date1904", "0") in ("1", "true")

    with archive.open(workbook_part) as stream:
        _parse(stream, start)
    strings_part = next((t for kind, t in rels.values() if kind.endswith("/sharedStrings")), None)
    styles_part = next((t for kind, t in rels.values() if kind.endswith("/styles")), None)
    strings = _shared_strings(archive, strings_part) if strings_part in archive.NameToInfo else []
    date_styles = _date_styles(archive, styles_part) if styles_part in archive.NameToInfo else frozenset()
    return _Workbook(sheets, strings, date_styles, CALENDAR_MAC_1904 if date1904 else CALENDAR_WINDOWS_1900)


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """{sheet name: the part holding its XML} of an open xlsx archive."""
    return dict(_workbook(archive, Path(archive.filename or "")).sheets)


def _shared_strings(archive: zipfile.ZipFile, part: str) -> list[str]:
    strings: list[str] = []
    parts: list[str] = []
    in_text = False
    phonetic = 0  # inside <rPh>: the reading aid of East Asian text, not part of the value

    def start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal in_text, phonetic
        local = _local(name)
        if local == "si":
            parts.clear()
        elif local == "t" and not phonetic:
            in_text = True
        elif local == "rPh":
            phonetic += 1

    def end(name: str) -> None:
        nonlocal in_text, phonetic
        local = _local(name)
        if local == "si":
            strings.append("".join(parts))
        elif local == "t":
            in_text = False
        elif local == "rPh":
            phonetic -= 1

    def text(data: str) -> None:
        if in_text:
            parts.append(data)

    with archive.open(part) as stream:
        _parse(stream, start, end, text)
    return strings


def _date_styles(archive: zipfile.ZipFile, part: str) -> frozenset[int]:
    """Indexes of the cell styles whose number format shows a date or time."""
    custom: dict[int, str] = {}
    formats: list[int] = []
    in_cell_xfs = False

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal in_cell_xfs
        local = _local(name)
        if local == "numFmt":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif local == "cellXfs":
            in_cell_xfs = True
        elif local == "xf" and in_cell_xfs:
            formats.append(int(attrs.get("numFmtId", "0")))

    def end(name: str) -> None:
        nonlocal in_cell_xfs
        if _local(name) == "cellXfs":
            in_cell_xfs = False

    with archive.open(part) as stream:
        _parse(stream, start, end)

    def is_date(format_id: int) -> bool:
        if format_id in custom:
            return is_date_format(custom[format_id])
        if format_id in _DATE_FORMAT_IDS:
            return True
        return format_id in BUILTIN_FORMATS and is_date_format(BUILTIN_FORMATS[format_id])

    return frozenset(index for index, format_id in enumerate(formats) if is_date(format_id))


def _column_index(reference: str) -> int:
    index = 0
    for char in reference:
        if "A" <= char <= "Z":
            index = index * 26 + ord(char) - 64
        else:
            break
    return index - 1


def _row_of(reference: str) -> int:
    return int(reference[len(reference.rstrip("0123456789")) :] or 0)


def _read_xlsx(path: Path, progress: Progress | None) -> list[Table]:
    try:
        with zipfile.ZipFile(path) as archive:
            book = _workbook(archive, path)
            sizes = {part: archive.NameToInfo[part].file_size for _, part in book.sheets if part in archive.NameToInfo}
            total = sum(sizes.values()) or 1
            done = 0
            tables = []
            for name, part in book.sheets:
                if part not in sizes:
                    raise StewardError("import.corrupt", path=str(path), reason=f"{part} missing")

                def sheet_progress(n: int, _total: int, base: int = done) -> None:
                    if progress:
                        progress(base + n, total)

                with archive.open(part) as stream:
                    tables.append(_read_sheet(name, stream, book, sheet_progress))
                done += sizes[part]
            return tables
    except StewardError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, IndexError, ValueError, EOFError, expat.ExpatError,
            NotImplementedError) as error:
        raise StewardError("import.corrupt", path=str(path), reason=str(error) or type(error).__name__) from error
    except OSError as error:
        raise StewardError("import.unreadable", path=str(path), reason=error.strerror or str(error)) from error


def _number(text: str) -> int | float:
    if "." in text or "e" in text or "E" in text:
        value = float(text)
        return int(value) if value.is_integer() and abs(value) < 1e15 else value
    return int(text)


# The elements of sheet XML the reader acts on, by local name. Parsing without namespace processing
# gives names as written ("c", or "x:c" in files that use a prefix); `_tag_kind` learns each once.
_C, _V, _T, _F, _ROW, _RPH, _MERGE, _OTHER = range(8)
_KINDS = {"c": _C, "v": _V, "t": _T, "f": _F, "row": _ROW, "rPh": _RPH, "mergeCell": _MERGE}


def _tag_kind(tags: dict[str, int], tag: str) -> int:
    kind = tags[tag] = _KINDS.get(tag[tag.rfind(":") + 1 :], _OTHER)
    return kind


def _read_sheet(name: str, stream: Any, book: _Workbook, progress: Progress) -> Table:
    """One worksheet's non-empty rows. The handlers run per element, a few million times: they are
    closures over locals with one dict lookup to tell elements apart."""
    rows: list[tuple[int, list[Any]]] = []
    merged: list[CellRange] = []
    notes: list[CellNote] = []
    strings, date_styles, epoch = book.strings, book.date_styles, book.epoch
    tags: dict[str, int] = {}
    columns: dict[str, int] = {}  # "AB" -> 27
    row_number = 0
    column = -1
    cells: list[tuple[int, Any]] = []
    kind: str | None = None
    style = 0
    has_formula = False
    formula: list[str] = []
    value_parts: list[str] = []
    collecting: list[str] | None = None
    phonetic = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal row_number, column, kind, style, has_formula, collecting, phonetic
        element = tags.get(tag)
        if element is None:
            element = _tag_kind(tags, tag)
        if element == _C:
            reference = attrs.get("r")
            if reference:
                letters = reference.rstrip("0123456789")
                index = columns.get(letters)
                if index is None:
                    index = columns[letters] = _column_index(letters)
                column = index
            else:
                column += 1
            kind = attrs.get("t")
            style_text = attrs.get("s")
            style = int(style_text) if style_text else 0
            has_formula = False
            value_parts.clear()
        elif element == _V or (element == _T and not phonetic):
            collecting = value_parts
        elif element == _ROW:
            reference = attrs.get("r")
            row_number = int(reference) if reference else row_number + 1
            column = -1
            cells.clear()
        elif element == _F:
            has_formula = True
            formula.clear()
            collecting = formula
        elif element == _RPH:
            phonetic += 1
        elif element == _MERGE:
            ref = attrs.get("ref", "")
            first, _, last = ref.partition(":")
            last = last or first
            merged.append(CellRange(_row_of(first), _column_index(first), _row_of(last), _column_index(last)))

    def end(tag: str) -> None:
        nonlocal collecting, phonetic
        element = tags[tag]
        if element == _C:
            text = "".join(value_parts) if value_parts else None
            value: Any
            if kind == "s":
                value = strings[int(text)] if text is not None else None
            elif kind == "inlineStr" or kind == "str":
                value = text
            elif text is None:
                value = None
            elif kind == "b":
                value = text.strip() in ("1", "true")
            elif kind == "e":
                notes.append(CellNote(row_number, column, "import.cell_error", {"value": text}))
                value = None
            elif kind == "d":
                value = datetime.fromisoformat(text)
            else:
                value = _number(text)
                if style in date_styles:
                    # A number too large to be a date stays the number it is.
                    with contextlib.suppress(OverflowError, ValueError):
                        value = from_excel(value, epoch)
            if value is None or value == "":
                if has_formula and kind != "e":
                    notes.append(CellNote(row_number, column, "import.formula", {"formula": "=" + "".join(formula)}))
            else:
                cells.append((column, value))
        elif element in (_V, _T, _F):
            collecting = None
        elif element == _ROW:
            if cells:
                values: list[Any] = [None] * (max(c for c, _ in cells) + 1)
                for index, cell in cells:
                    values[index] = cell
                rows.append((row_number, values))
        elif element == _RPH:
            phonetic -= 1

    def text(data: str) -> None:
        if collecting is not None:
            collecting.append(data)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    read = 0
    while chunk := stream.read(_CHUNK):
        parser.Parse(chunk, False)
        read += len(chunk)
        progress(read, 0)
    parser.Parse(b"", True)
    return Table(name, rows, merged, notes)


# CSV -------------------------------------------------------------------------------------------------------


def _decode(data: bytes, path: Path) -> tuple[str, str, set[int]]:
    """(text, encoding, 1-based numbers of physical lines that did not decode and were replaced)."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding, set()
            except UnicodeDecodeError:
                if encoding == "utf-16":
                    raise StewardError("import.encoding", path=str(path)) from None
                return _decode_lines(data[len(bom) :], ("utf-8",), path)
    if b"\x00" in data[:4096]:
        raise StewardError("import.not_spreadsheet", path=str(path))
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding, set()
        except UnicodeDecodeError:
            continue
    return _decode_lines(data, ("utf-8", "gb18030"), path)


def _decode_lines(data: bytes, encodings: tuple[str, ...], path: Path) -> tuple[str, str, set[int]]:
    """Decode line by line with the encoding that fails on the fewest lines, replacing what cannot be read."""
    lines = data.split(b"\n")
    best: tuple[int, str] | None = None
    for encoding in encodings:
        failures = sum(1 for line in lines if _fails(line, encoding))
        if best is None or failures < best[0]:
            best = (failures, encoding)
    assert best is not None
    failures, encoding = best
    # A few bad lines are the rows' fault; many, or a header that does not decode, the file's.
    header_fails = _fails(lines[0], encoding)
    if header_fails or failures > max(3, len(lines) * _BAD_LINE_SHARE):
        raise StewardError("import.encoding", path=str(path))
    bad: set[int] = set()
    decoded = []
    for number, line in enumerate(lines, start=1):
        try:
            decoded.append(line.decode(encoding))
        except UnicodeDecodeError:
            bad.add(number)
            decoded.append(line.decode(encoding, errors="replace"))
    return "\n".join(decoded), encoding, bad


def _fails(line: bytes, encoding: str) -> bool:
    try:
        line.decode(encoding)
    except UnicodeDecodeError:
        return True
    return False


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(path: Path, progress: Progress | None) -> Table:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise StewardError("import.unreadable", path=str(path), reason=error.strerror or str(error)) from error
    text, encoding, bad_lines = _decode(data, path)
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    rows: list[tuple[int, list[Any]]] = []
    notes: list[CellNote] = []
    total = text.count("\n") + 1
    number = 0
    line = 0
    try:
        for record in reader:
            number += 1
            first_line, line = line + 1, reader.line_num
            if bad_lines and any(first_line <= n <= line for n in bad_lines):
                notes.append(CellNote(number, None, "import.undecodable", {"encoding": _encoding_name(encoding)}))
            values = [cell if cell.strip() else None for cell in record]
            if any(v is not None for v in values):
                rows.append((number, values))
            if progress and number % 5000 == 0:
                progress(min(line, total), total)
    except csv.Error as error:
        raise StewardError("import.corrupt", path=str(path), reason=f"line {reader.line_num}: {error}") from error
    if progress:
        progress(total, total)
    return Table(path.name, rows, [], notes, encoding)


def _encoding_name(encoding: str) -> str:
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GBK/GB18030", "utf-16": "UTF-16"}[encoding]


