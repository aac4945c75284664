"""Dates as people type them (2023/3/1, 2023年3月1日, 20230301 …) read as the catalogue stores them: YYYY-MM-DD.

One reading for every way in: `steward set`, the entry editor and the import. Text that is no date
is kept as typed, never refused: work in progress is stored, and the rules report it
(published.invalid), as they report a date that names no day (2023-02-30).
"""

from __future__ import annotations

import re
import unicodedata

# Year, month and day with -, /, . or 年 月 日 between them; a time after the day (2024-03-01 00:00:00) is dropped.
_SEPARATED = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def read_date(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of text in one of the usual forms, full width too; None if it reads as no date.

    The numbers are as written: (2023, 2, 30) is returned, and is no day.
    """
    folded = unicodedata.normalize("NFKC", text).strip()
    match = _COMPACT.match(folded) or _SEPARATED.match(folded)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    return year, month, day


def normalize_date(text: str) -> str:
    """`text` as YYYY-MM-DD when it reads as a date (even one that names no day, which the rules then report);
    otherwise as typed, without outer spaces, for the rules to report."""
    parts = read_date(text)
    if parts is None:
        return text.strip()
    year, month, day = parts
    return f"{year:04d}-{month:02d}-{day:02d}"

