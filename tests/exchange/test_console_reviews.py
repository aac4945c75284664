"""The console's 审核 page against a real exchange (SQLite and PostgreSQL): the queue of sharing requests waiting
for the data authority with their due dates, a request's signed trail, and reviews and outcomes signed by the
exchange's key naming the console account; refused without a reason, a CSRF token or a session, and when someone
else decided first, with nothing recorded."""

from __future__ import annotations

import html
import json
import re
import string
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import text

from exchange import accounts, admin_log, server_key, sharing
from exchange.console import reviews
from exchange.console.texts import TEXTS
from steward import sample
from steward.catalogue.messages import render
from steward.sync import changeset
from steward.sync.requests import documents as docs
from steward.sync.requests.documents import Application, Decision, DecisionVerdict, Escalation, Review, ReviewVerdict
from steward.sync.working_days import WorkingCalendar, china_date, working_days_between

PROVIDER, USING = sample.DEPARTMENTS[0], sample.DEPARTMENTS[2]
ADMIN, REVIEWER, PASSWORD = "王五", "赵六", "correct horse battery"
SCRIPT = "<script>alert(1)</script>"


class Console:
    """A logged-in browser-like session: its cookies, and the CSRF token its pages carry."""

    def __init__(self, url: str, account: str, lang: str = "zh") -> None:
        self.url = url
        self.http = requests.Session()
        self.http.cookies.set("steward_console_lang", lang, path="/console")
        login = self.http.get(f"{url}/console/login", timeout=30)
        answer = self.http.post(f"{url}/console/login", allow_redirects=False, timeout=30, data={
            "csrf": _csrf(login.text), "account": account, "password": PASSWORD})
        assert answer.status_code == 303, answer.text
        self.csrf = _csrf(self.get("/console/overview").text)

    def get(self, path: str) -> requests.Response:
        return self.http.get(f"{self.url}{path}", timeout=30, allow_redirects=False)

    def decide(self, request_id: str, verdict: str, csrf: str | None = "", **fields: str) -> requests.Response:
        data = {"verdict": verdict, **fields}
        if csrf is not None:
            data["csrf"] = csrf or self.csrf
        return self.http.post(f"{self.url}/console/reviews/{request_id}", data=data, allow_redirects=False,
                              timeout=30)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


@pytest.fixture(scope="module")
def cast(server):
    for name, role in ((ADMIN, accounts.Role.ADMIN), (REVIEWER, accounts.Role.REVIEWER)):
        accounts.add(server.engine, name, role, PASSWORD)
    provider, using = server.steward(PROVIDER), server.steward(USING)
    entry = provider.entry(sharing_type="conditional", sharing_conditions="经审批后共享", open_type="not_open")
    status, _ = provider.client.push(provider.changeset([changeset.op_create(entry)]))
    assert status == 201
    return provider, using, entry


def _application(using, entry, purpose: str = "核验企业登记信息") -> docs.Step:
    return docs.open_request(Application(
        entry_id=entry.id, entry_code=entry.code, provider=entry.provider_code, purpose=purpose,
        scenario="网约车驾驶员背景核查", items=(entry.items[0].id,), until="2099-12-31", author="李四"),
        using.key, using.department)


def _submitted(server, cast, purpose: str = "核验企业登记信息", made: datetime | None = None) -> str:
    """A request the using department sent (at `made`, stamped then by the exchange's clock, if given)."""
    _provider, using, entry = cast
    step = _application(using, entry, purpose)
    if made is None:
        assert using.client.submit_step(step)["status"] == "submitted"
    else:
        sharing.record(server.engine, server_key.load(server.key_file), step, clock=lambda: made)
    return step.request_id


def _escalated(server, cast) -> str:
    provider, using, _entry = cast
    request_id = _submitted(server, cast)
    key = server_key.load(server.key_file)
    sharing.authority_step(server.engine, key, request_id, Review(verdict=ReviewVerdict.PASS, reviewer="钱七"))
    refusal = docs.follow(sharing.last_step(server.engine, request_id),
                          Decision(verdict=DecisionVerdict.REFUSE, reason="涉及个人信息", author="张三"),
                          provider.key, provider.department)
    assert provider.client.submit_step(refusal)["status"] == "refused"
    escalation = docs.follow(refusal.sealed, Escalation(reason="履行法定职责所必需", author="李四"), using.key,
                             using.department)
    assert using.client.submit_step(escalation)["status"] == "escalated"
    return request_id


