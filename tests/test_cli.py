"""The real `steward` command line, run in a child process as a user or a script would.

Each run costs a Python start-up, so tests share the runs they can: parsing details are
tested in-process in test_assignments.py.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from steward.catalogue import messages
from steward.workspace import journal
from steward.workspace.workspace import DB_FILE, Workspace
from tests.helpers import DEPARTMENT_CODE, DEPARTMENT_NAME, accept_pending, make_clean_entry, run_cli, steward_env
from tests.workspace.read_only import read_only

BAD_CODE = DEPARTMENT_CODE[:-1] + "X"  # wrong check character


def ok(result, code: int = 0):
    """Assert the exit code, and that nothing crashed, whatever the code."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert "Internal error" not in result.stderr and "内部错误" not in result.stderr
    return result


def as_json(result):
    return json.loads(ok(result).stdout)


def make_workspace(folder: Path, *entries) -> Path:
    """A workspace holding `entries`, made through the Python API and closed."""
    with Workspace.create(folder, DEPARTMENT_CODE, DEPARTMENT_NAME) as ws:
        if entries:
            journal.apply(ws, [journal.CreateEntry(e) for e in entries], reason="准备")
    return folder


def state(folder: Path) -> tuple:
    """The catalogue's rows and the file's bytes, to show that nothing changed."""
    conn = sqlite3.connect(folder / DB_FILE)
    try:
        rows = tuple(
            tuple(conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall())
            for table in ("meta", "entries", "items", "operations", "problems")
        )
    finally:
        conn.close()
    return rows, hashlib.sha256((folder / DB_FILE).read_bytes()).hexdigest()


def mark_newer(folder: Path) -> None:
    conn = sqlite3.connect(folder / DB_FILE)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    """A workspace with 40 sample entries, made by the command line itself (read-only in tests)."""
    folder = tmp_path_factory.mktemp("cli") / "sampled"
    ok(run_cli("init", folder, "--department-code", DEPARTMENT_CODE, "--department-name", DEPARTMENT_NAME))
    ok(run_cli("sample", folder, "--entries", "40", "--seed", "3"))
    return folder


@pytest.fixture(scope="module")
def sampled_search(sampled):
    """`steward search --json` of every entry of the sampled workspace."""
    return as_json(run_cli("search", sampled, "--json", "--limit", "100"))


@pytest.fixture
def two_entries(tmp_path):
    """A workspace with two clean entries: (folder, the one the tests change, the other)."""
    entry, other = make_clean_entry(), make_clean_entry()
    return make_workspace(tmp_path / "ws", entry, other), entry, other


@pytest.fixture
def one_entry(two_entries):
    folder, entry, _ = two_entries
    return folder, entry


def show(folder, key) -> dict:
    return as_json(run_cli("show", folder, key, "--json"))


# Version and init ----------------------------------------------------------------------------


def test_version_comes_from_the_package_metadata():
    result = ok(run_cli("--version"))
    assert result.stdout.strip() == f"steward {version('steward')}"


def test_init(tmp_path):
    folder = tmp_path / "new"
    result = ok(run_cli("init", folder, "--department-code", f" {DEPARTMENT_CODE.lower()} ",
                        "--department-name", "市场监管局", lang="zh"))
    assert result.stdout.strip() == f"已创建工作区 {folder}（市场监管局 {DEPARTMENT_CODE}）"
    with Workspace.open(folder) as ws:
        assert (ws.department_code, ws.department_name) == (DEPARTMENT_CODE, "市场监管局")


@pytest.mark.parametrize(
    ("lang", "message"),
    [("zh", f"部门代码“{BAD_CODE}”不是有效的统一社会信用代码"),
     ("en", f"Department code “{BAD_CODE}” is not a valid unified social credit code")],
    ids=["zh", "en"],
)
def test_init_with_a_bad_department_code(tmp_path, lang, message):
    folder = tmp_path / "new"
    result = ok(run_cli("init", folder, "--department-code", BAD_CODE, "--department-name", "局", lang=lang), 2)
    assert message in result.stderr
    assert result.stdout == ""
    assert not (folder / DB_FILE).exists()


