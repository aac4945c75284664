"""Conflicts between local changes and other stewards' changes: recorded until the steward resolves them.

A conflict names the entry, the field (or the data item), and three values: the exchange's
before both changes (base), mine, and theirs (what the exchange has now). An entry with an
unresolved conflict is not sent. Resolving turns the choice into ordinary local changes on the
exchange's current version, which the next sync sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.catalogue.model import DataItem, Entry
from steward.sync import settle, shadow
from steward.sync.merge import WHOLE_ITEM, FieldConflict
from steward.workspace import journal, query, store
from steward.workspace.journal import AddItem, Change, RemoveItem, SetField, SetItemField
from steward.workspace.workspace import Workspace, now


class Take(StrEnum):
    MINE = "mine"
    THEIRS = "theirs"


@dataclass(frozen=True)
class Conflict:
    id: int
    entry_id: str
    field: str
    item_id: str | None
    base: Any
    mine: Any
    theirs: Any
    changeset_id: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "entry_id": self.entry_id, "field": self.field, "item_id": self.item_id,
                "base": self.base, "mine": self.mine, "theirs": self.theirs, "changeset_id": self.changeset_id,
                "created_at": self.created_at}


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def record(conn: Connection, found: Iterable[FieldConflict], changeset_id: str) -> int:
    """Store new conflicts; one already open on the same field takes the newest 'theirs'. Returns how many are new."""
    db = store.dbapi(conn)
    new = 0
    for c in found:
        row = db.execute("SELECT id FROM conflicts WHERE entry_id = ? AND field = ? AND item_id IS ? "
                         "AND resolved_at IS NULL", (c.entry_id, c.field, c.item_id)).fetchone()
        if row:
            db.execute("UPDATE conflicts SET theirs = ?, changeset_id = ? WHERE id = ?",
                       (_dump(c.theirs), changeset_id, row[0]))
        else:
            db.execute("INSERT INTO conflicts(entry_id, field, item_id, base, mine, theirs, changeset_id, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (c.entry_id, c.field, c.item_id, _dump(c.base), _dump(c.mine), _dump(c.theirs), changeset_id,
                        now()))
            new += 1
    return new


def open_conflicts(conn: Connection, entry_ids: Iterable[str] | None = None) -> list[Conflict]:
    db = store.dbapi(conn)
    select = ("SELECT id, entry_id, field, item_id, base, mine, theirs, changeset_id, created_at FROM conflicts "
              "WHERE resolved_at IS NULL")
    if entry_ids is None:
        rows = db.execute(f"{select} ORDER BY id").fetchall()
    else:
        rows = []
        for chunk in store.chunked(list(entry_ids)):
            rows.extend(db.execute(f"{select} AND entry_id IN ({store.placeholders(len(chunk))}) ORDER BY id",
                                   chunk).fetchall())
    return [Conflict(r[0], r[1], r[2], r[3], json.loads(r[4]), json.loads(r[5]), json.loads(r[6]), r[7], r[8])
            for r in rows]


def entries_in_conflict(conn: Connection) -> set[str]:
    rows = store.dbapi(conn).execute("SELECT DISTINCT entry_id FROM conflicts WHERE resolved_at IS NULL")
    return {r[0] for r in rows}


def unresolved(workspace: Workspace, entry_ids: Iterable[str] | None = None) -> list[Conflict]:
    with workspace.reading() as conn:
        return open_conflicts(conn, entry_ids)


Choice = Take | Any  # Take.MINE, Take.THEIRS, or a value the steward typed for the merged result


def _change_for(entry: Entry, conflict: Conflict, choice: Choice) -> list[Change]:
    """The local change that makes the entry hold the chosen value (nothing, for 'mine')."""
    if choice == Take.MINE:
        return []
    value = conflict.theirs if choice == Take.THEIRS else choice
    if conflict.field == WHOLE_ITEM:
        item_id = conflict.item_id or ""
        present = entry.item(item_id) is not None
        changes: list[Change] = [RemoveItem(entry.id, item_id)] if present else []
        if value is not None:
            changes.append(AddItem(entry.id, DataItem.from_dict(value)))
        return changes
    if conflict.item_id:
        return [SetItemField(entry.id, conflict.item_id, conflict.field, value)]
    return [SetField(entry.id, conflict.field, list(value) if isinstance(value, list) else value)]


def _unit(conflict: Conflict) -> settle.Unit:
    return (conflict.item_id, None) if conflict.item_id else (None, conflict.field)


def resolve(workspace: Workspace, entry_id: str, choices: Mapping[int, Choice], reason: str | None = None) -> None:
    """Resolve every open conflict of an entry at once: each conflict id maps to mine, theirs or a value.

    Applying needs a choice for every conflict of the entry; the chosen values become local changes
    (one undoable step) and the conflicts are closed in the same transaction.
    """
    with workspace.writing() as conn:
        open_ = open_conflicts(conn, [entry_id])
        missing = [c.id for c in open_ if c.id not in choices]
        if not open_ or missing:
            raise StewardError("conflict.unresolved", key=entry_id, count=len(missing))
        entry = next(iter(store.load_entries(conn, ids=[entry_id]).values()))
        changes = [change for c in open_ for change in _change_for(entry, c, choices[c.id])]
        if changes:
            journal.apply_on(conn, workspace.department_code, changes, reason=reason or render("conflict.reason"))
        store.dbapi(conn).executemany("UPDATE conflicts SET resolved_at = ? WHERE id = ?",
                                      [(now(), c.id) for c in open_])
        # Where the entry now holds the exchange's value (theirs taken, or typed alike), the local changes there,
        # the conflicting one and the taking, are settled: nothing of them is left to send.
        server = shadow.load(conn, [entry_id]).get(entry_id)
        if server is not None:
            settle.settle_resolved(conn, server.entry(), [(_unit(c), c.changeset_id) for c in open_])


def resolve_all(workspace: Workspace, entry_id: str, take: Take) -> None:
    """Take mine or theirs for every open conflict of an entry (the command line's --take)."""
    entry = query.find_entry(workspace, entry_id)
    resolve(workspace, entry.id, {c.id: take for c in unresolved(workspace, [entry.id])})