def _status(server, request_id: str) -> str:
    with server.engine.connect() as conn:
        return conn.execute(text("SELECT status FROM sharing_requests WHERE request_id = :r"),
                            {"r": request_id}).scalar_one()


def _last_body(server, request_id: str) -> tuple[str, dict]:
    """The key that signed the request's last step, and what the step says."""
    with server.engine.connect() as conn:
        document = conn.execute(text("SELECT document FROM sharing_steps WHERE request_id = :r ORDER BY seq DESC "
                                     "LIMIT 1"), {"r": request_id}).scalar_one()
    step = json.loads(document)
    return step["key_id"], step["body"]


def _admin_records(server) -> list[admin_log.AdminRecord]:
    """The administration log, oldest first."""
    with server.engine.connect() as conn:
        return list(reversed(admin_log.records(conn, 10_000)))


def _row(page: str, request_id: str) -> str | None:
    found = re.search(rf'<tr data-request="{request_id}"[^>]*>.*?</tr>', page, re.S)
    return found.group(0) if found else None


def _queue_ids(console: Console) -> set[str]:
    ids: set[str] = set()
    for number in range(1000):
        page = console.get(f"/console/reviews?page={number}")
        assert page.status_code == 200
        ids |= set(re.findall(r'<tr data-request="([^"]+)"', page.text))
        if "?page=" + str(number + 1) not in page.text:
            return ids
    raise AssertionError("the queue does not end")


# The queue ------------------------------------------------------------------------------------


def test_the_queue_lists_exactly_the_waiting_requests_with_due_dates_and_the_overdue_marked(server, cast):
    now = datetime.now(UTC)
    fresh = _submitted(server, cast)
    late = _submitted(server, cast, made=now - timedelta(days=20))
    escalated = _escalated(server, cast)
    rejected = _submitted(server, cast)
    sharing.authority_step(server.engine, server_key.load(server.key_file), rejected,
                           Review(verdict=ReviewVerdict.REJECT, reason="用途与职责不符", reviewer="钱七"))
    passed = _submitted(server, cast)
    sharing.authority_step(server.engine, server_key.load(server.key_file), passed,
                           Review(verdict=ReviewVerdict.PASS, reviewer="钱七"))

    console = Console(server.url, REVIEWER)
    waiting = {r.request_id for r in sharing.requests(server.engine)}  # what `steward-exchange review list` lists
    assert {fresh, late, escalated} <= waiting and not {rejected, passed} & waiting
    assert _queue_ids(console) == waiting

    page = console.get("/console/reviews").text
    assert 'href="/console/reviews"' in page  # the nav, for a reviewer too
    calendar, today = WorkingCalendar(), china_date(datetime.now(UTC))
    with server.engine.connect() as conn:
        dues = dict(conn.execute(text("SELECT request_id, due FROM sharing_requests")).all())
    late_days = -working_days_between(today, date.fromisoformat(dues[late]), calendar)
    assert late_days > 0
    late_row = _row(page, late)
    assert 'class="late"' in late_row and f"{dues[late]}，已逾期 {late_days} 个工作日" in late_row
    fresh_days = working_days_between(today, date.fromisoformat(dues[fresh]), calendar)
    assert f"{dues[fresh]}（还剩 {fresh_days} 个工作日）" in _row(page, fresh)
    assert 'class="late"' not in _row(page, fresh)
    fresh_row = _row(page, fresh)
    for shown in (PROVIDER.name, USING.name, cast[2].code, cast[2].name, cast[2].items[0].name, "核验企业登记信息",
                  "网约车驾驶员背景核查", "2099-12-31", "待审查"):
        assert shown in fresh_row, shown
    assert "协调中" in _row(page, escalated)
    assert page.index(late) < page.index(fresh)  # the most urgent first
    total, overdue = len(waiting), len([i for i in waiting if dues[i] and date.fromisoformat(dues[i]) < today])
    assert f"待审核或待协调的共享申请 {total} 件，其中逾期 {overdue} 件。" in page

    overview = console.get("/console/overview").text
    for card in ("reviews-waiting", "reviews-overdue"):
        found = re.search(rf'id="{card}"><a href="/console/reviews"><span class="figure[^"]*">(\d+)</span>', overview)
        assert found, card
    assert int(re.search(r'id="reviews-waiting">.*?(\d+)</span>', overview).group(1)) == total
    assert int(re.search(r'id="reviews-overdue">.*?(\d+)</span>', overview).group(1)) == overdue


