"""The open view: what the public may see of the catalogue, kept current in the transaction that applies each changeset.

Tables (migration 0006):

- `open_datasets`: one small row per publishable entry, keyed by `entry_id`, with `department_code`,
  `code`, `name`, `open_type`, `modified` (when the push that last changed it was accepted, as the log
  stamps it: ``2026-12-07T21:18:26.123456Z``) and `position` (that push's log position).
- `open_documents`: each version's content, keyed by (`entry_id`, `position`), written once: `document`,
  the entry as the public sees it (the JSON of `steward.sync.changeset.entry_document`, its 不予开放 data
  items left out).
- `open_pieces`: what a version is served as, one row per `form` (ttl, jsonld, rdf, datajson), written by
  exchange/opendata/render.py for the serve options `rendered_for` after the push; none, or written for
  other options, means "write it now".
- `open_history`: the small rows a change or a removal replaced (`superseded_at` is that position), kept
  `HISTORY_SECONDS` with their documents, so that a harvest reads every page as of one position (`as_of`).
- `open_removed`: a tombstone per entry that left the open catalogue (made 不予开放, retired, ...):
  `removed_at` is the position that removed it. Publishing the entry again deletes its tombstone.

"Publishable" is `steward.catalogue.publication.withheld(entry) is None`, the client's decision: active,
无条件开放 or 有条件开放, not 不予共享, no rule error. As changesets land only `publication.is_open` is asked,
because the ledger has just refused any entry with a rule error.

Reading (every function takes an open connection: use `exchange.db.reading(engine)`; several calls in
one `reading(engine, snapshot=True)` see one state):

- `snapshot(conn)`: the log position that names the current state; pass it as `as_of` to page through
  one state (`SnapshotExpired` when its history is gone: start again from the first page).
- `datasets(conn, after="", limit=1000, as_of=None, department=None)`: `OpenDataset`s ordered by
  `entry_id`, those after `after` (keyset paging: a page is (as_of, last entry_id), so a harvest never loops).
  With `form` and `options_key` each row also carries that form's `piece` and `shared`, and its `document`
  only where the piece is missing.
- `count(conn, as_of=None, department=None)`, `dataset(conn, entry_id)`, `dataset_by_code(conn, code)`
  (current rows only: None once removed), `organizations(conn)` (every department with its open count),
  `removed_since(conn, after_position, limit)` (tombstones, oldest first).
- `version(conn)`: a number that grows with every change of the view (its newest position): with the
  serve options it makes the ETag and Last-Modified (`last_modified(conn)`) of anything served from it.
  It is also a valid `as_of`: the view as of `version` is the view now (the DCAT pages page from it).
- `OpenDataset.entry()` is the entry as published (a `steward.catalogue.model.Entry`: name, abstract, codes,
  open type and conditions, items without the 不予开放 ones); `document(conn, entry_id, position)` a
  version's JSON; `exchange.opendata.render.dataset_iri(row, options)` its DCAT IRI.

For example, everything now, 100 at a time, and what left since position p::

    with reading(engine, snapshot=True) as conn:
        as_of, after = view.version(conn), ""
        while page := view.datasets(conn, after, 100, as_of):
            ...  # page[i].entry(), .code, .department_code, .modified
            after = page[-1].entry_id
        gone = view.removed_since(conn, p)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from steward.catalogue import publication
from steward.catalogue.model import Entry
from steward.sync.changeset import entry_document, entry_from_document

CHUNK = 500
HISTORY_SECONDS = 24 * 3600  # how long a harvest may take to follow its pages through one snapshot
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the log's (steward.sync.protocol.utc_now)
HORIZON_KEY = "open_history_horizon"  # exchange_meta: snapshots before this position lost their history

SMALL = "department_code, code, name, open_type, modified"
FORMS = ("ttl", "jsonld", "rdf", "datajson")
_COLUMNS = "o.entry_id, o.position, o.department_code, o.code, o.name, o.open_type, o.modified"
_DOCUMENT = "JOIN open_documents d ON d.entry_id = o.entry_id AND d.position = o.position"
# With a form: its piece where written for the options, and the document only where it is not (read lazily).
_PIECE = ("LEFT JOIN open_pieces p ON p.entry_id = o.entry_id AND p.position = o.position AND p.form = :form "
          "AND p.rendered_for = :key")


def _select(table: str, form: str | None) -> str:
    if form is None:
        return f"SELECT {_COLUMNS}, d.document, NULL, NULL FROM {table} o {_DOCUMENT}"
    return (f"SELECT {_COLUMNS}, CASE WHEN p.body IS NULL THEN d.document END, p.body, p.shared "
            f"FROM {table} o {_DOCUMENT} {_PIECE}")


_CURRENT = _select("open_datasets", None)


class SnapshotExpired(Exception):
    """The versions a snapshot needs were pruned (`HISTORY_SECONDS` after they were replaced)."""


@dataclass(frozen=True)
class OpenDataset:
    entry_id: str
    position: int
    department_code: str
    code: str
    name: str
    open_type: str
    modified: str
    document: str | None  # JSON of the entry as published (None when a form was asked and its piece is there)
    piece: str | None = None  # the form asked for, as written for the options asked for
    shared: str | None = None  # the shared nodes the piece names

    def entry(self) -> Entry:
        """The entry as published (without its 不予开放 data items)."""
        assert self.document is not None, "read without its document"
        return entry_from_document(self.entry_id, json.loads(self.document))


@dataclass(frozen=True)
class Removal:
    entry_id: str
    department_code: str
    code: str
    removed_at: int  # the log position that removed it
    removed_stamp: str


@dataclass(frozen=True)
class Organization:
    code: str
    name: str
    datasets: int


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# Deciding and writing -------------------------------------------------------------------------------------


def published_document(entry: Entry, document: str | None = None) -> str:
    """The entry as the public sees it (JSON): its 不予开放 data items left out.

    `document` is the entry's full JSON when the caller has it: returned as it is when no item is left out.
    """
    shown = [item for item in entry.items if publication.item_is_public(entry, item)]
    if document is not None and len(shown) == len(entry.items):
        return document
    return json.dumps(entry_document(replace(entry, items=shown)), ensure_ascii=False, separators=(",", ":"))


_ITEMS = ',"items":['
_BETWEEN_ITEMS = '},{"id":'


def _published_from(entry: Entry, document: str) -> str:
    """`published_document` of an entry from the JSON the ledger has just written of it, by cutting its hidden
    items out of the text: writing whole documents again took a third of the view's time on a big push.

    The ledger writes `entry_document(entry)` compactly: "items" is the last key, each item an object
    starting with its "id", in `entry.items` order. Inside a JSON string every quote is escaped, so the two
    markers occur only as that structure; anything else falls back to writing the document again.
    """
    hidden = [n for n, item in enumerate(entry.items) if not publication.item_is_public(entry, item)]
    if not hidden:
        return document
    cut = document.rfind(_ITEMS)
    if cut < 0 or not document.endswith("]}"):
        return published_document(entry)
    parts = document[cut + len(_ITEMS) : -2].split(_BETWEEN_ITEMS)
    if len(parts) != len(entry.items):
        return published_document(entry)
    last = len(parts) - 1
    texts = [("" if n == 0 else '{"id":') + part + ("" if n == last else "}") for n, part in enumerate(parts)]
    for n in reversed(hidden):
        del texts[n]
    return f"{document[:cut]}{_ITEMS}{','.join(texts)}]}}"


def _row(entry: Entry, department: str, position: int, stamp: str, published: str) -> tuple[Any, ...]:
    return entry.id, position, department, entry.code, entry.name, entry.open_type or "", stamp, published


def _sql(conn: Connection, statement: str) -> str:
    """`statement`, written with ? markers, in the driver's own parameter style.

    The view's upkeep runs statements on thousands of rows inside the push's transaction: handed to the
    driver as tuples they cost half what SQLAlchemy's named parameters do.
    """
    return statement if conn.dialect.paramstyle == "qmark" else statement.replace("?", "%s")


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _copy(conn: Connection, table: str, columns: str, rows: Iterable[tuple[Any, ...]]) -> None:
    """PostgreSQL's COPY into `table`, in the connection's transaction: for thousands of rows a fraction of
    what as many INSERTs cost there."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _insert(conn: Connection, documents: Iterable[tuple[Any, ...]], small: Iterable[tuple[Any, ...]]) -> None:
    """Insert new versions: `documents` (entry_id, position, document) and `small` (entry_id, position,
    department_code, code, name, open_type, modified), handed over as they are made.

    Made one at a time, not first kept in a list: thousands of rows alive at once made the garbage collector
    run more full collections over everything the push holds (that cost more than writing the rows)."""
    if conn.dialect.name == "postgresql":
        _copy(conn, "open_documents", "entry_id, position, document", documents)
        _copy(conn, "open_datasets", f"entry_id, position, {SMALL}", small)
        return
    driver = conn.connection.driver_connection  # sqlite3 takes an iterator; SQLAlchemy wants a list
    driver.executemany("INSERT INTO open_documents(entry_id, position, document) VALUES (?, ?, ?)", documents)
    driver.executemany(f"INSERT INTO open_datasets(entry_id, position, {SMALL}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       small)


def _move_to_history(conn: Connection, ids: list[str], position: int, stamp: str) -> list[str]:
    """Move the current rows of `ids` to the history, as replaced at `position`; the ids that had one."""
    small = SMALL
    if conn.dialect.name == "postgresql":  # one statement, the ids as one array: round trips cost most there
        return [row[0] for row in conn.exec_driver_sql(
            f"WITH moved AS (DELETE FROM open_datasets WHERE entry_id = ANY(%s) RETURNING entry_id, position, {small}) "
            f"INSERT INTO open_history(entry_id, position, superseded_at, superseded_stamp, {small}) "
            f"SELECT entry_id, position, %s, %s, {small} FROM moved RETURNING entry_id", (ids, position, stamp))]
    present: list[str] = []
    for chunk in _chunks(ids):
        marks = _marks(len(chunk))
        conn.exec_driver_sql(f"INSERT INTO open_history(entry_id, position, superseded_at, superseded_stamp, {small}) "
                             f"SELECT entry_id, position, ?, ?, {small} FROM open_datasets WHERE entry_id IN ({marks})",
                             (position, stamp, *chunk))
        present.extend(row[0] for row in conn.exec_driver_sql(
            f"DELETE FROM open_datasets WHERE entry_id IN ({marks}) RETURNING entry_id", tuple(chunk)))
    return present


def upkeep(conn: Connection, department: str, entries: Mapping[str, Entry], documents: Mapping[str, str],
           position: int, stamp: str) -> None:
    """Bring the view up to date with `entries` as the changeset at `position` leaves them (in its transaction).

    `documents` are their JSON as the ledger has just written it. Each touched entry that was in the view
    moves to the history; those still publishable come back as new versions, the others leave a tombstone.
    """
    opened = [entry for entry in entries.values() if publication.is_open(entry)]
    present = _move_to_history(conn, list(entries), position, stamp)
    published = {entry.id for entry in opened}
    gone = [entry_id for entry_id in present if entry_id not in published]
    if gone:
        conn.exec_driver_sql(_sql(conn, "DELETE FROM open_removed WHERE entry_id = ?"), [(i,) for i in gone])
        conn.exec_driver_sql(_sql(conn, "INSERT INTO open_removed(entry_id, department_code, code, removed_at, "
                                        "removed_stamp) VALUES (?, ?, ?, ?, ?)"),
                             [(i, department, entries[i].code, position, stamp) for i in gone])
    back = sorted(published - set(present))  # new to the view: a tombstone may say it left before
    if back and conn.dialect.name == "postgresql":
        conn.exec_driver_sql("DELETE FROM open_removed WHERE entry_id = ANY(%s)", (back,))
    else:
        for chunk in _chunks(back):
            conn.exec_driver_sql(f"DELETE FROM open_removed WHERE entry_id IN ({_marks(len(chunk))})", tuple(chunk))
    _insert(conn, ((e.id, position, _published_from(e, documents[e.id]) if e.id in documents
                    else published_document(e)) for e in opened),
            ((e.id, position, department, e.code, e.name, e.open_type or "", stamp) for e in opened))
    if present:
        _prune(conn, stamp)


def _prune(conn: Connection, stamp: str) -> None:
    """Forget versions replaced more than HISTORY_SECONDS ago, and remember which snapshots that ends."""
    try:
        now = datetime.strptime(stamp, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return
    cutoff = (now - timedelta(seconds=HISTORY_SECONDS)).strftime(STAMP_FORMAT)
    horizon = conn.execute(text("SELECT max(superseded_at) FROM open_history WHERE superseded_stamp < :c"),
                           {"c": cutoff}).scalar_one()
    if horizon is None:
        return
    for table in ("open_pieces", "open_documents"):
        conn.execute(text(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM open_history h "
                          f"WHERE h.entry_id = {table}.entry_id AND h.position = {table}.position "
                          "AND h.superseded_stamp < :c)"), {"c": cutoff})
    conn.execute(text("DELETE FROM open_history WHERE superseded_stamp < :c"), {"c": cutoff})
    conn.execute(text("DELETE FROM exchange_meta WHERE key = :k"), {"k": HORIZON_KEY})
    conn.execute(text("INSERT INTO exchange_meta(key, value) VALUES (:k, :v)"), {"k": HORIZON_KEY, "v": str(horizon)})


def fill(conn: Connection) -> int:
    """Put every publishable entry of the catalogue in the (empty) view; how many."""
    rows = []
    for entry_id, department, document, position, stamp in conn.execute(
            text("SELECT id, department_code, document, position, updated_at FROM entries")):
        entry = entry_from_document(entry_id, json.loads(document))
        if publication.withheld(entry) is None:
            rows.append(_row(entry, department, position, stamp, published_document(entry, document)))
    for chunk in _chunks(rows):
        _insert(conn, ((r[0], r[1], r[7]) for r in chunk), (r[:7] for r in chunk))
    return len(rows)


def store_rendered(conn: Connection, options_key: str, pieces: Sequence[Mapping[str, Any]]) -> None:
    """Keep written pieces: mappings of entry_id, position, form, body and shared (a version's are right for it
    for good: a push that replaces it makes a new version)."""
    if pieces:
        conn.execute(text("INSERT INTO open_pieces(entry_id, position, form, rendered_for, body, shared) "
                          "VALUES (:entry_id, :position, :form, :f, :body, :shared) "
                          "ON CONFLICT (entry_id, position, form) DO UPDATE SET rendered_for = excluded.rendered_for, "
                          "body = excluded.body, shared = excluded.shared"),
                     [{**piece, "f": options_key} for piece in pieces])


def unrendered(conn: Connection, options_key: str, limit: int, since: int | None = None) -> list[OpenDataset]:
    """Current rows with no pieces for `options_key` (what a writer does next), of versions after `since`."""
    after = "" if since is None else "o.position > :s AND "
    rows = conn.execute(text(f"{_select('open_datasets', 'ttl')} WHERE {after}p.entry_id IS NULL LIMIT :n"),
                        {"form": "ttl", "key": options_key, "n": limit, "s": since})
    return [OpenDataset(*row) for row in rows]


# Reading --------------------------------------------------------------------------------------------------


def snapshot(conn: Connection) -> int:
    """The log's head position: the state every read `as_of` it sees."""
    return int(conn.execute(text("SELECT position FROM head WHERE id = 1")).scalar_one())


def horizon(conn: Connection) -> int:
    value = conn.execute(text("SELECT value FROM exchange_meta WHERE key = :k"), {"k": HORIZON_KEY}).scalar()
    return int(value) if value else 0


def _check_snapshot(conn: Connection, as_of: int) -> None:
    if as_of < horizon(conn) or as_of > snapshot(conn):
        raise SnapshotExpired(f"snapshot {as_of} is not available")


def datasets(conn: Connection, after: str = "", limit: int = 1000, as_of: int | None = None,
             department: str | None = None, form: str | None = None, options_key: str = "") -> list[OpenDataset]:
    """Up to `limit` datasets after entry id `after`, in entry id order, as of position `as_of` (None: now);
    with `form`, each with its piece of that form written for `options_key` where there is one."""
    where = "o.entry_id > :after" + (" AND o.department_code = :d" if department else "")
    params: dict[str, Any] = {"after": after, "n": limit, "d": department, "s": as_of, "form": form,
                              "key": options_key}
    if as_of is None:
        rows = conn.execute(text(f"{_select('open_datasets', form)} WHERE {where} ORDER BY o.entry_id LIMIT :n"),
                            params).all()
        return [OpenDataset(*row) for row in rows]
    _check_snapshot(conn, as_of)
    # Two ordered reads merged here, rather than a UNION the database would read whole before its LIMIT.
    current = conn.execute(text(f"{_select('open_datasets', form)} WHERE {where} AND o.position <= :s "
                                "ORDER BY o.entry_id LIMIT :n"), params).all()
    old = conn.execute(text(f"{_select('open_history', form)} WHERE {where} AND o.position <= :s "
                            "AND o.superseded_at > :s ORDER BY o.entry_id LIMIT :n"), params).all()
    rows = sorted([*current, *old], key=lambda row: row[0])[:limit]
    return [OpenDataset(*row) for row in rows]


def count(conn: Connection, as_of: int | None = None, department: str | None = None) -> int:
    where = " AND department_code = :d" if department else ""
    params = {"d": department, "s": as_of}
    if as_of is None:
        return int(conn.execute(text(f"SELECT count(*) FROM open_datasets WHERE 1 = 1{where}"), params).scalar_one())
    _check_snapshot(conn, as_of)
    current = conn.execute(text(f"SELECT count(*) FROM open_datasets WHERE position <= :s{where}"), params)
    old = conn.execute(text(f"SELECT count(*) FROM open_history WHERE position <= :s AND superseded_at > :s{where}"),
                       params)
    return int(current.scalar_one()) + int(old.scalar_one())


def dataset(conn: Connection, entry_id: str) -> OpenDataset | None:
    """The dataset now (None when the entry is not, or no longer, published)."""
    row = conn.execute(text(f"{_CURRENT} WHERE o.entry_id = :i"), {"i": entry_id}).first()
    return OpenDataset(*row) if row else None


def document(conn: Connection, entry_id: str, position: int) -> str | None:
    """A version's published document (current or still in the history)."""
    return conn.execute(text("SELECT document FROM open_documents WHERE entry_id = :i AND position = :p"),
                        {"i": entry_id, "p": position}).scalar()


def dataset_by_code(conn: Connection, code: str) -> OpenDataset | None:
    # Through `entries`' index on code: the view has none of its own (each would cost every push).
    row = conn.execute(text(f"{_CURRENT} WHERE o.entry_id IN (SELECT id FROM entries WHERE code = :c) "
                            "ORDER BY o.entry_id LIMIT 1"), {"c": code}).first()
    return OpenDataset(*row) if row else None


def organizations(conn: Connection) -> list[Organization]:
    """Every department (the publishers), with how many open datasets it has now, in code order."""
    counts = dict(conn.execute(text("SELECT department_code, count(*) FROM open_datasets "
                                    "GROUP BY department_code")).all())
    rows = conn.execute(text("SELECT code, name FROM departments ORDER BY code")).all()
    return [Organization(code, name, int(counts.get(code, 0))) for code, name in rows]


def removed_since(conn: Connection, after_position: int = 0, limit: int = 1000) -> list[Removal]:
    """Datasets that left the open catalogue after `after_position` (and are not back), oldest first."""
    rows = conn.execute(text("SELECT entry_id, department_code, code, removed_at, removed_stamp FROM open_removed "
                             "WHERE removed_at > :p ORDER BY removed_at, entry_id LIMIT :n"),
                        {"p": after_position, "n": limit}).all()
    return [Removal(*row) for row in rows]


def version(conn: Connection) -> int:
    """The newest position that changed the view (0 when nothing did): any change makes it grow."""
    shown = conn.execute(text("SELECT max(position) FROM open_datasets")).scalar_one() or 0
    removed = conn.execute(text("SELECT max(removed_at) FROM open_removed")).scalar_one() or 0
    return int(max(shown, removed))


def last_modified(conn: Connection) -> str | None:
    """When the view last changed (the log's stamp of `version`), or None while nothing is in it."""
    newest = version(conn)
    if not newest:
        return None
    return conn.execute(text("SELECT accepted_at FROM changesets WHERE position = :p"), {"p": newest}).scalar()
