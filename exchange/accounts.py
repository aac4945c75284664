"""The console's accounts: who may log in, with which role, and how wrong passwords are slowed down.

Passwords are stored as Argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended
set). A TOTP second factor (RFC 6238, pyotp) is off until an administrator turns it on for the
account. Logins are throttled in the database, so every server process sees the same counts: ten
wrong passwords in a row lock the account for a while, and an address that fails many times,
whatever the accounts, is locked as well.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, text

from exchange.db import reading, writing
from steward.sync.protocol import parse_time, utc_now

MIN_PASSWORD = 10
MAX_NAME = 64
ACCOUNT_FAILURES = 10  # wrong passwords in a row that lock an account
ACCOUNT_LOCK = timedelta(minutes=15)
ADDRESS_FAILURES = 30  # failed logins from one address within ADDRESS_WINDOW that lock it out
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_LOCK = timedelta(minutes=15)
TOTP_ISSUER = "Steward exchange"

_hasher = PasswordHasher()  # Argon2id
# A hash to verify against when the account does not exist, so that the answer takes as long.
_ABSENT = _hasher.hash("no such account")


class Role(StrEnum):
    ADMIN = "admin"  # everything
    REVIEWER = "reviewer"  # reads, verifies the log; no department or key changes


class AccountError(Exception):
    """An account command that cannot be done; `code` is a message code (steward/catalogue/messages.py)."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class LoginRefused(Exception):
    """A login that did not succeed; `reason` is wrong, locked or address_locked (the page words each)."""

    def __init__(self, reason: str, until: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    totp: bool
    disabled: bool
    locked_until: str | None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c)[0] in "CZ" and c != " " for c in name):
        raise AccountError("account.name_invalid", name=name, limit=MAX_NAME)
    return name


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError("account.password_short", minimum=MIN_PASSWORD)


_COLUMNS = "name, role, totp_secret, disabled_at, locked_until"


def _account(row: tuple) -> Account:
    return Account(row[0], Role(row[1]), row[2] is not None, row[3] is not None, row[4])


def find(conn: Connection, name: str) -> Account | None:
    row = conn.execute(text(f"SELECT {_COLUMNS} FROM console_accounts WHERE name = :n"), {"n": name}).first()
    return _account(tuple(row)) if row else None


def get(engine: Engine, name: str) -> Account | None:
    with reading(engine) as conn:
        return find(conn, name)


def accounts(engine: Engine) -> list[Account]:
    with reading(engine) as conn:
        return [_account(tuple(r)) for r in conn.execute(text(f"SELECT {_COLUMNS} FROM console_accounts "
                                                              "ORDER BY name"))]


# Each change is a function of a connection holding the write lock, so that exchange/administration.py
# can record it in the administration log in the same transaction; the Engine forms are for tests and tools.


def add(engine: Engine, name: str, role: Role, password: str) -> Account:
    with writing(engine) as conn:
        return insert(conn, name, role, password)


def insert(conn: Connection, name: str, role: Role, password: str) -> Account:
    name = _check_name(name)
    _check_password(password)
    if find(conn, name) is not None:
        raise AccountError("account.exists", name=name)
    conn.execute(text("INSERT INTO console_accounts(name, role, password_hash, created_at) "
                      "VALUES (:n, :r, :h, :t)"),
                 {"n": name, "r": str(role), "h": _hasher.hash(password), "t": utc_now()})
    return find(conn, name)  # type: ignore[return-value]


def _require(conn: Connection, name: str) -> Account:
    account = find(conn, name)
    if account is None:
        raise AccountError("account.unknown", name=name)
    return account


def set_password(engine: Engine, name: str, password: str) -> None:
    with writing(engine) as conn:
        store_password(conn, name, password)


def store_password(conn: Connection, name: str, password: str) -> None:
    """A new password; it also lifts a lock (the administrator who sets it knows who asked)."""
    _check_password(password)
    _require(conn, name)
    conn.execute(text("UPDATE console_accounts SET password_hash = :h, failures = 0, locked_until = NULL "
                      "WHERE name = :n"), {"h": _hasher.hash(password), "n": name})


