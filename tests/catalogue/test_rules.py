"""The catalogue rules: each one broken and kept, their messages, and the rules over a real workspace."""

from __future__ import annotations

import ast
import inspect
import string
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

import steward
from steward import sample
from steward.catalogue import rules
from steward.catalogue.messages import MESSAGES, render
from steward.catalogue.model import ENTRY_FIELDS, DataItem, Entry, Kind
from steward.catalogue.rules import Context, Severity
from steward.workspace import journal, query
from tests.helpers import DEPARTMENT_CODE, make_clean_entry

OTHER_DEPARTMENT = sample.DEPARTMENTS[1].code  # 上海市卫生健康委员会: valid, but not ours
CTX = Context(department_code=DEPARTMENT_CODE, today=date(2025, 6, 1))


def found(entry: Entry, ctx: Context = CTX) -> set[tuple[str, str]]:
    """(rule code, field) of every problem of `entry`."""
    return {(p.code, p.field) for p in rules.check(entry, ctx)}


def problems_named(entry: Entry, code: str, ctx: Context = CTX) -> list[rules.Problem]:
    return [p for p in rules.check(entry, ctx) if p.code == code]


def bad_check_character(code: str) -> str:
    """`code` with a wrong check character (GB 32100's last character)."""
    body = code[:-1]
    right = uscc.calc_check_digit(body)
    wrong = next(c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if c != right)
    return body + wrong


# The baseline -----------------------------------------------------------------------------


def test_clean_entry_has_no_problems(clean_entry, department):
    entry = clean_entry()
    assert rules.check(entry, Context(department_code=department)) == []
    assert rules.check(entry) == []  # nor without knowing the department


def test_clean_entry_factory_gives_each_entry_its_own_code(clean_entry):
    assert clean_entry().code != clean_entry().code


def test_clean_entry_is_clean_in_a_workspace(workspace, clean_entry):
    entries = [clean_entry() for _ in range(3)]
    journal.apply(workspace, [journal.CreateEntry(e) for e in entries])
    for entry in entries:
        assert query.problems_of(workspace, entry.id) == []


# Required fields and data items -----------------------------------------------------------

REQUIRED = [spec for spec in ENTRY_FIELDS if spec.required]


def test_required_fields_are_those_of_the_national_guide():
    assert {spec.key for spec in REQUIRED} == {
        "classification", "name", "code", "provider", "provider_code", "abstract", "format_category",
        "sharing_type", "open_type", "update_frequency", "published",
    }


@pytest.mark.parametrize("spec", REQUIRED, ids=lambda spec: spec.key)
def test_each_required_field_missing(spec):
    blank = None if spec.kind is Kind.VOCAB else ""
    entry = make_clean_entry(**{spec.key: blank})
    problems = rules.check(entry, CTX)
    assert [(p.code, p.field, p.severity) for p in problems] == [("required", spec.key, Severity.ERROR)]
    assert problems[0].params["field"] == spec.key
    assert problems[0].entry_id == entry.id


@pytest.mark.parametrize("spec", [s for s in REQUIRED if s.kind is not Kind.VOCAB], ids=lambda spec: spec.key)
def test_required_text_of_only_spaces_is_missing(spec):
    entry = make_clean_entry(**{spec.key: " \u3000\t"})
    assert ("required", spec.key) in found(entry)


def test_no_data_items():
    entry = make_clean_entry(items=[])
    assert found(entry) == {("items.empty", "items")}
    assert rules.has_errors(rules.check(entry, CTX))


# Vocabularies, classification and codes ---------------------------------------------------

VOCAB_FIELDS = [spec for spec in ENTRY_FIELDS if spec.kind is Kind.VOCAB]


