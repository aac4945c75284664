"""The departments' names, as the exchange vouches for them: stewards know departments by name, not by their
18-character 统一社会信用代码.

Each sync keeps the exchange's list of registered departments (`GET /v1/departments`): each entry is signed
by the exchange's key (`steward-department-v1` tag), so only the exchange the workspace pinned can name a
department; an entry whose signature does not verify is left out, and its code is shown as it is. A name
the exchange no longer lists is kept: requests of that department stay readable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from steward.sync.keys import PublicKey
from steward.sync.protocol import DEPARTMENT_TAG, server_verify, utc_now
from steward.workspace import store


@dataclass(frozen=True)
class Department:
    code: str
    name: str


def vouched(listed: Iterable[Any], server_public: PublicKey) -> list[Department]:
    """The departments of the exchange's list whose signature verifies with its key, with a name that says something."""
    found = []
    for entry in listed:
        if not isinstance(entry, dict) or set(entry) != {"code", "name", "signature"}:
            continue
        code, name = entry["code"], entry["name"]
        if isinstance(code, str) and isinstance(name, str) and name.strip() and \
                server_verify(server_public, DEPARTMENT_TAG, entry):
            found.append(Department(code, " ".join(name.split())))  # on one line wherever it is shown
    return found


def remember(conn: Connection, departments: Iterable[Department]) -> None:
    store.dbapi(conn).executemany(
        "INSERT INTO departments(code, name, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(code) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at",
        [(d.code, d.name, utc_now()) for d in departments])


def names(conn: Connection) -> dict[str, str]:
    """Every department's name the workspace knows, by code."""
    return dict(store.dbapi(conn).execute("SELECT code, name FROM departments").fetchall())
