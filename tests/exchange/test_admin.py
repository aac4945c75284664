"""`steward-exchange` administration, run as a real command: departments, enrollment, revocation, verify-log."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from exchange import ledger, server_key
from exchange.db import make_engine, migrate
from steward import sample
from steward.sync import changeset
from steward.sync.keys import SigningKey, public_key_document
from steward.sync.protocol import utc_now
from tests.helpers import ROOT, make_clean_entry, run_cli, steward_env

DEPARTMENT = sample.DEPARTMENTS[0]


def exchange_cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "exchange.cli", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=env or steward_env("en"), cwd=ROOT, timeout=120, check=False)


def _workspace_key(tmp_path: Path) -> Path:
    """A workspace whose steward made a key (in the encrypted file: no keyring here) and exported it."""
    env_passphrase = {"STEWARD_KEY_STORAGE": "file", "STEWARD_KEY_PASSPHRASE": "correct horse"}
    os.environ.update(env_passphrase)
    try:
        ws = tmp_path / "ws"
        assert run_cli("init", ws, "--department-code", DEPARTMENT.code, "--department-name", DEPARTMENT.name) \
            .returncode == 0
        assert run_cli("keys", "new", ws).returncode == 0
        assert run_cli("keys", "export", ws, tmp_path / "key.json").returncode == 0
    finally:
        for name in env_passphrase:
            os.environ.pop(name)
    return tmp_path / "key.json"


def test_department_enroll_and_revoke_from_the_command_line(fresh_db_url, tmp_path):
    db = ("--db", fresh_db_url)
    added = exchange_cli("department", "add", DEPARTMENT.code, DEPARTMENT.name, *db)
    assert added.returncode == 0, added.stderr
    assert DEPARTMENT.code in exchange_cli("department", "list", *db).stdout
    public_file = _workspace_key(tmp_path)
    enrolled = exchange_cli("enroll", "--department", DEPARTMENT.code, public_file, *db)
    assert enrolled.returncode == 0, enrolled.stderr
    key_id = enrolled.stdout.splitlines()[0]
    engine = make_engine(fresh_db_url)
    assert ledger.lookup_key(engine, key_id).department == DEPARTMENT.code
    again = exchange_cli("enroll", "--department", DEPARTMENT.code, public_file, *db)
    assert (again.returncode, "enrolled already" in again.stderr) == (2, True)
    assert exchange_cli("revoke", key_id, *db).returncode == 0
    assert ledger.lookup_key(engine, key_id).revoked_at is not None
    engine.dispose()


@pytest.mark.parametrize(("args", "message"), [
    (("department", "add", "11310000MB2F41826X", "某局"), "not a valid"),
    (("enroll", "--department", sample.DEPARTMENTS[5].code, "{key}"), "not registered"),
    (("enroll", "--department", DEPARTMENT.code, "{missing}"), "not valid"),
    (("revoke", "0" * 32), "no key"),
])
def test_bad_admin_input_exits_2_with_one_clear_line(fresh_db_url, tmp_path, args, message):
    exchange_cli("department", "add", DEPARTMENT.code, DEPARTMENT.name, "--db", fresh_db_url)
    key_file = tmp_path / "k.json"
    key_file.write_text(json.dumps(public_key_document(SigningKey.generate().public, "", "")))
    args = tuple(a.format(key=key_file, missing=tmp_path / "missing.json") for a in args)
    done = exchange_cli(*args, "--db", fresh_db_url)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_a_key_file_of_another_department_is_not_enrolled(fresh_db_url, tmp_path):
    other = sample.DEPARTMENTS[1]
    exchange_cli("department", "add", other.code, other.name, "--db", fresh_db_url)
    done = exchange_cli("enroll", "--department", other.code, _workspace_key(tmp_path), "--db", fresh_db_url)
    assert done.returncode == 2
    assert "belongs to department" in done.stderr


@pytest.fixture
def logged(fresh_db_url, tmp_path):
    """An exchange database holding a few accepted changesets, and the path of its key file."""
    engine = make_engine(fresh_db_url)
    migrate(engine)
    key_file = tmp_path / "server-key.json"
    server = server_key.load_or_create(key_file)
    exchange = ledger.exchange_id(engine)
    ledger.add_department(engine, DEPARTMENT.code, DEPARTMENT.name)
    steward = SigningKey.generate()
    ledger.enroll(engine, DEPARTMENT.code, steward.public)
    entries = [make_clean_entry() for _ in range(3)]
    for seq, entry in enumerate(entries, start=1):
        cs = changeset.new_changeset(DEPARTMENT.code, steward, seq, utc_now(), "t", [changeset.op_create(entry)])
        ledger.push(engine, server, exchange, cs, ledger.lookup_key(engine, steward.key_id))
    yield engine, key_file, entries
    engine.dispose()


def _verify_log(engine, key_file) -> subprocess.CompletedProcess[str]:
    return exchange_cli("verify-log", "--db", engine.url.render_as_string(hide_password=False), "--key-file",
                        key_file)


def test_verify_log_passes_on_a_sound_log(logged):
    engine, key_file, _ = logged
    done = _verify_log(engine, key_file)
    assert (done.returncode, "sound" in done.stdout) == (0, True)


@pytest.mark.parametrize("tamper", [
    "UPDATE entries SET document = replace(document, '企业登记', '企业注销')",
    "UPDATE entries SET version = 5",
    "UPDATE changesets SET body = replace(body, '企业登记', '企业注销') WHERE position = 2",
    "UPDATE changesets SET accepted_at = '2000-01-01T00:00:00Z' WHERE position = 1",
    "DELETE FROM changesets WHERE position = 3",
    "UPDATE head SET position = 2",
])
def test_verify_log_detects_tampering_with_the_database(logged, tamper):
    engine, key_file, _ = logged
    with engine.begin() as conn:
        conn.execute(text(tamper))
    done = _verify_log(engine, key_file)
    assert done.returncode == 1, done.stdout
    assert "problems" in done.stdout


def test_serve_with_no_options_just_works_on_127_0_0_1_8700(tmp_path):
    env = {**steward_env("en"), "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("STEWARD_EXCHANGE_DB", None)
    env.pop("STEWARD_EXCHANGE_KEY", None)
    process = subprocess.Popen([sys.executable, "-m", "exchange.cli", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                info = requests.get("http://127.0.0.1:8700/v1/server", timeout=1).json()
                break
            except requests.ConnectionError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "steward-exchange serve did not answer on 127.0.0.1:8700"
                time.sleep(0.1)
        folder = tmp_path / "data" / "steward-exchange"
        assert info["fingerprint"] == server_key.load(folder / "server-key.json").public.fingerprint
        for name in ("exchange.sqlite", "server-key.json"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_feed_pages_stop_at_the_byte_limit_and_say_more_follows(logged, monkeypatch):
    engine, key_file, _entries = logged
    server, exchange = server_key.load(key_file), ledger.exchange_id(engine)
    whole = ledger.feed(engine, server, exchange, 0, 100)
    assert [r["position"] for r in whole["records"]] == [1, 2, 3] and whole["more"] is False
    one = len(whole["records"][0]["changeset_json"])
    monkeypatch.setattr(ledger, "FEED_BYTES", one + 1)  # room for one changeset per page, never two
    pages, after = [], 0
    while True:
        page = ledger.feed(engine, server, exchange, after, 100)
        pages.append(([r["position"] for r in page["records"]], page["more"]))
        if not page["more"]:
            break
        after = page["records"][-1]["position"]
    assert pages == [([1], True), ([2], True), ([3], False)]
    assert ledger.feed(engine, server, exchange, 0, 2)["more"] is True
    end = ledger.feed(engine, server, exchange, 3, 2)
    assert (end["records"], end["more"], end["checkpoint"]["position"]) == ([], False, 3)