@pytest.mark.parametrize("spec", VOCAB_FIELDS, ids=lambda spec: spec.key)
def test_unknown_vocabulary_value(spec):
    entry = make_clean_entry(**{spec.key: "普遍共享 (a label, not a key)"})
    problems = problems_named(entry, "vocab.unknown")
    assert [(p.field, p.severity, p.params["value"]) for p in problems] == [
        (spec.key, Severity.ERROR, "普遍共享 (a label, not a key)")
    ]


@pytest.mark.parametrize("spec", VOCAB_FIELDS, ids=lambda spec: spec.key)
def test_every_key_of_the_vocabulary_is_known(spec):
    from steward.catalogue.vocabulary import vocabulary

    for key in [term.key for term in vocabulary(spec.vocabulary).terms]:
        assert not problems_named(make_clean_entry(**{spec.key: key}), "vocab.unknown")


@pytest.mark.parametrize("value", ["419001", "31900", "31900a", "319 001", "3190O1", "/319001"])
def test_classification_malformed(value):
    entry = make_clean_entry(classification=value, code=f"{value}/000001")
    problems = problems_named(entry, "classification.invalid")
    assert len(problems) == 1
    assert problems[0].field == "classification" and problems[0].severity is Severity.ERROR


@pytest.mark.parametrize("value", ["1", "101", "2020", "20200"])
def test_classification_too_short_is_malformed(value):
    assert problems_named(make_clean_entry(classification=value), "classification.invalid")


@pytest.mark.parametrize("value", ["101001", "212012", "319001", "3190011", "31900123"])
def test_classification_well_formed(value):
    entry = make_clean_entry(classification=value, code=f"{value}/000001")
    assert rules.check(entry, CTX) == []


@pytest.mark.parametrize(
    "code", ["319001-000001", "319001/", "/000001", "319001/ABC", "319001/0000000000001", "319001/00 1", "319001"]
)
def test_resource_code_malformed(code):
    problems = problems_named(make_clean_entry(code=code), "code.invalid")
    assert [(p.field, p.severity, p.params["value"]) for p in problems] == [("code", Severity.ERROR, code)]


def test_resource_code_with_subgroup_and_long_sequence_is_fine():
    entry = make_clean_entry(classification="3190011", code="3190011/000000000123")
    assert rules.check(entry, CTX) == []


def test_code_and_classification_mismatch_is_a_warning():
    entry = make_clean_entry(classification="319001", code="319002/000001")
    problems = rules.check(entry, CTX)
    assert [(p.code, p.severity) for p in problems] == [("code.classification_mismatch", Severity.WARNING)]
    assert problems[0].params == {"code_class": "319002", "classification": "319001"}
    assert not rules.has_errors(problems)


# Provider code ----------------------------------------------------------------------------


def test_provider_code_with_a_bad_check_character():
    bad = bad_check_character(DEPARTMENT_CODE)
    assert not uscc.is_valid(bad)
    problems = rules.check(make_clean_entry(provider_code=bad), CTX)
    assert [(p.code, p.field, p.severity) for p in problems] == [
        ("provider_code.invalid", "provider_code", Severity.ERROR)
    ]


@pytest.mark.parametrize(
    "code", ["11310000MB2F4182", "11310000MB2F41826LX", "11310000mb2f41826l", "11310000MB2F4182-6L", "hello"]
)
def test_provider_code_malformed(code):
    assert ("provider_code.invalid", "provider_code") in found(make_clean_entry(provider_code=code))


def test_provider_code_of_another_department_is_a_warning():
    entry = make_clean_entry(provider_code=OTHER_DEPARTMENT)
    problems = rules.check(entry, Context(department_code=DEPARTMENT_CODE))
    assert [(p.code, p.severity) for p in problems] == [("provider_code.foreign", Severity.WARNING)]
    assert problems[0].params == {"value": OTHER_DEPARTMENT, "department": DEPARTMENT_CODE}
    # Without a department to compare with, any valid code is fine.
    assert rules.check(entry, Context()) == []


# Sharing and opening ----------------------------------------------------------------------