def test_init_on_an_existing_workspace(one_entry):
    folder, _ = one_entry
    before = state(folder)
    result = ok(run_cli("init", folder, "--department-code", DEPARTMENT_CODE, "--department-name", "局", lang="zh"), 2)
    assert result.stderr.strip() == f"“{folder}”已经是一个工作区"
    assert state(folder) == before


# Sample and demo -----------------------------------------------------------------------------


def test_sample_adds_entries_numbered_after_the_last(tmp_path):
    existing = make_clean_entry()
    folder = make_workspace(tmp_path / "ws", existing)
    last = int(existing.code.split("/")[1])
    result = ok(run_cli("sample", folder, "--entries", "30", "--seed", "1"))
    assert result.stdout.strip() == "Generated 30 sample entries"
    conn = sqlite3.connect(folder / DB_FILE)
    try:
        codes = [row[0] for row in conn.execute("SELECT code FROM entries")]
        items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        reasons = {row[0] for row in conn.execute("SELECT reason FROM operations")}
    finally:
        conn.close()
    assert len(codes) == 31 and len(set(codes)) == 31
    assert sorted(int(c.split("/")[1]) for c in codes) == [last, *range(last + 1, last + 31)]
    assert items >= 30 * 12
    assert reasons == {"准备", "sample"}


def test_sample_needs_a_positive_count(tmp_path):
    folder = make_workspace(tmp_path / "ws")
    result = ok(run_cli("sample", folder, "--entries", "0", lang="zh"), 2)
    assert "条目数必须是正整数" in result.stderr


def test_demo_creates_a_sample_workspace_and_summarises_it(tmp_path):
    folder = tmp_path / "demo"
    result = ok(run_cli("demo", folder))
    lines = result.stdout.splitlines()
    assert lines[0] == f"Workspace {folder}"
    assert lines[1] == f"Department: {DEPARTMENT_NAME} ({DEPARTMENT_CODE})"
    assert lines[2].startswith("300 entries (0 retired), ")
    assert lines[3].endswith(" 300 unsynced")
    assert [line.split(":")[0] for line in lines[4:]] == ["Sharing type", "Open attribute", "Update frequency"]
    with Workspace.open(folder) as ws:
        assert ws.department_code == DEPARTMENT_CODE
        with ws.reading() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM entries").scalar() == 300


# Validate ------------------------------------------------------------------------------------


def test_validate_a_clean_workspace(tmp_path):
    folder = make_workspace(tmp_path / "ws", make_clean_entry(), make_clean_entry(), make_clean_entry())
    result = ok(run_cli("validate", folder))
    assert result.stdout.strip() == "3 entries, no errors (0 warnings)"
    report = as_json(run_cli("validate", folder, "--json"))
    assert report == {"entries": 3, "entries_with_errors": 0, "errors": 0, "warnings": 0, "problems": []}


def test_validate_with_warnings_only_passes(tmp_path):
    warned = make_clean_entry(classification="319002")  # code and classification disagree: a warning
    folder = make_workspace(tmp_path / "ws", warned, make_clean_entry())
    result = ok(run_cli("validate", folder, lang="zh"))
    assert "2 个条目均无错误（1 个警告）" in result.stdout
    assert "与信息资源分类“319002”不一致" in result.stdout


def test_validate_with_rule_errors(tmp_path):
    broken = make_clean_entry(name="", sharing_type="conditional")
    future = make_clean_entry(published="2999-01-01")
    folder = make_workspace(tmp_path / "ws", broken, make_clean_entry(), future)
    result = ok(run_cli("validate", folder, lang="zh"), 1)
    assert f"✗ {broken.code}  : 信息资源名称不能为空" in result.stdout
    assert "3 个条目中有 1 个存在错误：共 2 个错误、1 个警告" in result.stdout

    report = json.loads(ok(run_cli("validate", folder, "--json"), 1).stdout)
    assert set(report) == {"entries", "entries_with_errors", "errors", "warnings", "problems"}
    assert (report["entries"], report["entries_with_errors"], report["errors"], report["warnings"]) == (3, 1, 2, 1)
    keys = {"entry_id", "entry_code", "entry_name", "item_id", "field", "rule", "severity", "params", "message"}
    assert all(set(p) == keys for p in report["problems"])
    assert {(p["entry_id"], p["rule"], p["field"], p["severity"]) for p in report["problems"]} == {
        (broken.id, "required", "name", "error"),
        (broken.id, "sharing.conditions_required", "sharing_conditions", "error"),
        (future.id, "published.future", "published", "warning"),
    }
    required = next(p for p in report["problems"] if p["rule"] == "required")
    assert required["message"] == "Resource name is required" and required["params"] == {"field": "name"}
    assert required["entry_code"] == broken.code


