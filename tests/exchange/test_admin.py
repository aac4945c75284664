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

from exchange import accounts, admin_log, ledger, server_key
from exchange.console import figures
from exchange.console.texts import LANGUAGES, Words
from exchange.db import make_engine, migrate, reading
from steward import sample
from steward.sync import changeset
from steward.sync.keys import SigningKey, public_key_document
from steward.sync.protocol import server_verify, utc_now
from tests.helpers import ROOT, make_clean_entry, run_cli, steward_env

DEPARTMENT = sample.DEPARTMENTS[0]
pytestmark = pytest.mark.usefixtures("shell_key")  # the commands that change something sign their record


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
    assert exchange_cli("revoke", key_id, "--reason", "离职", *db).returncode == 0
    assert ledger.lookup_key(engine, key_id).revoked_at is not None
    engine.dispose()


@pytest.mark.parametrize(("args", "message"), [
    (("department", "add", "11310000MB2F41826X", "某局"), "not a valid"),
    (("enroll", "--department", sample.DEPARTMENTS[5].code, "{key}"), "not registered"),
    (("enroll", "--department", DEPARTMENT.code, "{missing}"), "not valid"),
    (("revoke", "0" * 32, "--reason", "离职"), "no key"),
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


# The shell's changes in the administration log ---------------------------------------------------

PASSWORD = "correct horse battery"


def _records(engine) -> list[admin_log.AdminRecord]:
    with reading(engine) as conn:
        return list(reversed(admin_log.records(conn, 1000)))


def _stored_records(engine) -> str:
    """The administration log as the database holds it, every column, to look for what must not be there."""
    with reading(engine) as conn:
        return repr(conn.execute(text("SELECT * FROM admin_records")).all())


def test_each_shell_command_leaves_one_signed_record_naming_who_ran_it(fresh_db_url, shell_key, tmp_path):
    """--by names the person; without it, the record names the OS user the command ran as (shell:NAME)."""
    db = ("--db", fresh_db_url)
    env = {**steward_env("en"), "LOGNAME": "ops-li"}  # getpass.getuser() reads $LOGNAME first
    engine = make_engine(fresh_db_url)
    migrate(engine)
    public_file = tmp_path / "steward-key.json"
    steward = SigningKey.generate().public
    public_file.write_text(json.dumps(public_key_document(steward, DEPARTMENT.code, "张三")))
    new_key_file = tmp_path / "new-key.json"

    def run(*args: str | Path, stdin: str | None = None) -> admin_log.AdminRecord:
        """Run one command; the one record it added to the log."""
        before = len(_records(engine))
        done = subprocess.run([sys.executable, "-m", "exchange.cli", *map(str, args), *db], input=stdin,
                              capture_output=True, text=True, encoding="utf-8", env=env, cwd=ROOT, timeout=120,
                              check=False)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        added = _records(engine)[before:]
        assert len(added) == 1, (args, added)
        return added[0]

    steps = [
        (("department", "add", DEPARTMENT.code, f" {DEPARTMENT.name} ", "--by", "王五"),
         ("department.add", "王五", {"code": DEPARTMENT.code, "name": DEPARTMENT.name})),
        (("enroll", "--department", DEPARTMENT.code.lower(), public_file),
         ("key.enroll", "shell:ops-li", {"key_id": steward.key_id, "department": DEPARTMENT.code,
                                         "fingerprint": steward.fingerprint, "steward": "张三"})),
        (("revoke", steward.key_id, "--reason", " 离职 ", "--by", "赵六"),
         ("key.revoke", "赵六", {"key_id": steward.key_id, "department": DEPARTMENT.code, "reason": "离职"})),
        (("admin", "add", "孙七", "--role", "reviewer", "--password-stdin"),
         ("account.add", "shell:ops-li", {"name": "孙七", "role": "reviewer"})),
        (("admin", "passwd", "孙七", "--password-stdin", "--by", "王五"),
         ("account.password", "王五", {"name": "孙七"})),
        (("admin", "totp", "孙七"), ("account.totp", "shell:ops-li", {"name": "孙七"})),
        (("admin", "disable", "孙七", "--by", "王五"), ("account.disable", "王五", {"name": "孙七"})),
        (("verify-log", "--by", "审计"), ("log.verify", "审计", {"problems": 0})),
    ]
    for args, expected in steps:
        record = run(*args, stdin=PASSWORD + "\n" if "--password-stdin" in args else None)
        assert (record.action, record.account, record.details) == expected, args
    old, secret = server_key.load(shell_key), accounts.totp_secret(engine, "孙七")
    assert secret and secret not in _stored_records(engine)  # neither the TOTP secret nor the password
    assert PASSWORD not in _stored_records(engine)
    assert ledger.verify_log(engine, old.public) == []

    record = run("rotate-key", "--new-key-file", new_key_file, "--by", "王五")
    new = server_key.load(new_key_file)
    assert (record.action, record.account, record.details) == (
        "exchange_key.rotate", "王五", {"old_fingerprint": old.public.fingerprint,
                                        "new_fingerprint": new.public.fingerprint})
    # Recorded after every record was signed again: the new key signs it, like the rest of the log now.
    assert server_verify(new.public, admin_log.SIGNATURE_TAG, record.signed())
    assert ledger.verify_log(engine, new.public) == []
    for lang in LANGUAGES:  # the console's 日志 page names each action in its words
        assert all(Words(lang)(f"action.{r.action}") for r in _records(engine))
    engine.dispose()


def test_a_shell_command_whose_exchange_key_is_unavailable_changes_nothing(fresh_db_url, shell_key, tmp_path):
    db = ("--db", fresh_db_url)
    assert exchange_cli("department", "add", DEPARTMENT.code, DEPARTMENT.name, *db).returncode == 0
    engine = make_engine(fresh_db_url)
    other = sample.DEPARTMENTS[1]
    garbled = tmp_path / "garbled.json"
    garbled.write_text("{}")
    another = tmp_path / "another.json"
    server_key.load_or_create(another)
    for key_file, message in ((tmp_path / "missing.json", "missing.json"), (garbled, "cannot read the exchange key"),
                              (another, "holds exchange key")):
        done = exchange_cli("department", "add", other.code, other.name, "--key-file", key_file, *db)
        assert (done.returncode, "Traceback" in done.stderr) == (2, False), done.stderr
        assert message in done.stderr
        done = exchange_cli("admin", "disable", "nobody", "--key-file", key_file, *db)
        assert (done.returncode, message in done.stderr) == (2, True), done.stderr
    assert [d["code"] for d in ledger.departments(engine)] == [DEPARTMENT.code]
    assert [r.action for r in _records(engine)] == ["department.add"]
    engine.dispose()


def test_verify_log_keeps_its_result_for_the_overview_and_finds_a_changed_record(fresh_db_url, shell_key):
    db = ("--db", fresh_db_url)
    env = {**steward_env("en"), "LOGNAME": "ops-li"}
    assert exchange_cli("department", "add", DEPARTMENT.code, DEPARTMENT.name, *db).returncode == 0
    engine = make_engine(fresh_db_url)
    with reading(engine) as conn:
        assert figures.overview(conn).last_verification is None
    sound = exchange_cli("verify-log", *db, env=env)
    assert (sound.returncode, "sound" in sound.stdout) == (0, True), sound.stdout + sound.stderr
    with reading(engine) as conn:
        shown = figures.overview(conn)
        assert figures.last_verification(conn) == shown.last_verification
    assert {k: shown.last_verification[k] for k in ("by", "problems")} == {"by": "shell:ops-li", "problems": 0}
    assert shown.admin_head[0] == 2  # the department, then the verification
    with engine.begin() as conn:
        conn.execute(text("UPDATE admin_records SET details = replace(details, :a, :b) WHERE position = 1"),
                     {"a": DEPARTMENT.name, "b": "某局"})
    unsound = exchange_cli("verify-log", "--by", "审计", *db)
    assert unsound.returncode == 1
    assert "administration record 1: its hash does not match its content" in unsound.stdout
    with reading(engine) as conn:
        shown = figures.overview(conn)
    assert {k: shown.last_verification[k] for k in ("by", "problems")} == {"by": "审计", "problems": 2}
    assert (_records(engine)[-1].action, _records(engine)[-1].details) == ("log.verify", {"problems": 2})
    engine.dispose()
