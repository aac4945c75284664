"""Pending changes: what the workspace holds that the exchange does not, measured against its copy (shadow)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.model import ENTRY_FIELDS, ITEM_FIELDS, Entry
from steward.catalogue.operations import OpKind
from steward.sync import shadow
from steward.sync.shadow import Shadow
from steward.workspace import store
from steward.workspace.journal import Change, snapshot, taking_back
from steward.workspace.workspace import Workspace


@dataclass(frozen=True)
class PendingChange:
    """One local change the exchange does not have: a field, a data item, or the whole new entry.

    `before` is the exchange's value (as last synced), `after` the local one.
    """

    entry_id: str
    kind: OpKind  # CREATE, SET, ITEM_ADD, ITEM_SET or ITEM_REMOVE
    field: str | None
    item_id: str | None
    before: Any
    after: Any
    base_version: int
    last_seq: int

    def revert(self) -> Change:
        """The change that puts this one back as the exchange has it."""
        return taking_back(self.kind, self.entry_id, self.field, self.item_id, self.before)


_ITEM_DIFF_KEYS = tuple(spec.key for spec in ITEM_FIELDS)


def diff(entry: Entry, server: Shadow | None, last_seq: int = 0) -> list[PendingChange]:
    """How `entry` differs from the exchange's copy: field by field, item by item (or all of it, if new)."""
    if server is None:
        return [PendingChange(entry.id, OpKind.CREATE, None, None, None, snapshot(entry), 0, last_seq)]
    base, version = server.entry(), server.version
    changes = [
        PendingChange(entry.id, OpKind.SET, spec.key, None, getattr(base, spec.key), getattr(entry, spec.key),
                      version, last_seq)
        for spec in ENTRY_FIELDS
        if getattr(base, spec.key) != getattr(entry, spec.key)
    ]
    base_items = {item.id: item for item in base.items}
    local_ids = set()
    for item in entry.items:
        local_ids.add(item.id)
        old = base_items.get(item.id)
        if old is None:
            changes.append(PendingChange(entry.id, OpKind.ITEM_ADD, None, item.id, None, item.to_dict(), version,
                                         last_seq))
            continue
        changes.extend(
            PendingChange(entry.id, OpKind.ITEM_SET, key, item.id, getattr(old, key), getattr(item, key), version,
                          last_seq)
            for key in _ITEM_DIFF_KEYS
            if getattr(old, key) != getattr(item, key)
        )
    changes.extend(
        PendingChange(entry.id, OpKind.ITEM_REMOVE, None, item.id, item.to_dict(), None, version, last_seq)
        for item in base.items
        if item.id not in local_ids
    )
    return changes


def pending_changes(workspace: Workspace, entry_ids: Iterable[str] | None = None) -> list[PendingChange]:
    """What changed locally and the exchange does not have, in the order it was last touched."""
    with workspace.reading() as conn:
        return pending_of(conn, None if entry_ids is None else list(entry_ids))


def pending_of(conn: Connection, entry_ids: list[str] | None) -> list[PendingChange]:
    db = store.dbapi(conn)
    if entry_ids is None:
        ids = [row[0] for row in db.execute("SELECT id FROM entries WHERE dirty = 1")]
    else:
        ids = []
        for chunk in store.chunked(entry_ids):
            ids.extend(row[0] for row in db.execute(
                f"SELECT id FROM entries WHERE dirty = 1 AND id IN ({store.placeholders(len(chunk))})", chunk))
    entries = store.load_entries(conn, ids=ids)
    servers = shadow.load(conn, ids)
    last: dict[str, int] = {}
    for chunk in store.chunked(ids):
        last.update(db.execute(
            f"SELECT entry_id, MAX(seq) FROM operations WHERE entry_id IN ({store.placeholders(len(chunk))}) "
            "GROUP BY entry_id", chunk))
    changes = [c for e in entries.values() for c in diff(e, servers.get(e.id), last.get(e.id, 0))]
    changes.sort(key=lambda c: c.last_seq)
    return changes


def changed_at(workspace: Workspace, seqs: Iterable[int]) -> dict[int, str]:
    """When the journal recorded the operations `seqs` (a pending change's `last_seq`: when it was last made)."""
    found: dict[int, str] = {}
    with workspace.reading() as conn:
        db = store.dbapi(conn)
        for chunk in store.chunked(sorted(set(seqs))):
            found.update(db.execute(
                f"SELECT seq, created_at FROM operations WHERE seq IN ({store.placeholders(len(chunk))})", chunk))
    return found
