"""What the console's pages show, read from the exchange's database in SQL (read-only).

The overview counts entries by sharing and open type per department in one grouped query over
the columns `entries` keeps for it; nothing here parses every entry's document.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, text

from exchange import admin_log, enrollment_requests
from exchange.admin_log import LAST_VERIFICATION
from exchange.enrollment_requests import PendingRequest
from steward.sync.keys import PublicKey, unb64

# How long an entry may go without a change before it is overdue, by its 更新周期 (irregular: never).
PERIODS = {"realtime": timedelta(days=1), "daily": timedelta(days=1), "weekly": timedelta(days=7),
           "monthly": timedelta(days=31), "quarterly": timedelta(days=92), "semiannual": timedelta(days=183),
           "annual": timedelta(days=366)}
SHARED = ("unconditional", "conditional")
OPEN = ("unconditional", "conditional")
PAGE = 50
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@dataclass
class Counts:
    entries: int = 0
    sharing: dict[str, int] = field(default_factory=dict)
    opening: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def sharing_rate(self) -> float | None:
        return sum(self.sharing.get(k, 0) for k in SHARED) / self.entries if self.entries else None

    @property
    def open_rate(self) -> float | None:
        return sum(self.opening.get(k, 0) for k in OPEN) / self.entries if self.entries else None

    def add(self, other: Counts) -> None:
        self.entries += other.entries
        self.overdue += other.overdue
        for mine, theirs in ((self.sharing, other.sharing), (self.opening, other.opening)):
            for key, n in theirs.items():
                mine[key] = mine.get(key, 0) + n


@dataclass
class DepartmentRow:
    code: str
    name: str
    counts: Counts
    last_push: str | None
    keys_enrolled: int
    keys_pending: int


@dataclass
class Overview:
    departments: list[DepartmentRow]
    city: Counts
    head: tuple[int, str]
    admin_head: tuple[int, str]
    last_verification: dict[str, Any] | None
    pending_requests: int


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def overview(conn: Connection, now: datetime | None = None) -> Overview:
    now = now or datetime.now(UTC)
    counts: dict[str, Counts] = {}
    groups = conn.execute(text("SELECT department_code, sharing_type, open_type, count(*) FROM entries "
                               "WHERE status = 'active' GROUP BY department_code, sharing_type, open_type"))
    for department, sharing, opening, n in groups:
        c = counts.setdefault(department, Counts())
        c.entries += n
        c.sharing[sharing] = c.sharing.get(sharing, 0) + n
        c.opening[opening] = c.opening.get(opening, 0) + n
    # Overdue: one grouped count, each frequency compared with its own cut-off (stamps sort as they read).
    cases = " OR ".join(f"(update_frequency = :f{i} AND updated_at < :c{i})" for i in range(len(PERIODS)))
    params: dict[str, Any] = {}
    for i, (frequency, period) in enumerate(PERIODS.items()):
        params[f"f{i}"], params[f"c{i}"] = frequency, _stamp(now - period)
    for department, n in conn.execute(text("SELECT department_code, count(*) FROM entries WHERE status = 'active' "
                                           f"AND ({cases}) GROUP BY department_code"), params):
        counts.setdefault(department, Counts()).overdue = n
    pushes = dict(conn.execute(text("SELECT department_code, max(accepted_at) FROM changesets "
                                    "GROUP BY department_code")).all())
    keys: dict[str, int] = dict(conn.execute(text("SELECT department_code, count(*) FROM steward_keys "
                                                  "WHERE revoked_at IS NULL GROUP BY department_code")).all())
    waiting: dict[str, int] = dict(conn.execute(text("SELECT department_code, count(*) FROM enrollment_requests "
                                                     "WHERE status = 'pending' GROUP BY department_code")).all())
    rows = []
    city = Counts()
    for code, name in conn.execute(text("SELECT code, name FROM departments ORDER BY code")):
        c = counts.get(code, Counts())
        city.add(c)
        rows.append(DepartmentRow(code, name, c, pushes.get(code), keys.get(code, 0), waiting.get(code, 0)))
    head = tuple(conn.execute(text("SELECT position, hash FROM head WHERE id = 1")).one())
    return Overview(rows, city, head, admin_log.head(conn), last_verification(conn),  # type: ignore[arg-type]
                    sum(waiting.values()))


def last_verification(conn: Connection) -> dict[str, Any] | None:
    found = conn.execute(text("SELECT value FROM exchange_meta WHERE key = :k"), {"k": LAST_VERIFICATION}).scalar()
    return json.loads(found) if found else None


# Departments and their keys ---------------------------------------------------------------


@dataclass(frozen=True)
class KeyRow:
    key_id: str
    fingerprint: str
    steward: str
    status: str  # enrolled, revoked or pending
    since: str
    last_push: str | None


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    keys: list[KeyRow]
    pending: list[PendingRequest]


def department(conn: Connection, code: str) -> Department | None:
    row = conn.execute(text("SELECT code, name FROM departments WHERE code = :c"), {"c": code}).first()
    if row is None:
        return None
    pushes = dict(conn.execute(text("SELECT key_id, max(accepted_at) FROM changesets WHERE department_code = :c "
                                    "GROUP BY key_id"), {"c": code}).all())
    keys = [KeyRow(k, PublicKey(unb64(p)).fingerprint, s, "revoked" if r else "enrolled", r or e, pushes.get(k))
            for k, p, s, e, r in conn.execute(text(
                "SELECT key_id, public_key, steward, enrolled_at, revoked_at FROM steward_keys "
                "WHERE department_code = :c ORDER BY enrolled_at, key_id"), {"c": code})]
    return Department(row[0], row[1], keys, enrollment_requests.pending(conn, code))


# The catalogue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryRow:
    id: str
    code: str
    name: str
    department: str
    department_name: str
    sharing_type: str
    open_type: str
    update_frequency: str
    status: str
    version: int
    updated_at: str


_ENTRY_COLUMNS = ("e.id, e.code, e.name, e.department_code, d.name, e.sharing_type, e.open_type, e.update_frequency, "
                  "e.status, e.version, e.updated_at")


def _like(term: str) -> str:
    """`term` as a LIKE pattern matching it anywhere, its own % and _ taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(conn: Connection, term: str, department: str, page: int) -> tuple[list[EntryRow], int]:
    """Entries whose name or code holds `term` (any characters, Chinese included), in code order; and how many."""
    where, params = ["1 = 1"], {"limit": PAGE, "offset": page * PAGE}
    if term.strip():
        where.append("(e.name LIKE :q ESCAPE '\\' OR e.code LIKE :q ESCAPE '\\')")
        params["q"] = _like(term.strip())
    if department:
        where.append("e.department_code = :d")
        params["d"] = department
    clause = " AND ".join(where)
    total = conn.execute(text(f"SELECT count(*) FROM entries e WHERE {clause}"), params).scalar_one()
    rows = conn.execute(text(f"SELECT {_ENTRY_COLUMNS} FROM entries e JOIN departments d ON d.code = "
                             f"e.department_code WHERE {clause} ORDER BY e.code, e.id LIMIT :limit OFFSET :offset"),
                        params)
    return [EntryRow(*r) for r in rows], total


