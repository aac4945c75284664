"""Reading and writing entries, data items and their stored problems on a workspace connection.

Only the journal (and the workspace's own upkeep) writes through these functions, so every
change is recorded; readers may call the loaders freely.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from steward.catalogue import rules
from steward.catalogue.model import DataItem, Entry
from steward.workspace import search

ENTRY_COLUMNS = (
    "id",
    "code",
    "name",
    "classification",
    "provider",
    "provider_code",
    "abstract",
    "format_category",
    "format_type",
    "sharing_type",
    "sharing_conditions",
    "sharing_method_category",
    "sharing_method_type",
    "open_type",
    "open_conditions",
    "update_frequency",
    "published",
    "related_codes",
    "status",
    "version",
    "revision",
    "updated_at",
    "dirty",
)
ITEM_COLUMNS = ("id", "entry_pk", "position", "name", "data_type", "length", "sharing_type", "open_type")
CHUNK = 900  # well under SQLite's bound-parameter limit


def chunked(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def placeholders(n: int) -> str:
    return ",".join("?" * n)


def dbapi(conn: Connection) -> Any:
    return conn.connection.driver_connection


def entry_row(entry: Entry, updated_at: str, dirty: int) -> tuple[Any, ...]:
    return (
        entry.id,
        entry.code,
        entry.name,
        entry.classification,
        entry.provider,
        entry.provider_code,
        entry.abstract,
        entry.format_category,
        entry.format_type,
        entry.sharing_type,
        entry.sharing_conditions,
        entry.sharing_method_category,
        entry.sharing_method_type,
        entry.open_type,
        entry.open_conditions,
        entry.update_frequency,
        entry.published,
        json.dumps(entry.related_codes, ensure_ascii=False),
        entry.status,
        entry.version,
        entry.revision,
        updated_at,
        dirty,
    )


def item_row(item: DataItem, entry_pk: int) -> tuple[Any, ...]:
    return (
        item.id,
        entry_pk,
        item.position,
        item.name,
        item.data_type,
        item.length,
        item.sharing_type,
        item.open_type,
    )


def _entry_from_row(row: Sequence[Any]) -> Entry:
    values = dict(zip(ENTRY_COLUMNS, row, strict=True))
    values["related_codes"] = json.loads(values["related_codes"] or "[]")
    del values["updated_at"], values["dirty"]
    return Entry(**values)


def load_entries(conn: Connection, *, ids: Iterable[str] = (), pks: Iterable[int] = ()) -> dict[int, Entry]:
    """Entries (with their data items, in order) by id or by pk, keyed by pk."""
    db = dbapi(conn)
    select = f"SELECT pk, {', '.join(ENTRY_COLUMNS)} FROM entries"
    result: dict[int, Entry] = {}
    for column, keys in (("id", list(ids)), ("pk", list(pks))):
        for chunk in chunked(keys):
            for row in db.execute(f"{select} WHERE {column} IN ({placeholders(len(chunk))})", chunk):
                result[row[0]] = _entry_from_row(row[1:])
    for chunk in chunked(list(result)):
        rows = db.execute(
            "SELECT entry_pk, id, position, name, data_type, length, sharing_type, open_type FROM items "
            f"WHERE entry_pk IN ({placeholders(len(chunk))}) ORDER BY entry_pk, position, id",
            chunk,
        )
        for entry_pk, item_id, position, name, data_type, length, sharing, opening in rows:
            result[entry_pk].items.append(DataItem(name, data_type, length, sharing, opening, position, item_id))
    return result


def pks_for_ids(conn: Connection, ids: Iterable[str]) -> dict[str, int]:
    db = dbapi(conn)
    found: dict[str, int] = {}
    for chunk in chunked(list(ids)):
        found.update(
            db.execute(f"SELECT id, pk FROM entries WHERE id IN ({placeholders(len(chunk))})", chunk).fetchall()
        )
    return found


def insert_entries(conn: Connection, entries: Sequence[Entry], updated_at: str) -> list[int]:
    """Insert new entries and their items; returns their pks in order."""
    db = dbapi(conn)
    columns = ", ".join(ENTRY_COLUMNS)
    db.executemany(
        f"INSERT INTO entries({columns}) VALUES ({placeholders(len(ENTRY_COLUMNS))})",
        [entry_row(e, updated_at, 1) for e in entries],
    )
    # Rows inserted in one statement sequence get consecutive pks only if nothing was deleted
    # at the end of the table; asking by id is cheap and always right.
    by_id = pks_for_ids(conn, [e.id for e in entries])
    pks = [by_id[e.id] for e in entries]
    db.executemany(
        f"INSERT INTO items({', '.join(ITEM_COLUMNS)}) VALUES ({placeholders(len(ITEM_COLUMNS))})",
        [item_row(item, pk) for pk, entry in zip(pks, entries, strict=True) for item in entry.items],
    )
    return pks


def update_entry(conn: Connection, pk: int, before: Entry, after: Entry, updated_at: str, dirty: int) -> None:
    """Write `after` over the stored `before`, touching only the data items that differ."""
    db = dbapi(conn)
    assignments = ", ".join(f"{c} = ?" for c in ENTRY_COLUMNS[1:])
    db.execute(f"UPDATE entries SET {assignments} WHERE pk = ?", (*entry_row(after, updated_at, dirty)[1:], pk))
    old_items = {i.id: i for i in before.items}
    new_items = {i.id: i for i in after.items}
    removed = [i for i in old_items if i not in new_items]
    if removed:
        db.executemany("DELETE FROM items WHERE entry_pk = ? AND id = ?", [(pk, i) for i in removed])
    added = [item_row(i, pk) for i in after.items if i.id not in old_items]
    if added:
        db.executemany(
            f"INSERT INTO items({', '.join(ITEM_COLUMNS)}) VALUES ({placeholders(len(ITEM_COLUMNS))})", added
        )
    changed = [i for i in after.items if i.id in old_items and i != old_items[i.id]]
    if changed:
        db.executemany(
            "UPDATE items SET position = ?, name = ?, data_type = ?, length = ?, sharing_type = ?, open_type = ? "
            "WHERE entry_pk = ? AND id = ?",
            [(i.position, i.name, i.data_type, i.length, i.sharing_type, i.open_type, pk, i.id) for i in changed],
        )


def pks_with_codes(conn: Connection, codes: Iterable[str]) -> set[int]:
    db = dbapi(conn)
    found: set[int] = set()
    for chunk in chunked(sorted(codes)):
        found.update(
            r[0] for r in db.execute(f"SELECT pk FROM entries WHERE code IN ({placeholders(len(chunk))})", chunk)
        )
    return found


def ids_for_pks(conn: Connection, pks: Sequence[int]) -> dict[str, int]:
    db = dbapi(conn)
    found: dict[str, int] = {}
    for chunk in chunked(list(pks)):
        found.update(db.execute(f"SELECT id, pk FROM entries WHERE pk IN ({placeholders(len(chunk))})", chunk))
    return found


def delete_entries(conn: Connection, pks: Sequence[int]) -> None:
    search.unindex(conn, list(pks))
    db = dbapi(conn)
    for chunk in chunked(list(pks)):
        db.execute(f"DELETE FROM entries WHERE pk IN ({placeholders(len(chunk))})", chunk)


def document_of(entry: Entry) -> str:
    return search.document(entry.name, entry.code, entry.abstract, (i.name for i in entry.items))


def reindex(conn: Connection, entries: dict[int, Entry]) -> None:
    search.unindex(conn, list(entries))
    search.index_rows(conn, [(pk, document_of(e)) for pk, e in entries.items()])


# Problems -----------------------------------------------------------------------------


def duplicate_codes(conn: Connection, codes: Iterable[str] | None = None) -> frozenset[str]:
    """Codes held by more than one entry (among `codes`, or all)."""
    db = dbapi(conn)
    query = "SELECT code FROM entries WHERE code != '' {where} GROUP BY code HAVING COUNT(*) > 1"
    if codes is None:
        return frozenset(row[0] for row in db.execute(query.format(where="")))
    found: set[str] = set()
    for chunk in chunked(sorted(set(codes))):
        found.update(
            row[0] for row in db.execute(query.format(where=f"AND code IN ({placeholders(len(chunk))})"), chunk)
        )
    return frozenset(found)


def rule_context(conn: Connection, department_code: str, duplicates: frozenset[str]) -> rules.Context:
    db = dbapi(conn)

    def code_exists(code: str) -> bool:
        return db.execute("SELECT 1 FROM entries WHERE code = ? LIMIT 1", (code,)).fetchone() is not None

    return rules.Context(department_code=department_code or None, duplicate_codes=duplicates, code_exists=code_exists)


def catalogue_rule_context(conn: Connection, department_code: str) -> rules.Context:
    """What the rules know of the whole catalogue as it stands, held in memory: usable after `conn` is closed."""
    codes = frozenset(row[0] for row in dbapi(conn).execute("SELECT DISTINCT code FROM entries WHERE code != ''"))
    return rules.Context(department_code=department_code or None, duplicate_codes=duplicate_codes(conn),
                         code_exists=codes.__contains__)


def store_problems(conn: Connection, entries: dict[int, Entry], ctx: rules.Context) -> None:
    """Check `entries` and replace their stored problems and counts."""
    write_problems(conn, [(pk, rules.check(entry, ctx)) for pk, entry in entries.items()])


def write_problems(conn: Connection, checked: list[tuple[int, list[rules.Problem]]]) -> None:
    """Replace the stored problems and counts of the entries (by pk) checked."""
    db = dbapi(conn)
    for chunk in chunked([pk for pk, _ in checked]):
        db.execute(f"DELETE FROM problems WHERE entry_pk IN ({placeholders(len(chunk))})", chunk)
    db.executemany(
        "INSERT INTO problems(entry_pk, item_id, field, code, severity, params) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (pk, p.item_id, p.field, p.code, str(p.severity), json.dumps(p.params, ensure_ascii=False))
            for pk, found in checked
            for p in found
        ],
    )
    db.executemany(
        "UPDATE entries SET problem_count = ?, error_count = ? WHERE pk = ?",
        [(len(found), sum(1 for p in found if p.severity is rules.Severity.ERROR), pk) for pk, found in checked],
    )


def revalidate_all(conn: Connection, department_code: str) -> None:
    """Check every entry again and store the results."""
    write_problems(conn, check_all(conn, department_code))


def check_all(conn: Connection, department_code: str) -> list[tuple[int, list[rules.Problem]]]:
    """Every entry (by pk) with its problems as the rules find them now; stores nothing.

    Streams entries and items in pk order side by side instead of loading by pk lists (one
    pass over each table is several times faster on a large catalogue); whoever stores the results does so
    after both scans end, since changing a table under an open scan of it is undefined.
    """
    db = dbapi(conn)
    ctx = rule_context(conn, department_code, duplicate_codes(conn))
    item_rows = db.execute(
        "SELECT entry_pk, id, position, name, data_type, length, sharing_type, open_type FROM items "
        "ORDER BY entry_pk, position, id"
    )
    next_item = next(item_rows, None)
    checked: list[tuple[int, list[rules.Problem]]] = []
    for row in db.execute(f"SELECT pk, {', '.join(ENTRY_COLUMNS)} FROM entries ORDER BY pk").fetchall():
        pk, entry = row[0], _entry_from_row(row[1:])
        while next_item is not None and next_item[0] <= pk:
            entry_pk, item_id, position, name, data_type, length, sharing, opening = next_item
            if entry_pk == pk:
                entry.items.append(DataItem(name, data_type, length, sharing, opening, position, item_id))
            next_item = next(item_rows, None)
        checked.append((pk, rules.check(entry, ctx)))
    return checked


def stored_problems(conn: Connection, entry_id: str) -> list[rules.Problem]:
    db = dbapi(conn)
    rows = db.execute(
        "SELECT p.item_id, p.field, p.code, p.severity, p.params FROM problems p JOIN entries e ON e.pk = p.entry_pk "
        "WHERE e.id = ? ORDER BY p.rowid",
        (entry_id,),
    )
    return [
        rules.Problem(entry_id, field, code, rules.Severity(severity), json.loads(params), item_id)
        for item_id, field, code, severity, params in rows
    ]


# Bookkeeping: sync state kept beside the entries -------------------------------------------


def set_dirty(conn: Connection, flags: Mapping[int, bool]) -> None:
    """Mark entries (by pk) unsynced or not."""
    dbapi(conn).executemany("UPDATE entries SET dirty = ? WHERE pk = ?", [(int(d), pk) for pk, d in flags.items()])


def set_versions(conn: Connection, versions: Mapping[str, int], dirty: Mapping[str, bool] | None = None) -> None:
    """The exchange's version of each entry (by id); with `dirty`, its unsynced mark too."""
    if dirty is None:
        dbapi(conn).executemany("UPDATE entries SET version = ? WHERE id = ?", [(v, i) for i, v in versions.items()])
    else:
        dbapi(conn).executemany("UPDATE entries SET version = ?, dirty = ? WHERE id = ?",
                                [(v, int(dirty[i]), i) for i, v in versions.items()])


def mark_synced(conn: Connection, entry_ids: Sequence[str], up_to_seq: int) -> None:
    """The pending operations of these entries up to journal position `up_to_seq` reached the exchange."""
    db = dbapi(conn)
    for chunk in chunked(list(entry_ids)):
        db.execute(f"UPDATE operations SET state = 'synced' WHERE state = 'pending' AND seq <= ? "
                   f"AND entry_id IN ({placeholders(len(chunk))})", (up_to_seq, *chunk))


def set_meta(conn: Connection, values: Mapping[str, str]) -> None:
    """Keep facts about the workspace (its department, its exchange, index versions)."""
    dbapi(conn).executemany(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        list(values.items()),
    )


def delete_meta(conn: Connection, keys: Sequence[str]) -> None:
    dbapi(conn).execute(f"DELETE FROM meta WHERE key IN ({placeholders(len(keys))})", tuple(keys))
