"""The per-key budget of refused requests (issue 12), on a real exchange over SQLite and PostgreSQL.

The exchange here allows 3 refusals per key, refilled over 3 s (one a second), and logs at info.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from exchange import ledger
from exchange.budget import RefusalBudget
from steward import sample
from steward.catalogue.errors import StewardError
from steward.sync import changeset, identity, outbox
from steward.sync.pending import pending_changes
from steward.sync.protocol import HEADER_KEY, sign_request, utc_now
from steward.workspace import journal
from steward.workspace.workspace import Workspace
from tests.helpers import make_clean_entry
from tests.sync.conftest import Steward

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
    with pytest.raises(StewardError) as turned_away:  # every endpoint, not only pushes
        steward.client.feed(0)
    # the client says it plainly, and does not take it for a judgement of the request
    assert turned_away.value.code == "exchange.too_many_refusals"
    assert f"in {retry_after} s" in turned_away.value.message("en")
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


def test_a_sync_turned_away_keeps_its_changes_and_sends_them_at_the_next_sync(server, tmp_path, memory_keyring):
    department = sample.DEPARTMENTS[2]
    ws = Workspace.create(tmp_path / "ws", department.code, department.name)
    identity.create_key(ws, lambda _new: "")
    key = identity.signing_key(ws, lambda _new: "")
    ledger.enroll(server.engine, department.code, key.public)
    steward = Steward(ws, key, server.url, server.public.fingerprint)
    steward.sync()  # first contact: the exchange is pinned
    entry = make_clean_entry(provider=department.name, provider_code=department.code)
    journal.apply(ws, [journal.CreateEntry(entry)])
    unknown = changeset.new_changeset(department.code, key, 1, utc_now(), "测试员",
                                      [changeset.op_set(str(uuid.uuid4()), 1, "name", "甲", "乙")])
    for _ in range(3):  # what a broken client might do: the key's budget is spent
        assert 400 <= _post(server, steward, unknown).status_code < 500
    with pytest.raises(StewardError) as turned_away:
        steward.sync()
    assert turned_away.value.code == "exchange.too_many_refusals"
    with ws.reading() as conn:
        waiting = outbox.waiting(conn)
    assert pending_changes(ws) and len(waiting) <= 1  # kept: nothing was judged, nothing marked refused
    time.sleep(int(re.search(r"in (\d+) s", turned_away.value.message("en")).group(1)))
    report = steward.sync()
    assert report.pushed + report.confirmed == 1 and not report.refused
    assert pending_changes(ws) == []
    ws.close()
