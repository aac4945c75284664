"""Joining an exchange with a department profile (`steward join`), against a real exchange: the request waits for
approval, the sync works once approved; a damaged profile, or one of another exchange, is refused clearly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from exchange import enrollment_requests, ledger, server_key
from steward import sample
from steward.sync import joining
from steward.sync.keys import SigningKey
from steward.sync.profile import parse_profile, profile_bytes, sign_profile
from steward.workspace.workspace import DB_FILE, Workspace
from tests.helpers import ROOT, steward_env
from tests.sync.test_sync_cli import steward_cli

DEPARTMENT = sample.DEPARTMENTS[1]


def exchange_profile(local, tmp_path: Path, code: str = DEPARTMENT.code) -> Path:
    """The profile `steward-exchange department profile` writes for the running exchange."""
    out = tmp_path / f"{code}.steward-profile"
    done = subprocess.run([sys.executable, "-m", "exchange.cli", "department", "profile", code, "--db", local.db_url,
                           "--key-file", str(local.key_file), "--url", local.url, "--out", str(out)],
                          capture_output=True, text=True, encoding="utf-8", env=steward_env("en"), cwd=ROOT,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return out


def test_join_sends_a_request_that_waits_for_approval_then_the_sync_works(exchange, tmp_path):
    local, engine = exchange
    profile = exchange_profile(local, tmp_path)
    document = json.loads(profile.read_text(encoding="utf-8"))
    assert document["exchange_public_key"] == server_key.load(local.key_file).public.to_b64()
    assert document["department_name"] == DEPARTMENT.name
    folder = tmp_path / "ws"
    joined = steward_cli("join", folder, profile, "--steward", "李四")
    assert joined.returncode == 0, joined.stderr
    assert "waits for the exchange's administrator to approve it" in joined.stdout
    with Workspace.open(folder) as ws:
        facts = ws.facts()
        key_id = facts["key_id"]
        assert (ws.department_code, ws.department_name) == (DEPARTMENT.code, DEPARTMENT.name)
    assert (facts["exchange_key"], facts["exchange_url"], facts["enrollment"]) == (
        document["exchange_public_key"], local.url, "pending")
    assert enrollment_requests.status(engine, key_id) == "pending"
    waiting = steward_cli("sync", folder)  # no fingerprint asked: the profile pinned the key
    assert waiting.returncode == 2
    assert "waits for the exchange's administrator to approve it" in waiting.stderr
    enrollment_requests.approve(engine, server_key.load(local.key_file), key_id, "王五")
    assert ledger.lookup_key(engine, key_id).department == DEPARTMENT.code
    synced = steward_cli("sync", folder)
    assert synced.returncode == 0, synced.stderr
    with Workspace.open(folder) as ws:
        assert "enrollment" not in ws.facts()
    again = steward_cli("join", folder, profile)  # joining again changes nothing, and says so
    assert (again.returncode, "is enrolled" in again.stdout) == (0, True), again.stderr


def test_a_profile_whose_signature_does_not_verify_is_refused_and_nothing_is_made(exchange, tmp_path):
    local, _engine = exchange
    profile = exchange_profile(local, tmp_path)
    document = json.loads(profile.read_text(encoding="utf-8"))
    document["exchange_url"] = "http://127.0.0.1:1"  # sent somewhere else on the way
    profile.write_bytes(profile_bytes(document))
    refused = steward_cli("join", tmp_path / "ws", profile)
    assert refused.returncode == 2
    assert "does not verify" in refused.stderr
    assert not (tmp_path / "ws" / DB_FILE).exists()
    chinese = steward_cli("join", tmp_path / "ws", profile, lang="zh")
    assert "签名无法验证" in chinese.stderr


def test_a_profile_of_another_exchange_is_refused(exchange, tmp_path):
    local, _engine = exchange
    folder = tmp_path / "ws"
    assert steward_cli("join", folder, exchange_profile(local, tmp_path)).returncode == 0
    # A well-signed profile of another exchange, for the same department: the workspace keeps its exchange.
    other = sign_profile(SigningKey.generate(), "http://127.0.0.1:1", "another-exchange", DEPARTMENT.code,
                         DEPARTMENT.name)
    (tmp_path / "other.steward-profile").write_bytes(profile_bytes(other))
    refused = steward_cli("join", folder, tmp_path / "other.steward-profile")
    assert refused.returncode == 2
    assert "bound to another exchange" in refused.stderr
    # A profile naming this exchange's address but another key: the server there is not the profile's exchange.
    impostor = sign_profile(SigningKey.generate(), local.url, "another-exchange", DEPARTMENT.code, DEPARTMENT.name)
    (tmp_path / "impostor.steward-profile").write_bytes(profile_bytes(impostor))
    mismatch = steward_cli("join", tmp_path / "new", tmp_path / "impostor.steward-profile")
    assert mismatch.returncode == 2
    assert "is not the one the profile names" in mismatch.stderr
    assert not (tmp_path / "new" / DB_FILE).exists()


def test_the_default_folder_is_named_after_the_department_and_safe_as_a_folder_name(tmp_path):
    key = SigningKey.generate()

    def profile(name: str):
        return parse_profile(profile_bytes(sign_profile(key, "http://127.0.0.1:1", "x", DEPARTMENT.code, name)), "p")

    assert joining.default_folder(profile(DEPARTMENT.name), tmp_path) == tmp_path / DEPARTMENT.name
    assert joining.default_folder(profile('局/处:科*"?'), tmp_path) == tmp_path / "局_处_科___"
    assert joining.default_folder(profile(".."), tmp_path) == tmp_path / DEPARTMENT.code  # never the parent
