"""The console's 审核 queue (issue 16) over 10,000 sharing requests waiting for the data authority.

The exchange (SQLite) holds the provider's 100 有条件共享 entries and 10,000 waiting requests with their
signed applications, written straight into `sharing_requests` and `sharing_steps` (the queue reads
nothing else): nine in ten wait for their compliance review, due over the last and next weeks (many
overdue), one in ten is escalated. Measured: `reviews.queue` for the first page and the last, as the
route runs it; and each page as a logged-in browser gets it from `steward-exchange serve`, with its size
(a page of 50, however many wait).
"""

from __future__ import annotations

import json
import random
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bench.console import ACCOUNT, _log_in
from bench.harness import Report, percentile, timed
from bench.requests import PROVIDER, USING, _conditional_entries, _item
from exchange import accounts, ledger, server_key, sharing
from exchange.console import reviews
from exchange.db import make_engine, migrate, reading
from exchange.local import LocalExchange
from steward.sync import changeset
from steward.sync.changeset import sha256_hex
from steward.sync.keys import SigningKey
from steward.sync.protocol import utc_now
from steward.sync.requests.state import RequestStatus

WAITING = 10_000
ENTRIES = 100
REPEAT = 20


def _prepare(folder: Path) -> tuple[str, Path]:
    db_url = f"sqlite:///{folder / 'reviews-exchange.sqlite'}"
    key_file = folder / "reviews-exchange-key.json"
    engine = make_engine(db_url)
    migrate(engine)
    server = server_key.for_database(engine, key_file)
    for department in (PROVIDER, USING):
        ledger.add_department(engine, department.code, department.name)
    author = SigningKey.generate()
    ledger.enroll(engine, PROVIDER.code, author.public, "bench")
    entries = _conditional_entries(ENTRIES)
    ledger.push(engine, server, ledger.exchange_id(engine), changeset.new_changeset(
        PROVIDER.code, author, 1, utc_now(), "bench", [changeset.op_create(e) for e in entries]),
        ledger.lookup_key(engine, author.key_id))
    rng, now = random.Random(16), datetime.now(UTC)
    with engine.begin() as conn:
        position = conn.execute(text("SELECT position FROM head WHERE id = 1")).scalar_one()
        requests_rows, steps = [], []
        for n in range(WAITING):
            entry = entries[n % len(entries)]
            made = now - timedelta(days=rng.uniform(0, 14))
            stamp = made.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            escalated = n % 10 == 0
            request_id = f"00000000-0000-4000-8000-{n:012d}"
            items = [_item(entry) or ""]
            requests_rows.append({
                "r": request_id, "requester": USING.code, "provider": PROVIDER.code, "entry_id": entry.id,
                "entry_code": entry.code, "items": json.dumps(items), "until": "2099-12-31", "conditional": True,
                "status": str(RequestStatus.ESCALATED if escalated else RequestStatus.SUBMITTED),
                "seq": 4 if escalated else 1, "head": sha256_hex(f"head {n}".encode()),
                "due": None if escalated else (made + timedelta(days=3)).date().isoformat(), "t": stamp})
            body = {"entry_id": entry.id, "entry_code": entry.code, "provider": PROVIDER.code,
                    "purpose": "核验企业登记信息，用于网约车驾驶员背景核查和行政许可审批中的身份核验",
                    "scenario": "网约车驾驶员背景核查",
                    "items": items, "until": "2099-12-31", "author": "李四", "nonce": secrets.token_hex(16)}
            position += 1
            steps.append({"p": position, "r": request_id, "document": json.dumps({"body": body}, ensure_ascii=False),
                          "digest": sha256_hex(f"step {n}".encode()), "t": stamp, "department": USING.code})
        conn.execute(text("INSERT INTO sharing_requests(request_id, requester, provider, entry_id, entry_code, items, "
                          "until, conditional, status, seq, head, due, created_at, updated_at) VALUES (:r, "
                          ":requester, :provider, :entry_id, :entry_code, :items, :until, :conditional, :status, "
                          ":seq, :head, :due, :t, :t)"), requests_rows)
        conn.execute(text("INSERT INTO sharing_steps(position, request_id, seq, kind, key_id, department_code, "
                          "document, sealed, digest, due, prev_hash, hash, accepted_at) VALUES (:p, :r, 1, 'request', "
                          "'bench', :department, :document, '{}', :digest, NULL, '', '', :t)"), steps)
    engine.dispose()
    return db_url, key_file


def run(report: Report, folder: Path) -> None:
    print("Console 审核 queue", flush=True)
    db_url, key_file = _prepare(folder)
    engine = make_engine(db_url)
    calendar = sharing.deadlines(engine).calendar()
    last = (WAITING - 1) // reviews.PAGE
    scenario = f"审核 queue ({WAITING:,} waiting)"
    for name, number in (("first", 0), ("last", last)):
        def queue(number: int = number) -> None:
            with reading(engine, snapshot=True) as conn:
                reviews.queue(conn, calendar, datetime.now(UTC), number)

        samples = timed(queue, REPEAT)
        report.add(scenario, f"reviews.queue {name} page p50", percentile(samples, 50), "ms")
        report.add(scenario, f"reviews.queue {name} page p95", percentile(samples, 95), "ms", 100)
    password = secrets.token_urlsafe(16)
    accounts.add(engine, ACCOUNT, accounts.Role.REVIEWER, password)
    engine.dispose()
    server = LocalExchange.start(db_url, key_file, folder / "reviews-exchange.log")
    try:
        browser = _log_in(server.url, password)
        for name, number in (("first", 0), ("last", last)):
            sizes: list[int] = []

            def page(number: int = number, sizes: list[int] = sizes) -> None:
                answer = browser.get(f"{server.url}/console/reviews", params={"page": str(number)}, timeout=60,
                                     allow_redirects=False)
                assert answer.status_code == 200, answer.status_code
                sizes.append(len(answer.content))

            samples = timed(page, REPEAT)
            report.add(scenario, f"GET /console/reviews {name} page p95", percentile(samples, 95), "ms", 200)
            report.add(scenario, f"GET /console/reviews {name} page size", max(sizes) / 1024, "KiB", 200)
        browser.close()
    finally:
        server.stop()

