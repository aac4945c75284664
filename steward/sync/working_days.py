"""Working days of the Chinese calendar (调休 included) and the sharing requests' deadlines counted in them.

chinese-calendar knows the State Council's arrangements from 2004 to the last year it was released for;
the exchange publishes an override for the years it does not know yet (and corrections), and a year
neither knows is counted Monday to Friday, which `WorkingCalendar.knows` tells. docs/protocol.md,
§ 9 "Working days and deadlines", states the rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import Phrase

# Deadlines are China's days; China has kept UTC+8 without daylight saving since 1991.
CHINA = ZoneInfo("Asia/Shanghai")

OVERRIDE_FORMAT = "steward.calendar-override/1"
POLICY_FORMAT = "steward.deadline-policy/1"
# A bound on a policy's days: far above any rule (the longest is 10), low enough that counting stays cheap.
MAX_POLICY_DAYS = 365

# The library's data, read once: its own is_workday scans every holiday for the year range on each call.
_LIBRARY_HOLIDAYS = frozenset(chinese_calendar.holidays)
_LIBRARY_WORKDAYS = frozenset(chinese_calendar.workdays)
_LIBRARY_YEARS = range(min(_LIBRARY_HOLIDAYS).year, max(_LIBRARY_HOLIDAYS).year + 1)

# ASCII digits only: int() and date.fromisoformat() also take full-width digits and "20271001".
_YEAR = re.compile(r"[0-9]{4}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

_OVERRIDE = Phrase("calendar.override")
_POLICY = Phrase("calendar.policy")


def _place(pointer: str) -> Phrase:
    """Where in a document a problem is: its JSON Pointer (RFC 6901), or the document's top level."""
    return Phrase("calendar.place", {"pointer": pointer}) if pointer else Phrase("calendar.top_level")


@dataclass(frozen=True)
class YearOverride:
    """One year's arrangement as the exchange publishes it: the days off and the make-up working days."""

    holidays: frozenset[date]
    workdays: frozenset[date]


@dataclass(frozen=True)
class CalendarOverride:
    """The exchange's override, by year. Its days win over the library's; a year it names is known."""

    years: Mapping[int, YearOverride]

    @classmethod
    def loads(cls, text: str | bytes) -> CalendarOverride:
        """The override from its JSON text; a key given twice in one object is refused, not silently dropped."""
        try:
            document = json.loads(text, object_pairs_hook=_refuse_repeated_keys)
        except ValueError as error:
            raise StewardError("calendar.not_json", document=_OVERRIDE, reason=str(error)) from error
        return cls.from_json(document)

    @classmethod
    def from_json(cls, document: object) -> CalendarOverride:
        """The override from its parsed JSON, checked strictly: every problem is a StewardError naming the place."""
        _check_document(document, _OVERRIDE, OVERRIDE_FORMAT, ("format", "years"))
        years = document["years"]
        if not isinstance(years, dict):
            raise StewardError("calendar.not_object", document=_OVERRIDE, where=_place("/years"))
        parsed = {}
        for key, value in years.items():
            if not _YEAR.fullmatch(key):
                raise StewardError("calendar.year_invalid", document=_OVERRIDE, value=key)
            parsed[int(key)] = _year_override(int(key), value)
        return cls(parsed)

    def to_json(self) -> dict[str, object]:
        """The document the exchange publishes: years and dates in order."""
        return {
            "format": OVERRIDE_FORMAT,
            "years": {str(year): {"holidays": [day.isoformat() for day in sorted(self.years[year].holidays)],
                                  "workdays": [day.isoformat() for day in sorted(self.years[year].workdays)]}
                      for year in sorted(self.years)},
        }


def _refuse_repeated_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for key, value in pairs:
        if key in seen:
            raise StewardError("calendar.duplicate_key", document=_OVERRIDE, key=key)
        seen[key] = value
    return seen


def _check_document(document: object, name: Phrase, format_: str, keys: tuple[str, ...]) -> None:
    """A JSON object of this format with exactly these keys (the format first: another document's keys would
    only confuse)."""
    if not isinstance(document, dict):
        raise StewardError("calendar.not_document", document=name)
    if "format" in document and document["format"] != format_:
        raise StewardError("calendar.format", document=name, expected=format_, value=str(document["format"]))
    _check_keys(document, name, "", keys)


