"""`steward request …` and `steward-exchange review …`: the sharing workflow on the command line, against a real
exchange (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from exchange import cli as exchange_cli
from steward import cli, sample
from steward.workspace import journal
from steward.workspace.journal import CreateEntry
from tests.helpers import make_clean_entry

PROVIDER, USING = sample.DEPARTMENTS[0], sample.DEPARTMENTS[2]


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    monkeypatch.setenv("STEWARD_LANG", "en")


def _run(capsys, *args: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _review(exchange, capsys, *args: str) -> str:
    local, _ = exchange
    code = exchange_cli.main(["review", *args, "--db", local.db_url, "--key-file", str(local.key_file)])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_the_whole_workflow_on_the_command_line(exchange, make_steward, capsys):
    provider, using = make_steward(PROVIDER), make_steward(USING)
    entry = make_clean_entry(provider=PROVIDER.name, provider_code=PROVIDER.code, sharing_type="conditional",
                             sharing_conditions="经审批后共享", open_type="not_open")
    journal.apply(provider.ws, [CreateEntry(entry)])
    provider.sync()
    using.sync()

    code, out, err = _run(capsys, "request", "new", using.ws.folder, entry.code, "--purpose", "核验企业登记信息",
                          "--scenario", "背景核查", "--items", "统一社会信用代码,机构名称", "--until", "2099-12-31")
    assert code == 0, err
    request_id = out.splitlines()[0]
    assert "sent at the next sync" in out
    code, out, _ = _run(capsys, "request", "list", using.ws.folder, "--mine", "--json")
    [mine] = [r for r in json.loads(out) if r["request_id"] == request_id]
    assert mine["status"] == "unsent"
    using.sync()

    # The data authority lists what waits for it and passes the compliance review.
    local, _ = exchange
    assert exchange_cli.main(["review", "list", "--db", local.db_url]) == 0
    assert request_id in capsys.readouterr().out
    _review(exchange, capsys, "pass", request_id, "--reviewer", "王五")

    provider.sync()
    code, out, _ = _run(capsys, "request", "list", provider.ws.folder, "--inbox", "--json")
    [waiting] = [r for r in json.loads(out) if r["request_id"] == request_id]
    assert (waiting["status"], waiting["overdue"]) == ("awaiting_decision", False)
    code, out, _ = _run(capsys, "request", "list", provider.ws.folder, "--inbox", "--overdue", "--json")
    assert request_id not in out
    # A refusal needs a reason that says something: exit 2, nothing signed.
    code, _, err = _run(capsys, "request", "refuse", provider.ws.folder, request_id, "--reason", "  ")
    assert code == 2 and "cannot be empty" in err
    code, out, err = _run(capsys, "request", "refuse", provider.ws.folder, request_id, "--reason", "涉及个人信息")
    assert code == 0, err
    provider.sync()
    using.sync()

    code, _, err = _run(capsys, "request", "escalate", using.ws.folder, request_id, "--reason", "履行法定职责所必需")
    assert code == 0, err
    using.sync()
    _review(exchange, capsys, "settle", request_id, "--deny", "--reason", "维持不予共享", "--reviewer", "王五")
    using.sync()

    code, out, _ = _run(capsys, "request", "show", using.ws.folder, request_id, "--json")
    detail = json.loads(out)
    assert detail["status"] == "denied"
    assert [(s["kind"], s["verified"]) for s in detail["trail"]] == [
        ("request", True), ("review", True), ("decision", True), ("escalation", True), ("outcome", True)]
    assert len(detail["items"]) == 2
    code, out, _ = _run(capsys, "request", "show", using.ws.folder, request_id)
    assert "denied after escalation" in out and "王五" in out and "涉及个人信息" in out

    # A settled request takes no more steps: withdrawing it is refused at once.
    code, _, err = _run(capsys, "request", "withdraw", using.ws.folder, request_id)
    assert code == 2 and "settled" in err


def test_request_list_and_show_name_the_departments_and_show_a_code_until_named(exchange, make_steward, capsys,
                                                                               monkeypatch):
    provider, using = make_steward(PROVIDER), make_steward(USING)
    entry = make_clean_entry(provider=PROVIDER.name, provider_code=PROVIDER.code, sharing_type="conditional",
                             sharing_conditions="经审批后共享", open_type="not_open")
    journal.apply(provider.ws, [CreateEntry(entry)])
    provider.sync()
    using.sync()
    code, out, err = _run(capsys, "request", "new", using.ws.folder, entry.code, "--purpose", "核验企业登记信息",
                          "--scenario", "背景核查")
    assert code == 0, err
    request_id = out.splitlines()[0]
    using.sync()
    _review(exchange, capsys, "pass", request_id, "--reviewer", "王五")
    provider.sync()

    using_label, provider_label = f"{USING.name} ({USING.code})", f"{PROVIDER.name} ({PROVIDER.code})"
    code, out, _ = _run(capsys, "request", "list", provider.ws.folder, "--inbox")
    [row] = [line for line in out.splitlines() if request_id in line]
    assert f"{using_label} → {provider_label}" in row
    code, out, _ = _run(capsys, "request", "list", provider.ws.folder, "--inbox", "--json")
    [listed] = [r for r in json.loads(out) if r["request_id"] == request_id]
    assert (listed["requester"], listed["requester_name"]) == (USING.code, USING.name)
    assert (listed["provider"], listed["provider_name"]) == (PROVIDER.code, PROVIDER.name)
    code, out, _ = _run(capsys, "request", "show", provider.ws.folder, request_id)
    assert f"provided by: {provider_label}" in out and f"requested by: {using_label}" in out
    [asked] = [line for line in out.splitlines() if line.strip().startswith("1.")]
    assert f"({USING.name}, {USING.code})" in asked  # who signed the request, for which department
    code, out, _ = _run(capsys, "request", "show", provider.ws.folder, request_id, "--json")
    assert json.loads(out)["trail"][0]["department_name"] == USING.name

    monkeypatch.setenv("STEWARD_LANG", "zh")  # in Chinese: full-width parentheses and comma
    code, out, _ = _run(capsys, "request", "show", provider.ws.folder, request_id)
    assert f"申请部门：{USING.name}（{USING.code}）" in out and f"（{USING.name}，{USING.code}）" in out
    monkeypatch.setenv("STEWARD_LANG", "en")

    # A workspace that has not synced since it learnt to keep names (migrated from before): the other
    # department by its code, as it is; its own by the name the workspace was made with.
    with provider.ws.writing() as conn:
        conn.exec_driver_sql("DELETE FROM departments")
    code, out, _ = _run(capsys, "request", "list", provider.ws.folder, "--inbox")
    [row] = [line for line in out.splitlines() if request_id in line]
    assert f"  {USING.code} → {provider_label}" in row and USING.name not in row
    code, out, _ = _run(capsys, "request", "list", provider.ws.folder, "--inbox", "--json")
    [listed] = [r for r in json.loads(out) if r["request_id"] == request_id]
    assert listed["requester_name"] is None
    provider.sync()  # the next sync names it again
    code, out, _ = _run(capsys, "request", "list", provider.ws.folder, "--inbox")
    assert using_label in out
