"""Enrollment requests at the exchange: received from a steward's client, kept pending, approved or declined.

Receiving needs no enrolled key (the key is what asks), so it is bounded: a small body, a
request that must verify with the key it names, and at most MAX_PENDING requests waiting per
department. Approving enrolls the key exactly as `steward-exchange enroll` does, and records
who approved it in the administration log, in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from exchange import admin_log, ledger
from exchange.db import reading, writing
from exchange.ledger import Refused
from steward.sync.enrollment import RequestInvalid, parse_request
from steward.sync.keys import PublicKey, SigningKey, unb64
from steward.sync.protocol import utc_now

MAX_PENDING = 20  # per department: enough for a department's stewards, too few to fill the console with noise
MAX_BODY_BYTES = 8 * 1024


@dataclass(frozen=True)
class PendingRequest:
    key_id: str
    department: str
    public: PublicKey
    steward: str
    requested_at: str


def receive(engine: Engine, exchange_id: str, document: Any) -> tuple[int, str]:
    """Keep a request pending: (201, "pending"), or (200, its status) when that key asked or was enrolled before."""
    try:
        public = parse_request(document, exchange_id)
    except RequestInvalid as error:
        raise Refused(422, "invalid_enrollment_request", str(error)) from error
    department = document["department"]
    with writing(engine) as conn:
        known = _status(conn, public.key_id)
        if known != "unknown":
            return 200, known
        if not conn.execute(text("SELECT 1 FROM departments WHERE code = :c"), {"c": department}).first():
            raise Refused(404, "department_unknown", f"department {department} is not registered")
        waiting = conn.execute(text("SELECT count(*) FROM enrollment_requests WHERE department_code = :d "
                                    "AND status = 'pending'"), {"d": department}).scalar_one()
        if waiting >= MAX_PENDING:
            raise Refused(429, "too_many_pending", f"department {department} has {waiting} enrollment requests "
                                                   "waiting; the administrator must answer them first")
        conn.execute(text("INSERT INTO enrollment_requests(key_id, department_code, public_key, steward, document, "
                          "requested_at, status) VALUES (:k, :d, :p, :s, :doc, :t, 'pending')"),
                     {"k": public.key_id, "d": department, "p": public.to_b64(), "s": document["steward"],
                      "doc": json.dumps(document, ensure_ascii=False), "t": utc_now()})
    return 201, "pending"


def _status(conn: Connection, key_id: str) -> str:
    key = ledger.find_key(conn, key_id)
    if key is not None:
        return "revoked" if key.revoked_at else "enrolled"
    found = conn.execute(text("SELECT status FROM enrollment_requests WHERE key_id = :k"), {"k": key_id}).scalar()
    return "declined" if found == "declined" else "pending" if found == "pending" else "unknown"


def status(engine: Engine, key_id: str) -> str:
    """pending, enrolled, revoked, declined, or unknown (never asked)."""
    with reading(engine) as conn:
        return _status(conn, key_id)


def pending(conn: Connection, department: str | None = None) -> list[PendingRequest]:
    where = " AND department_code = :d" if department else ""
    rows = conn.execute(text("SELECT key_id, department_code, public_key, steward, requested_at FROM "
                             f"enrollment_requests WHERE status = 'pending'{where} ORDER BY requested_at"),
                        {"d": department})
    return [PendingRequest(r[0], r[1], PublicKey(unb64(r[2])), r[3], r[4]) for r in rows]


def _take_pending(conn: Connection, key_id: str) -> PendingRequest:
    found = [r for r in pending(conn) if r.key_id == key_id]
    if not found:
        raise Refused(404, "enrollment_request_unknown", f"no enrollment request of key {key_id} is waiting")
    return found[0]


def approve(engine: Engine, server_key: SigningKey, key_id: str, account: str) -> PendingRequest:
    """Enroll the requesting key for its department, and record who approved it."""
    with writing(engine) as conn:
        request = _take_pending(conn, key_id)
        ledger.insert_key(conn, request.department, request.public, request.steward)
        _decide(conn, key_id, "approved", account)
        admin_log.append(conn, server_key, "key.approve", account, _details(request))
    return request


def decline(engine: Engine, server_key: SigningKey, key_id: str, account: str) -> PendingRequest:
    with writing(engine) as conn:
        request = _take_pending(conn, key_id)
        _decide(conn, key_id, "declined", account)
        admin_log.append(conn, server_key, "key.decline", account, _details(request))
    return request


def _decide(conn: Connection, key_id: str, decision: str, account: str) -> None:
    conn.execute(text("UPDATE enrollment_requests SET status = :s, decided_at = :t, decided_by = :a "
                      "WHERE key_id = :k"), {"s": decision, "t": utc_now(), "a": account, "k": key_id})


def _details(request: PendingRequest) -> dict[str, Any]:
    return {"key_id": request.key_id, "department": request.department,
            "fingerprint": request.public.fingerprint, "steward": request.steward}
