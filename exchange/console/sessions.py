"""Console sessions: a random token in an HttpOnly cookie, its SHA-256 in the database, and a CSRF token.

Sessions live in the database so that every server process knows them. A session ends when it
has been idle for IDLE (or after LIFETIME whatever happens), when its account logs out, or when
its account is disabled. The cookie's token is never stored: a copy of the database does not let
anyone take over a session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from exchange.accounts import Account, find
from exchange.db import reading, writing
from steward.sync.protocol import parse_time, utc_now

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most this often: a page view is mostly a read


@dataclass(frozen=True)
class Session:
    account: Account
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(engine: Engine, account: Account) -> str:
    """A new session for `account`; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    with writing(engine) as conn:
        conn.execute(text("INSERT INTO console_sessions(token_sha256, account, csrf, created_at, last_seen) "
                          "VALUES (:t, :a, :c, :n, :n)"),
                     {"t": _digest(token), "a": account.name, "c": secrets.token_urlsafe(32), "n": now})
    return token


def current(engine: Engine, token: str | None, now: datetime | None = None) -> Session | None:
    """The live session the cookie names, or None (no cookie, unknown, idle too long, or the account disabled)."""
    if not token:
        return None
    now = now or datetime.now(UTC)
    with reading(engine) as conn:
        row = conn.execute(text("SELECT account, csrf, created_at, last_seen FROM console_sessions "
                                "WHERE token_sha256 = :t"), {"t": _digest(token)}).first()
        account = find(conn, row[0]) if row else None
    if row is None or account is None or account.disabled:
        return None
    last_seen = parse_time(row[3])
    if now - last_seen > IDLE or now - parse_time(row[2]) > LIFETIME:
        end(engine, token)
        return None
    if now - last_seen > TOUCH_EVERY:
        with writing(engine) as conn:
            conn.execute(text("UPDATE console_sessions SET last_seen = :n WHERE token_sha256 = :t"),
                         {"n": utc_now(), "t": _digest(token)})
    return Session(account, row[1])


def end(engine: Engine, token: str) -> None:
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM console_sessions WHERE token_sha256 = :t"), {"t": _digest(token)})