def test_conditional_sharing_needs_conditions():
    entry = make_clean_entry(sharing_type="conditional", sharing_conditions="")
    assert found(entry) == {("sharing.conditions_required", "sharing_conditions")}
    entry = make_clean_entry(sharing_type="conditional", sharing_conditions="   ")
    assert found(entry) == {("sharing.conditions_required", "sharing_conditions")}
    assert rules.check(make_clean_entry(sharing_type="conditional", sharing_conditions="仅限监管业务使用"), CTX) == []


def not_shared(**overrides) -> Entry:
    values = {
        "sharing_type": "not_shared",
        "sharing_conditions": "依据《中华人民共和国保守国家秘密法》,不予共享",
        "sharing_method_category": None,
        "sharing_method_type": None,
        "open_type": "not_open",
    }
    values.update(overrides)
    return make_clean_entry(**values)


def test_not_shared_with_its_basis_is_clean():
    assert rules.check(not_shared(), CTX) == []


def test_not_shared_needs_its_basis():
    assert found(not_shared(sharing_conditions="")) == {("sharing.basis_required", "sharing_conditions")}


@pytest.mark.parametrize("sharing", ["unconditional", "conditional"])
@pytest.mark.parametrize("missing", ["sharing_method_category", "sharing_method_type"])
def test_sharing_method_required_when_shared(sharing, missing):
    entry = make_clean_entry(sharing_type=sharing, sharing_conditions="仅限监管业务使用", **{missing: None})
    problems = problems_named(entry, "sharing.method_required")
    assert [(p.field, p.params["field"], p.severity) for p in problems] == [(missing, missing, Severity.ERROR)]


def test_conditional_open_needs_open_conditions():
    entry = make_clean_entry(open_type="conditional", open_conditions="")
    assert found(entry) == {("open.conditions_required", "open_conditions")}
    assert rules.check(make_clean_entry(open_type="conditional", open_conditions="仅向实名用户开放"), CTX) == []


@pytest.mark.parametrize("opening", ["unconditional", "conditional"])
def test_not_shared_must_not_be_open(opening):
    entry = not_shared(open_type=opening, open_conditions="仅向实名用户开放")
    problems = rules.check(entry, CTX)
    assert [(p.code, p.field, p.severity) for p in problems] == [
        ("open.not_shared_but_open", "open_type", Severity.ERROR)
    ]


@pytest.mark.parametrize(
    ("key", "entry_values", "item_value"),
    [
        ("sharing_type", {"sharing_type": "conditional", "sharing_conditions": "仅限监管业务使用"}, "unconditional"),
        ("sharing_type", {"sharing_type": "not_shared", "sharing_conditions": "依据保密法", "open_type": "not_open",
                          "sharing_method_category": None, "sharing_method_type": None}, "conditional"),
        ("open_type", {"open_type": "not_open"}, "unconditional"),
        ("open_type", {"open_type": "not_open"}, "conditional"),
        ("open_type", {"open_type": "conditional", "open_conditions": "仅向实名用户开放"}, "unconditional"),
    ],
)
def test_data_item_more_open_than_its_entry(key, entry_values, item_value):
    entry = make_clean_entry(**entry_values)
    assert rules.check(entry, CTX) == []
    item = entry.items[1]
    setattr(item, key, item_value)
    problems = rules.check(entry, CTX)
    assert [(p.code, p.field, p.item_id, p.severity) for p in problems] == [
        ("item.more_open_than_entry", key, item.id, Severity.ERROR)
    ]
    assert problems[0].params["position"] == 2
    assert problems[0].params["name"] == item.name


@pytest.mark.parametrize(
    ("key", "entry_value", "item_values"),
    [
        ("sharing_type", "unconditional", ["unconditional", "conditional", "not_shared"]),
        ("open_type", "conditional", ["conditional", "not_open"]),
    ],
)
def test_data_item_as_open_or_stricter_is_fine(key, entry_value, item_values):
    entry = make_clean_entry(**{key: entry_value}, sharing_conditions="仅限监管业务使用", open_conditions="实名")
    for value in item_values:
        setattr(entry.items[0], key, value)
        assert rules.check(entry, CTX) == [], value


