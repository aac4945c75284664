"""The cast of the sharing request tests: three departments' stewards, the exchange, and entries to ask for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from steward import sample
from steward.catalogue.model import DataItem, Entry
from steward.sync.keys import SigningKey
from steward.sync.requests import documents as docs
from steward.sync.requests.documents import (
    Application,
    Decision,
    DecisionVerdict,
    Escalation,
    Outcome,
    OutcomeVerdict,
    Review,
    ReviewVerdict,
    Step,
    Withdrawal,
)
from steward.sync.requests.state import Context, EntryFacts, RequestState, Signer, apply
from tests.helpers import make_clean_entry

PROVIDER = sample.DEPARTMENTS[0].code  # 上海市市场监督管理局: holds the entries
USING = sample.DEPARTMENTS[2].code  # 上海市公安局: asks for them
THIRD = sample.DEPARTMENTS[1].code  # 上海市卫生健康委员会: a party to nothing
TODAY = date(2026, 11, 25)
UNTIL = "2027-12-31"


@dataclass(frozen=True)
class Party:
    key: SigningKey
    department: str | None  # None: the exchange


REQUESTER = Party(SigningKey.from_raw(bytes(range(0x20, 0x40))), USING)
PROVIDER_STEWARD = Party(SigningKey.from_raw(bytes(range(32))), PROVIDER)
OUTSIDER = Party(SigningKey.generate(), THIRD)
EXCHANGE = Party(SigningKey.from_raw(bytes(range(0x80, 0xA0))), None)
SIGNERS = {p.key.key_id: Signer(p.key.public, p.department) for p in (REQUESTER, PROVIDER_STEWARD, OUTSIDER, EXCHANGE)}


def _entry(**overrides: object) -> Entry:
    return make_clean_entry(**overrides)


CONDITIONAL = _entry(sharing_type="conditional", sharing_conditions="经审批后共享", open_type="not_open")
UNCONDITIONAL = _entry()
NOT_SHARED = _entry(sharing_type="not_shared", sharing_conditions="《条例》第十条", open_type="not_open")
RETIRED = _entry(status="retired")
WITH_CONDITIONAL_ITEM = _entry(items=[DataItem(name="统一社会信用代码", data_type="C", position=1),
                                      DataItem(name="法定代表人", data_type="C", position=2,
                                               sharing_type="conditional", open_type="not_open")])
WITH_HIDDEN_ITEM = _entry(items=[DataItem(name="统一社会信用代码", data_type="C", position=1),
                                 DataItem(name="身份证号", data_type="C", position=2, sharing_type="not_shared",
                                          open_type="not_open")])
OWN_OF_USING = _entry(provider_code=USING, provider=sample.DEPARTMENTS[2].name)
ENTRIES = {e.id: EntryFacts.of(e) for e in (CONDITIONAL, UNCONDITIONAL, NOT_SHARED, RETIRED, WITH_CONDITIONAL_ITEM,
                                            WITH_HIDDEN_ITEM, OWN_OF_USING)}
CONTEXT = Context(SIGNERS.get, ENTRIES.get, TODAY)


def application(entry: Entry = CONDITIONAL, items: list[str] | None = None, **overrides: object) -> Application:
    values: dict[str, object] = {
        "entry_id": entry.id, "entry_code": entry.code, "provider": entry.provider_code,
        "purpose": "核验企业登记信息", "scenario": "网约车驾驶员背景核查",
        "items": tuple(items if items is not None else [entry.items[0].id]), "until": UNTIL, "author": "李四",
    }
    values.update(overrides)
    return Application(**values)  # type: ignore[arg-type]


def request(entry: Entry = CONDITIONAL, by: Party = REQUESTER, **overrides: object) -> Step:
    return docs.open_request(application(entry, **overrides), by.key, by.department or USING)


def step_after(previous: Step, body: docs.Body, by: Party) -> Step:
    """`body` signed by `by` after `previous`: for `by`'s department, or none where the exchange's key signs the kind.

    So a steward's key signing a review says what a review says (no department), and is refused for the key.
    """
    department = None if type(body) in (Review, Outcome) else by.department or USING
    return docs.follow(previous, body, by.key, department)


def review(previous: Step, verdict: ReviewVerdict = ReviewVerdict.PASS, by: Party = EXCHANGE) -> Step:
    reason = "用途与职责不符" if verdict is ReviewVerdict.REJECT else ""
    return step_after(previous, Review(verdict=verdict, reason=reason, reviewer="王五"), by)


def approve(previous: Step, by: Party = PROVIDER_STEWARD, conditions: str = "仅用于背景核查") -> Step:
    return step_after(previous, Decision(verdict=DecisionVerdict.APPROVE, conditions=conditions, author="张三"), by)


def refuse(previous: Step, by: Party = PROVIDER_STEWARD, reason: str = "涉及个人信息，须另行授权") -> Step:
    return step_after(previous, Decision(verdict=DecisionVerdict.REFUSE, reason=reason, author="张三"), by)


def escalate(previous: Step, by: Party = REQUESTER) -> Step:
    return step_after(previous, Escalation(reason="履行法定职责所必需", author="李四"), by)


def outcome(previous: Step, verdict: OutcomeVerdict = OutcomeVerdict.GRANT, by: Party = EXCHANGE) -> Step:
    reason = "经协调，依法应予共享" if verdict is OutcomeVerdict.GRANT else "维持不予共享"
    body = Outcome(verdict=verdict, reason=reason, reviewer="王五")
    return step_after(previous, body, by)


def withdraw(previous: Step, by: Party = REQUESTER) -> Step:
    return step_after(previous, Withdrawal(reason="不再需要", author="李四"), by)


def run(*steps: Step, context: Context = CONTEXT) -> RequestState:
    """The state after applying `steps` in order to a new request."""
    state = None
    for step in steps:
        state = apply(state, step, context)
    assert state is not None
    return state


def chain(*makers) -> list[Step]:  # type: ignore[no-untyped-def]
    """Steps made one after the other: each maker gets the step before it (the first gets none)."""
    steps: list[Step] = []
    for make in makers:
        steps.append(make(steps[-1]) if steps else make())
    return steps

