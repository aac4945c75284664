"""What the exchange's administrators change, each change in one transaction with its record in the administration log.

The console (exchange/console/routes.py) and the server's shell (exchange/cli.py) make the same
changes through these functions: register a department, enroll or revoke a steward key, rotate the
exchange's key, add a console account or change one, verify the log, review a sharing request or
settle its escalation. Each names who did it (a
console account, or `--by` on the shell, `shell:<OS user>` by default) in a record the exchange
signs (exchange/admin_log.py), written under the write lock with the change, so a change and its
record land together or not at all. A record never holds a password nor a TOTP secret.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, text

from exchange import accounts, admin_log, ledger, sharing
from exchange.admin_log import LAST_VERIFICATION
from exchange.db import writing
from exchange.ledger import Refused
from steward.sync.keys import PublicKey, SigningKey
from steward.sync.protocol import utc_now
from steward.sync.requests.documents import Body, Review


def add_department(engine: Engine, key: SigningKey, account: str, code: str, name: str) -> tuple[str, str]:
    with writing(engine) as conn:
        code, name = ledger.insert_department(conn, code, name)
        admin_log.append(conn, key, "department.add", account, {"code": code, "name": name})
    return code, name


def enroll(engine: Engine, key: SigningKey, account: str, department: str, public: PublicKey, steward: str) -> str:
    with writing(engine) as conn:
        key_id = ledger.insert_key(conn, department, public, steward)
        admin_log.append(conn, key, "key.enroll", account, {"key_id": key_id, "department": department.strip().upper(),
                                                             "fingerprint": public.fingerprint, "steward": steward})
    return key_id


def revoke(engine: Engine, key: SigningKey, account: str, key_id: str, reason: str) -> None:
    if not reason.strip():
        raise Refused(422, "reason_required", "a revocation needs its reason")
    with writing(engine) as conn:
        revoked = ledger.revoke_key(conn, key_id)
        admin_log.append(conn, key, "key.revoke", account, {"key_id": key_id, "department": revoked.department,
                                                             "reason": reason.strip()})


def rotate_key(engine: Engine, old: SigningKey, new: SigningKey, account: str) -> dict[str, Any]:
    """Move the exchange to `new` (ledger.rotate_key); the rotation statement, signed by `old`."""
    exchange = ledger.exchange_id(engine)
    with writing(engine) as conn:
        statement = ledger.rotate_key(conn, old, new, exchange)
        # After the rotation every record speaks with the new key (verify-log checks them against the
        # current one); `old` vouches for the move in the statement it signed.
        admin_log.append(conn, new, "exchange_key.rotate", account,
                         {"old_fingerprint": old.public.fingerprint, "new_fingerprint": new.public.fingerprint})
    return statement


def verify(engine: Engine, key: SigningKey, account: str) -> list[str]:
    """Check the whole log (ledger.verify_log, both chains); its result is kept for the overview and recorded."""
    problems = ledger.verify_log(engine, key.public)
    result: dict[str, Any] = {"at": utc_now(), "by": account, "problems": len(problems)}
    with writing(engine) as conn:
        conn.execute(text("DELETE FROM exchange_meta WHERE key = :k"), {"k": LAST_VERIFICATION})
        conn.execute(text("INSERT INTO exchange_meta(key, value) VALUES (:k, :v)"),
                     {"k": LAST_VERIFICATION, "v": json.dumps(result, ensure_ascii=False)})
        admin_log.append(conn, key, "log.verify", account, {"problems": len(problems)})
    return problems


# The console's accounts -------------------------------------------------------------------


def add_account(engine: Engine, key: SigningKey, account: str, name: str, role: accounts.Role,
                password: str) -> accounts.Account:
    with writing(engine) as conn:
        added = accounts.insert(conn, name, role, password)
        admin_log.append(conn, key, "account.add", account, {"name": added.name, "role": str(added.role)})
    return added


def set_password(engine: Engine, key: SigningKey, account: str, name: str, password: str) -> None:
    with writing(engine) as conn:
        accounts.store_password(conn, name, password)
        admin_log.append(conn, key, "account.password", account, {"name": name})


def disable_account(engine: Engine, key: SigningKey, account: str, name: str) -> None:
    with writing(engine) as conn:
        accounts.mark_disabled(conn, name)
        admin_log.append(conn, key, "account.disable", account, {"name": name})


def enable_totp(engine: Engine, key: SigningKey, account: str, name: str) -> str:
    """Turn one-time codes on for `name`; the otpauth:// URI (which holds the secret: it is not recorded)."""
    with writing(engine) as conn:
        uri = accounts.store_totp(conn, name)
        admin_log.append(conn, key, "account.totp", account, {"name": name})
    return uri


def authority_step(engine: Engine, key: SigningKey, account: str, request_id: str, body: Body) -> dict[str, Any]:
    """Sign and record the authority's review or outcome, with its administration record naming `account`.

    The step itself names the reviewer (in the console, the account); the record says who made the exchange
    sign it, in the step's transaction, so a review never lands without its record nor the reverse.
    """
    action = "request.review" if isinstance(body, Review) else "request.outcome"

    def administration_record(conn: Connection, answer: dict[str, Any]) -> None:
        admin_log.append(conn, key, action, account, {
            "request_id": request_id, "verdict": str(body.verdict), "status": answer["status"],
            "position": answer["position"]})

    return sharing.authority_step(engine, key, request_id, body, also=administration_record)