def test_validate_a_missing_workspace(tmp_path):
    result = ok(run_cli("validate", tmp_path / "nowhere", lang="zh"), 2)
    assert "不是 Steward 工作区" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_validate_a_corrupt_file(tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / DB_FILE).write_text("这不是数据库" * 100, encoding="utf-8")
    result = ok(run_cli("validate", folder, lang="zh"), 2)
    assert "已损坏或不是 Steward 工作区" in result.stderr


def test_validate_a_newer_workspace(tmp_path):
    folder = make_workspace(tmp_path / "ws", make_clean_entry())
    mark_newer(folder)
    before = state(folder)
    result = ok(run_cli("validate", folder), 2)
    assert "made by a newer Steward (schema 9999)" in result.stderr
    assert state(folder) == before


# Search and show -----------------------------------------------------------------------------

ROW_KEYS = {"id", "code", "name", "classification", "sharing_type", "open_type", "update_frequency", "status",
            "problems", "errors", "changed"}


def test_search_json_and_limit(sampled, sampled_search):
    everything = sampled_search
    assert set(everything) == {"total", "results"}
    assert everything["total"] == 40 == len(everything["results"])
    assert all(set(row) == ROW_KEYS for row in everything["results"])
    assert all(row["changed"] is True for row in everything["results"])

    limited = as_json(run_cli("search", sampled, "--json", "--limit", "3"))
    assert limited["total"] == 40
    assert [r["id"] for r in limited["results"]] == [r["id"] for r in everything["results"][:3]]


def test_search_text_and_filters(sampled, sampled_search):
    everything = sampled_search["results"]
    text = as_json(run_cli("search", sampled, "企业登记", "--json", "--limit", "100"))
    expected = [r["id"] for r in everything if "企业登记" in r["name"]]
    assert expected and set(expected) <= {r["id"] for r in text["results"]}
    assert text["total"] == len(text["results"]) < 40
    # Filters take the words stewards use: 按需共享 is 有条件共享, 非开放 is 不予开放.
    shared = as_json(
        run_cli("search", sampled, "--sharing", "按需共享", "--open", "非开放", "--json", "--limit", "100")
    )
    assert shared["total"] == len([
        r for r in everything if r["sharing_type"] == "conditional" and r["open_type"] == "not_open"
    ]) > 0
    assert all(r["sharing_type"] == "conditional" and r["open_type"] == "not_open" for r in shared["results"])
    problems = as_json(run_cli("search", sampled, "--problems", "--classification", "3", "--json", "--limit", "100"))
    assert problems["total"] == len([r for r in everything if r["problems"] and r["classification"].startswith("3")])


def test_search_with_a_bad_filter_value(sampled):
    result = ok(run_cli("search", sampled, "--sharing", "随便", lang="zh"), 2)
    assert "可选值：无条件共享、有条件共享、不予共享" in result.stderr


def test_show_by_code_and_by_id(one_entry):
    folder, entry = one_entry
    by_code = show(folder, entry.code)
    by_id = show(folder, entry.id)
    assert by_code == by_id
    assert set(by_code) == {"entry", "problems"} and by_code["problems"] == []
    shown = by_code["entry"]
    assert (shown["id"], shown["code"], shown["name"], shown["version"], shown["revision"]) == (
        entry.id, entry.code, entry.name, 0, 1
    )
    assert [i["name"] for i in shown["items"]] == [i.name for i in entry.items]

    text = ok(run_cli("show", folder, f"  {entry.code} ", lang="zh")).stdout
    assert f"信息资源名称: {entry.name}" in text
    assert "共享类型: 无条件共享" in text
    assert "统一社会信用代码  字符型(18)" in text


def test_show_unknown_entry(one_entry):
    folder, _ = one_entry
    result = ok(run_cli("show", folder, "999999/999999", lang="zh"), 2)
    assert result.stderr.strip() == "找不到条目“999999/999999”"


# Set, pending, history -----------------------------------------------------------------------


