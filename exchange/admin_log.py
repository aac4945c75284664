"""The administration log: every administrator's change, hash-chained and signed by the exchange.

Beside the log of changesets (which clients read and verify), the exchange keeps a second chain
of what its administrators did, in the console or on the server's shell: a department added, a key
enrolled, an enrollment request approved or declined, a key revoked (with the reason), the exchange's
key rotated, a console account added or changed, the log verified. Each record names who did it (the
console account, or the shell's `--by`), is chained to the one before like a feed record
(docs/protocol.md § 6a) and carries the exchange's signature, made when it is written. Records are
appended under the exchange's write lock, in the transaction that makes the change they describe
(exchange/administration.py), so a change and its record land together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from steward.sync.changeset import canonical, sha256_hex
from steward.sync.keys import PublicKey, SigningKey
from steward.sync.protocol import GENESIS, server_sign, server_verify, utc_now

RECORD_TAG = b"steward-admin-record-v1\n"  # the record's hash
SIGNATURE_TAG = b"steward-admin-signature-v1\n"  # the exchange's signature over the record with its hash
LAST_VERIFICATION = "last_verification"  # exchange_meta key: the newest verification's result, as JSON


@dataclass(frozen=True)
class AdminRecord:
    position: int
    action: str
    account: str
    details: dict[str, Any]
    recorded_at: str
    prev_hash: str
    hash: str
    signature: str

    def header(self) -> dict[str, Any]:
        return {"position": self.position, "action": self.action, "account": self.account, "details": self.details,
                "recorded_at": self.recorded_at, "prev_hash": self.prev_hash}

    def signed(self) -> dict[str, Any]:
        return {**self.header(), "hash": self.hash, "signature": self.signature}


def record_hash(header: dict[str, Any]) -> str:
    return sha256_hex(RECORD_TAG + canonical(header))


def _head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(text("SELECT position, hash FROM admin_records ORDER BY position DESC LIMIT 1")).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def append(conn: Connection, key: SigningKey, action: str, account: str, details: dict[str, Any]) -> AdminRecord:
    """Add a record after the head; `conn` must hold the exchange's write lock (exchange.db.writing)."""
    position, previous = _head(conn)
    header = {"position": position + 1, "action": action, "account": account, "details": details,
              "recorded_at": utc_now(), "prev_hash": previous}
    signed = server_sign(key, SIGNATURE_TAG, {**header, "hash": record_hash(header)})
    conn.execute(text("INSERT INTO admin_records(position, action, account, details, recorded_at, prev_hash, hash, "
                      "signature) VALUES (:position, :action, :account, :details, :recorded_at, :prev_hash, :hash, "
                      ":signature)"),
                 {**signed, "details": canonical(details).decode("utf-8")})
    return AdminRecord(**{k: signed[k] for k in AdminRecord.__dataclass_fields__})


_COLUMNS = "position, action, account, details, recorded_at, prev_hash, hash, signature"


def _record(row: tuple) -> AdminRecord:
    return AdminRecord(row[0], row[1], row[2], json.loads(row[3]), row[4], row[5], row[6], row[7])


def head(conn: Connection) -> tuple[int, str]:
    return _head(conn)


def records(conn: Connection, limit: int, before: int | None = None) -> list[AdminRecord]:
    """The newest records (before position `before`, when given), newest first."""
    where = "WHERE position < :before " if before is not None else ""
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM admin_records {where}ORDER BY position DESC LIMIT :limit"),
                        {"before": before, "limit": limit})
    return [_record(tuple(r)) for r in rows]


def problems(conn: Connection, server_public: PublicKey) -> Iterable[str]:
    """Every way the stored administration log is not what the exchange signed; nothing when it is sound."""
    previous, expected = GENESIS, 1
    for row in conn.execute(text(f"SELECT {_COLUMNS} FROM admin_records ORDER BY position")):
        record = _record(tuple(row))
        where = f"administration record {record.position}"
        if record.position != expected:
            yield f"{where}: expected position {expected}"
        if record.prev_hash != previous:
            yield f"{where}: its previous hash does not match record {record.position - 1}"
        if record_hash(record.header()) != record.hash:
            yield f"{where}: its hash does not match its content"
        if not server_verify(server_public, SIGNATURE_TAG, record.signed()):
            yield f"{where}: the exchange's signature does not verify"
        previous, expected = record.hash, record.position + 1


def sign_anew(conn: Connection, key: SigningKey) -> None:
    """Sign every record again with `key` (the exchange's key was rotated: the old signatures stay true)."""
    rows = [_record(tuple(r)) for r in conn.execute(text(f"SELECT {_COLUMNS} FROM admin_records"))]
    updates = [{"p": r.position, "s": server_sign(key, SIGNATURE_TAG, {**r.header(), "hash": r.hash})["signature"]}
               for r in rows]
    if updates:
        conn.execute(text("UPDATE admin_records SET signature = :s WHERE position = :p"), updates)
