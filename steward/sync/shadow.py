"""The exchange's copy of entries, kept in the workspace: what every local change is measured against.

An entry has a shadow once the exchange has accepted it (or sent it to us). Local changes are
the difference between the entry and its shadow; an entry without one was never synced.

A shadow stored without a document is the entry itself: an entry pulled from the exchange and
not changed here is stored once, not twice (a first sync would otherwise write the catalogue
twice). The journal gives such a shadow the entry's content before it first changes the entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.model import ENTRY_FIELD, DataItem, Entry, Kind, item_order
from steward.catalogue.operations import OpKind
from steward.sync.changeset import entry_document, entry_from_document
from steward.workspace import store
from steward.workspace.store import chunked, placeholders


@dataclass(frozen=True)
class Shadow:
    entry_id: str
    department_code: str
    version: int
    document: dict[str, Any]  # as changeset.entry_document

    def entry(self) -> Entry:
        """The shadow as an entry (at its version)."""
        entry = entry_from_document(self.entry_id, self.document)
        entry.version = self.version
        return entry


def load(conn: Connection, entry_ids: Iterable[str], entries: dict[str, Entry] | None = None) -> dict[str, Shadow]:
    """The shadows of these entries; `entries` (by id), where the caller has them loaded, spares reading them again."""
    found: dict[str, Shadow] = {}
    itself: dict[str, tuple[str, int]] = {}  # stored as "the entry itself"
    for chunk in chunked(list(entry_ids)):
        rows = store.dbapi(conn).execute(
            f"SELECT entry_id, department_code, version, document FROM server_entries "
            f"WHERE entry_id IN ({placeholders(len(chunk))})", chunk)
        for entry_id, department, version, document in rows:
            if document is None:
                itself[entry_id] = (department, version)
            else:
                found[entry_id] = Shadow(entry_id, department, version, json.loads(document))
    known = entries or {}
    loaded = [known[i] for i in itself if i in known]
    loaded.extend(store.load_entries(conn, ids=[i for i in itself if i not in known]).values())
    for entry in loaded:
        department, version = itself[entry.id]
        found[entry.id] = Shadow(entry.id, department, version, entry_document(entry))
    return found


def field_values(conn: Connection, entry_ids: Iterable[str], fields: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The exchange's value of each of `fields` for each entry it has: {field: {entry_id: value}}.

    Read in SQL, not by loading whole copies: a bulk edit asks it of thousands of entries.
    """
    # Plain entry fields only; the check is also what makes naming them in SQL safe.
    unknown = [f for f in fields if f not in ENTRY_FIELD or ENTRY_FIELD[f].kind is Kind.CODES]
    if unknown:
        raise KeyError(f"not a plain entry field: {unknown}")
    columns = ", ".join(
        f"CASE WHEN s.document IS NULL THEN e.{f} ELSE json_extract(s.document, '$.{f}') END" for f in fields)
    found: dict[str, dict[str, Any]] = {f: {} for f in fields}
    for chunk in chunked(list(dict.fromkeys(entry_ids))):
        rows = store.dbapi(conn).execute(
            f"SELECT s.entry_id, {columns} FROM server_entries s LEFT JOIN entries e ON e.id = s.entry_id "
            f"WHERE s.entry_id IN ({placeholders(len(chunk))})", chunk)
        for entry_id, *values in rows:
            for key, value in zip(fields, values, strict=True):
                found[key][entry_id] = value
    return found


def departments(conn: Connection, entry_ids: Iterable[str]) -> dict[str, str]:
    """The department of each entry the exchange has."""
    found: dict[str, str] = {}
    for chunk in chunked(list(entry_ids)):
        found.update(store.dbapi(conn).execute(
            f"SELECT entry_id, department_code FROM server_entries WHERE entry_id IN ({placeholders(len(chunk))})",
            chunk))
    return found


def save(conn: Connection, shadows: Iterable[Shadow]) -> None:
    _save(conn, [(s.entry_id, s.department_code, s.version, dump(s.document)) for s in shadows])


def save_as_entry(conn: Connection, entry_ids: Iterable[str], department_code: str, versions: dict[str, int]) -> None:
    """Record that the exchange has these entries exactly as they are stored here."""
    _save(conn, [(i, department_code, versions[i], None) for i in entry_ids])