def test_set_with_chinese_field_names_and_local_words(one_entry):
    folder, entry = one_entry
    result = ok(run_cli("set", folder, entry.code, "共享类型=按需共享", "开放属性=非开放", "更新周期=每周",
                        "信息资源名称= 企业登记信息(全量) ", "--reason", "按上级要求收紧", lang="zh"))
    assert f"已修改 4 处（{entry.code}）" in result.stdout
    assert "✗ 有条件共享须填写共享条件" in result.stdout  # the new problem is reported at once
    shown = show(folder, entry.id)
    data = shown["entry"]
    assert (data["sharing_type"], data["open_type"], data["update_frequency"], data["name"]) == (
        "conditional", "not_open", "weekly", "企业登记信息(全量)"
    )
    assert [p["rule"] for p in shown["problems"]] == ["sharing.conditions_required"]

    history = as_json(run_cli("history", folder, entry.code, "--json"))
    assert [(h["kind"], h["field"]) for h in history] == [
        ("create", None), ("set", "sharing_type"), ("set", "open_type"), ("set", "update_frequency"), ("set", "name"),
    ]
    changes = {h["field"]: h for h in history[1:]}
    assert (changes["sharing_type"]["old"], changes["sharing_type"]["new"]) == ("unconditional", "conditional")
    assert (changes["name"]["old"], changes["name"]["new"]) == (entry.name, "企业登记信息(全量)")
    assert {h["reason"] for h in history[1:]} == {"按上级要求收紧"}
    assert history[0]["reason"] == "准备"
    assert {h["revision"] for h in history[1:]} == {2}
    assert all(h["state"] == "pending" and h["base_version"] == 0 and h["author"] == history[0]["author"]
               for h in history)
    seqs = [h["seq"] for h in history]
    assert seqs == sorted(seqs)


def test_set_parses_values(one_entry):
    folder, entry = one_entry
    result = as_json(run_cli("set", folder, entry.code, "Sharing type=not shared", "open_type=受限开放",
                             "发布日期=2021/03/04", "信息资源代码=３１９００１／９９９１２３",
                             "关联资源代码=319001/000007、319001/000008", "共享方式分类=", "--reason", "依据新规定",
                             "--json"))
    assert result["operations"] == 6
    assert {p["rule"] for p in result["problems"]} == {
        "sharing.basis_required", "open.not_shared_but_open", "open.conditions_required"
    }
    data = show(folder, "319001/999123")["entry"]
    assert (data["id"], data["sharing_type"], data["open_type"], data["published"]) == (
        entry.id, "not_shared", "conditional", "2021-03-04"
    )
    assert data["related_codes"] == ["319001/000007", "319001/000008"]
    assert data["sharing_method_category"] is None


def test_set_data_items(two_entries):
    folder, entry, other = two_entries
    ok(run_cli("set", folder, entry.code, "items.2.数据长度=300", "items+=电子邮箱:字符型:100",
               "items.3.data_type=日期时间", "items-=1"))
    items = show(folder, entry.id)["entry"]["items"]
    assert [(i["name"], i["data_type"], i["length"], i["position"]) for i in items] == [
        ("机构名称", "C", 300, 2), ("登记日期", "T", 8, 3), ("电子邮箱", "C", 100, 4)
    ]
    pending = as_json(run_cli("pending", folder, "--json"))
    assert all(set(p) == {"entry_id", "kind", "field", "item_id", "before", "after", "base_version", "refused"}
               for p in pending)
    # Both entries are new (never synced), so the net change of each is its creation.
    assert sorted((p["entry_id"], p["kind"]) for p in pending) == sorted([(entry.id, "create"), (other.id, "create")])
    mine = next(p for p in pending if p["entry_id"] == entry.id)
    assert mine["before"] is None and mine["after"]["id"] == entry.id


def test_set_refuses_at_once_text_the_exchange_would_refuse(one_entry):
    """Too long, or a control character: refused with the field and the reason, and nothing at all is changed."""
    folder, entry = one_entry
    before = state(folder)
    too_long = ok(run_cli("set", folder, entry.code, "name=新名字", "abstract=" + "长" * 20_001), 2)
    assert too_long.stderr.strip() == (
        "Nothing was changed: Abstract is 20001 characters long; at most 20000 are allowed")
    control = ok(run_cli("set", folder, entry.code, "items.1.name=统一\x1b[31m代码", lang="zh"), 2)
    assert "未作修改" in control.stderr and "第1个信息项的信息项名称含有不允许的字符 U+001B" in control.stderr
    assert state(folder)[0] == before[0]
    ok(run_cli("set", folder, entry.code, "abstract=" + "长" * 20_000))  # the limit itself is allowed