def test_data_item_attribute_outside_the_vocabulary():
    entry = make_clean_entry()
    entry.items[0].open_type = "public-ish"
    problems = rules.check(entry, CTX)
    assert [(p.code, p.field, p.params["value"]) for p in problems] == [
        ("item.vocab.unknown", "open_type", "public-ish")
    ]


# Data items -------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "blank"), [("name", ""), ("name", "  "), ("data_type", None), ("data_type", " ")])
def test_item_name_and_type_required(key, blank):
    entry = make_clean_entry()
    item = entry.items[2]
    setattr(item, key, blank)
    problems = rules.check(entry, CTX)
    assert [(p.code, p.field, p.item_id, p.severity) for p in problems] == [
        ("item.required", key, item.id, Severity.ERROR)
    ]
    assert problems[0].params["position"] == 3


@pytest.mark.parametrize("data_type", ["X", "字符型", "c", "varchar"])
def test_unknown_item_data_type(data_type):
    entry = make_clean_entry()
    entry.items[0].data_type = data_type
    problems = rules.check(entry, CTX)
    assert [(p.code, p.field, p.params["value"]) for p in problems] == [("item.vocab.unknown", "data_type", data_type)]


def test_every_national_data_type_is_known():
    entry = make_clean_entry(items=[DataItem(name=f"项{t}", data_type=t) for t in "CNYDTLMGBIF"])
    assert rules.check(entry, CTX) == []


@pytest.mark.parametrize("length", [0, -1, -200, "18"])
def test_bad_item_length(length):
    entry = make_clean_entry()
    entry.items[0].length = length
    problems = rules.check(entry, CTX)
    assert [(p.code, p.field, p.item_id) for p in problems] == [("item.length.invalid", "length", entry.items[0].id)]


@pytest.mark.parametrize("length", [None, 1, 18, 4000])
def test_good_item_length(length):
    entry = make_clean_entry()
    entry.items[0].length = length
    assert rules.check(entry, CTX) == []


def test_duplicate_item_names_are_a_warning_on_the_repeat():
    entry = make_clean_entry()
    entry.items[2].name = entry.items[0].name
    problems = rules.check(entry, CTX)
    assert [(p.code, p.severity, p.item_id) for p in problems] == [
        ("item.name.duplicate", Severity.WARNING, entry.items[2].id)
    ]
    assert problems[0].params == {"name": entry.items[0].name}


# Related codes ----------------------------------------------------------------------------


def test_related_codes_well_formed_are_fine():
    assert rules.check(make_clean_entry(related_codes=["319001/999999", "202003/000001"]), CTX) == []


@pytest.mark.parametrize("code", ["0000-ABC", "319001", "319001/x", "see 319001/000001"])
def test_related_code_malformed(code):
    problems = problems_named(make_clean_entry(related_codes=["319001/999999", code]), "related.invalid")
    assert [(p.field, p.params["value"]) for p in problems] == [("related_codes", code)]


def test_related_code_pointing_at_itself():
    entry = make_clean_entry()
    entry.related_codes = [entry.code]
    assert found(entry) == {("related.self", "related_codes")}


def test_related_code_that_exists_in_the_workspace_is_allowed_even_if_odd():
    entry = make_clean_entry(related_codes=["OLD-0001"])
    assert found(entry, Context()) == {("related.invalid", "related_codes")}
    knows_it = Context(code_exists=lambda code: code == "OLD-0001")
    assert rules.check(entry, knows_it) == []