@dataclass(frozen=True)
class Change:
    position: int
    accepted_at: str
    key_id: str
    steward: str
    author: str
    operations: list[dict[str, Any]]


def entry(conn: Connection, entry_id: str) -> tuple[EntryRow, dict[str, Any], list[Change]] | None:
    """One entry as stored, and every accepted changeset that touched it with who signed it, oldest first."""
    if not UUID.match(entry_id):
        return None
    row = conn.execute(text(f"SELECT {_ENTRY_COLUMNS}, e.document FROM entries e JOIN departments d "
                            "ON d.code = e.department_code WHERE e.id = :i"), {"i": entry_id}).first()
    if row is None:
        return None
    # A changeset's versions name every entry it touched; the id is a UUID, so it holds no LIKE wildcard.
    changes = []
    for position, accepted_at, key_id, steward, body in conn.execute(text(
            "SELECT c.position, c.accepted_at, c.key_id, k.steward, c.body FROM changesets c "
            "JOIN steward_keys k ON k.key_id = c.key_id WHERE c.versions LIKE :pattern ORDER BY c.position"),
            {"pattern": f'%"{entry_id}"%'}):
        document = json.loads(body)
        operations = [op for op in document["operations"] if op.get("entry_id") == entry_id]
        changes.append(Change(position, accepted_at, key_id, steward, document.get("author", ""), operations))
    return EntryRow(*row[:-1]), json.loads(row[-1]), changes


# The logs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRow:
    """A record of the log: a changeset (its entries), or a sharing request's step (its kind and request)."""

    position: int
    accepted_at: str
    department: str  # "" for a step the exchange signed (a review or an outcome)
    key_id: str
    steward: str
    entries: int
    hash: str
    step_kind: str = ""
    request_id: str = ""


def changeset_log(conn: Connection, before: int | None) -> list[LogRow]:
    """The newest records of the log, changesets and sharing steps alike (they share its positions)."""
    where_c = "WHERE c.position < :before " if before is not None else ""
    where_s = "WHERE s.position < :before " if before is not None else ""
    # Each side takes its newest page by its primary key before the two are merged: a city's log is long.
    rows = conn.execute(text(
        "SELECT * FROM ("
        "SELECT * FROM (SELECT c.position, c.accepted_at, c.department_code, c.key_id, k.steward, c.versions, "
        f"c.hash, '' AS kind, '' AS request_id FROM changesets c JOIN steward_keys k ON k.key_id = c.key_id {where_c}"
        "ORDER BY c.position DESC LIMIT :limit) AS c "
        "UNION ALL "
        "SELECT * FROM (SELECT s.position, s.accepted_at, COALESCE(s.department_code, ''), s.key_id, "
        "COALESCE(k.steward, ''), NULL, s.hash, s.kind, s.request_id "
        f"FROM sharing_steps s LEFT JOIN steward_keys k ON k.key_id = s.key_id {where_s}"
        "ORDER BY s.position DESC LIMIT :limit) AS s"
        ") AS log ORDER BY 1 DESC LIMIT :limit"), {"before": before, "limit": PAGE})
    return [LogRow(p, a, d, k, s, len(json.loads(v)) if v is not None else 0, h, kind, request)
            for p, a, d, k, s, v, h, kind, request in rows]
