"""Pushes at the same moment: exactly one of two changes to the same entry wins; nothing is lost or doubled."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

from steward import sample
from steward.sync import changeset
from steward.sync.exchange_client import ExchangeRefused

ROUNDS = 15


def _push_together(stewards, changesets):
    """Push each steward's changeset from its own thread, released at the same instant."""
    gate = threading.Barrier(len(stewards))

    def push(pair):
        steward, cs = pair
        gate.wait()
        try:
            return steward.client.push(cs)[0], None
        except ExchangeRefused as error:
            return error.status, error.code

    with ThreadPoolExecutor(len(stewards)) as pool:
        return list(pool.map(push, zip(stewards, changesets, strict=True)))


def test_two_stewards_changing_one_entry_at_once_exactly_one_wins(server):
    department = sample.DEPARTMENTS[4]
    first, second = server.steward(department), server.steward(department)
    for _ in range(ROUNDS):
        entry = first.entry()
        assert first.client.push(first.changeset([changeset.op_create(entry)]))[0] == 201
        mine = first.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "甲的名称")])
        theirs = second.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "乙的名称")])
        outcomes = _push_together([first, second], [mine, theirs])
        assert sorted(outcomes) == [(201, None), (409, "conflict")]
        winner = "甲的名称" if outcomes[0][0] == 201 else "乙的名称"
        [(_, version, document)] = [row for row in server.catalogue() if row[0] == entry.id]
        assert (version, json.loads(document)["name"]) == (2, winner)
    assert server.verify_log() == []


def test_many_concurrent_pushes_of_different_entries_all_land_in_one_unbroken_chain(server):
    stewards = [server.steward(sample.DEPARTMENTS[6]) for _ in range(8)]
    start = server.head()[0]
    for _ in range(5):
        batch = [s.changeset([changeset.op_create(s.entry())]) for s in stewards]
        assert [status for status, _ in _push_together(stewards, batch)] == [201] * len(stewards)
    assert server.head()[0] == start + 5 * len(stewards)
    assert server.verify_log() == []


def test_two_new_entries_with_one_resource_code_at_once_exactly_one_is_accepted(server):
    # Both are checked against a snapshot without the lock, where neither sees the other: the code
    # must be looked at again under the lock.
    department = sample.DEPARTMENTS[4]
    first, second = server.steward(department), server.steward(department)
    for _ in range(ROUNDS):
        mine = first.entry()
        theirs = second.entry(code=mine.code)
        outcomes = _push_together([first, second], [first.changeset([changeset.op_create(mine)]),
                                                    second.changeset([changeset.op_create(theirs)])])
        assert sorted(outcomes) == [(201, None), (422, "rules")]
        assert [json.loads(row[2])["code"] for row in server.catalogue()].count(mine.code) == 1
    assert server.verify_log() == []
