"""Sync from the command line, and the network's manners: retries on 5xx and dropped connections only."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from exchange import ledger, server_key
from steward import sample
from steward.sync import identity
from steward.sync.keys import STORAGE_ENV, spaced
from steward.workspace import journal
from steward.workspace.journal import CreateEntry, SetField
from steward.workspace.workspace import Workspace
from tests.helpers import ROOT, make_clean_entry, steward_env
from tests.sync.proxy import Proxy

PASSPHRASE = "correct horse battery"
DEPARTMENT = sample.DEPARTMENTS[0]


def steward_cli(*args, stdin: str = "", lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**steward_env(lang), STORAGE_ENV: "file", "STEWARD_KEY_PASSPHRASE": PASSPHRASE}
    return subprocess.run([sys.executable, "-m", "steward", *map(str, args)], input=stdin, capture_output=True,
                          text=True, encoding="utf-8", env=env, cwd=ROOT, timeout=120, check=False)


@pytest.fixture
def cli_workspace(exchange, tmp_path, monkeypatch):
    """A workspace with one new entry and a key in the encrypted file (the command line unlocks it), enrolled."""
    local, engine = exchange
    folder = tmp_path / "ws"
    with Workspace.create(folder, DEPARTMENT.code, DEPARTMENT.name) as ws, monkeypatch.context() as env:
        env.setenv(STORAGE_ENV, "file")  # only for this key: other stewards of a test use the test keyring
        info = identity.create_key(ws, lambda _new: PASSPHRASE)
        ledger.enroll(engine, DEPARTMENT.code, info.public)
        entry = make_clean_entry(provider=DEPARTMENT.name, provider_code=DEPARTMENT.code)
        journal.apply(ws, [CreateEntry(entry)])
    return folder, entry, server_key.load(local.key_file).public.fingerprint, local.url


def test_the_first_sync_asks_to_confirm_the_exchange_and_yes_on_stdin_answers(cli_workspace):
    folder, _entry, fingerprint, url = cli_workspace
    refused = steward_cli("sync", folder, "--exchange", url, stdin="no\n")
    assert refused.returncode == 2
    assert spaced(fingerprint) in refused.stderr
    done = steward_cli("sync", folder, "--exchange", url, "--json", stdin="yes\n")
    assert done.returncode == 0, done.stderr
    assert f"First contact with the exchange at {url}: check" in done.stderr  # the prompt names the exchange
    report = json.loads(done.stdout)
    assert (report["pushed"], report["operations"]) == (1, 1)
    status = json.loads(steward_cli("status", folder, "--json").stdout)
    assert (status["unsynced"], status["exchange_fingerprint"], status["exchange_url"]) == (0, fingerprint, url)
    again = steward_cli("sync", folder)  # the address and the key are remembered
    assert again.returncode == 0 and "pushed 0" in again.stdout


def test_a_wrong_fingerprint_on_the_command_line_is_refused(cli_workspace):
    folder, _entry, _fingerprint, url = cli_workspace
    done = steward_cli("sync", folder, "--exchange", url, "--trust-server-key", "0" * 64)
    assert done.returncode == 2 and "First contact" in done.stderr


def test_conflicts_listed_and_resolved_from_the_command_line(cli_workspace, make_steward):
    folder, entry, fingerprint, url = cli_workspace
    assert steward_cli("sync", folder, "--exchange", url, "--trust-server-key", fingerprint).returncode == 0
    other = make_steward(DEPARTMENT)
    other.sync()
    journal.apply(other.ws, [SetField(entry.id, "name", "对方的名称")])
    other.sync()
    assert steward_cli("set", folder, entry.code, "信息资源名称=我的名称").returncode == 0
    synced = json.loads(steward_cli("sync", folder, "--json").stdout)
    assert synced["conflicts"] == 1 and synced["held_back"][0]["reason"] == "conflict"
    [conflict] = json.loads(steward_cli("conflicts", folder, "--json").stdout)
    assert (conflict["field"], conflict["mine"], conflict["theirs"], conflict["entry_code"]) == (
        "name", "我的名称", "对方的名称", entry.code)
    assert steward_cli("resolve", folder, entry.code, "--take", "theirs").returncode == 0
    assert json.loads(steward_cli("conflicts", folder, "--json").stdout) == []
    shown = json.loads(steward_cli("show", folder, entry.code, "--json").stdout)
    assert shown["entry"]["name"] == "对方的名称"
    assert json.loads(steward_cli("status", folder, "--json").stdout)["unsynced"] == 0


def test_sync_without_an_enrolled_key_says_so(exchange, tmp_path, monkeypatch):
    local, _engine = exchange
    monkeypatch.setenv(STORAGE_ENV, "file")
    folder = tmp_path / "stranger"
    with Workspace.create(folder, DEPARTMENT.code, DEPARTMENT.name) as ws:
        identity.create_key(ws, lambda _new: PASSPHRASE)
    fingerprint = server_key.load(local.key_file).public.fingerprint
    done = steward_cli("sync", folder, "--exchange", local.url, "--trust-server-key", fingerprint)
    assert done.returncode == 2
    assert "enrolled" in done.stderr and "Traceback" not in done.stderr


def test_5xx_answers_are_retried_and_4xx_never(make_steward, exchange):
    local, _ = exchange
    steward = make_steward()
    journal.apply(steward.ws, [CreateEntry(make_clean_entry(provider=DEPARTMENT.name,
                                                            provider_code=DEPARTMENT.code))])
    proxy = Proxy(local.url)
    steward.url = proxy.url
    failures = {"feed": 2}

    def flaky(method, path, _body):
        if path.startswith("/v1/feed") and failures["feed"]:
            failures["feed"] -= 1
            return 503  # a gateway in trouble: worth another try
        if method == "POST" and path == "/v1/changesets":
            return 400  # an answer: never repeated
        return "forward"

    proxy.on_request = flaky
    try:
        report = steward.sync(retries=3)
    finally:
        proxy.close()
    feeds = [p for m, p in proxy.requests if p.startswith("/v1/feed")]
    pushes = [p for m, p in proxy.requests if m == "POST"]
    assert len(feeds) >= 3  # two 503s, then the real answer
    assert len(pushes) == 1  # the 400 was not retried
    assert report.refused and report.refused[0]["status"] == 400


def test_an_exchange_that_keeps_failing_gives_a_clear_message_and_loses_nothing(cli_workspace):
    folder, _entry, fingerprint, url = cli_workspace
    proxy = Proxy(url)
    proxy.on_request = lambda _m, path, _b: 502 if path.startswith("/v1/feed") else "forward"
    try:
        done = steward_cli("sync", folder, "--exchange", proxy.url, "--trust-server-key", fingerprint)
    finally:
        proxy.close()
    assert done.returncode == 2, done.stderr
    assert "502" in done.stderr and "Traceback" not in done.stderr
    assert json.loads(steward_cli("status", folder, "--json").stdout)["unsynced"] == 1
