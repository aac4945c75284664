"""The feed: changesets in order with their hash chain and a signed checkpoint, verifiable back to enrolled keys."""

from __future__ import annotations

import copy

import pytest

from steward import sample
from steward.sync import changeset
from steward.sync.keys import SigningKey
from steward.sync.protocol import GENESIS, FeedInvalid, trusted_keys, verify_feed


@pytest.fixture(scope="module")
def history(server):
    """Changesets from two departments; returns the whole feed as a client reads it, page by page."""
    stewards = [server.steward(sample.DEPARTMENTS[2]), server.steward(sample.DEPARTMENTS[3])]
    for steward in stewards:
        for _ in range(3):
            entry = steward.entry()
            steward.client.push(steward.changeset([changeset.op_create(entry)]))
            rename = changeset.op_set(entry.id, 1, "name", entry.name, entry.name + "(修订)")
            steward.client.push(steward.changeset([rename]))
    reader = stewards[0].client
    records, after = [], 0
    while True:
        page = reader.feed(after, limit=4)
        records.extend(page["records"])
        if not page["more"]:
            return records, page["checkpoint"], trusted_keys(reader.keys(), server.public)
        after = page["records"][-1]["position"]


def test_the_whole_feed_verifies_back_to_enrolled_keys(server, history):
    records, checkpoint, keys = history
    verified = verify_feed(records, checkpoint, server.public, keys, 0, GENESIS)
    assert [v.record.position for v in verified] == list(range(1, len(records) + 1))
    assert checkpoint["position"] == len(records) and checkpoint["hash"] == verified[-1].record.hash()
    assert len(records) >= 12


def test_pages_verify_one_after_another(server, history):
    records, checkpoint, keys = history
    first = verify_feed(records[:5], None, server.public, keys, 0, GENESIS)
    last = first[-1].record
    rest = verify_feed(records[5:], checkpoint, server.public, keys, last.position, last.hash())
    assert len(first) + len(rest) == len(records)


def test_a_changed_changeset_in_the_feed_is_detected(server, history):
    records, checkpoint, keys = copy.deepcopy(history)
    # What a rewriting server might slip in: a rename turned into a retire.
    records[3]["changeset_json"] = records[3]["changeset_json"].replace('"kind":"set"', '"kind":"retire"')
    with pytest.raises(FeedInvalid) as caught:
        verify_feed(records, checkpoint, server.public, keys, 0, GENESIS)
    assert caught.value.position == 4


def test_a_rewritten_record_with_a_recomputed_digest_breaks_the_signature_or_chain(server, history):
    records, checkpoint, keys = copy.deepcopy(history)
    rewritten = records[2]["changeset_json"].replace('"author":"测试"', '"author":"someone else"')
    assert rewritten != records[2]["changeset_json"]
    records[2]["changeset_json"] = rewritten
    records[2]["changeset_sha256"] = changeset.sha256_hex(rewritten.encode())
    with pytest.raises(FeedInvalid, match=r"hash|signature"):
        verify_feed(records, checkpoint, server.public, keys, 0, GENESIS)


def test_a_dropped_or_reordered_record_is_detected(server, history):
    records, checkpoint, keys = copy.deepcopy(history)
    with pytest.raises(FeedInvalid, match="position"):
        verify_feed(records[:2] + records[3:], checkpoint, server.public, keys, 0, GENESIS)
    records[1], records[2] = records[2], records[1]
    with pytest.raises(FeedInvalid):
        verify_feed(records, checkpoint, server.public, keys, 0, GENESIS)


def test_a_checkpoint_not_signed_by_the_pinned_key_is_refused(server, history):
    from steward.sync.protocol import CHECKPOINT_TAG, server_sign

    records, checkpoint, keys = history
    impostor = server_sign(SigningKey.generate(), CHECKPOINT_TAG, {k: v for k, v in checkpoint.items()
                                                                   if k != "signature"})
    with pytest.raises(FeedInvalid, match="pinned"):
        verify_feed(records, impostor, server.public, keys, 0, GENESIS)


def test_a_changeset_signed_by_a_key_not_enrolled_for_its_department_is_refused(server, history):
    records, checkpoint, keys = history
    other_department = {k: {**v, "department": sample.DEPARTMENTS[9].code} for k, v in keys.items()}
    with pytest.raises(FeedInvalid, match="not enrolled"):
        verify_feed(records, checkpoint, server.public, other_department, 0, GENESIS)


def test_enrollments_not_signed_by_the_exchange_are_ignored(server):
    reader = server.steward(sample.DEPARTMENTS[2]).client
    enrollments = reader.keys()
    assert set(trusted_keys(enrollments, server.public)) == {e["key_id"] for e in enrollments}
    assert trusted_keys(enrollments, SigningKey.generate().public) == {}


def test_changeset_status_tells_whether_a_changeset_landed(server):
    steward = server.steward()
    cs = steward.changeset([changeset.op_create(steward.entry())])
    assert steward.client.changeset_status(cs.id) is None
    _, receipt = steward.client.push(cs)
    assert steward.client.changeset_status(cs.id) == receipt