def test_the_queue_is_paged(server, cast):
    for _ in range(reviews.PAGE + 1):
        _submitted(server, cast)
    console = Console(server.url, REVIEWER)
    first = console.get("/console/reviews").text
    assert len(re.findall(r"<tr data-request=", first)) == reviews.PAGE
    assert "/console/reviews?page=1" in first
    second = console.get("/console/reviews?page=1").text
    assert 1 <= len(re.findall(r"<tr data-request=", second)) <= reviews.PAGE
    assert not set(re.findall(r'<tr data-request="([^"]+)"', first)) & set(
        re.findall(r'<tr data-request="([^"]+)"', second))


# Reviewing ------------------------------------------------------------------------------------


def test_a_reviewer_passes_a_request_and_the_signed_step_names_the_account(server, cast):
    request_id = _submitted(server, cast)
    console = Console(server.url, REVIEWER)
    page = console.get(f"/console/reviews/{request_id}").text
    assert 'id="pass"' in page and 'id="reject"' in page and 'id="settle"' not in page
    answer = console.decide(request_id, "pass")
    assert (answer.status_code, answer.headers["location"]) == (303, f"/console/reviews/{request_id}?done=pass")
    assert _status(server, request_id) == "awaiting_decision"
    key_id, body = _last_body(server, request_id)
    assert (key_id, body["verdict"], body["reviewer"]) == (server.public.key_id, "pass", REVIEWER)
    record = _admin_records(server)[-1]  # and, like every console action, in the administration log
    assert (record.action, record.account, record.details["request_id"], record.details["status"]) == (
        "request.review", REVIEWER, request_id, "awaiting_decision")
    assert server.verify_log() == []
    shown = console.get(f"/console/reviews/{request_id}?done=pass").text
    assert "已通过符合性审查，申请现为“待提供部门答复”。" in shown
    assert f"数据主管部门（交换平台）· 审查人 {REVIEWER}" in shown
    assert 'id="pass"' not in shown  # nothing left for the authority to do
    assert request_id not in _queue_ids(console)
    # 日志 lists the steps among the changesets, at their positions, each linking to its request.
    log = console.get("/console/log").text
    rows = [row for row in re.findall(r"<tr>(.*?)</tr>", log, re.S) if f"/console/reviews/{request_id}" in row]
    assert len(rows) == 2, log[:3000]
    assert render("request.kind.review", None, "zh") in rows[0] and "交换平台" in rows[0]
    assert render("request.kind.request", None, "zh") in rows[1]