def test_related_code_existing_in_a_real_workspace(workspace, clean_entry):
    legacy = clean_entry(code="OLD-0001")  # itself malformed, but it is there
    relating = clean_entry(related_codes=["OLD-0001"])
    dangling = clean_entry(related_codes=["OLD-0002"])
    journal.apply(workspace, [journal.CreateEntry(e) for e in (legacy, relating, dangling)])
    assert [p.code for p in query.problems_of(workspace, legacy.id)] == ["code.invalid"]
    assert query.problems_of(workspace, relating.id) == []
    assert [p.code for p in query.problems_of(workspace, dangling.id)] == ["related.invalid"]


# Publication date -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["2023-02-30", "2023/01/01", "text", "2023-1-1", "20230101", "2023-13-01",
                                   "２０２３-01-01", "2023-01-01\n", "0000-01-01"])
def test_publication_date_invalid(value):
    problems = rules.check(make_clean_entry(published=value), CTX)
    assert [(p.code, p.field, p.severity, p.params["value"]) for p in problems] == [
        ("published.invalid", "published", Severity.ERROR, value)
    ]


def test_publication_date_empty_is_required_not_invalid():
    assert found(make_clean_entry(published="")) == {("required", "published")}


def test_publication_date_in_the_future_is_a_warning():
    ctx = Context(department_code=DEPARTMENT_CODE, today=date(2024, 1, 1))
    assert rules.check(make_clean_entry(published="2024-01-01"), ctx) == []  # today is not the future
    problems = rules.check(make_clean_entry(published="2024-01-02"), ctx)
    assert [(p.code, p.severity) for p in problems] == [("published.future", Severity.WARNING)]


def test_publication_date_future_uses_today_by_default():
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    assert [p.code for p in rules.check(make_clean_entry(published=tomorrow))] == ["published.future"]
    assert rules.check(make_clean_entry(published=date.today().isoformat())) == []


def test_leap_day():
    assert rules.check(make_clean_entry(published="2024-02-29"), CTX) == []
    assert found(make_clean_entry(published="2023-02-29")) == {("published.invalid", "published")}


# Duplicate resource codes, through a real workspace ---------------------------------------


def codes_of(workspace, entry_id) -> list[str]:
    return [p.code for p in query.problems_of(workspace, entry_id)]


def test_duplicate_codes_are_errors_on_both_and_clear_when_one_is_renamed(workspace, clean_entry):
    first, second, bystander = clean_entry(), clean_entry(), clean_entry()
    second.code = first.code
    journal.apply(workspace, [journal.CreateEntry(e) for e in (first, second, bystander)])
    assert codes_of(workspace, first.id) == ["code.duplicate"]
    assert codes_of(workspace, second.id) == ["code.duplicate"]
    assert codes_of(workspace, bystander.id) == []

    # Renaming one re-checks the other, which no change touched.
    journal.apply(workspace, [journal.SetField(second.id, "code", "319001/888888")])
    assert codes_of(workspace, first.id) == []
    assert codes_of(workspace, second.id) == []

    # Taking the bystander's code makes both of them duplicates.
    journal.apply(workspace, [journal.SetField(first.id, "code", bystander.code)])
    assert codes_of(workspace, first.id) == ["code.duplicate"]
    assert codes_of(workspace, bystander.id) == ["code.duplicate"]
    with workspace.reading() as conn:
        counts = dict(conn.exec_driver_sql("SELECT id, error_count FROM entries").all())
    assert counts == {first.id: 1, second.id: 0, bystander.id: 1}


def test_duplicate_code_cleared_when_the_other_is_erased(workspace, clean_entry):
    first, second = clean_entry(), clean_entry()
    second.code = first.code
    journal.apply(workspace, [journal.CreateEntry(first)])
    journal.apply(workspace, [journal.CreateEntry(second)])  # the first one is re-checked too
    assert codes_of(workspace, first.id) == ["code.duplicate"]
    journal.apply(workspace, [journal.EraseEntry(second.id)])
    assert codes_of(workspace, first.id) == []