def _save(conn: Connection, rows: list[tuple[str, str, int, str | None]]) -> None:
    store.dbapi(conn).executemany(
        "INSERT INTO server_entries(entry_id, department_code, version, document) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(entry_id) DO UPDATE SET department_code = excluded.department_code, "
        "version = excluded.version, document = excluded.document",
        rows,
    )


def before_change(conn: Connection, entries: Iterable[Entry]) -> None:
    """Entries about to change: those whose shadow is the entry itself keep their present content in it."""
    by_id = {e.id: e for e in entries}
    db = store.dbapi(conn)
    itself: list[str] = []
    for chunk in chunked(list(by_id)):
        itself.extend(r[0] for r in db.execute(
            f"SELECT entry_id FROM server_entries WHERE document IS NULL AND entry_id IN ({placeholders(len(chunk))})",
            chunk))
    db.executemany("UPDATE server_entries SET document = ? WHERE entry_id = ?",
                   [(dump(entry_document(by_id[i])), i) for i in itself])


def of_entry(entry: Entry, department_code: str, version: int) -> Shadow:
    return Shadow(entry.id, department_code, version, entry_document(entry))


def dump(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def differs(entry: Entry, shadow: Shadow | None) -> bool:
    """Whether the entry has changes the exchange does not have."""
    return shadow is None or entry_document(entry) != shadow.document


def refresh_dirty(conn: Connection, entries: dict[int, Entry]) -> None:
    """Mark each entry (by pk) unsynced exactly when it differs from the exchange's copy (or has none)."""
    if not entries:
        return
    servers = load(conn, [e.id for e in entries.values()])
    store.set_dirty(conn, {pk: differs(entry, servers.get(entry.id)) for pk, entry in entries.items()})


def exchange_may_have(conn: Connection, entry_id: str) -> bool:
    """Whether the exchange has the entry, or may have it: sent in a changeset whose answer is not known yet."""
    row = store.dbapi(conn).execute(
        "SELECT 1 FROM server_entries WHERE entry_id = ? "
        "UNION ALL SELECT 1 FROM outbox WHERE state != 'refused' AND instr(entry_ids, ?) > 0 "
        "UNION ALL SELECT 1 FROM operations WHERE entry_id = ? AND state != 'pending' LIMIT 1",
        (entry_id, f'"{entry_id}"', entry_id),
    )
    return row.fetchone() is not None


SHADOW_VERSION = "1"  # a workspace without this fact gets the shadows its synced entries lack


def build_missing(conn: Connection, department_code: str) -> int:
    """Shadows for entries marked synced (version > 0) that have none: each as it was before its pending changes.

    Workspaces from before sync existed kept only a version number; their pending operations,
    taken back in memory, give the exchange's copy.
    """
    db = store.dbapi(conn)
    pks = [row[0] for row in db.execute(
        "SELECT pk FROM entries WHERE version > 0 AND id NOT IN (SELECT entry_id FROM server_entries)")]
    entries = store.load_entries(conn, pks=pks)
    rebuilt = []
    for entry in entries.values():
        ops = db.execute("SELECT kind, field, item_id, old_value FROM operations WHERE entry_id = ? "
                         "AND state = 'pending' ORDER BY seq DESC", (entry.id,)).fetchall()
        server = entry.copy()
        for kind, field, item_id, old in ops:
            _take_back(server, kind, field, item_id, None if old is None else json.loads(old))
        rebuilt.append(of_entry(server, department_code, entry.version))
    save(conn, rebuilt)
    store.set_dirty(conn, {pk: differs(e, s) for (pk, e), s in zip(entries.items(), rebuilt, strict=True)})
    return len(rebuilt)


def _take_back(entry: Entry, kind: str, field: str | None, item_id: str | None, old: Any) -> None:
    if kind == OpKind.SET and field:
        setattr(entry, field, old)
    elif kind == OpKind.ITEM_SET and field:
        item = entry.item(item_id or "")
        if item is not None:
            setattr(item, field, old)
    elif kind == OpKind.ITEM_ADD:
        entry.items = [i for i in entry.items if i.id != item_id]
    elif kind == OpKind.ITEM_REMOVE and old:
        entry.items.append(DataItem.from_dict(old))
    entry.items.sort(key=item_order)
