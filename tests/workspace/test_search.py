"""Chinese substring search and the catalogue's filters and sorting, on real workspaces."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steward import sample
from steward.catalogue.model import DataItem
from steward.workspace import journal, query
from steward.workspace.journal import AddItem, CreateEntry, EraseEntry, RemoveItem, SetField, SetItemField
from steward.workspace.query import EntryFilter, SortKey
from steward.workspace.search import fold
from steward.workspace.workspace import Workspace
from tests.helpers import DEPARTMENT, make_clean_entry


def items(*names: str) -> list[DataItem]:
    return [DataItem(name=name, data_type="C", length=50, position=n) for n, name in enumerate(names, start=1)]


def handmade() -> dict[str, object]:
    """Five entries with known text; letters A–E name them in the tests."""
    return {
        "A": make_clean_entry(
            name="企业登记信息", classification="319001", code="319001/000001",
            abstract="记录企业设立、变更和注销的情况。", items=items("统一社会信用代码", "企业名称", "成立日期"),
            sharing_type="unconditional", open_type="unconditional", update_frequency="daily",
        ),
        "B": make_clean_entry(
            name="GIS数据服务", classification="309002", code="309002/000002",
            abstract="提供全市地形图和影像的在线浏览。", items=items("图层名称", "经度", "纬度"),
            sharing_type="conditional", sharing_conditions="仅限规划业务使用", open_type="not_open",
            update_frequency="monthly",
        ),
        "C": make_clean_entry(
            name="食品经营许可证信息", classification="319003", code="319003/000003",
            abstract="食品经营许可的发证与注销记录。", items=items("许可证编号", "核准机关名称", "有效期至"),
            sharing_type="conditional", sharing_conditions="仅限监管业务使用", open_type="conditional",
            open_conditions="仅向实名用户开放", update_frequency="weekly",
        ),
        "D": make_clean_entry(
            name="学校基本信息", classification="302001", code="302001/000004",
            abstract="全市中小学的办学情况,覆盖义务教育阶段。", items=items("学校名称", "办学层次", "学生人数"),
            sharing_type="not_shared", sharing_conditions="依据《个人信息保护法》不予共享", open_type="not_open",
            sharing_method_category=None, sharing_method_type=None, update_frequency="annual",
        ),
        "E": make_clean_entry(
            name="出生医学证明", classification="201001", code="201001/100005",
            abstract="新生儿出生信息,含父母信用记录。", items=items("新生儿姓名", "出生日期", "签发机构"),
            sharing_type="unconditional", open_type="not_open", update_frequency="realtime",
            published="2023-02-30",  # the one entry with a problem
        ),
    }


@pytest.fixture
def catalogue(workspace):
    """The workspace holding the handmade entries, and a way to search it by letter."""
    entries = handmade()
    journal.apply(workspace, [CreateEntry(e) for e in entries.values()])
    letter = {e.id: name for name, e in entries.items()}

    class Catalogue:
        ws = workspace
        by_letter = entries

        def id(self, name):
            return entries[name].id

        def find(self, text="", **filters) -> set[str]:
            flt = EntryFilter(text=text, **filters)
            with workspace.reading() as conn:
                pks = query.entry_pks(conn, flt)
                assert query.count(conn, flt) == len(pks)
                ids = [row.id for row in query.rows(conn, pks)]
            result = query.search_entries(workspace, text, EntryFilter(**filters), limit=100)
            assert result.total == len(ids)
            assert [row.id for row in result.rows] == [row_id for _, row_id in sorted(zip(pks, ids, strict=True))]
            return {letter[i] for i in ids}

    return Catalogue()


# Substrings of every length -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("登记信", {"A"}),  # in a name
        ("企业登记信息", {"A"}),  # a whole name
        ("义务教育", {"D"}),  # only in an abstract
        ("地形图和影像", {"B"}),
        ("核准机关", {"C"}),  # only in a data item name
        ("新生儿姓名", {"E"}),
        ("000003", {"C"}),  # in the code
        ("302001", {"D"}),
        ("319", {"A", "C"}),
        ("9003/0", {"C"}),
    ],
)
def test_three_or_more_characters(catalogue, text, expected):
    assert catalogue.find(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("登记", {"A"}),
        ("信息", {"A", "C", "D", "E"}),
        ("经度", {"B"}),
        ("学生", {"D"}),
        ("03", {"C"}),
        ("00", {"A", "B", "C", "D", "E"}),
        ("注销", {"A", "C"}),
    ],
)
def test_two_characters(catalogue, text, expected):
    assert catalogue.find(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("证", {"C", "E"}),
        ("校", {"D"}),
        ("图", {"B"}),
        ("5", {"E"}),
        ("g", {"B"}),
    ],
)
def test_one_character(catalogue, text, expected):
    assert catalogue.find(text) == expected


@pytest.mark.parametrize(
    "text", ["gis", "GIS", "gIs", "GIS数", "s数", "Gis数据", "IS数据服务", "ＧＩＳ", "ｇｉｓ数", "ｓ数"]
)
def test_mixed_latin_and_chinese_and_full_width(catalogue, text):
    assert catalogue.find(text) == {"B"}


def test_full_width_digits_and_slash(catalogue):
    assert catalogue.find("０００００３") == {"C"}
    assert catalogue.find("１／１") == {"E"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/0", {"A", "B", "C", "D"}),
        ("/1", {"E"}),
        ("1/1", {"E"}),
        ("、", {"A"}),
        ("。", {"A", "B", "C", "D", "E"}),
        ("《个人", set()),  # only in D's sharing conditions, which are not searched
        ("%", set()),
        ("_", set()),
        ("\\", set()),
        ('"', set()),
        ("%登", set()),
        ("1_1", set()),
    ],
)
def test_terms_with_punctuation(catalogue, text, expected):
    assert catalogue.find(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("企业 信用", {"A"}),
        ("信息 证", {"C", "E"}),
        ("信息 登记 企业", {"A"}),
        ("  gis   经度 ", {"B"}),
        ("全市 /0", {"B", "D"}),
        ("登记 学校", set()),
        ("出生\u3000证明", {"E"}),  # an ideographic space separates terms too
    ],
)
def test_several_terms_must_all_match(catalogue, text, expected):
    assert catalogue.find(text) == expected


@pytest.mark.parametrize("text", ["数据库", "证明书", "gisx", "登记信息表", "0000001", "x", "企业登记 信息服务"])
def test_no_false_positives(catalogue, text):
    assert catalogue.find(text) == set()


def test_blank_text_matches_everything(catalogue):
    assert catalogue.find("") == {"A", "B", "C", "D", "E"}
    assert catalogue.find("   ") == {"A", "B", "C", "D", "E"}


# The index follows every change --------------------------------------------------------------


def test_search_after_a_rename(catalogue):
    journal.apply(catalogue.ws, [SetField(catalogue.id("A"), "name", "法人单位名录")])
    assert catalogue.find("登记信") == set()
    assert catalogue.find("登记") == set()
    assert catalogue.find("法人单位") == {"A"}
    assert catalogue.find("名录") == {"A"}
    assert catalogue.find("企业") == {"A"}  # still in its abstract


def test_search_after_a_code_change(catalogue):
    journal.apply(catalogue.ws, [SetField(catalogue.id("E"), "code", "201001/000009")])
    assert catalogue.find("/1") == set()
    assert catalogue.find("000009") == {"E"}


def test_search_after_an_abstract_change(catalogue):
    journal.apply(catalogue.ws, [SetField(catalogue.id("D"), "abstract", "高等院校名录")])
    assert catalogue.find("义务教育") == set()
    assert catalogue.find("院校") == {"D"}


def test_search_after_data_item_changes(catalogue):
    c_items = catalogue.by_letter["C"].items
    b_items = catalogue.by_letter["B"].items
    journal.apply(catalogue.ws, [SetItemField(catalogue.id("C"), c_items[1].id, "name", "发证机关名称")])
    assert catalogue.find("核准机关") == set()
    assert catalogue.find("核准") == set()
    assert catalogue.find("发证机关") == {"C"}

    journal.apply(catalogue.ws, [AddItem(catalogue.id("B"), DataItem(name="海拔高度", data_type="N"))])
    assert catalogue.find("海拔") == {"B"}

    journal.apply(catalogue.ws, [RemoveItem(catalogue.id("B"), b_items[1].id)])
    assert catalogue.find("经度") == set()
    assert catalogue.find("纬度") == {"B"}


def test_search_after_erase_and_its_undo(catalogue):
    result = journal.apply(catalogue.ws, [EraseEntry(catalogue.id("D"))])
    assert catalogue.find("义务教育") == set()
    assert catalogue.find("学校") == set()
    assert catalogue.find("校") == set()
    journal.apply(catalogue.ws, result.inverse())
    assert catalogue.find("学校") == {"D"}


def test_search_survives_reopening_and_a_rebuild(catalogue, tmp_path):
    catalogue.ws.close()
    with Workspace.open(catalogue.ws.folder) as ws:
        assert {r.name for r in query.search_entries(ws, "gis").rows} == {"GIS数据服务"}
        ws.set_fact("index_version", "outdated")  # as if an older Steward had indexed differently
    with Workspace.open(catalogue.ws.folder) as ws:
        assert {r.name for r in query.search_entries(ws, "s数").rows} == {"GIS数据服务"}
        assert {r.name for r in query.search_entries(ws, "核准机关").rows} == {"食品经营许可证信息"}
        assert ws.facts()["index_version"] != "outdated"


# Filters, alone and with text -----------------------------------------------------------------


def test_filters(catalogue):
    find = catalogue.find
    assert find(sharing_types=frozenset({"conditional"})) == {"B", "C"}
    assert find("信息", sharing_types=frozenset({"conditional"})) == {"C"}
    assert find(sharing_types=frozenset({"conditional", "not_shared"})) == {"B", "C", "D"}
    assert find(open_types=frozenset({"not_open"})) == {"B", "D", "E"}
    assert find("出生", open_types=frozenset({"not_open"})) == {"E"}
    assert find("出生", open_types=frozenset({"unconditional"})) == set()
    assert find(update_frequencies=frozenset({"weekly", "monthly"})) == {"B", "C"}
    assert find("服务", update_frequencies=frozenset({"weekly", "monthly"})) == {"B"}
    assert find(sharing_types=frozenset({"conditional"}), open_types=frozenset({"not_open"})) == {"B"}


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("3", {"A", "B", "C", "D"}), ("2", {"E"}), ("31", {"A", "C"}), ("319", {"A", "C"}), ("3190", {"A", "C"}),
     ("319001", {"A"}), ("3190011", set()), ("30", {"B", "D"}), ("1", set())],
)
def test_classification_prefix(catalogue, prefix, expected):
    assert catalogue.find(classification=prefix) == expected


def test_classification_prefix_with_text(catalogue):
    assert catalogue.find("信息", classification="3") == {"A", "C", "D"}
    assert catalogue.find("注销", classification="319003") == {"C"}


def test_has_problems(catalogue):
    assert catalogue.find(has_problems=True) == {"E"}
    assert catalogue.find(has_problems=False) == {"A", "B", "C", "D"}
    assert catalogue.find("信息", has_problems=False) == {"A", "C", "D"}
    assert catalogue.find("信息", has_problems=True) == {"E"}


def test_changed(catalogue):
    assert catalogue.find(changed=True) == {"A", "B", "C", "D", "E"}
    with catalogue.ws.writing() as conn:  # as if A and B had been synced
        conn.exec_driver_sql("UPDATE entries SET dirty = 0 WHERE id IN (?, ?)", (catalogue.id("A"), catalogue.id("B")))
    assert catalogue.find(changed=True) == {"C", "D", "E"}
    assert catalogue.find("信息", changed=True) == {"C", "D", "E"}
    assert catalogue.find("信息", changed=True, sharing_types=frozenset({"conditional"})) == {"C"}
    journal.apply(catalogue.ws, [SetField(catalogue.id("A"), "abstract", "改过")])
    assert catalogue.find(changed=True) == {"A", "C", "D", "E"}


def test_status(catalogue):
    journal.apply(catalogue.ws, [SetField(catalogue.id("D"), "status", "retired")])
    assert catalogue.find(statuses=frozenset({"retired"})) == {"D"}
    assert catalogue.find("信息", statuses=frozenset({"active"})) == {"A", "C", "E"}


def test_classification_counts(catalogue):
    with catalogue.ws.reading() as conn:
        counts = query.classification_counts(conn)
        with_text = query.classification_counts(conn, EntryFilter(text="信息"))
    assert counts["3"] == 4 and counts["319"] == 2 and counts["319001"] == 1 and counts["2"] == 1
    assert with_text == {"3": 3, "319": 2, "319001": 1, "319003": 1, "302": 1, "302001": 1, "2": 1, "201": 1,
                         "201001": 1}


def test_search_paging(catalogue):
    everything = query.search_entries(catalogue.ws, "", limit=100)
    assert everything.total == 5
    pages = [query.search_entries(catalogue.ws, "", limit=2, offset=n).rows for n in (0, 2, 4)]
    assert [r.id for page in pages for r in page] == [r.id for r in everything.rows]
    page = query.search_entries(catalogue.ws, "信息", limit=1, offset=1)
    assert page.total == 4 and len(page.rows) == 1


# Sorting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(SortKey))
def test_sort_keys_both_directions(catalogue, key):
    flt = EntryFilter()
    with catalogue.ws.reading() as conn:
        ascending = query.entry_pks(conn, flt, key)
        descending = query.entry_pks(conn, flt, key, descending=True)
        rows = query.rows(conn, ascending)
    assert sorted(ascending) == sorted(descending) and len(ascending) == 5
    assert descending == list(reversed(ascending))
    if key in (SortKey.CODE, SortKey.NAME, SortKey.CLASSIFICATION):
        values = [getattr(row, key.value) for row in rows]
        assert values == sorted(values)


def test_vocabulary_columns_sort_by_restrictiveness(catalogue):
    with catalogue.ws.reading() as conn:
        sharing = [r.sharing_type for r in query.rows(conn, query.entry_pks(conn, EntryFilter(), SortKey.SHARING))]
        opening = [r.open_type for r in query.rows(conn, query.entry_pks(conn, EntryFilter(), SortKey.OPEN))]
        frequency = [
            r.update_frequency for r in query.rows(conn, query.entry_pks(conn, EntryFilter(), SortKey.FREQUENCY))
        ]
        problems = [r.problem_count for r in query.rows(conn, query.entry_pks(conn, EntryFilter(), SortKey.PROBLEMS))]
    assert sharing == ["unconditional", "unconditional", "conditional", "conditional", "not_shared"]
    assert opening == ["unconditional", "conditional", "not_open", "not_open", "not_open"]
    assert frequency == ["realtime", "daily", "weekly", "monthly", "annual"]
    assert problems == [0, 0, 0, 0, 1]


def test_sort_with_text_and_filters(catalogue):
    flt = EntryFilter(text="信息", open_types=frozenset({"not_open", "conditional"}))
    with catalogue.ws.reading() as conn:
        names = [r.name for r in query.rows(conn, query.entry_pks(conn, flt, SortKey.NAME, descending=True))]
    assert names == sorted(["食品经营许可证信息", "学校基本信息", "出生医学证明"], reverse=True)


# Against a brute-force substring check --------------------------------------------------------


def parts(entry) -> list[str]:
    return [fold(p) for p in (entry.name, entry.code, entry.abstract, *(i.name for i in entry.items))]


def brute_force(entries, text: str) -> set[str]:
    terms = fold(text).split()
    return {e.id for e in entries if all(any(t in p for p in parts(e)) for t in terms)}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """150 generated entries (every vocabulary value, a few broken), and their texts as stored."""
    ws = Workspace.create(tmp_path_factory.mktemp("generated") / "ws", DEPARTMENT.code, DEPARTMENT.name)
    journal.apply(ws, [CreateEntry(e) for e in sample.generate(DEPARTMENT, 150, seed=11)])
    with ws.reading() as conn:
        entries = list(query.store.load_entries(conn, pks=query.entry_pks(conn, EntryFilter())).values())
    yield ws, entries
    ws.close()


def found_ids(ws, text: str) -> set[str]:
    with ws.reading() as conn:
        return {r.id for r in query.rows(conn, query.entry_pks(conn, EntryFilter(text=text)))}


def sample_queries(entries, seed: int = 7) -> list[str]:
    """1-, 2- and 3-character pieces of the entries' own text (so most match), and a few more."""
    rng = random.Random(seed)
    queries = set()
    while len(queries) < 240:
        text = rng.choice(parts(rng.choice(entries)))
        length = rng.choice((1, 2, 3))
        if len(text) >= length:
            start = rng.randrange(len(text) - length + 1)
            piece = text[start : start + length]
            if piece.strip() == piece and " " not in piece:
                queries.add(piece)
    return [*sorted(queries), "数据库", "xyz", "%", "_", "\\", "'", "0/", "1/", "登记 许可", "信息 编号 d", "ab"]