def test_duplicate_codes_in_the_rule_context():
    entry = make_clean_entry()
    ctx = Context(department_code=DEPARTMENT_CODE, duplicate_codes=frozenset({entry.code}))
    assert [(p.code, p.params["value"]) for p in rules.check(entry, ctx)] == [("code.duplicate", entry.code)]


# Characters -------------------------------------------------------------------------------


@pytest.mark.parametrize(("char", "shown"), [("\x00", "U+0000"), ("\x08", "U+0008"), ("\x0b", "U+000B"),
                                             ("\x0c", "U+000C"), ("\x1b", "U+001B"), ("\x1f", "U+001F"),
                                             ("\x7f", "U+007F"), ("\x80", "U+0080"), ("\x85", "U+0085"),
                                             ("\x9f", "U+009F"), ("\ud800", "U+D800"), ("\udfff", "U+DFFF")])
def test_control_characters_and_lone_surrogates_in_text_are_errors_at_their_field(char, shown):
    entry = make_clean_entry(sharing_conditions=f"经审批{char}后共享", related_codes=[f"319001/{char}"])
    entry.items[1].name = f"名称{char}"
    problems = [p for p in rules.check(entry, CTX) if "refused_character" in p.code]
    assert [(p.code, p.field, p.item_id, p.severity, p.params["char"]) for p in problems] == [
        ("text.refused_character", "sharing_conditions", None, Severity.ERROR, shown),
        ("text.refused_character", "related_codes", None, Severity.ERROR, shown),
        ("item.text.refused_character", "name", entry.items[1].id, Severity.ERROR, shown),
    ]
    assert render(problems[2].code, problems[2].params, "en") == (
        f"Data item name of data item 2 holds the character {shown}, which is not allowed (a control or invalid "
        "character)")


@pytest.mark.parametrize("text", ["制表\t换行\n回车\r", "\xa0\u3000全角空格", "\u2028\u2029", "😀𠀀",
                                  "\ufeff\ufffd\xa0é"])
def test_tab_newlines_and_printable_unicode_are_allowed_in_text(text):
    entry = make_clean_entry(abstract=f"摘要{text}")
    assert rules.check(entry, CTX) == []


def test_the_rule_refuses_exactly_what_a_changeset_refuses():
    """One rule for both: the workspace marks a character at edit time exactly when the exchange would refuse it."""
    from steward.sync.changeset import _Checker  # the format check every changeset passes, client and exchange

    for code_point in [*range(0x00, 0x2000), *range(0xD700, 0xE100), 0xFEFF, 0xFFFD, 0x10FFFF]:
        char = chr(code_point)
        checker = _Checker()
        checker.text("author", f"a{char}b")
        entry = make_clean_entry(name=f"a{char}b")
        marked = any(p.code == "text.refused_character" for p in rules.check(entry, CTX))
        assert marked == bool(checker.problems), hex(code_point)


def test_text_longer_than_the_protocol_allows_is_an_error_at_its_field():
    long = "摘" * (rules.MAX_TEXT + 1)
    entry = make_clean_entry(abstract=long, related_codes=["319001/000001", "3" * (rules.MAX_TEXT + 5)])
    entry.items[2].name = long
    problems = [(p.code, p.field, p.item_id, p.severity, p.params.get("length")) for p in rules.check(entry, CTX)
                if "too_long" in p.code]
    assert problems == [
        ("text.too_long", "abstract", None, Severity.ERROR, rules.MAX_TEXT + 1),
        ("text.too_long", "related_codes", None, Severity.ERROR, rules.MAX_TEXT + 5),
        ("item.text.too_long", "name", entry.items[2].id, Severity.ERROR, rules.MAX_TEXT + 1),
    ]
    [first] = [p for p in rules.check(entry, CTX) if p.field == "abstract"]
    assert render(first.code, first.params, "en") == (
        f"Abstract is {rules.MAX_TEXT + 1} characters long; at most {rules.MAX_TEXT} are allowed")


