"""The console's server side on SQLite and PostgreSQL: its figures, the signed administration log, enrollment
requests, profiles, idle sessions, and the session cookie behind a TLS proxy (Secure only with --trust-proxy)."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import text

from exchange import accounts, administration, enrollment_requests, ledger, server_key
from exchange.console import figures, sessions
from exchange.db import reading, writing
from exchange.ledger import Refused
from exchange.local import LocalExchange
from steward import sample
from steward.sync import changeset
from steward.sync.enrollment import make_request
from steward.sync.keys import SigningKey
from steward.sync.profile import parse_profile
from tests.helpers import steward_env
from tests.sync.conftest import running_exchange

PASSWORD = "correct horse battery"


def test_the_overview_counts_by_sharing_and_open_type_and_finds_overdue_entries(server):
    steward = server.steward(sample.DEPARTMENTS[3])
    entries = [steward.entry(name=f"企业登记信息{n}", code=f"319001/{n:06d}", sharing_type=sharing,
                             sharing_conditions="依法", open_type="not_open", update_frequency="daily")
               for n, sharing in enumerate(("unconditional", "conditional", "not_shared"), start=1)]
    steward.client.push(steward.changeset([changeset.op_create(e) for e in entries]))
    with reading(server.engine) as conn:
        now = figures.overview(conn)
        later = figures.overview(conn, now=datetime(2100, 1, 1, tzinfo=UTC))
    row = next(d for d in now.departments if d.code == steward.department)
    assert (row.counts.entries, row.counts.sharing["not_shared"], row.counts.overdue) == (3, 1, 0)
    assert row.counts.sharing_rate == pytest.approx(2 / 3)
    assert row.counts.open_rate == 0
    assert next(d for d in later.departments if d.code == steward.department).counts.overdue == 3
    with reading(server.engine) as conn:
        found, total = figures.search(conn, "登记信息2", "", 0)
        assert (total, [e.name for e in found]) == (1, ["企业登记信息2"])
        assert figures.search(conn, "%", "", 0)[1] == 0  # a LIKE wildcard is a character like any other
        row, _document, history = figures.entry(conn, entries[0].id)
    assert [(c.key_id, c.author, c.operations[0]["kind"]) for c in history] == [(steward.key.key_id, "测试", "create")]


def test_console_actions_are_signed_records_naming_the_account_and_verify_log_finds_a_changed_one(fresh_db_url,
                                                                                                   tmp_path):
    from exchange.db import make_engine, migrate

    engine = make_engine(fresh_db_url)
    migrate(engine)
    key = server_key.load_or_create(tmp_path / "key.json")
    server_key.for_database(engine, tmp_path / "key.json")
    department = sample.DEPARTMENTS[0]
    administration.add_department(engine, key, "王五", department.code, department.name)
    steward = SigningKey.generate()
    administration.enroll(engine, key, "王五", department.code, steward.public, "张三")
    with pytest.raises(Refused):
        administration.revoke(engine, key, "王五", steward.key_id, "  ")  # a revocation needs its reason
    administration.revoke(engine, key, "赵六", steward.key_id, "离职")
    assert administration.verify(engine, key, "王五") == []
    with reading(engine) as conn:
        records = list(reversed(figures.admin_log.records(conn, 10)))
    assert [(r.action, r.account) for r in records] == [("department.add", "王五"), ("key.enroll", "王五"),
                                                        ("key.revoke", "赵六"), ("log.verify", "王五")]
    assert records[2].details == {"key_id": steward.key_id, "department": department.code, "reason": "离职"}
    new = SigningKey.generate()  # a rotation signs the records again: the log stays sound
    ledger.rotate_exchange_key(engine, key, new, ledger.exchange_id(engine))
    assert ledger.verify_log(engine, new.public) == []
    with writing(engine) as conn:
        conn.execute(text("UPDATE admin_records SET account = '某人' WHERE position = 3"))
    assert ledger.verify_log(engine, new.public) == [
        "administration record 3: its hash does not match its content",
        "administration record 3: the exchange's signature does not verify"]
    engine.dispose()


def test_enrollment_requests_are_checked_bounded_and_approved_once(server):
    key = server_key.load(server.key_file)
    exchange_id = ledger.exchange_id(server.engine)
    department = sample.DEPARTMENTS[4]
    steward = SigningKey.generate()
    request = make_request(steward, exchange_id, department.code, "李四")
    answer = requests.post(f"{server.url}/v1/enrollment-requests", json=request, timeout=30)
    assert (answer.status_code, answer.json()) == (201, {"status": "pending"})
    again = requests.post(f"{server.url}/v1/enrollment-requests", json=request, timeout=30)
    assert (again.status_code, again.json()) == (200, {"status": "pending"})
    forged = {**request, "steward": "王五"}  # changed after signing
    refused = requests.post(f"{server.url}/v1/enrollment-requests", json=forged, timeout=30)
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_enrollment_request")
    elsewhere = make_request(SigningKey.generate(), "another-exchange", department.code, "李四")
    refused = requests.post(f"{server.url}/v1/enrollment-requests", json=elsewhere, timeout=30)
    assert "another exchange" in refused.json()["error"]["message"]
    status = requests.get(f"{server.url}/v1/enrollment-requests/{steward.key_id}", timeout=30).json()
    assert status == {"status": "pending"}
    enrollment_requests.approve(server.engine, key, steward.key_id, "王五")
    with pytest.raises(Refused):
        enrollment_requests.approve(server.engine, key, steward.key_id, "王五")
    assert requests.get(f"{server.url}/v1/enrollment-requests/{steward.key_id}", timeout=30).json() == {
        "status": "enrolled"}
    for _ in range(enrollment_requests.MAX_PENDING):
        enrollment_requests.receive(server.engine, exchange_id,
                                    make_request(SigningKey.generate(), exchange_id, department.code, "x"))
    flood = requests.post(f"{server.url}/v1/enrollment-requests", timeout=30,
                          json=make_request(SigningKey.generate(), exchange_id, department.code, "x"))
    assert (flood.status_code, flood.json()["error"]["code"]) == (429, "too_many_pending")


def test_the_profile_command_writes_a_profile_signed_by_the_exchange_key(server, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", encoding="utf-8")
    department = sample.DEPARTMENTS[2]
    done = subprocess.run([sys.executable, "-m", "exchange.cli", "department", "profile", department.code, "--db",
                           server.db_url, "--key-file", str(server.key_file), "--url", "https://exchange.example.gov.cn/",
                           "--ca-certificate", str(ca)], capture_output=True, text=True, encoding="utf-8",
                          env=steward_env("en"), cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    written = tmp_path / f"{department.code}.steward-profile"
    profile = parse_profile(written.read_bytes(), str(written))
    assert (profile.exchange_url, profile.exchange_public, profile.department_name, profile.ca_certificate) == (
        "https://exchange.example.gov.cn", server.public, department.name, ca.read_text(encoding="utf-8"))
    unknown = subprocess.run([sys.executable, "-m", "exchange.cli", "department", "profile", "91110000802100433B",
                              "--db", server.db_url, "--key-file", str(server.key_file)], capture_output=True,
                             text=True, encoding="utf-8", env=steward_env("en"), cwd=tmp_path, timeout=120, check=False)
    assert (unknown.returncode, "not registered" in unknown.stderr) == (2, True)


def test_an_idle_session_ends(server):
    account = accounts.add(server.engine, "idle", accounts.Role.REVIEWER, PASSWORD)
    token = sessions.start(server.engine, account)
    assert sessions.current(server.engine, token).account.name == "idle"
    later = datetime.now(UTC) + sessions.IDLE + sessions.TOUCH_EVERY
    assert sessions.current(server.engine, token, now=later) is None
    assert sessions.current(server.engine, token) is None  # ended, not just hidden


def _login_cookie(url: str, headers: dict[str, str]) -> str:
    """The Set-Cookie header of a successful login, made with `headers` (as a TLS proxy would add them)."""
    page = requests.get(f"{url}/console/login", headers=headers, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    # Sent back by hand: over this test's plain HTTP, requests keeps a Secure cookie to itself (a browser talks
    # HTTPS to the proxy and sends it).
    answer = requests.post(f"{url}/console/login", headers={**headers, "Cookie": f"steward_console_login={csrf}"},
                           allow_redirects=False, timeout=30,
                           data={"csrf": csrf, "account": "cookie", "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    return next(h for h in answer.raw.headers.getlist("set-cookie") if h.startswith("steward_console="))


def test_the_session_cookie_is_secure_behind_a_tls_proxy_only_when_trusted(tmp_path):
    # The scheme is the web layer's business, whatever the database: one backend is enough.
    with running_exchange("sqlite", tmp_path) as (local, engine):
        accounts.add(engine, "cookie", accounts.Role.ADMIN, PASSWORD)
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.1"}
        plain = _login_cookie(local.url, forwarded)
        assert "HttpOnly" in plain and "SameSite=strict" in plain and "Secure" not in plain
        trusting = LocalExchange.start(local.db_url, local.key_file, tmp_path / "trusting.log",
                                       extra=("--trust-proxy",))
        try:
            secure = _login_cookie(trusting.url, forwarded)
            assert "Secure" in secure and "HttpOnly" in secure and "SameSite=strict" in secure
            assert "Secure" not in _login_cookie(trusting.url, {"X-Forwarded-Proto": "http"})
        finally:
            trusting.stop()
