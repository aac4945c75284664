"""Dates as people type them: one reading for `steward set`, the editor and the import."""

from __future__ import annotations

import pytest

from steward.catalogue import rules
from steward.catalogue.dates import normalize_date
from tests.helpers import make_clean_entry


@pytest.mark.parametrize("typed", ["2023-03-01", "2023/3/1", "2023年3月1日", "20230301", "2023.3.1", " 2023-3-1 ",
                                   "２０２３／３／１", "2023 年 3 月 1 日", "2023-03-01 00:00:00"])
def test_the_usual_forms_are_stored_as_yyyy_mm_dd(typed):
    assert normalize_date(typed) == "2023-03-01"


@pytest.mark.parametrize(("typed", "stored"), [("明年三月", "明年三月"), ("2023-3", "2023-3"), ("", ""),
                                               ("2023-02-30", "2023-02-30"), ("2023/2/30", "2023-02-30"),
                                               ("20231345", "2023-13-45")])
def test_other_text_is_kept_and_the_rules_report_it(typed, stored):
    assert normalize_date(typed) == stored
    if stored:
        found = {p.code for p in rules.check(make_clean_entry(published=stored))}
        assert "published.invalid" in found
