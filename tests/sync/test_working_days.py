"""Working days of the Chinese calendar: 调休 from chinese-calendar, the exchange's override, the deadlines.

The concrete dates are the State Council's arrangements as chinese-calendar records them (2018, 2020, 2025,
2026); the override tests use the first year the installed chinese-calendar does not know, so they keep
meaning what they say when a newer release learns another year.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.catalogue.errors import StewardError
from steward.sync.working_days import (
    OVERRIDE_FORMAT,
    POLICY_FORMAT,
    CalendarOverride,
    DeadlinePolicy,
    WorkingCalendar,
    due_date,
    is_overdue,
    working_days_between,
)
from tests.helpers import ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROTOCOL_DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
LIBRARY = WorkingCalendar()


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """The moment `day` `hour`:`minute` in China, as the exchange stamps it (UTC)."""
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


# chinese-calendar's own years -------------------------------------------------------------------------------

@pytest.mark.parametrize(("stamped", "days", "due"), [
    # 2025: National Day and Mid-Autumn 1–8 October; make-up working days Sunday 28 September and Saturday 11 October.
    (date(2025, 9, 26), 2, date(2025, 9, 29)),   # the Friday before: the make-up Sunday is day 1
    (date(2025, 9, 26), 5, date(2025, 10, 10)),  # ... and the holiday week counts for nothing
    (date(2025, 9, 30), 5, date(2025, 10, 14)),  # reviewed on the last day before it: the make-up Saturday counts
    # 2018: National Day 1–7 October; make-up working days Saturday 29 and Sunday 30 September.
    (date(2018, 9, 28), 2, date(2018, 9, 30)),   # the Friday before: due on the make-up Sunday
    (date(2018, 9, 28), 5, date(2018, 10, 10)),
], ids=str)
def test_a_request_made_the_friday_before_national_day(stamped, days, due):
    assert due_date(at(stamped), days, LIBRARY) == due


@pytest.mark.parametrize(("stamped", "days", "due"), [
    # 2025: Spring Festival 28 January – 4 February; make-up working days Sunday 26 January and Saturday 8 February.
    (date(2025, 1, 24), 2, date(2025, 1, 27)),   # Friday: the make-up Sunday, then Monday
    (date(2025, 1, 24), 5, date(2025, 2, 7)),
    (date(2025, 1, 27), 5, date(2025, 2, 10)),   # the last working day before it: the make-up Saturday counts
    (date(2025, 2, 1), 2, date(2025, 2, 6)),     # made during the holiday: counting starts after it
    # 2026: Spring Festival 15–23 February; make-up working days Saturdays 14 and 28 February.
    (date(2026, 2, 13), 2, date(2026, 2, 24)),   # Friday: the make-up Saturday is day 1
    (date(2026, 2, 13), 6, date(2026, 2, 28)),   # due on the second make-up Saturday
], ids=str)
def test_the_spring_festival(stamped, days, due):
    assert due_date(at(stamped), days, LIBRARY) == due


def test_new_years_day_across_the_turn_of_the_year():
    # 1–3 January 2026 off, Sunday 4 January a make-up working day.
    assert due_date(at(date(2025, 12, 31)), 2, LIBRARY) == date(2026, 1, 5)


def test_the_day_is_chinas_not_utcs():
    # 00:30 on Friday 26 September 2025 in China is still Thursday in UTC: the request is Friday's.
    stamped = at(date(2025, 9, 26), 0, 30)
    assert stamped.date() == date(2025, 9, 25)
    assert due_date(stamped, 2, LIBRARY) == date(2025, 9, 29)
    # 23:59 on Friday is Friday too: the hour of the stamp does not matter, its day does.
    assert due_date(at(date(2025, 9, 26), 23, 59), 2, LIBRARY) == date(2025, 9, 29)


def test_a_request_made_on_a_weekend_starts_counting_on_the_next_working_day():
    # Saturday 27 September 2025: Sunday 28 is a make-up working day, so it is day 1.
    assert due_date(at(date(2025, 9, 27)), 1, LIBRARY) == date(2025, 9, 28)
    # Saturday 18 October 2025, an ordinary weekend: Monday is day 1, Tuesday day 2.
    assert due_date(at(date(2025, 10, 18)), 2, LIBRARY) == date(2025, 10, 21)


def test_the_stamp_must_be_an_aware_moment_and_the_days_positive():
    with pytest.raises(ValueError, match="aware"):
        due_date(datetime(2025, 9, 26, 10, 0), 2, LIBRARY)
    with pytest.raises(ValueError, match="at least 1"):
        due_date(at(date(2025, 9, 26)), 0, LIBRARY)


def test_the_library_years_are_known():
    first, last = min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year
    assert LIBRARY.knows(first) and LIBRARY.knows(2025) and LIBRARY.knows(last)
    assert not LIBRARY.knows(first - 1) and not LIBRARY.knows(last + 1)
    assert not LIBRARY.is_working_day(date(2025, 10, 8)) and LIBRARY.is_working_day(date(2025, 10, 11))


# Overdue, and working days left ----------------------------------------------------------------------------

def test_a_deadline_ends_at_midnight_china_time():
    due = date(2025, 10, 10)
    last_moment = datetime.combine(due, time(23, 59, 59, 999999), SHANGHAI)
    assert not is_overdue(due, last_moment.astimezone(UTC))
    assert is_overdue(due, (last_moment + timedelta(microseconds=1)).astimezone(UTC))
    # 16:00 UTC on the due day is already the next day in China.
    assert is_overdue(due, datetime(2025, 10, 10, 16, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        is_overdue(due, datetime(2025, 10, 11, 12, 0))


def test_working_days_between_counts_the_working_days_after_the_start_up_to_the_end():
    friday = date(2025, 9, 26)
    assert working_days_between(friday, date(2025, 10, 10), LIBRARY) == 5
    assert working_days_between(friday, friday, LIBRARY) == 0
    assert working_days_between(date(2025, 10, 1), date(2025, 10, 8), LIBRARY) == 0  # all holiday
    # Backwards it is negative: on 14 October a request due on 9 October is 4 working days overdue (10, 11, 13, 14).
    assert working_days_between(date(2025, 10, 14), date(2025, 10, 9), LIBRARY) == -4


# The exchange's override -----------------------------------------------------------------------------------

def _first_unknown_year_with_october_first_on_a_thursday() -> int:
    """The first year chinese-calendar does not know whose 1 October is a Thursday, as it was in 2020."""
    year = max(chinese_calendar.holidays).year + 1
    while date(year, 10, 1).weekday() != 3:
        year += 1
    return year


NEW_YEAR = _first_unknown_year_with_october_first_on_a_thursday()


def _national_day_as_in_2020(year: int) -> dict:
    """The override giving `year` 2020's arrangement: off 1–8 October, Sunday 27 September and Saturday 10
    October are working days."""
    return {
        "format": OVERRIDE_FORMAT,
        "years": {str(year): {
            "holidays": [date(year, 10, day).isoformat() for day in range(1, 9)],
            "workdays": [date(year, 9, 27).isoformat(), date(year, 10, 10).isoformat()],
        }},
    }


def test_the_override_extends_a_year_the_library_does_not_know():
    override = CalendarOverride.from_json(_national_day_as_in_2020(NEW_YEAR))
    calendar = WorkingCalendar(override)
    assert calendar.knows(NEW_YEAR)
    friday, wednesday = date(NEW_YEAR, 9, 25), date(NEW_YEAR, 9, 30)
    # The make-up Sunday counts, the holiday is skipped.
    assert due_date(at(friday), 5, calendar) == date(NEW_YEAR, 10, 9)
    # Reviewed on the last day before the holiday: the make-up Saturday counts.
    assert due_date(at(wednesday), 5, calendar) == date(NEW_YEAR, 10, 14)
    # The same arrangement gives the same dates as chinese-calendar's 2020.
    assert due_date(at(date(2020, 9, 25)), 5, LIBRARY) == date(2020, 10, 9)
    assert due_date(at(date(2020, 9, 30)), 5, LIBRARY) == date(2020, 10, 14)


def test_without_the_override_an_unknown_year_is_counted_monday_to_friday_and_says_so():
    assert not LIBRARY.knows(NEW_YEAR)
    assert due_date(at(date(NEW_YEAR, 9, 25)), 5, LIBRARY) == date(NEW_YEAR, 10, 2)
    assert due_date(at(date(NEW_YEAR, 9, 30)), 5, LIBRARY) == date(NEW_YEAR, 10, 7)
    assert not LIBRARY.is_working_day(date(NEW_YEAR, 9, 27))  # a Sunday, as any


def test_an_override_day_wins_over_the_library():
    # Suppose the exchange learns of a change to 2025 the library does not have: 9 October off, 8 October worked.
    override = CalendarOverride.from_json({"format": OVERRIDE_FORMAT, "years": {"2025": {
        "holidays": ["2025-10-09"], "workdays": ["2025-10-08"]}}})
    calendar = WorkingCalendar(override)
    assert calendar.is_working_day(date(2025, 10, 8)) and not calendar.is_working_day(date(2025, 10, 9))
    assert due_date(at(date(2025, 9, 30)), 2, calendar) == date(2025, 10, 10)  # 8 and 10 October
    # Days the override does not name are still the library's.
    assert calendar.is_working_day(date(2025, 10, 11)) and not calendar.is_working_day(date(2025, 10, 7))


def test_the_override_round_trips_through_json():
    document = _national_day_as_in_2020(NEW_YEAR)
    override = CalendarOverride.loads(json.dumps(document))
    assert override.to_json() == document
    assert CalendarOverride.from_json(json.loads(json.dumps(override.to_json()))) == override
    assert CalendarOverride.from_json({"format": OVERRIDE_FORMAT, "years": {}}) == CalendarOverride({})


def _override_with(**year: object) -> dict:
    return {"format": OVERRIDE_FORMAT, "years": {"2027": {"holidays": [], "workdays": [], **year}}}


@pytest.mark.parametrize(("document", "code", "shown"), [
    ([], "calendar.not_document", ""),
    ({"years": {}}, "calendar.missing_key", "format"),
    ({"format": "steward.calendar-override/2", "years": {}}, "calendar.format", "steward.calendar-override/2"),
    ({"format": OVERRIDE_FORMAT, "years": [], }, "calendar.not_object", "/years"),
    ({"format": OVERRIDE_FORMAT, "years": {}, "note": "x"}, "calendar.unknown_key", "note"),
    ({"format": OVERRIDE_FORMAT, "years": {"27": {"holidays": [], "workdays": []}}}, "calendar.year_invalid", "27"),
    ({"format": OVERRIDE_FORMAT, "years": {"２０２７": {"holidays": [], "workdays": []}}},
     "calendar.year_invalid", "２０２７"),
    ({"format": OVERRIDE_FORMAT, "years": {"2027": {"holidays": []}}}, "calendar.missing_key", "workdays"),
    (_override_with(holidays="2027-10-01"), "calendar.not_list", "/years/2027/holidays"),
    (_override_with(holidays=["2027-10-01", 20271002]), "calendar.date_invalid", "/years/2027/holidays/1"),
    (_override_with(holidays=["2027-10-32"]), "calendar.date_invalid", "2027-10-32"),
    (_override_with(holidays=["20271001"]), "calendar.date_invalid", "20271001"),
    (_override_with(workdays=["2026-12-27"]), "calendar.date_other_year", "2026-12-27"),
    (_override_with(holidays=["2027-10-01", "2027-10-01"]), "calendar.date_repeated", "2027-10-01"),
    (_override_with(holidays=["2027-10-09"], workdays=["2027-10-09"]), "calendar.date_both", "2027-10-09"),
    (_override_with(note=""), "calendar.unknown_key", "note"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_a_malformed_override_is_refused_saying_where(document, code, shown):
    with pytest.raises(StewardError) as refused:
        CalendarOverride.from_json(document)
    assert refused.value.code == code
    for lang in ("zh", "en"):
        assert shown in refused.value.message(lang)
    assert refused.value.message("zh").startswith("节假日安排")
    assert refused.value.message("en").startswith("The holiday arrangement")


def test_an_override_that_is_not_json_or_repeats_a_year_is_refused():
    with pytest.raises(StewardError) as refused:
        CalendarOverride.loads('{"format": ')
    assert refused.value.code == "calendar.not_json"
    year = '{"holidays": [], "workdays": []}'
    repeated = f'{{"format": "{OVERRIDE_FORMAT}", "years": {{"2027": {year}, "2027": {year}}}}}'
    with pytest.raises(StewardError) as refused:
        CalendarOverride.loads(repeated)
    assert refused.value.code == "calendar.duplicate_key" and "2027" in refused.value.message("zh")


def test_the_documents_of_the_protocol_are_these():
    examples = []
    for block in re.findall(r"```json\n(.*?)```", PROTOCOL_DOC, re.S):
        with contextlib.suppress(ValueError):  # other sections abbreviate some examples with "…"
            examples.append(json.loads(block))
    [override] = [CalendarOverride.from_json(e) for e in examples if e.get("format") == OVERRIDE_FORMAT]
    [policy] = [DeadlinePolicy.from_json(e) for e in examples if e.get("format") == POLICY_FORMAT]
    assert policy == DeadlinePolicy()
    # The override example is 2020's arrangement as the library has it.
    days = [date(2020, 9, 1) + timedelta(days=n) for n in range(61)]
    assert [WorkingCalendar(override).is_working_day(d) for d in days] == [LIBRARY.is_working_day(d) for d in days]
    # The worked example of 2025.
    assert due_date(at(date(2025, 9, 26)), policy.review_days, LIBRARY) == date(2025, 9, 29)
    assert due_date(at(date(2025, 9, 30)), policy.decision_days, LIBRARY) == date(2025, 10, 14)


# The deadline policy ---------------------------------------------------------------------------------------

def test_the_deadline_policy_defaults_to_the_regulations_and_round_trips():
    policy = DeadlinePolicy()
    assert (policy.review_days, policy.decision_days) == (2, 5)
    assert policy.to_json() == {"format": POLICY_FORMAT, "review_days": 2, "decision_days": 5}
    longer = DeadlinePolicy(review_days=2, decision_days=10)  # data that must first be published on the platform
    assert DeadlinePolicy.from_json(json.loads(json.dumps(longer.to_json()))) == longer


@pytest.mark.parametrize(("document", "code", "shown"), [
    ({"format": POLICY_FORMAT, "review_days": 0, "decision_days": 5}, "calendar.days_invalid", "/review_days"),
    ({"format": POLICY_FORMAT, "review_days": 2, "decision_days": True}, "calendar.days_invalid", "True"),
    ({"format": POLICY_FORMAT, "review_days": 2, "decision_days": 5.0}, "calendar.days_invalid", "/decision_days"),
    ({"format": POLICY_FORMAT, "review_days": 2, "decision_days": 366}, "calendar.days_invalid", "366"),
    ({"format": POLICY_FORMAT, "review_days": 2}, "calendar.missing_key", "decision_days"),
    ({"format": POLICY_FORMAT, "review_days": 2, "decision_days": 5, "x": 1}, "calendar.unknown_key", "x"),
    ({"format": OVERRIDE_FORMAT, "review_days": 2, "decision_days": 5}, "calendar.format", OVERRIDE_FORMAT),
    ("2,5", "calendar.not_document", ""),
    ({"format": "steward.deadline-policy/2"}, "calendar.format", "steward.deadline-policy/2"),  # before its keys
], ids=lambda value: value if isinstance(value, str) else None)
def test_a_malformed_deadline_policy_is_refused(document, code, shown):
    with pytest.raises(StewardError) as refused:
        DeadlinePolicy.from_json(document)
    assert refused.value.code == code
    assert shown in refused.value.message("en") and refused.value.message("zh").startswith("办理时限设置")


def test_a_policy_made_in_code_is_checked_too():
    # The exchange's command line builds one from its options: the same refusal as a published document's.
    with pytest.raises(StewardError) as refused:
        DeadlinePolicy(review_days=2, decision_days=0)
    assert refused.value.code == "calendar.days_invalid" and "/decision_days" in refused.value.message("en")


# Properties ------------------------------------------------------------------------------------------------

OVERRIDDEN = WorkingCalendar(CalendarOverride.from_json(_national_day_as_in_2020(NEW_YEAR)))
calendars = st.sampled_from([LIBRARY, OVERRIDDEN])
# From before the library's first year to after the override's: library years, the override's, the fallback.
moments = st.datetimes(min_value=datetime(2002, 1, 1), max_value=datetime(NEW_YEAR + 1, 12, 1),
                       timezones=st.just(UTC))
day_counts = st.integers(min_value=1, max_value=40)


@settings(max_examples=300, deadline=None)
@given(calendars, moments, day_counts)
def test_the_due_date_is_a_working_day_after_the_stamp_and_as_many_working_days_later(calendar, stamped, days):
    due = due_date(stamped, days, calendar)
    stamp_day = stamped.astimezone(SHANGHAI).date()
    assert calendar.is_working_day(due)
    assert due > stamp_day
    assert working_days_between(stamp_day, due, calendar) == days
    assert working_days_between(due, stamp_day, calendar) == -days


@settings(max_examples=300, deadline=None)
@given(calendars, moments, day_counts)
def test_one_more_working_day_moves_the_due_date_to_the_next_working_day(calendar, stamped, days):
    due, later = due_date(stamped, days, calendar), due_date(stamped, days + 1, calendar)
    assert later > due  # monotone
    between = [due + timedelta(days=n) for n in range(1, (later - due).days)]
    assert not any(calendar.is_working_day(day) for day in between)


@settings(max_examples=200, deadline=None)
@given(moments, day_counts)
def test_the_override_changes_nothing_outside_its_days(stamped, days):
    named = {date.fromisoformat(day) for lists in _national_day_as_in_2020(NEW_YEAR)["years"].values()
             for day in lists["holidays"] + lists["workdays"]}
    day = stamped.date()
    if day not in named:
        assert OVERRIDDEN.is_working_day(day) == LIBRARY.is_working_day(day)
    stamp_day, due = stamped.astimezone(SHANGHAI).date(), due_date(stamped, days, LIBRARY)
    if not any(stamp_day < named_day <= due for named_day in named):
        assert due_date(stamped, days, OVERRIDDEN) == due


@settings(max_examples=200, deadline=None)
@given(moments, day_counts)
def test_overdue_exactly_after_the_due_day_in_china(stamped, days):
    due = due_date(stamped, days, LIBRARY)
    end = datetime.combine(due + timedelta(days=1), time(0), SHANGHAI)
    assert not is_overdue(due, stamped)
    assert not is_overdue(due, (end - timedelta(microseconds=1)).astimezone(UTC))
    assert is_overdue(due, end.astimezone(UTC))
