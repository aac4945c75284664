"""A sync's outcome in a steward's words: how many entries came in changed, how many went out, which stayed here.

A steward thinks in entries, not in changesets or wire operations, so both counts are of entries:

- *received*: entries that other stewards' changes, pulled in this sync, created or changed here (an entry
  changed by three of their changesets counts once; a change that was already here counts not at all);
- *sent*: entries whose local changes the exchange accepted in this sync, including changes signed in an
  earlier sync whose answer had not arrived and which this sync found to have landed.

Both are read from the workspace around the sync (the journal records where each change came from, the
outbox which of our changesets were accepted), so the syncer need not count anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from steward.sync.syncer import SyncReport
from steward.workspace import query, store
from steward.workspace.workspace import Workspace


@dataclass(frozen=True)
class Mark:
    """Where the journal and the outbox stood when a sync began."""

    op_seq: int  # the journal's last operation
    outbox_seq: int  # the last changeset signed before
    waiting: frozenset[str]  # our changesets signed before whose answer was unknown


@dataclass(frozen=True)
class NotSent:
    """An entry with local changes the sync did not send, and why (a HeldBack reason, or "refused")."""

    entry_id: str
    code: str
    name: str
    reason: str  # errors, conflict, provider, refused
    message: str = ""  # the exchange's words when it refused


@dataclass(frozen=True)
class SyncSummary:
    received: int
    sent: int
    not_sent: list[NotSent]


def mark(workspace: Workspace) -> Mark:
    with workspace.reading() as conn:
        db = store.dbapi(conn)
        op_seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM operations").fetchone()[0]
        outbox_seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
        waiting = frozenset(row[0] for row in db.execute("SELECT id FROM outbox WHERE state = 'ready'"))
    return Mark(op_seq, outbox_seq, waiting)


def summarise(workspace: Workspace, before: Mark, report: SyncReport) -> SyncSummary:
    """What the sync that began at `before` and ended with `report` did, counted in entries."""
    with workspace.reading() as conn:
        db = store.dbapi(conn)
        received = db.execute("SELECT COUNT(DISTINCT entry_id) FROM operations WHERE seq > ? AND origin = 'remote'",
                              (before.op_seq,)).fetchone()[0]
        sent: set[str] = set()
        refused: dict[str, str] = {}
        rows = db.execute("SELECT id, entry_ids, state FROM outbox WHERE seq > ?", (before.outbox_seq,)).fetchall()
        for chunk in store.chunked(list(before.waiting)):
            sql = f"SELECT id, entry_ids, state FROM outbox WHERE id IN ({store.placeholders(len(chunk))})"
            rows += db.execute(sql, chunk).fetchall()
        messages = {r["changeset"]: r["message"] for r in report.refused}
        for changeset_id, entry_ids, state in rows:
            if state == "accepted":
                sent.update(json.loads(entry_ids))
            elif changeset_id in messages:
                refused.update(dict.fromkeys(json.loads(entry_ids), messages[changeset_id]))
    # Each push round (a conflict makes another) holds the same entries back again: each is told once.
    held = {h.entry_id: (h.reason, h.message) for h in report.held_back}
    held.update((entry_id, ("refused", message)) for entry_id, message in refused.items() if entry_id not in sent)
    names = query.names(workspace, held).entries
    not_sent = [NotSent(entry_id, *names.get(entry_id, ("", "")), reason, message)
                for entry_id, (reason, message) in held.items()]
    return SyncSummary(received, len(sent), not_sent)