def test_set_the_same_value_changes_nothing(one_entry):
    folder, entry = one_entry
    before = state(folder)
    result = ok(run_cli("set", folder, entry.code, f"name={entry.name}", "共享类型=普遍共享", lang="zh"))
    assert result.stdout.strip() == "没有变化"
    assert state(folder)[0] == before[0]


def test_pending_and_history_of_a_synced_entry(one_entry):
    folder, entry = one_entry
    with Workspace.open(folder) as ws:  # the exchange accepted everything (the real accept path, no network)
        accept_pending(ws)
    assert as_json(run_cli("pending", folder, "--json")) == []
    ok(run_cli("set", folder, entry.code, "信息资源名称=新名字", "--reason", "改名"))
    assert as_json(run_cli("pending", folder, "--json")) == [{
        "entry_id": entry.id, "kind": "set", "field": "name", "item_id": None, "before": entry.name,
        "after": "新名字", "base_version": 1, "refused": None,
    }]
    history = as_json(run_cli("history", folder, entry.id, "--json"))
    assert [h["state"] for h in history] == ["synced", "pending"]
    last = history[-1]
    assert (last["reason"], last["old"], last["new"], last["base_version"], last["revision"]) == (
        "改名", entry.name, "新名字", 1, 2
    )


@pytest.mark.parametrize(
    ("assignments", "lang", "message"),
    [
        (["信息资源名称=新名字", "共享类型=随便共享"], "zh",
         "共享类型不接受“随便共享”：可选值：无条件共享、有条件共享、不予共享"),
        (["信息资源名称=新名字", "共享类型=随便共享"], "en", "Sharing type does not accept “随便共享”"),
        (["信息资源名称=新名字", "no_such_field=1"], "en", "Unknown field “no_such_field”"),
        (["信息资源名称=新名字", "items.9.name=x"], "zh", "没有第9个信息项"),
        (["信息资源名称=新名字", "items.1.数据长度=十八"], "zh", "数据长度不接受“十八”：应为整数"),
    ],
    ids=["vocabulary-zh", "vocabulary-en", "unknown-field", "no-such-item", "not-a-number"],
)
def test_set_refuses_bad_input_and_changes_nothing(one_entry, assignments, lang, message):
    folder, entry = one_entry
    before = state(folder)
    result = ok(run_cli("set", folder, entry.code, *assignments, lang=lang), 2)
    assert message in result.stderr
    assert result.stdout == ""
    assert state(folder) == before


def test_history_plain_output(one_entry):
    folder, entry = one_entry
    ok(run_cli("set", folder, entry.code, "信息资源名称=新名字", "--reason", "更正名称"))
    lines = ok(run_cli("history", folder, entry.code)).stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("r1 ") and " create " in lines[0]
    assert lines[1].startswith("r2 ") and f"{entry.name} → 新名字" in lines[1] and lines[1].endswith("(更正名称)")


def test_set_refuses_a_tightening_without_a_reason(one_entry):
    folder, entry = one_entry
    done = run_cli("set", folder, entry.code, "共享类型=不予共享", lang="zh")
    assert done.returncode == 2
    assert "理由" in done.stderr and "Traceback" not in done.stderr
    assert show(folder, entry.code)["entry"]["sharing_type"] == entry.sharing_type


# Export: what is published -------------------------------------------------------------------