def test_text_of_exactly_the_limit_counted_in_code_points_is_allowed():
    # 😀 is two UTF-16 code units and four UTF-8 bytes, but one code point: the protocol counts code points.
    entry = make_clean_entry(abstract="😀" * rules.MAX_TEXT, sharing_conditions="张" * rules.MAX_TEXT)
    assert rules.check(entry, CTX) == []


def test_the_length_rule_and_the_changeset_format_share_one_limit():
    """One definition: the workspace marks a text at edit time exactly when the exchange would refuse its length."""
    from steward.sync import changeset
    from steward.sync.changeset import _Checker

    assert changeset.MAX_TEXT is rules.MAX_TEXT
    for length in (rules.MAX_TEXT - 1, rules.MAX_TEXT, rules.MAX_TEXT + 1):
        checker = _Checker()
        checker.text("author", "a" * length)
        marked = any(p.code == "text.too_long" for p in rules.check(make_clean_entry(name="a" * length), CTX))
        assert marked == bool(checker.problems), length


# Messages ---------------------------------------------------------------------------------


def every_problem() -> list[rules.Problem]:
    """At least one problem of every rule code, from entries that break them."""
    entries = [
        make_clean_entry(name="", items=[]),
        make_clean_entry(sharing_type="bogus", classification="9", code="x"),
        make_clean_entry(code="319002/000001", provider_code=bad_check_character(DEPARTMENT_CODE)),
        make_clean_entry(provider_code=OTHER_DEPARTMENT, published="2023-02-30", related_codes=["bad"]),
        make_clean_entry(published="2999-01-01", sharing_type="conditional", sharing_method_type=None),
        not_shared(sharing_conditions="", open_type="conditional", open_conditions=""),
        make_clean_entry(open_type="not_open", items=[
            DataItem(name="", data_type=None, length=0),
            DataItem(name="甲", data_type="Q", open_type="unconditional", sharing_type="zz"),
            DataItem(name="甲", data_type="C"),
        ]),
        make_clean_entry(abstract="摘要\x1b[31m", items=[DataItem(name="乙\x85", data_type="C")]),
        make_clean_entry(abstract="长" * (rules.MAX_TEXT + 1), items=[DataItem(name="长" * (rules.MAX_TEXT + 1),
                                                                               data_type="C")]),
    ]
    entries[3].related_codes.append(entries[3].code)
    ctx = Context(department_code=DEPARTMENT_CODE, duplicate_codes=frozenset({entries[0].code}))
    return [p for e in entries for p in rules.check(e, ctx)]


def rule_codes_in_source() -> set[str]:
    """The codes rules.py passes to _error and _warning."""
    tree = ast.parse(inspect.getsource(rules))
    codes = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_error", "_warning"):
            code = node.args[2]
            assert isinstance(code, ast.Constant) and isinstance(code.value, str), ast.dump(node)
            codes.add(code.value)
    return codes


def test_every_rule_code_has_a_message():
    codes = rule_codes_in_source()
    assert len(codes) >= 20
    assert codes <= set(MESSAGES), codes - set(MESSAGES)


def test_every_rule_code_is_exercised_by_these_tests():
    assert {p.code for p in every_problem()} == rule_codes_in_source()


