"""The console's accounts: `steward-exchange admin` as a real command, Argon2id, TOTP, and the login throttle."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import text

from exchange import accounts
from exchange.accounts import LoginRefused, Role
from exchange.db import make_engine, migrate
from tests.helpers import ROOT, steward_env

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.usefixtures("shell_key")  # the admin commands sign their record with the exchange's key


def admin_cli(*args: str, db: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exchange.cli", "admin", *args, "--db", db], input=stdin,
                          capture_output=True, text=True, encoding="utf-8", env=steward_env("en"), cwd=ROOT,
                          timeout=120, check=False)


@pytest.fixture
def engine(fresh_db_url):
    engine = make_engine(fresh_db_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_admin_add_stores_an_argon2id_hash_and_the_account_logs_in(fresh_db_url, engine):
    done = admin_cli("add", "王五", "--role", "admin", "--password-stdin", db=fresh_db_url, stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "Added the account 王五 (administrator)" in done.stdout
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM console_accounts WHERE name = '王五'")).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    account = accounts.log_in(engine, "王五", PASSWORD, "", "127.0.0.1")
    assert (account.name, account.role) == ("王五", Role.ADMIN)
    with pytest.raises(LoginRefused) as refused:
        accounts.log_in(engine, "王五", "wrong password", "", "127.0.0.1")
    assert refused.value.reason == "wrong"


def test_admin_commands_refuse_what_they_cannot_do(fresh_db_url):
    short = admin_cli("add", "a", "--role", "reviewer", "--password-stdin", db=fresh_db_url, stdin="short\n")
    assert (short.returncode, "too short" in short.stderr) == (2, True)
    no_terminal = admin_cli("add", "a", "--role", "reviewer", db=fresh_db_url, stdin="")
    assert (no_terminal.returncode, "--password-stdin" in no_terminal.stderr) == (2, True)
    assert admin_cli("add", "a", "--role", "reviewer", "--password-stdin", db=fresh_db_url,
                     stdin=PASSWORD).returncode == 0
    again = admin_cli("add", "a", "--role", "admin", "--password-stdin", db=fresh_db_url, stdin=PASSWORD)
    assert (again.returncode, "exists already" in again.stderr) == (2, True)
    unknown = admin_cli("passwd", "nobody", "--password-stdin", db=fresh_db_url, stdin=PASSWORD)
    assert (unknown.returncode, "no account nobody" in unknown.stderr) == (2, True)
    bad_role = admin_cli("add", "b", "--role", "root", "--password-stdin", db=fresh_db_url, stdin=PASSWORD)
    assert bad_role.returncode == 2


def test_ten_wrong_passwords_lock_the_account_until_the_lock_ends_or_passwd(fresh_db_url, engine):
    accounts.add(engine, "reviewer", Role.REVIEWER, PASSWORD)
    now = datetime.now(UTC)
    for attempt in range(accounts.ACCOUNT_FAILURES):
        with pytest.raises(LoginRefused) as refused:
            accounts.log_in(engine, "reviewer", f"guess {attempt}", "", f"10.0.0.{attempt}", now=now)
        assert refused.value.reason == "wrong"
    with pytest.raises(LoginRefused) as refused:  # the right password, too late
        accounts.log_in(engine, "reviewer", PASSWORD, "", "10.0.1.1", now=now)
    assert refused.value.reason == "locked"
    later = now + accounts.ACCOUNT_LOCK + timedelta(seconds=1)
    assert accounts.log_in(engine, "reviewer", PASSWORD, "", "10.0.1.1", now=later).name == "reviewer"
    for _attempt in range(accounts.ACCOUNT_FAILURES):
        with pytest.raises(LoginRefused):
            accounts.log_in(engine, "reviewer", "again wrong", "", "10.0.2.1", now=later)
    assert admin_cli("passwd", "reviewer", "--password-stdin", db=fresh_db_url,
                     stdin="a new password\n").returncode == 0
    assert accounts.log_in(engine, "reviewer", "a new password", "", "10.0.2.1", now=later).name == "reviewer"


def test_an_address_that_fails_too_often_is_locked_whatever_the_account(engine):
    accounts.add(engine, "admin", Role.ADMIN, PASSWORD)
    for attempt in range(accounts.ADDRESS_FAILURES):
        with pytest.raises(LoginRefused):
            accounts.log_in(engine, f"guess{attempt}", PASSWORD, "", "192.0.2.7")
    with pytest.raises(LoginRefused) as refused:
        accounts.log_in(engine, "admin", PASSWORD, "", "192.0.2.7")
    assert refused.value.reason == "address_locked"
    assert accounts.log_in(engine, "admin", PASSWORD, "", "192.0.2.8").name == "admin"


def test_totp_once_on_needs_the_current_code(fresh_db_url, engine):
    accounts.add(engine, "admin", Role.ADMIN, PASSWORD)
    done = admin_cli("totp", "admin", db=fresh_db_url)
    assert done.returncode == 0, done.stderr
    uri = done.stdout.strip().splitlines()[-1]
    assert uri.startswith("otpauth://totp/")
    totp = pyotp.parse_uri(uri)
    with pytest.raises(LoginRefused):
        accounts.log_in(engine, "admin", PASSWORD, "", "127.0.0.1")
    with pytest.raises(LoginRefused):
        accounts.log_in(engine, "admin", PASSWORD, "000000" if totp.now() != "000000" else "111111", "127.0.0.1")
    assert accounts.log_in(engine, "admin", PASSWORD, totp.now(), "127.0.0.1").totp


def test_a_disabled_account_cannot_log_in(fresh_db_url, engine):
    accounts.add(engine, "former", Role.ADMIN, PASSWORD)
    assert admin_cli("disable", "former", db=fresh_db_url).returncode == 0
    with pytest.raises(LoginRefused) as refused:
        accounts.log_in(engine, "former", PASSWORD, "", "127.0.0.1")
    assert refused.value.reason == "wrong"  # the same answer as a wrong password: nothing to learn
    assert "former  admin  disabled" in admin_cli("list", db=fresh_db_url).stdout
