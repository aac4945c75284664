"""What goes to the exchange: local changes as wire operations, the outbox of signed changesets, receipts.

Operations are made from the difference between each entry and the exchange's copy, so they
always carry the base values and version the exchange has. A changeset is stored, signed,
before it is sent, and stays until its receipt (or a refusal) arrives; `accept` records a
receipt: the exchange's copies move on, and the journal's operations it covered become synced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.model import DataItem, Entry
from steward.catalogue.operations import OpKind
from steward.catalogue.vocabulary import Status
from steward.sync import shadow
from steward.sync.changeset import (
    Changeset,
    apply_operations,
    op_create,
    op_item_add,
    op_item_remove,
    op_item_set,
    op_restore,
    op_retire,
    op_set,
    parse,
)
from steward.sync.pending import PendingChange, diff
from steward.workspace import store


def wire_operations(entry: Entry, changes: Sequence[PendingChange]) -> list[dict[str, Any]]:
    """The operations that bring the exchange's copy of `entry` to the local one."""
    ops: list[dict[str, Any]] = []
    for change in changes:
        v = change.base_version
        match change.kind:
            case OpKind.CREATE:
                ops.append(op_create(entry))
            case OpKind.SET if change.field == "status":
                ops.append(op_retire(entry.id, v) if change.after == Status.RETIRED else op_restore(entry.id, v))
            case OpKind.SET:
                ops.append(op_set(entry.id, v, change.field or "", change.before, change.after))
            case OpKind.ITEM_ADD:
                ops.append(op_item_add(entry.id, v, DataItem.from_dict(change.after)))
            case OpKind.ITEM_SET:
                ops.append(op_item_set(entry.id, v, change.item_id or "", change.field or "", change.before,
                                       change.after))
            case OpKind.ITEM_REMOVE:
                ops.append(op_item_remove(entry.id, v, DataItem.from_dict(change.before)))
    return ops


@dataclass(frozen=True)
class Outgoing:
    """Local changes ready to send: operations per entry, and the journal position they reach."""

    operations: dict[str, list[dict[str, Any]]]  # entry id -> its operations
    op_seq: int


def outgoing(conn: Connection, entry_ids: Iterable[str]) -> Outgoing:
    """The operations for the given entries' local changes, read in one snapshot with the journal's position."""
    db = store.dbapi(conn)
    op_seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM operations").fetchone()[0]
    ids = list(entry_ids)
    entries = {e.id: e for e in store.load_entries(conn, ids=ids).values()}
    servers = shadow.load(conn, ids, entries)
    operations = {}
    for entry_id in ids:
        entry = entries.get(entry_id)
        if entry is None:
            continue
        ops = wire_operations(entry, diff(entry, servers.get(entry_id)))
        if ops:
            operations[entry_id] = ops
    return Outgoing(operations, op_seq)


def accept(conn: Connection, operations: Sequence[dict[str, Any]], versions: dict[str, int], op_seq: int,
           department_code: str) -> None:
    """Record that the exchange applied `operations` (ours), giving the entries `versions`.

    The exchange's copies become what it now has; local entries are now based on those versions;
    the journal's operations on them up to `op_seq` are synced. Edits made since stay unsynced.
    """
    ids = list(versions)
    local = {e.id: e for e in store.load_entries(conn, ids=ids).values()}
    servers = shadow.load(conn, ids, local)
    copies = {i: s.entry() for i, s in servers.items()}
    known = {i: s.version for i, s in servers.items()}
    conflicts = apply_operations(copies, known, operations)
    if conflicts:  # our own accepted changeset must apply to our copy of the exchange: anything else is a bug
        raise RuntimeError(f"accepted operations do not apply to the exchange's copy: {conflicts[:3]}")
    now_held = {i: shadow.of_entry(copies[i], department_code, versions[i]) for i in ids}
    # Entries now just as the exchange has them (the usual case) are stored once; see shadow.
    same = {i for i in ids if i in local and not shadow.differs(local[i], now_held[i])}
    shadow.save(conn, [now_held[i] for i in ids if i not in same])
    shadow.save_as_entry(conn, same, department_code, versions)
    store.set_versions(conn, {i: versions[i] for i in ids}, dirty={i: i not in same for i in ids})
    store.mark_synced(conn, ids, op_seq)


# The outbox -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    changeset: Changeset
    op_seq: int


def enqueue(conn: Connection, changeset: Changeset, op_seq: int, created_at: str) -> None:
    store.dbapi(conn).execute(
        "INSERT INTO outbox(id, seq, body, entry_ids, op_seq, state, created_at) VALUES (?, ?, ?, ?, ?, 'ready', ?)",
        (changeset.id, changeset.seq, changeset.canonical_bytes.decode("utf-8"),
         json.dumps(changeset.entry_ids()), op_seq, created_at),
    )


def waiting(conn: Connection) -> list[Queued]:
    """Changesets signed and perhaps sent, whose answer has not arrived: oldest first."""
    rows = store.dbapi(conn).execute("SELECT body, op_seq FROM outbox WHERE state = 'ready' ORDER BY seq").fetchall()
    return [Queued(parse(json.loads(body)), op_seq) for body, op_seq in rows]


def settle(conn: Connection, changeset_id: str, state: str, receipt: dict[str, Any] | None = None,
           error: str | None = None) -> None:
    store.dbapi(conn).execute("UPDATE outbox SET state = ?, receipt = ?, error = ? WHERE id = ?",
                      (state, None if receipt is None else json.dumps(receipt), error, changeset_id))


def last_seq(conn: Connection) -> int:
    return store.dbapi(conn).execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]