def disable(engine: Engine, name: str) -> None:
    with writing(engine) as conn:
        mark_disabled(conn, name)


def mark_disabled(conn: Connection, name: str) -> None:
    """The account can no longer log in, and its sessions end now."""
    _require(conn, name)
    conn.execute(text("UPDATE console_accounts SET disabled_at = :t WHERE name = :n AND disabled_at IS NULL"),
                 {"t": utc_now(), "n": name})
    conn.execute(text("DELETE FROM console_sessions WHERE account = :n"), {"n": name})


def enable_totp(engine: Engine, name: str) -> str:
    with writing(engine) as conn:
        return store_totp(conn, name)


def store_totp(conn: Connection, name: str) -> str:
    """Turn the second factor on: returns the otpauth:// URI to scan into an authenticator app."""
    secret = pyotp.random_base32()
    _require(conn, name)
    conn.execute(text("UPDATE console_accounts SET totp_secret = :s WHERE name = :n"), {"s": secret, "n": name})
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)


def totp_secret(engine: Engine, name: str) -> str | None:
    with reading(engine) as conn:
        return conn.execute(text("SELECT totp_secret FROM console_accounts WHERE name = :n"), {"n": name}).scalar()


def _later(moment: str | None, now: datetime) -> bool:
    return moment is not None and parse_time(moment) > now


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log_in(engine: Engine, name: str, password: str, code: str, address: str,
           now: datetime | None = None) -> Account:
    """The account, if `password` (and the TOTP `code` where it is on) are right and nothing is locked.

    A locked account or address is refused before the password is checked, so guessing on gains
    nothing. Each failure counts against both the account (if it exists) and the address.
    """
    now = now or datetime.now(UTC)
    with writing(engine) as conn:
        blocked = conn.execute(text("SELECT locked_until FROM console_address_failures WHERE address = :a"),
                               {"a": address}).scalar()
        if _later(blocked, now):
            raise LoginRefused("address_locked", blocked)
        row = conn.execute(text("SELECT password_hash, totp_secret, disabled_at, locked_until, failures "
                                "FROM console_accounts WHERE name = :n"), {"n": name}).first()
        if row is not None and _later(row[3], now):
            raise LoginRefused("locked", row[3])
        if _right(row, password, code, now):
            conn.execute(text("UPDATE console_accounts SET failures = 0, locked_until = NULL WHERE name = :n"),
                         {"n": name})
            return find(conn, name)  # type: ignore[return-value]
        if row is not None:
            failures = row[4] + 1
            locked = _stamp(now + ACCOUNT_LOCK) if failures >= ACCOUNT_FAILURES else None
            conn.execute(text("UPDATE console_accounts SET failures = :f, locked_until = :l WHERE name = :n"),
                         {"f": 0 if locked else failures, "l": locked, "n": name})
        _count_address_failure(conn, address, now)
    raise LoginRefused("wrong")


def _right(row: tuple | None, password: str, code: str, now: datetime) -> bool:
    try:
        ok = _hasher.verify(row[0] if row is not None else _ABSENT, password)
    except (VerificationError, InvalidHashError):
        ok = False
    if row is None or not ok or row[2] is not None:  # unknown or disabled: the same answer as a wrong password
        return False
    return row[1] is None or pyotp.TOTP(row[1]).verify(code.strip(), for_time=now, valid_window=1)


def _count_address_failure(conn: Connection, address: str, now: datetime) -> None:
    row = conn.execute(text("SELECT failures, window_start FROM console_address_failures WHERE address = :a"),
                       {"a": address}).first()
    if row is None or parse_time(row[1]) + ADDRESS_WINDOW < now:
        conn.execute(text("DELETE FROM console_address_failures WHERE address = :a"), {"a": address})
        conn.execute(text("INSERT INTO console_address_failures(address, failures, window_start) "
                          "VALUES (:a, 1, :t)"), {"a": address, "t": _stamp(now)})
        return
    failures = row[0] + 1
    locked = _stamp(now + ADDRESS_LOCK) if failures >= ADDRESS_FAILURES else None
    conn.execute(text("UPDATE console_address_failures SET failures = :f, locked_until = :l WHERE address = :a"),
                 {"f": failures, "l": locked, "a": address})