def test_export_leaves_out_entries_with_rule_errors_and_says_which(tmp_path):
    good, broken = make_clean_entry(), make_clean_entry(open_type="conditional", open_conditions="")
    folder = make_workspace(tmp_path / "ws", good, broken, make_clean_entry(open_type="not_open"))
    report = as_json(run_cli("export", folder, tmp_path / "data.json", "--json"))
    assert (report["written"], report["left_out_closed"], report["left_out_errors"]) == (1, 1, 1)
    assert report["left_out_for_errors"] == [broken.code]
    assert [d["identifier"] for d in json.loads((tmp_path / "data.json").read_text("utf-8"))["dataset"]] == [good.code]
    text = ok(run_cli("export", folder, tmp_path / "c.jsonld", lang="zh")).stdout
    assert f"1 个条目违反编目规则，未导出：{broken.code}" in text
    assert "steward validate" in text
    text = ok(run_cli("export", folder, tmp_path / "c.jsonld")).stdout
    assert f"1 entries break catalogue rules and were left out: {broken.code}" in text


# Read-only workspaces ------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_read_only_workspace_answers_reads_and_refuses_writes(tmp_path, what):
    entry, broken = make_clean_entry(), make_clean_entry(open_type="conditional", open_conditions="")
    folder = make_workspace(tmp_path / "ws", entry, broken)
    before = state(folder)
    with read_only(folder / DB_FILE if what == "file" else folder):
        assert as_json(run_cli("info", folder, "--json"))["entries"] == 2
        assert as_json(run_cli("search", folder, "--json"))["total"] == 2
        assert as_json(run_cli("show", folder, entry.code, "--json"))["entry"]["name"] == entry.name
        assert as_json(run_cli("export", folder, tmp_path / "data.json", "--json"))["written"] == 1
        assert json.loads(ok(run_cli("validate", folder, "--json"), 1).stdout)["entries_with_errors"] == 1
        for command in (["set", folder, entry.code, "信息资源名称=新名字"], ["sample", folder, "--entries", "3"],
                        ["import", folder, tmp_path / "目录.xlsx"], ["resolve", folder, entry.code, "--take", "mine"],
                        ["sync", folder, "--exchange", "http://127.0.0.1:9"], ["keys", "new", folder]):
            refused = ok(run_cli(*command, lang="zh"), 2)
            assert f"工作区“{folder}”是只读的" in refused.stderr, command
        refused = ok(run_cli("set", folder, entry.code, "信息资源名称=新名字"), 2)
        assert f"The workspace “{folder}” is read-only" in refused.stderr
    assert sorted(p.name for p in folder.iterdir()) == [DB_FILE]
    assert state(folder) == before


def test_info_on_an_empty_file_says_it_is_no_workspace_and_leaves_it_empty(tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / DB_FILE).touch()
    result = ok(run_cli("info", folder, lang="zh"), 2)
    assert "已损坏或不是 Steward 工作区" in result.stderr and "空文件" in result.stderr
    assert [(p.name, p.stat().st_size) for p in folder.iterdir()] == [(DB_FILE, 0)]


