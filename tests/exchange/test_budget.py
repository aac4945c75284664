"""The per-key budget of refused requests (issue 12), on a real exchange over SQLite and PostgreSQL.

The exchange here allows 3 refusals per key, refilled over 3 s (one a second), and logs at info.
"""

from __future__ import annotations

import re
import time

import requests

from exchange.budget import RefusalBudget
from steward import changeset, sample
from steward.exchange_client import ExchangeRefused
from steward.protocol import HEADER_KEY, sign_request

SERVE_ARGS = ("--refusal-budget", "3", "--refusal-window", "3", "--log-level", "info")


def _stale(steward, entry):
    """A changeset the exchange refuses (409): it is based on a version the entry has left."""
    return steward.changeset([changeset.op_set(entry.id, 1, "name", "不是这个名称", "乙")])


def _created(steward):
    entry = steward.entry()
    assert steward.client.push(steward.changeset([changeset.op_create(entry)]))[0] == 201
    return entry


def _post(server, steward, cs):
    body = cs.canonical_bytes
    headers = {"Content-Type": "application/json", **sign_request(steward.key, "POST", "/v1/changesets", body)}
    return requests.post(f"{server.url}/v1/changesets", data=body, headers=headers, timeout=60)


def _spend_the_budget(server, steward, entry) -> None:
    for _ in range(3):
        assert _post(server, steward, _stale(steward, entry)).status_code == 409


def test_a_key_past_its_refusal_budget_is_answered_429_with_retry_after_until_it_refills(server):
    steward, other = server.steward(sample.DEPARTMENTS[1]), server.steward(sample.DEPARTMENTS[1])
    entry = _created(steward)
    _spend_the_budget(server, steward, entry)
    good = steward.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "新名称")])
    with server.unchanged():
        answer = _post(server, steward, good)  # even a good push: the key is turned away first
    assert answer.status_code == 429
    retry_after = int(answer.headers["Retry-After"])
    assert retry_after >= 1
    assert answer.json() == {"error": {"code": "too_many_refusals", "message": answer.json()["error"]["message"],
                                       "details": [{"retry_after": retry_after}]}}
    assert steward.key.key_id in answer.json()["error"]["message"]
    error = _refused(lambda: steward.client.feed(0))  # every endpoint, not only pushes
    assert (error.status, error.code) == (429, "too_many_refusals")
    assert other.client.push(other.changeset([changeset.op_create(other.entry())]))[0] == 201  # others unaffected
    time.sleep(retry_after)
    assert steward.client.push(good)[0] == 201


def test_a_key_past_its_budget_is_turned_away_without_the_lock(server):
    steward = server.steward(sample.DEPARTMENTS[1])
    entry = _created(steward)
    _spend_the_budget(server, steward, entry)
    good = steward.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "新名称")])
    with server.unchanged():
        assert server.answer_while_locked(lambda: _post(server, steward, good).status_code) == 429


def test_refusals_of_requests_the_key_did_not_sign_do_not_spend_its_budget(server):
    steward, impostor = server.steward(sample.DEPARTMENTS[1]), server.steward(sample.DEPARTMENTS[1])
    body = steward.changeset([changeset.op_create(steward.entry())]).canonical_bytes
    # Signed by another key but naming this one: the exchange cannot tell who sent it, so it spends nothing.
    forged = {**sign_request(impostor.key, "POST", "/v1/changesets", body), HEADER_KEY: steward.key.key_id}
    for _ in range(6):
        answer = requests.post(f"{server.url}/v1/changesets", data=body, timeout=60,
                               headers={"Content-Type": "application/json", **forged})
        assert answer.status_code == 401
    assert steward.client.push(steward.changeset([changeset.op_create(steward.entry())]))[0] == 201


def test_each_refusal_is_logged_with_key_reason_and_size(server):
    steward = server.steward(sample.DEPARTMENTS[1])
    entry = _created(steward)
    stale = _stale(steward, entry)
    size = len(stale.canonical_bytes)
    _spend_the_budget(server, steward, entry)
    assert _post(server, steward, stale).status_code == 429
    log = server.log.read_text()  # each line is written before the answer is sent
    assert re.search(rf"refused POST /v1/changesets: 409 conflict key={steward.key.key_id} size={size}\b", log)
    assert re.search(rf"WARNING .*refused POST /v1/changesets: 429 too_many_refusals key=- "
                     rf"claimed={steward.key.key_id} size={size}\b", log)


def _refused(call) -> ExchangeRefused:
    try:
        call()
    except ExchangeRefused as error:
        return error
    raise AssertionError("not refused")


def test_the_budget_refills_evenly_over_its_window_and_says_how_long_to_wait():
    now = [100.0]
    budget = RefusalBudget(4, 60.0, clock=lambda: now[0])  # one refusal back every 15 s
    for _ in range(4):
        assert budget.retry_after("k") is None
        budget.spend("k")
    assert budget.retry_after("k") == 15
    assert budget.retry_after("another key") is None
    now[0] += 10
    assert budget.retry_after("k") == 5
    now[0] += 5
    assert budget.retry_after("k") is None
    budget.spend("k")
    assert budget.retry_after("k") == 15  # what came back is spent again
    now[0] += 3600
    for _ in range(4):  # never more than the budget, however long the key was quiet
        budget.spend("k")
    assert budget.retry_after("k") == 15
    assert RefusalBudget(0).retry_after("k") is None  # 0: no budget


def test_a_refusal_cannot_write_a_line_of_its_own_into_the_log(server):
    answer = requests.get(f"{server.url}/v1/nothing%0A2026-01-01%20INFO%20exchange.app:%20forged", timeout=60)
    assert answer.status_code == 404
    log = server.log.read_text()
    assert "/v1/nothing%0A2026-01-01%20INFO" in log
    assert not any(line.startswith("2026-01-01 INFO") for line in log.splitlines())