def _check_keys(value: dict, name: Phrase, where: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        if key not in value:
            raise StewardError("calendar.missing_key", document=name, where=_place(where), key=key)
    for key in value:
        if key not in keys:
            raise StewardError("calendar.unknown_key", document=name, where=_place(where), key=key)


def _year_override(year: int, value: object) -> YearOverride:
    where = f"/years/{year}"
    if not isinstance(value, dict):
        raise StewardError("calendar.not_object", document=_OVERRIDE, where=_place(where))
    _check_keys(value, _OVERRIDE, where, ("holidays", "workdays"))
    holidays = _days(year, value["holidays"], f"{where}/holidays")
    workdays = _days(year, value["workdays"], f"{where}/workdays")
    if both := holidays & workdays:
        raise StewardError("calendar.date_both", document=_OVERRIDE, value=min(both).isoformat())
    return YearOverride(holidays, workdays)


def _days(year: int, value: object, where: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise StewardError("calendar.not_list", document=_OVERRIDE, where=_place(where))
    days: set[date] = set()
    for index, text in enumerate(value):
        place = f"{where}/{index}"
        try:
            day = date.fromisoformat(text) if isinstance(text, str) and _DAY.fullmatch(text) else None
        except ValueError:  # 2027-02-30
            day = None
        if day is None:
            raise StewardError("calendar.date_invalid", document=_OVERRIDE, where=_place(place), value=str(text))
        if day.year != year:
            raise StewardError("calendar.date_other_year", document=_OVERRIDE, where=_place(place), value=text,
                               year=year)
        if day in days:
            raise StewardError("calendar.date_repeated", document=_OVERRIDE, where=_place(place), value=text)
        days.add(day)
    return frozenset(days)


class WorkingCalendar:
    """Which days are working days: the override's days, else the library's year, else Monday to Friday."""

    def __init__(self, override: CalendarOverride | None = None) -> None:
        years = override.years if override else {}
        self._override_years = frozenset(years)
        self._override_holidays = frozenset(day for year in years.values() for day in year.holidays)
        self._override_workdays = frozenset(day for year in years.values() for day in year.workdays)

    def knows(self, year: int) -> bool:
        """Whether the holidays of `year` are known; if not, its days are counted Monday to Friday."""
        return year in _LIBRARY_YEARS or year in self._override_years

    def is_working_day(self, day: date) -> bool:
        if day in self._override_workdays:
            return True
        if day in self._override_holidays:
            return False
        if day.year in _LIBRARY_YEARS:
            if day in _LIBRARY_WORKDAYS:
                return True
            if day in _LIBRARY_HOLIDAYS:
                return False
        return day.weekday() < 5


@dataclass(frozen=True)
class DeadlinePolicy:
    """How many working days each step may take: the exchange's configuration, published to clients.

    The regulations' defaults: 2 for the data authority's compliance review, 5 for the provider's decision.
    """

    review_days: int = 2
    decision_days: int = 5

    def to_json(self) -> dict[str, object]:
        return {"format": POLICY_FORMAT, "review_days": self.review_days, "decision_days": self.decision_days}

    def __post_init__(self) -> None:
        for key in ("review_days", "decision_days"):
            value = getattr(self, key)
            # bool is an int to Python, not to JSON's readers
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_POLICY_DAYS:
                raise StewardError("calendar.days_invalid", document=_POLICY, where=_place(f"/{key}"),
                                   value=str(value), limit=MAX_POLICY_DAYS)

    @classmethod
    def from_json(cls, document: object) -> DeadlinePolicy:
        _check_document(document, _POLICY, POLICY_FORMAT, ("format", "review_days", "decision_days"))
        return cls(review_days=document["review_days"], decision_days=document["decision_days"])


def china_date(moment: datetime) -> date:
    """The day it is in China at the aware `moment`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} is not an aware moment: deadlines need the exchange's UTC stamp")
    return moment.astimezone(CHINA).date()


def due_date(stamped_at: datetime, working_days: int, calendar: WorkingCalendar) -> date:
    """The day, in China, by the end of which a step stamped at `stamped_at` is due.

    The day of the stamp never counts, whatever its hour (民法典 art. 201: 开始的当日不计入): day 1 is
    the first working day after it, and the step is due by 24:00 China time of working day `working_days`
    (art. 203).
    """
    if working_days < 1:
        raise ValueError(f"a deadline is at least 1 working day, not {working_days}")
    day = china_date(stamped_at)
    for _ in range(working_days):
        day += timedelta(days=1)
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
    return day


def working_days_between(start: date, end: date, calendar: WorkingCalendar) -> int:
    """The working days after `start` up to and including `end`; negative, counted the same way, if `end`
    comes first. So working_days_between(stamp's day, due_date(stamp, n)) is n, and from today to a due
    date it is the working days left (0: due today; -2: two working days overdue)."""
    if end < start:
        return -working_days_between(end, start, calendar)
    return sum(calendar.is_working_day(start + timedelta(days=n)) for n in range(1, (end - start).days + 1))


def is_overdue(due: date, now: datetime) -> bool:
    """Whether the day `due` has ended in China at the aware moment `now`."""
    return china_date(now) > due