def test_same_results_as_a_brute_force_substring_check(generated):
    ws, entries = generated
    queries = sample_queries(entries)
    lengths = {len(q) for q in queries}
    assert {1, 2, 3} <= lengths
    matched_some = 0
    for text in queries:
        expected = brute_force(entries, text)
        assert found_ids(ws, text) == expected, text
        matched_some += bool(expected)
    assert matched_some > 200  # the check is not vacuous


def test_search_entries_agrees_with_brute_force(generated):
    ws, entries = generated
    for text in ("信息", "登记", "3", "319", "证", "/00001", "企业 许可"):
        result = query.search_entries(ws, text, limit=1000)
        assert {r.id for r in result.rows} == brute_force(entries, text), text
        assert result.total == len(result.rows)


@pytest.fixture(scope="module")
def alphabet(generated):
    _, entries = generated
    chars = sorted({c for e in entries for p in parts(e) for c in p if not c.isspace()})
    return "".join(chars) + "%_\\\"'*()-:^ＡＢ１"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_search_is_substring_search(generated, alphabet, data):
    ws, entries = generated
    # Mostly characters the entries use, so that matches are common, and whole pieces of their text.
    term = st.one_of(
        st.text(alphabet=st.sampled_from(alphabet), min_size=1, max_size=4),
        st.sampled_from(entries).flatmap(lambda e: st.sampled_from(parts(e))).flatmap(
            lambda p: st.tuples(st.integers(0, max(len(p) - 1, 0)), st.integers(1, 5)).map(
                lambda se: p[se[0] : se[0] + se[1]]
            )
        ),
    )
    terms = data.draw(st.lists(term, min_size=1, max_size=3))
    text = " ".join(terms)
    assert found_ids(ws, text) == brute_force(entries, text), text
