"""Random step sequences from both departments, a third one and the reviewer, against a simple reference model."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from steward.sync.requests import documents as docs
from steward.sync.requests.documents import (
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
from steward.sync.requests.refusals import StepRefused
from steward.sync.requests.state import SETTLED, RequestState, apply
from tests.sync.sharing import (
    CONDITIONAL,
    CONTEXT,
    EXCHANGE,
    OUTSIDER,
    PROVIDER_STEWARD,
    REQUESTER,
    UNCONDITIONAL,
    USING,
    Party,
    application,
)

# The reference model, written from the regulations' workflow without looking at state.py: what each step
# does from each status (the pass of a review depends on the path), and whose key signs each kind.
MOVES = {
    ("submitted", "review", "reject"): "rejected",
    ("awaiting_decision", "decision", "approve"): "approved",
    ("awaiting_decision", "decision", "refuse"): "refused",
    ("refused", "escalation", None): "escalated",
    ("escalated", "outcome", "grant"): "granted",
    ("escalated", "outcome", "deny"): "denied",
    ("submitted", "withdrawal", None): "withdrawn",
    ("awaiting_decision", "withdrawal", None): "withdrawn",
    ("escalated", "withdrawal", None): "withdrawn",
}
SIGNER_OF = {"review": "exchange", "outcome": "exchange", "decision": "provider", "escalation": "using",
             "withdrawal": "using"}
VERDICTS = {"review": ("pass", "reject"), "decision": ("approve", "refuse"), "outcome": ("grant", "deny"),
            "escalation": (None,), "withdrawal": (None,)}


def model(status: str, kind: str, verdict: str | None, conditional: bool) -> str | None:
    """The status after the step, or None where the model refuses it."""
    if (status, kind, verdict) == ("submitted", "review", "pass"):
        return "awaiting_decision" if conditional else "granted"
    return MOVES.get((status, kind, verdict))


def body(kind: str, verdict: str | None) -> docs.Body:
    if kind == "review":
        return Review(verdict=ReviewVerdict(verdict), reason="不符合" if verdict == "reject" else "", reviewer="王五")
    if kind == "decision":
        if verdict == "approve":
            return Decision(verdict=DecisionVerdict.APPROVE, conditions="仅限核查", author="张三")
        return Decision(verdict=DecisionVerdict.REFUSE, reason="涉及隐私", author="张三")
    if kind == "outcome":
        return Outcome(verdict=OutcomeVerdict(verdict), reason="经协调", reviewer="王五")
    if kind == "escalation":
        return Escalation(reason="履职需要", author="李四")
    return Withdrawal(author="李四")


@dataclass(frozen=True)
class Action:
    actor: str  # using, provider, other (a third department), exchange; or "right": the kind's signer
    kind: str  # a kind of step; "request": a second request under the request's id; "next": one the model allows
    verdict: int
    tamper: str  # none, replay (an earlier step again), stale (made after an earlier step than the last)
    pick: int  # which earlier step a replay or a stale step takes


actions = st.builds(
    Action,
    # "right" and "next" make the sequences go far (escalations, outcomes) rather than stop at the first refusal.
    actor=st.sampled_from(["using", "provider", "other", "exchange", "right", "right", "right", "right"]),
    kind=st.sampled_from([*SIGNER_OF, "request", *["next"] * 8]),
    verdict=st.integers(0, 1),
    tamper=st.sampled_from(["none", "none", "none", "none", "replay", "stale"]),
    pick=st.integers(0, 10),
)


def resolve(action: Action, status: str, conditional: bool) -> Action:
    """`action` with "next" and "right" replaced by a kind (and verdict) the model allows now and its signer."""
    if action.kind == "next":
        allowed = [(kind, n) for kind, verdicts in VERDICTS.items() for n, verdict in enumerate(verdicts)
                   if model(status, kind, verdict, conditional)]
        if allowed:
            kind, verdict = allowed[action.pick % len(allowed)]
            action = replace(action, kind=kind, verdict=verdict)
        else:
            action = replace(action, kind="decision")  # nothing is allowed: a decision, which must be refused
    if action.actor == "right":
        action = replace(action, actor=SIGNER_OF.get(action.kind, "using"))
    return action


def make(action: Action, parties: dict[str, Party], accepted: list[Step]) -> tuple[Step, str | None, bool]:
    """The step `action` describes, its verdict, and whether it was tampered with (replayed, or made stale)."""
    party = parties[action.actor]
    if action.tamper == "replay":
        return accepted[action.pick % len(accepted)], None, True
    stale = action.tamper == "stale" and len(accepted) > 1  # made after a step that is no longer the last
    after = accepted[action.pick % (len(accepted) - 1)] if stale else accepted[-1]
    if action.kind == "request":
        return docs.sign(application(), request_id=after.request_id, seq=after.seq + 1, prev=after.digest(),
                         key=party.key, department=party.department or USING), None, stale
    verdict = VERDICTS[action.kind][action.verdict % len(VERDICTS[action.kind])]
    exchange_kind = action.kind in ("review", "outcome")
    department = None if exchange_kind else party.department or USING
    return docs.follow(after, body(action.kind, verdict), party.key, department), verdict, stale


def _path(*moves: tuple[str, str, int]) -> list[Action]:
    """A sequence of untampered steps, each followed by every kind of step again from every actor (all refused
    where the model refuses them), a replay and a stale step: the deep states every run reaches."""
    actions_ = []
    for actor, kind, verdict in moves:
        actions_.append(Action(actor, kind, verdict, "none", 0))
        actions_ += [Action("other", k, 0, "none", 0) for k in SIGNER_OF]
        actions_ += [Action("using", "request", 0, "none", 0), Action("using", "withdrawal", 0, "replay", 1),
                     Action("right", "next", 0, "stale", 0)]
    return actions_


DENIED = _path(("exchange", "review", 0), ("provider", "decision", 1), ("using", "escalation", 0),
               ("exchange", "outcome", 1), ("provider", "decision", 0), ("using", "withdrawal", 0))
GRANTED_AFTER_ESCALATION = _path(("exchange", "review", 0), ("provider", "decision", 1), ("using", "escalation", 0),
                                 ("exchange", "outcome", 0), ("exchange", "review", 0))
WITHDRAWN_AFTER_ESCALATION = _path(("exchange", "review", 0), ("provider", "decision", 1),
                                   ("using", "escalation", 0), ("using", "withdrawal", 0), ("exchange", "outcome", 0))


def drive(first: str, conditional: bool, steps: list[Action]) -> list[str]:
    """Apply the steps `steps` describe after a request by `first`, checking each against the model; the statuses
    reached, in order."""
    stewards = {"using": REQUESTER, "other": OUTSIDER, "provider": PROVIDER_STEWARD, "exchange": EXCHANGE}
    entry = CONDITIONAL if conditional else UNCONDITIONAL
    opening = docs.open_request(application(entry), stewards[first].key, stewards[first].department or USING)
    if first in ("provider", "exchange"):  # the provider for itself; the exchange for no department
        try:
            apply(None, opening, CONTEXT)
        except StepRefused as error:
            assert error.code in ("request.own_entry", "request.exchange_key")
            return []
        raise AssertionError("a request the model refuses was accepted")
    # Whoever applied is the using department; the other steward is a third department.
    parties = {"using": stewards[first], "other": stewards["other" if first == "using" else "using"],
               "provider": PROVIDER_STEWARD, "exchange": EXCHANGE}
    state: RequestState = apply(None, opening, CONTEXT)
    status, accepted, reached = "submitted", [opening], ["submitted"]
    for drawn in steps:
        action = resolve(drawn, status, conditional)
        step, verdict, tampered = make(action, parties, accepted)
        expected = None
        if not tampered and action.kind != "request" and SIGNER_OF[action.kind] == action.actor:
            expected = model(status, action.kind, verdict, conditional)
        try:
            after = apply(state, step, CONTEXT)
        except StepRefused:
            assert expected is None, (status, action)
            continue
        assert expected is not None, (status, action)  # accepted only what the model accepts...
        assert state.status not in SETTLED  # ...never after the request settled...
        assert SIGNER_OF[action.kind] == action.actor  # ...and only from the key that may sign it
        assert after.status == expected
        state, status = after, expected
        accepted.append(step)
        reached.append(status)
    assert [link.digest for link in state.trail] == [step.digest() for step in accepted]
    assert state.requester == parties["using"].department
    return reached


@settings(max_examples=500, deadline=None)
@given(first=st.sampled_from(["using", "using", "using", "other", "provider", "exchange"]), conditional=st.booleans(),
       steps=st.lists(actions, max_size=20))
def test_random_steps_reach_the_states_of_the_reference_model(first, conditional, steps):
    for status in drive(first, conditional, steps):
        event(f"reached {status}")  # --hypothesis-show-statistics: how far the random sequences go


def test_every_status_is_reached_on_a_fixed_path_with_refused_steps_around_each():
    assert drive("using", True, DENIED) == ["submitted", "awaiting_decision", "refused", "escalated", "denied"]
    assert drive("using", False, DENIED) == ["submitted", "granted"]
    assert drive("other", True, GRANTED_AFTER_ESCALATION) == ["submitted", "awaiting_decision", "refused",
                                                               "escalated", "granted"]
    assert drive("using", True, WITHDRAWN_AFTER_ESCALATION)[-1] == "withdrawn"
    assert drive("using", True, _path(("exchange", "review", 0), ("provider", "decision", 0))) == [
        "submitted", "awaiting_decision", "approved"]
    assert drive("using", True, _path(("exchange", "review", 1), ("using", "withdrawal", 0))) == [
        "submitted", "rejected"]
    assert drive("provider", True, DENIED) == drive("exchange", True, DENIED) == []


PASS, REJECT, APPROVE, REFUSE, GRANT, DENY = (("exchange", "review", 0), ("exchange", "review", 1),
                                             ("provider", "decision", 0), ("provider", "decision", 1),
                                             ("exchange", "outcome", 0), ("exchange", "outcome", 1))
ESCALATE, WITHDRAW = ("using", "escalation", 0), ("using", "withdrawal", 0)
# The moves that lead to each status a request can be in, on the conditional and the unconditional path.
PATHS = [
    (True, "submitted", ()), (True, "awaiting_decision", (PASS,)), (True, "rejected", (REJECT,)),
    (True, "approved", (PASS, APPROVE)), (True, "refused", (PASS, REFUSE)),
    (True, "escalated", (PASS, REFUSE, ESCALATE)), (True, "granted", (PASS, REFUSE, ESCALATE, GRANT)),
    (True, "denied", (PASS, REFUSE, ESCALATE, DENY)), (True, "withdrawn", (PASS, REFUSE, ESCALATE, WITHDRAW)),
    (False, "submitted", ()), (False, "granted", (PASS,)), (False, "rejected", (REJECT,)),
]
PARTIES = {"using": REQUESTER, "other": OUTSIDER, "provider": PROVIDER_STEWARD, "exchange": EXCHANGE}


@pytest.mark.parametrize("conditional,name,moves", PATHS, ids=[f"{(c and 'conditional') or 'unconditional'}-{n}"
                                                               for c, n, _ in PATHS])
def test_every_step_from_every_signer_in_every_state_agrees_with_the_model(conditional, name, moves):
    """The whole table: in each status, each kind and verdict from each signer, and every step again."""
    entry = CONDITIONAL if conditional else UNCONDITIONAL
    opening = docs.open_request(application(entry), REQUESTER.key, USING)
    state, accepted = apply(None, opening, CONTEXT), [opening]
    for actor, kind, verdict in moves:
        step, _, _ = make(Action(actor, kind, verdict, "none", 0), PARTIES, accepted)
        state = apply(state, step, CONTEXT)
        accepted.append(step)
    assert state.status == name
    for actor in PARTIES:
        for kind in [*SIGNER_OF, "request"]:
            for verdict in (0, 1):
                action = Action(actor, kind, verdict, "none", 0)
                step, verdict_word, _ = make(action, PARTIES, accepted)
                expected = None
                if kind != "request" and SIGNER_OF[kind] == actor:
                    expected = model(name, kind, verdict_word, conditional)
                try:
                    assert apply(state, step, CONTEXT).status == expected, action
                except StepRefused:
                    assert expected is None, action
    for earlier in accepted:
        with pytest.raises(StepRefused, match="recorded already"):
            apply(state, earlier, CONTEXT)
