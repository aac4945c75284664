"""Reading the catalogue: filters, sorting, search, single entries and summaries, all in SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, text

from steward.catalogue.classification import levels
from steward.catalogue.errors import StewardError
from steward.catalogue.model import Entry
from steward.catalogue.rules import Problem
from steward.catalogue.vocabulary import vocabulary
from steward.workspace import search, store
from steward.workspace.workspace import Workspace


class SortKey(StrEnum):
    CODE = "code"
    NAME = "name"
    SHARING = "sharing_type"
    OPEN = "open_type"
    FREQUENCY = "update_frequency"
    PROBLEMS = "problem_count"
    CHANGED = "dirty"
    CLASSIFICATION = "classification"
    UPDATED = "updated_at"


def _rank_order(column: str, vocab: str) -> str:
    """Order vocabulary columns by their meaning (least to most restrictive), not alphabetically."""
    cases = " ".join(f"WHEN '{t.key}' THEN {n}" for n, t in enumerate(vocabulary(vocab).terms))
    return f"CASE e.{column} {cases} ELSE 99 END"


_ORDER = {
    SortKey.CODE: "e.code",
    SortKey.NAME: "e.name",
    SortKey.SHARING: _rank_order("sharing_type", "sharing_type"),
    SortKey.OPEN: _rank_order("open_type", "open_type"),
    SortKey.FREQUENCY: _rank_order("update_frequency", "update_frequency"),
    SortKey.PROBLEMS: "e.problem_count",
    SortKey.CHANGED: "e.dirty",
    SortKey.CLASSIFICATION: "e.classification",
    SortKey.UPDATED: "e.updated_at",
}


@dataclass(frozen=True)
class EntryFilter:
    text: str = ""
    sharing_types: frozenset[str] = frozenset()
    open_types: frozenset[str] = frozenset()
    update_frequencies: frozenset[str] = frozenset()
    classification: str = ""  # a prefix: "2", "202", "202003" ...
    has_problems: bool | None = None  # True: only entries with problems; False: only those without
    changed: bool = False  # only entries with changes not yet synced
    statuses: frozenset[str] = frozenset()

    def sql(self, walk_in_order: bool = False) -> tuple[str, dict[str, Any]]:
        """A WHERE clause over `entries e`, with its parameters.

        `walk_in_order` tells SQLite not to look matches up by pk (the unary + hides the pk from
        the planner), so it walks the sort column's index instead: faster when most entries match.
        """
        clauses: list[str] = []
        params: dict[str, Any] = {}
        for column, values in (
            ("sharing_type", self.sharing_types),
            ("open_type", self.open_types),
            ("update_frequency", self.update_frequencies),
            ("status", self.statuses),
        ):
            if values:
                names = []
                for n, value in enumerate(sorted(values)):
                    params[f"{column}{n}"] = value
                    names.append(f":{column}{n}")
                clauses.append(f"e.{column} IN ({', '.join(names)})")
        if self.classification:
            # A range on the indexed column rather than LIKE, which SQLite would not index here.
            clauses.append("e.classification >= :cls_lo AND e.classification < :cls_hi")
            params["cls_lo"] = self.classification
            params["cls_hi"] = self.classification + "\uffff"
        if self.has_problems is not None:
            clauses.append("e.problem_count > 0" if self.has_problems else "e.problem_count = 0")
        if self.changed:
            clauses.append("e.dirty = 1")
        found = search.match(self.text)
        if found:
            pk = "+e.pk" if walk_in_order else "e.pk"
            clauses.extend(f"{pk} IN ({source})" for source in found.sources)
            params.update(found.params)
        return (" AND ".join(clauses) or "1"), params

    def without_text(self) -> EntryFilter:
        return replace(self, text="")


@dataclass(frozen=True)
class EntryRow:
    """What the catalogue table shows of one entry."""

    pk: int
    id: str
    code: str
    name: str
    sharing_type: str | None
    open_type: str | None
    update_frequency: str | None
    classification: str
    status: str
    problem_count: int
    error_count: int
    dirty: bool
    provider: str = ""
    updated_at: str = ""


_ROW_COLUMNS = (
    "e.pk, e.id, e.code, e.name, e.sharing_type, e.open_type, e.update_frequency, e.classification, e.status, "
    "e.problem_count, e.error_count, e.dirty, e.provider, e.updated_at"
)


def _row(values: Sequence[Any]) -> EntryRow:
    *head, dirty, provider, updated_at = values
    return EntryRow(*head, dirty=bool(dirty), provider=provider, updated_at=updated_at)


def entry_pks(
    conn: Connection, flt: EntryFilter, sort: SortKey = SortKey.CODE, descending: bool = False
) -> list[int]:
    """The pks of every matching entry in display order: all a table model needs to hold."""
    db = store.dbapi(conn)
    where, params = flt.sql(walk_in_order=sort in _INDEXED and _matches_most(db, flt))
    direction = "DESC" if descending else "ASC"
    sql = f"SELECT e.pk FROM entries e WHERE {where} ORDER BY {_ORDER[sort]} {direction}, e.pk {direction}"
    # Straight from the driver: SQLAlchemy's row handling costs more than SQLite itself on 100,000 ints.
    return [row[0] for row in db.execute(sql, params)]


_INDEXED = {SortKey.CODE, SortKey.NAME, SortKey.CLASSIFICATION}


def _matches_most(db: Any, flt: EntryFilter) -> bool:
    """Whether a plain text search matches over a fifth of the catalogue (counting off the index is cheap)."""
    found = search.match(flt.text)
    if found is None or len(found.sources) != 1:
        return False
    matches = db.execute(f"SELECT COUNT(*) FROM ({found.sources[0]})", found.params).fetchone()[0]
    total = db.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    return matches * 5 > total


def count(conn: Connection, flt: EntryFilter) -> int:
    where, params = flt.sql()
    return conn.execute(text(f"SELECT COUNT(*) FROM entries e WHERE {where}"), params).scalar_one()


def rows(conn: Connection, pks: Sequence[int]) -> list[EntryRow]:
    """Table rows for `pks`, in the order given (pks no longer present are left out)."""
    db = store.dbapi(conn)
    found: dict[int, EntryRow] = {}
    for chunk in store.chunked(list(pks)):
        sql = f"SELECT {_ROW_COLUMNS} FROM entries e WHERE e.pk IN ({store.placeholders(len(chunk))})"
        for values in db.execute(sql, chunk):
            found[values[0]] = _row(values)
    return [found[pk] for pk in pks if pk in found]


@dataclass(frozen=True)
class SearchResult:
    total: int
    rows: list[EntryRow] = field(default_factory=list)


def search_entries(
    workspace: Workspace, query: str, flt: EntryFilter | None = None, limit: int = 50, offset: int = 0
) -> SearchResult:
    """Entries containing every term of `query` (and matching `flt`) in the order they were made, with the total."""
    flt = replace(flt or EntryFilter(), text=query)
    found = search.match(query)
    rest, _ = flt.without_text().sql()
    page = {"limit": limit, "offset": offset}
    with workspace.reading() as conn:
        if found is not None and len(found.sources) == 1 and rest == "1":
            # The common case, a plain search: count and page straight off the index, which
            # yields pks in order, so the first page needs no sort over every match.
            source = found.sources[0]
            total = conn.execute(text(f"SELECT COUNT(*) FROM ({source})"), found.params).scalar_one()
            sql = (
                f"SELECT {_ROW_COLUMNS} FROM ({source}) s CROSS JOIN entries e ON e.pk = s.rowid "
                "ORDER BY s.rowid LIMIT :limit OFFSET :offset"
            )
            rows_found = conn.execute(text(sql), {**found.params, **page}).all()
        else:
            where, params = flt.sql()
            total = conn.execute(text(f"SELECT COUNT(*) FROM entries e WHERE {where}"), params).scalar_one()
            sql = f"SELECT {_ROW_COLUMNS} FROM entries e WHERE {where} ORDER BY e.pk LIMIT :limit OFFSET :offset"
            rows_found = conn.execute(text(sql), {**params, **page}).all()
    return SearchResult(total, [_row(v) for v in rows_found])


def classification_counts(conn: Connection, flt: EntryFilter | None = None) -> dict[str, int]:
    """How many matching entries fall under each classification prefix (类, 项, 目 and 细目)."""
    where, params = (flt or EntryFilter()).sql()
    sql = f"SELECT e.classification, COUNT(*) FROM entries e WHERE {where} GROUP BY e.classification"
    counts: dict[str, int] = {}
    for classification, n in conn.execute(text(sql), params):
        for prefix in levels(classification) or [classification]:
            counts[prefix] = counts.get(prefix, 0) + n
    return counts


def get_entry(workspace: Workspace, entry_id: str) -> Entry:
    with workspace.reading() as conn:
        found = store.load_entries(conn, ids=[entry_id])
    if not found:
        raise StewardError("entry.not_found", key=entry_id)
    return next(iter(found.values()))


def find_entry(workspace: Workspace, key: str) -> Entry:
    """The entry whose id or resource code is `key`."""
    key = key.strip()
    with workspace.reading() as conn:
        pks = list(
            conn.execute(text("SELECT pk FROM entries WHERE id = :k OR code = :k ORDER BY pk"), {"k": key}).scalars()
        )
        if len(pks) > 1:
            raise StewardError("entry.ambiguous", key=key)
        found = store.load_entries(conn, pks=pks)
    if not found:
        raise StewardError("entry.not_found", key=key)
    return next(iter(found.values()))


def problems_of(workspace: Workspace, entry_id: str) -> list[Problem]:
    with workspace.reading() as conn:
        return store.stored_problems(conn, entry_id)


def entry_pk(workspace: Workspace, entry_id: str) -> int | None:
    """The row key of entry `entry_id` (what the catalogue table is ordered by), None once it is erased."""
    with workspace.reading() as conn:
        return store.pks_for_ids(conn, [entry_id]).get(entry_id)


def entry_ids(workspace: Workspace, pks: Sequence[int]) -> list[str]:
    """The ids of the entries with these row keys, in the order given (erased ones are left out)."""
    with workspace.reading() as conn:
        found = {pk: entry_id for entry_id, pk in store.ids_for_pks(conn, pks).items()}
    return [found[pk] for pk in pks if pk in found]


@dataclass(frozen=True)
class Names:
    """What entries and their data items are called now, to show beside changes recorded by id."""

    entries: dict[str, tuple[str, str]]  # entry id -> (code, name)
    items: dict[tuple[str, str], str]  # (entry id, item id) -> name; item ids are unique within their entry

    def items_of(self, entry_id: str) -> dict[str, str]:
        return {item_id: name for (owner, item_id), name in self.items.items() if owner == entry_id}


def names(workspace: Workspace, ids: Iterable[str], items_of: Iterable[str] = ()) -> Names:
    """The codes and names of the entries `ids` and the names of the data items of the entries `items_of`.

    Entries no longer present are left out (the journal's snapshots still name them).
    """
    entries: dict[str, tuple[str, str]] = {}
    items: dict[tuple[str, str], str] = {}
    with workspace.reading() as conn:
        db = conn.connection.driver_connection
        for chunk in store.chunked(list(set(ids))):
            sql = f"SELECT id, code, name FROM entries WHERE id IN ({store.placeholders(len(chunk))})"
            entries.update((i, (code, name)) for i, code, name in db.execute(sql, chunk))
        for chunk in store.chunked(list(set(items_of))):
            sql = ("SELECT e.id, i.id, i.name FROM items i JOIN entries e ON e.pk = i.entry_pk "
                   f"WHERE e.id IN ({store.placeholders(len(chunk))})")
            items.update(((entry_id, item_id), name) for entry_id, item_id, name in db.execute(sql, chunk))
    return Names(entries, items)


@dataclass(frozen=True)
class Summary:
    department_code: str
    department_name: str
    entries: int
    items: int
    retired: int
    with_errors: int
    with_warnings_only: int
    unsynced: int
    by_sharing: dict[str, int]
    by_open: dict[str, int]
    by_frequency: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def summary(workspace: Workspace) -> Summary:
    with workspace.reading() as conn:

        def scalar(sql: str) -> int:
            return conn.execute(text(sql)).scalar_one()

        def grouped(column: str) -> dict[str, int]:
            sql = f"SELECT COALESCE({column}, ''), COUNT(*) FROM entries GROUP BY 1 ORDER BY 1"
            return dict(conn.execute(text(sql)).all())

        return Summary(
            department_code=workspace.department_code,
            department_name=workspace.department_name,
            entries=scalar("SELECT COUNT(*) FROM entries"),
            items=scalar("SELECT COUNT(*) FROM items"),
            retired=scalar("SELECT COUNT(*) FROM entries WHERE status = 'retired'"),
            with_errors=scalar("SELECT COUNT(*) FROM entries WHERE error_count > 0"),
            with_warnings_only=scalar("SELECT COUNT(*) FROM entries WHERE error_count = 0 AND problem_count > 0"),
            unsynced=scalar("SELECT COUNT(*) FROM entries WHERE dirty = 1"),
            by_sharing=grouped("sharing_type"),
            by_open=grouped("open_type"),
            by_frequency=grouped("update_frequency"),
        )
