"""Entries the exchange refused: held back with its reason, so that one bad entry does not hold back the rest.

The exchange accepts or refuses a changeset whole. When it refuses one for what some of its
entries hold (422 `invalid_changeset` names operations by their path, 422 `rules` and the 403s
about providers and departments name entries), those entries are recorded here with the
exchange's reason and the journal position the changeset reached, and the rest is signed again
without them. An entry stays held back until it is edited here again (a local operation after
that position); then the next sync sends it. See docs/protocol.md § 5.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from steward.sync.changeset import Changeset
from steward.sync.exchange_client import ExchangeRefused
from steward.workspace import store

# Refusals whose every detail is about one entry (or one operation on it).
ABOUT_ENTRIES = frozenset({(422, "invalid_changeset"), (422, "rules"), (403, "provider_not_department"),
                           (403, "foreign_entries")})
_OPERATION_PATH = re.compile(r"operations\[(\d+)\]\.?(.*)")


@dataclass(frozen=True)
class Refusal:
    entry_id: str
    code: str  # the entry's resource code
    reason: str  # the exchange's words
    changeset_id: str
    refused_at: str

    def to_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def entries_refused(cs: Changeset, refusal: ExchangeRefused) -> dict[str, str]:
    """The entries of `cs` the refusal is about, each with the exchange's reason; empty when it is about the whole
    changeset (or a detail names no entry of it: then nothing can be held back with certainty)."""
    if (refusal.status, refusal.code) not in ABOUT_ENTRIES or not refusal.details:
        return {}
    ids = set(cs.entry_ids())
    reasons: dict[str, list[str]] = {}
    for detail in refusal.details:
        about = _about(cs, ids, detail, refusal.message)
        if about is None:
            return {}
        entry_id, reason = about
        if reason not in reasons.setdefault(entry_id, []):
            reasons[entry_id].append(reason)
    return {entry_id: "; ".join(found) for entry_id, found in reasons.items()}


def _about(cs: Changeset, ids: set[str], detail: Any, message: str) -> tuple[str, str] | None:
    if not isinstance(detail, dict):
        return None
    path = detail.get("path")
    if isinstance(path, str):  # a format problem, at an operation's member: named by its field where it has one
        match = _OPERATION_PATH.fullmatch(path)
        if match is None or int(match[1]) >= len(cs.operations):
            return None
        op = cs.operations[int(match[1])]
        where = op.get("field") or match[2].removeprefix("entry.") or op["kind"]
        return op["entry_id"], f"{where}: {detail.get('reason', message)}"
    entry_id = detail.get("entry_id")
    if entry_id not in ids:
        return None
    return entry_id, str(detail.get("message") or message)


def hold(conn: Connection, reasons: Mapping[str, str], changeset_id: str, op_seq: int, refused_at: str) -> None:
    store.dbapi(conn).executemany(
        "INSERT INTO refusals(entry_id, changeset_id, op_seq, reason, refused_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(entry_id) DO UPDATE SET changeset_id = excluded.changeset_id, op_seq = excluded.op_seq, "
        "reason = excluded.reason, refused_at = excluded.refused_at",
        [(entry_id, changeset_id, op_seq, reason, refused_at) for entry_id, reason in reasons.items()])


# Edited here since the refusal (or erased): the entry may go again.
_EDITED_SINCE = ("EXISTS (SELECT 1 FROM operations o WHERE o.entry_id = r.entry_id AND o.origin = 'local' "
                 "AND o.seq > r.op_seq)")


def forget_edited(conn: Connection) -> None:
    """Drop the refusals of entries edited since (or gone): the next push sends them again."""
    store.dbapi(conn).execute(f"DELETE FROM refusals AS r WHERE {_EDITED_SINCE} "
                              "OR NOT EXISTS (SELECT 1 FROM entries e WHERE e.id = r.entry_id)")


def standing(conn: Connection) -> dict[str, Refusal]:
    """The refusals that still hold an entry back, by entry id."""
    rows = store.dbapi(conn).execute(
        "SELECT r.entry_id, e.code, r.reason, r.changeset_id, r.refused_at FROM refusals r "
        f"JOIN entries e ON e.id = r.entry_id WHERE NOT {_EDITED_SINCE} ORDER BY e.code, r.entry_id")
    return {row[0]: Refusal(*row) for row in rows}
