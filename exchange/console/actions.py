"""What the console changes, each in one transaction with its record in the administration log.

These are the same changes the shell commands make (`steward-exchange department add`, `enroll`,
`revoke`, `verify-log`), through the same ledger functions; here each also names the console
account that made it, in a record the exchange signs (exchange/admin_log.py).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, text

from exchange import admin_log, ledger
from exchange.console.figures import LAST_VERIFICATION
from exchange.db import writing
from exchange.ledger import Refused
from steward.sync.keys import PublicKey, SigningKey
from steward.sync.protocol import utc_now


def add_department(engine: Engine, key: SigningKey, account: str, code: str, name: str) -> tuple[str, str]:
    with writing(engine) as conn:
        code, name = ledger.insert_department(conn, code, name)
        admin_log.append(conn, key, "department.add", account, {"code": code, "name": name})
    return code, name


def enroll(engine: Engine, key: SigningKey, account: str, department: str, public: PublicKey, steward: str) -> str:
    with writing(engine) as conn:
        key_id = ledger.insert_key(conn, department, public, steward)
        admin_log.append(conn, key, "key.enroll", account, {"key_id": key_id, "department": department.upper(),
                                                             "fingerprint": public.fingerprint, "steward": steward})
    return key_id


def revoke(engine: Engine, key: SigningKey, account: str, key_id: str, reason: str) -> None:
    if not reason.strip():
        raise Refused(422, "reason_required", "a revocation needs its reason")
    with writing(engine) as conn:
        revoked = ledger.revoke_key(conn, key_id)
        admin_log.append(conn, key, "key.revoke", account, {"key_id": key_id, "department": revoked.department,
                                                             "reason": reason.strip()})


def verify(engine: Engine, key: SigningKey, account: str) -> list[str]:
    """Run `verify-log`'s check now; its result is remembered for the overview and recorded in the log."""
    problems = ledger.verify_log(engine, key.public)
    result: dict[str, Any] = {"at": utc_now(), "by": account, "problems": len(problems)}
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM exchange_meta WHERE key = :k"), {"k": LAST_VERIFICATION})
        conn.execute(text("INSERT INTO exchange_meta(key, value) VALUES (:k, :v)"),
                     {"k": LAST_VERIFICATION, "v": json.dumps(result, ensure_ascii=False)})
        admin_log.append(conn, key, "log.verify", account, {"problems": len(problems)})
    return problems