def test_a_rejection_and_an_outcome_need_their_reason_and_nothing_is_recorded_without(server, cast):
    submitted, escalated = _submitted(server, cast), _escalated(server, cast)
    console = Console(server.url, ADMIN)
    records = len(_admin_records(server))
    with server.unchanged():
        refused = console.decide(submitted, "reject", reason="   ")
        assert refused.status_code == 422
        assert "请填写理由：驳回和协调结果都须说明理由。未记录任何内容。" in refused.text
        refused = console.decide(escalated, "deny", reason="")
        assert refused.status_code == 422 and "请填写理由" in refused.text
        refused = console.decide(escalated, "deny", reason="维持", conditions="仅用于核查")
        assert refused.status_code == 422 and "只有同意共享时才能附加条件" in refused.text
        assert 'id="settle"' in refused.text and "维持" in refused.text  # the form keeps what was typed
        refused = console.decide(submitted, "reject", reason="理" * (reviews.MAX_REASON + 1))
        assert refused.status_code == 422 and f"理由和条件各不超过 {reviews.MAX_REASON} 个字" in refused.text
    assert (_status(server, submitted), _status(server, escalated)) == ("submitted", "escalated")
    assert len(_admin_records(server)) == records

    assert console.decide(submitted, "reject", reason="用途与职责不符").status_code == 303
    assert _status(server, submitted) == "rejected"
    assert _last_body(server, submitted)[1]["reason"] == "用途与职责不符"
    assert console.decide(escalated, "grant", reason="依法应予共享", conditions="仅用于背景核查").status_code == 303
    assert _status(server, escalated) == "granted"
    _key_id, body = _last_body(server, escalated)
    assert (body["verdict"], body["conditions"], body["reviewer"]) == ("grant", "仅用于背景核查", ADMIN)
    assert [(r.action, r.account, r.details["verdict"]) for r in _admin_records(server)[-2:]] == [
        ("request.review", ADMIN, "reject"), ("request.outcome", ADMIN, "grant")]
    log_page = console.get("/console/log").text
    assert "审查共享申请" in log_page and "记录协调结果" in log_page
    trail = console.get(f"/console/reviews/{escalated}").text
    for said in ("共享申请", "合规审查", "答复", "申请协调", "协调结果", "审查人 钱七", f"审查人 {ADMIN}",
                 "理由：涉及个人信息", "条件：仅用于背景核查", "同意共享"):
        assert said in trail, said
    assert server.verify_log() == []


def test_a_second_decision_is_refused_clearly_and_records_nothing(server, cast):
    request_id = _submitted(server, cast)
    first, second = Console(server.url, REVIEWER), Console(server.url, ADMIN)
    assert first.decide(request_id, "pass").status_code == 303
    records = len(_admin_records(server))
    with server.unchanged():
        late = second.decide(request_id, "reject", reason="用途与职责不符")
        assert late.status_code == 409
        assert "未能记录：该申请已由他人处理或已撤回，现为“待提供部门答复”。未记录任何内容。" in late.text
        english = Console(server.url, ADMIN, lang="en").decide(request_id, "pass")
        assert english.status_code == 409
        assert "someone else already answered this request" in english.text
        assert second.decide("0" * 8 + "-0000-4000-8000-" + "0" * 12, "pass").status_code == 404
    assert _last_body(server, request_id)[1]["reviewer"] == REVIEWER
    assert len(_admin_records(server)) == records


def test_without_a_csrf_token_or_a_session_nothing_is_recorded(server, cast):
    request_id = _submitted(server, cast)
    console = Console(server.url, REVIEWER)
    with server.unchanged():
        assert console.decide(request_id, "pass", csrf=None).status_code == 403
        assert console.decide(request_id, "pass", csrf="not the token").status_code == 403
        for path in ("/console/reviews", f"/console/reviews/{request_id}"):
            answer = requests.get(f"{server.url}{path}", allow_redirects=False, timeout=30)
            assert (answer.status_code, answer.headers["location"]) == (
                303, "/console/login?next=" + path.replace("/", "%2F"))
        answer = requests.post(f"{server.url}/console/reviews/{request_id}", allow_redirects=False, timeout=30,
                               data={"csrf": console.csrf, "verdict": "pass"})
        assert (answer.status_code, answer.headers["location"].startswith("/console/login")) == (303, True)
    assert _status(server, request_id) == "submitted"


def test_a_purpose_holding_script_is_shown_as_text(server, cast):
    request_id = _submitted(server, cast, purpose=SCRIPT)
    console = Console(server.url, REVIEWER)
    for page in (console.get(f"/console/reviews/{request_id}").text, _all_queue_pages(console)):
        assert html.escape(SCRIPT, quote=False) in page
        assert SCRIPT not in page


def _all_queue_pages(console: Console) -> str:
    pages, number = [], 0
    while True:
        page = console.get(f"/console/reviews?page={number}").text
        pages.append(page)
        if f"?page={number + 1}" not in page:
            return "".join(pages)
        number += 1


def test_every_console_text_is_in_both_languages_with_full_width_chinese_punctuation():
    for key, (zh, en) in TEXTS.items():
        assert zh and en, key
        assert not set(zh) & set(",:;?!()"), (key, zh)
        assert {n for _, n, _, _ in string.Formatter().parse(zh) if n} == \
            {n for _, n, _, _ in string.Formatter().parse(en) if n}, key
