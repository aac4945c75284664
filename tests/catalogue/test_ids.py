"""Entry, item, operation and changeset ids: UUID version 7, ordered by the time they were made."""

from __future__ import annotations

import time
import uuid

from steward.catalogue.model import new_id


def test_ids_are_lowercase_uuid7_with_the_rfc_variant():
    for made in (new_id() for _ in range(200)):
        parsed = uuid.UUID(made)
        assert str(parsed) == made
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)


def test_ids_carry_the_time_they_were_made_and_sort_by_it():
    before = time.time_ns() // 1_000_000
    first = new_id()
    time.sleep(0.003)
    second = new_id()
    after = time.time_ns() // 1_000_000
    assert before <= uuid.UUID(first).int >> 80 <= uuid.UUID(second).int >> 80 <= after
    assert first < second  # as text too: the order every index keeps


def test_ids_made_in_the_same_millisecond_still_differ():
    made = [new_id() for _ in range(20_000)]
    assert len(set(made)) == len(made)
