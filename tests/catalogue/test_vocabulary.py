"""The controlled vocabularies: enums against vocabularies.json, labels, local synonyms and parsing."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from steward.catalogue import classification
from steward.catalogue.model import ENTRY_FIELDS, ITEM_FIELDS
from steward.catalogue.vocabulary import ENUMS, all_vocabularies, label, normalize, vocabulary

RAW = json.loads(resources.files("steward.catalogue").joinpath("vocabularies.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enum_matches_the_json_keys_exactly(name):
    assert name in RAW
    json_keys = [value["key"] for value in RAW[name]["values"]]
    assert [member.value for member in ENUMS[name]] == json_keys
    assert vocabulary(name).keys() == json_keys


def test_every_vocabulary_a_field_names_exists_and_has_an_enum():
    for spec in (*ENTRY_FIELDS, *ITEM_FIELDS):
        if spec.vocabulary:
            assert spec.vocabulary in all_vocabularies(), spec.key
            assert spec.vocabulary in ENUMS, spec.key


def test_loaded_vocabularies_are_those_of_the_file():
    assert set(all_vocabularies()) == {name for name in RAW if not name.startswith("_")}


@pytest.mark.parametrize("name", sorted(all_vocabularies()))
def test_each_term_has_a_code_and_labels_in_both_languages(name):
    vocab = vocabulary(name)
    assert vocab.label("zh") and vocab.label("en") and vocab.label("zh") != vocab.label("en")
    assert vocab.terms
    for term in vocab.terms:
        assert term.key and term.code and term.zh and term.en, term
        assert term.label("zh") == term.zh and term.label("en") == term.en
    assert len({t.key for t in vocab.terms}) == len(vocab.terms)
    assert len({t.code for t in vocab.terms}) == len(vocab.terms)


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_words_for_a_term_never_name_another_term(name):
    """A label or synonym that two terms share would silently parse as whichever comes first."""
    owner: dict[str, str] = {}
    for term in vocabulary(name).terms:
        for word in (term.key, term.code, term.zh, term.en, *term.synonyms):
            assert owner.setdefault(normalize(word), term.key) == term.key, (word, owner[normalize(word)], term.key)


@pytest.mark.parametrize(
    ("name", "word", "key"),
    [
        ("sharing_type", "普遍共享", "unconditional"),
        ("sharing_type", "按需共享", "conditional"),
        ("sharing_type", "不共享", "not_shared"),
        ("open_type", "非开放", "not_open"),
        ("open_type", "受限开放", "conditional"),
        ("open_type", "禁止开放", "not_open"),
        ("update_frequency", "每天", "daily"),
        ("data_type", "varchar", "C"),
        ("status", "停用", "retired"),
    ],
)
def test_local_synonyms(name, word, key):
    assert vocabulary(name).parse(word) == key


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_parse_accepts_key_code_and_both_labels(name):
    vocab = vocabulary(name)
    for term in vocab.terms:
        for word in (term.key, term.code, term.zh, term.en, term.en.upper(), term.en.lower(), *term.synonyms):
            assert vocab.parse(word) == term.key, word


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        ("sharing_type", "  有条件共享 ", "conditional"),
        ("sharing_type", "\u3000有条件共享\u3000", "conditional"),  # ideographic spaces
        ("sharing_type", "２", "conditional"),  # full-width national code
        ("sharing_type", "ＳＨＡＲＥＤ ＵＮＣＯＮＤＩＴＩＯＮＡＬＬＹ", "unconditional"),
        ("sharing_type", "Not Shared", "not_shared"),
        ("open_type", "ＮＯＮ－ＰＵＢＬＩＣ", "not_open"),
        ("data_type", "ｃ", "C"),
        ("update_frequency", "\t每季度\n", "quarterly"),
    ],
)
def test_parse_folds_full_width_case_and_space(name, text, key):
    assert vocabulary(name).parse(text) == key


@pytest.mark.parametrize("text", ["", "   ", "共享", "有条件共享吗", "4", "shared"])
def test_parse_refuses_what_names_no_term(text):
    assert vocabulary("sharing_type").parse(text) is None


def test_membership_is_by_key_only():
    sharing = vocabulary("sharing_type")
    assert "conditional" in sharing
    assert "有条件共享" not in sharing
    assert "2" not in sharing


def test_restrictiveness_ranks():
    for name, order in (
        ("sharing_type", ["unconditional", "conditional", "not_shared"]),
        ("open_type", ["unconditional", "conditional", "not_open"]),
    ):
        vocab = vocabulary(name)
        ranks = [vocab.rank(key) for key in order]
        assert ranks == sorted(ranks) and len(set(ranks)) == 3, name


def test_label():
    assert label("sharing_type", "conditional") == "有条件共享"
    assert label("sharing_type", "conditional", "en") == "Shared on conditions"
    assert label("sharing_type", "made-up") == "made-up"  # shown as it is
    assert label("sharing_type", None) == ""
    with pytest.raises(KeyError):
        vocabulary("sharing_type").term("made-up")


def test_export_codes_are_present_where_exports_need_them():
    for term in vocabulary("open_type").terms:
        assert term.extra["eu"] in ("PUBLIC", "RESTRICTED", "NON_PUBLIC")
        assert term.extra["datajson"] in ("public", "restricted public", "non-public")
    for term in vocabulary("update_frequency").terms:
        assert term.extra["eu"] and term.extra["iso8601"]


def test_classification_items_belong_to_a_class():
    tops = set(vocabulary("classification_top").keys())
    for key in [term.key for term in vocabulary("classification_item").terms]:
        assert len(key) == 3 and key[0] in tops and key.isdigit(), key


# The classification and code built on the vocabulary ----------------------------------------


def test_classification_levels():
    assert classification.levels("2020031") == ["2", "202", "202003", "2020031"]
    assert classification.levels("202003") == ["2", "202", "202003"]
    assert classification.levels("20") == ["2"]


def test_classification_level_labels():
    assert classification.level_label("1") == "基础信息资源"
    assert classification.level_label("3", "en") == "Departmental information resources"
    assert classification.level_label("319") == "19 市场监管"
    assert classification.level_label("202003") == "目 003"
    assert classification.level_label("2020031", "en") == "Sub-group 1"


def test_resource_code_parsing_and_cleaning():
    parsed = classification.parse_resource_code("202003/000001")
    assert parsed == classification.ResourceCode("202003", "000001")
    assert str(parsed) == "202003/000001"
    assert classification.parse_resource_code("202003-000001") is None
    assert classification.clean_code(" ２０２００３／０００００１ ") == "202003/000001"
