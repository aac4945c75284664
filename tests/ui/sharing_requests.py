"""A sharing request as the lists and the trail show it, for the tests that read the dialogs' words."""

from __future__ import annotations

from steward import sample
from steward.sync.requests.inbox import Answer, RequestDetail, RequestSummary, TrailStep
from ui.request_trail import TrailRead
from ui.requests_view import RequestRow

PROVIDER, USING = sample.DEPARTMENTS[0].code, sample.DEPARTMENTS[2].code
PROVIDER_NAME, USING_NAME = sample.DEPARTMENTS[0].name, sample.DEPARTMENTS[2].name


def summary(status: str = "awaiting_decision", overdue: bool = False, named: bool = True) -> RequestSummary:
    """A request waiting for the provider's answer (due in 5 working days, or 2 overdue), or answered (nothing due);
    its departments named as the exchange names them, or (`named` false) not named yet."""
    waiting = status == "awaiting_decision"
    return RequestSummary("0190b6a2-0000-7000-8000-000000000001", "inbox", status, USING, PROVIDER,
                          "0190b6a2-0000-7000-8000-000000000002", "319002/000901", "核验企业登记信息",
                          "网约车驾驶员背景核查",
                          "2027-12-31", ("2026-12-04" if overdue else "2026-12-14") if waiting else None,
                          (-2 if overdue else 5) if waiting else None, overdue,
                          "2026-12-01T02:00:00Z", "2026-12-02T02:00:00Z", 0, USING_NAME if named else None,
                          PROVIDER_NAME if named else None)


def rows() -> list[RequestRow]:
    answered = Answer("decision", "张三", PROVIDER, "仅用于背景核查", "", PROVIDER_NAME)
    return [RequestRow(summary(overdue=True), None), RequestRow(summary(), None),
            RequestRow(summary("approved"), answered)]


def trail() -> TrailRead:
    steps = [
        TrailStep(1, "request", USING, "a" * 32, "李四", {"purpose": "核验企业登记信息"}, "2026-12-01T02:00:00Z",
                  "2026-12-03", 7, True, "accepted", None, USING_NAME),
        TrailStep(2, "review", None, "b" * 32, "王五", {"verdict": "pass", "reviewer": "王五"},
                  "2026-12-02T02:00:00Z", "2026-12-09", 9, True, None),
        TrailStep(3, "decision", PROVIDER, "c" * 32, "张三", {"verdict": "refuse", "reason": "涉及个人信息"},
                  None, None, None, False, "ready", None, PROVIDER_NAME),
    ]
    return TrailRead(RequestDetail(summary(), ["0190b6a2-0000-7000-8000-000000000003"], True, steps), ["企业名称"])