def test_every_message_code_raised_or_rendered_by_the_core_exists():
    """Codes given to StewardError, render and _say anywhere in steward/ are in MESSAGES."""
    used: set[str] = set()
    for path in Path(steward.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            first = node.args[0]
            if name in ("StewardError", "StepRefused", "render", "_say") and isinstance(first, ast.Constant):
                used.add(first.value)
    assert {"entry.erase_synced", "workspace.newer", "set.bad_value", "cli.valid"} <= used
    assert used <= set(MESSAGES), used - set(MESSAGES)


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_both_languages_use_the_same_placeholders(code):
    zh, en = MESSAGES[code]
    assert placeholders(zh) == placeholders(en)
    assert zh != en


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_problem_renders_completely(lang):
    field_keys = {spec.key for spec in ENTRY_FIELDS} - {"name", "code", "status"}
    for problem in every_problem():
        text = problem.message(lang)
        assert text and "{" not in text and "}" not in text, (problem, text)
        assert text != problem.code
        field = problem.params.get("field")
        if field in field_keys:
            assert field not in text, text  # shown by its label, not its key
        assert problem.to_dict(lang)["message"] == text


def test_required_name_message_in_both_languages():
    [problem] = rules.check(make_clean_entry(name=""), CTX)
    assert "信息资源名称" in problem.message("zh")
    assert problem.message("zh") == "信息资源名称不能为空"
    assert problem.message("en") == "Resource name is required"


def test_item_messages_use_the_item_field_labels():
    entry = make_clean_entry()
    entry.items[1].name = ""
    [problem] = rules.check(entry, CTX)
    assert problem.message("zh") == "第2个信息项的信息项名称不能为空"
    assert problem.message("en") == "Data item name of data item 2 is required"


def test_vocabulary_value_shown_as_label_when_named():
    params = {"field": "sharing_type", "value": "conditional", "vocabulary": "sharing_type"}
    text = render("vocab.unknown", params, "zh")
    assert text == "共享类型的值“有条件共享”不在规定的取值范围内"


def test_message_language_follows_steward_lang(monkeypatch):
    [problem] = rules.check(make_clean_entry(name=""), CTX)
    monkeypatch.setenv("STEWARD_LANG", "zh_CN.UTF-8")
    assert problem.message() == "信息资源名称不能为空"
    monkeypatch.setenv("STEWARD_LANG", "en")
    assert problem.message() == "Resource name is required"


def test_unknown_message_code_renders_as_itself():
    assert render("no.such.code", {}, "zh") == "no.such.code"


# Property: the rules never raise ----------------------------------------------------------

maybe_text = st.one_of(st.none(), st.text(max_size=30))
vocab_or_text = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(["unconditional", "conditional", "not_shared", "not_open", "C"])
)
items = st.builds(
    DataItem,
    name=maybe_text,
    data_type=vocab_or_text,
    length=st.one_of(st.none(), st.integers(-5, 10_000), st.text(max_size=4)),
    sharing_type=vocab_or_text,
    open_type=vocab_or_text,
)
entries = st.builds(
    Entry,
    classification=maybe_text,
    name=maybe_text,
    code=st.one_of(maybe_text, st.from_regex(r"[1-3]\d{5}/\d{1,6}", fullmatch=True)),
    provider=maybe_text,
    provider_code=st.one_of(maybe_text, st.just(DEPARTMENT_CODE), st.just(OTHER_DEPARTMENT)),
    abstract=maybe_text,
    format_category=vocab_or_text,
    format_type=maybe_text,
    sharing_type=vocab_or_text,
    sharing_conditions=maybe_text,
    sharing_method_category=vocab_or_text,
    sharing_method_type=vocab_or_text,
    open_type=vocab_or_text,
    open_conditions=maybe_text,
    update_frequency=vocab_or_text,
    published=st.one_of(maybe_text, st.dates().map(date.isoformat)),
    related_codes=st.lists(st.text(max_size=15), max_size=3),
    status=maybe_text,
    items=st.lists(items, max_size=4),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries)
def test_check_never_raises(entry):
    problems = rules.check(entry, Context(department_code=DEPARTMENT_CODE, code_exists=lambda code: code == "x"))
    for problem in problems:
        assert problem.entry_id == entry.id
        assert problem.severity in (Severity.ERROR, Severity.WARNING)
        assert problem.code in MESSAGES
        problem.message("zh")
        problem.message("en")