def test_template_given_a_folder_says_a_file_is_wanted(tmp_path):
    result = ok(run_cli("template", tmp_path, lang="zh"), 2)
    assert f"“{tmp_path}”是文件夹" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_template_and_init_in_a_read_only_folder_say_so(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    with read_only(folder):
        result = ok(run_cli("template", folder / "编目模板.xlsx", lang="zh"), 2)
        assert f"无法写入“{folder / '编目模板.xlsx'}”：没有权限" in result.stderr
        for target in (folder, folder / "ws"):
            result = ok(run_cli("init", target, "--department-code", DEPARTMENT_CODE,
                                "--department-name", DEPARTMENT_NAME, lang="zh"), 2)
            assert f"无法在“{target}”创建工作区：没有权限" in result.stderr
    assert list(folder.iterdir()) == []


# The user's language -------------------------------------------------------------------------

# Three English words in a row: a sentence that bypassed the messages (command names aside).
ENGLISH = re.compile(r"\b(?!steward\b)[A-Za-z][a-z]+ [a-z]{2,} [a-z]{2,}\b")
HAN = re.compile(r"[\u4e00-\u9fff]")


def run_in_locale(*args, **variables: str) -> subprocess.CompletedProcess[str]:
    """The command line as a person on a system with these locale variables runs it (no STEWARD_LANG)."""
    env = {k: v for k, v in steward_env().items()
           if k not in ("STEWARD_LANG", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    return subprocess.run([sys.executable, "-m", "steward", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env={**env, **variables}, timeout=120, check=False)


def test_a_chinese_locale_gets_every_message_in_chinese(tmp_path):
    entry, broken = make_clean_entry(), make_clean_entry(open_type="conditional", open_conditions="")
    folder = make_workspace(tmp_path / "ws", entry, broken)
    runs = {
        "help": (0, ["--help"]), "init help": (0, ["init", "--help"]), "export help": (0, ["export", "--help"]),
        "sync help": (0, ["sync", "--help"]), "missing arguments": (2, ["init"]),
        "unknown command": (2, ["frob"]), "bad number": (2, ["search", folder, "--limit", "many"]),
        "bad choice": (2, ["export", folder, tmp_path / "x", "--format", "pdf"]),
        "unknown option": (2, ["info", folder, "--colour"]),
        "no workspace": (2, ["validate", tmp_path / "nowhere"]), "validate": (1, ["validate", folder]),
        "info": (0, ["info", folder]), "show": (0, ["show", folder, entry.code]),
        "search": (0, ["search", folder]), "history": (0, ["history", folder, entry.code]),
        "pending": (0, ["pending", folder]), "export": (0, ["export", folder, tmp_path / "data.json"]),
        "template": (0, ["template", tmp_path / "编目模板.xlsx"]),
    }
    # LC_ALL leads LANG: a few commands show it (which variable counts is tested in-process below).
    lc_all = {"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}
    for variables, names in (({"LANG": "zh_CN.UTF-8"}, list(runs)), (lc_all, ["help", "missing arguments", "show"])):
        for name in names:
            code, args = runs[name]
            result = ok(run_in_locale(*args, **variables), code)
            said = result.stdout + result.stderr
            assert HAN.search(said), (name, said)
            assert not ENGLISH.search(said), (name, ENGLISH.search(said), said)
            assert "usage:" not in said and "error:" not in said and "version:" not in said, (name, said)


def test_an_english_or_unset_locale_gets_english(tmp_path):
    for variables in ({"LANG": "en_US.UTF-8"}, {"LC_ALL": "C"}, {"LC_ALL": "C.UTF-8", "LANGUAGE": "zh_CN"}):
        result = ok(run_in_locale("init", **variables), 2)
        assert "the following arguments are required: dir" in result.stderr, variables
        assert not HAN.search(result.stderr)


@pytest.mark.parametrize(("variables", "lang"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "en"),
    ({"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8", "LANGUAGE": "zh_CN:en"}, "zh"),  # GNU: LANGUAGE leads for messages
    ({"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, "en"),  # ... except in the C locale
    ({"LANGUAGE": "zh_CN"}, "en"),  # no locale at all is the C locale
    ({"STEWARD_LANG": "zh", "LANG": "en_US.UTF-8"}, "zh"),
    ({"STEWARD_LANG": "en", "LC_ALL": "zh_CN.UTF-8"}, "en"),
], ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={x}" for k, x in v.items()))
def test_the_language_follows_the_locale_as_gettext_does(monkeypatch, variables, lang):
    for name in ("STEWARD_LANG", "LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert messages.language() == lang


@pytest.mark.parametrize(
    ("assignments", "lang", "message"),
    [
        (["共享类型=不予共享", "共享条件=依据保密法"], "zh", "理由不能为空白"),  # a tightening
        (["信息资源名称=新名字"], "en", "The reason cannot be blank"),  # blank even where none is needed
    ],
    ids=["tightening", "not-needed"],
)
def test_set_refuses_a_blank_reason_and_changes_nothing(one_entry, assignments, lang, message):
    folder, entry = one_entry
    before = state(folder)
    result = ok(run_cli("set", folder, entry.code, *assignments, "--reason", "   ", lang=lang), 2)
    assert message in result.stderr and result.stdout == ""
    assert state(folder) == before


def test_set_refuses_a_data_item_made_more_restrictive_without_a_reason(one_entry):
    folder, entry = one_entry
    before = state(folder)
    result = ok(run_cli("set", folder, entry.code, "items.1.open_type=不予开放", lang="zh"), 2)
    assert "信息项" in result.stderr and "理由" in result.stderr
    assert state(folder) == before
    ok(run_cli("set", folder, entry.code, "items.1.open_type=不予开放", "--reason", "含身份证号"))
    last = as_json(run_cli("history", folder, entry.code, "--json"))[-1]
    assert (last["field"], last["new"], last["reason"]) == ("open_type", "not_open", "含身份证号")
