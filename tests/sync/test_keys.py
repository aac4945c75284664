"""Steward keys: in the keyring where there is one, else an encrypted file; never the secret in plain form."""

from __future__ import annotations

import json
import os
import stat

import keyring
import pytest
from keyring.backends import fail
from keyring.errors import KeyringError

from steward.catalogue.errors import StewardError
from steward.sync import identity, keys
from steward.sync.keys import SigningKey, Storage, b64
from tests.helpers import ROOT, run_cli
from tests.keyring_backend import MemoryKeyring

PASSPHRASE = "correct horse battery"


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def _given(secret: str):
    return lambda _new: secret


def _files_contain(folder, needle: bytes) -> bool:
    return any(needle in path.read_bytes() for path in folder.rglob("*") if path.is_file())


def test_key_id_and_fingerprint_come_from_the_public_key():
    key = SigningKey.from_raw(bytes(range(32)))
    assert key.public.fingerprint == keys.fingerprint(key.public.raw)
    assert len(key.public.fingerprint) == 64 and key.key_id == key.public.fingerprint[:32]
    assert keys.spaced("abcd1234") == "abcd 1234"
    assert SigningKey.generate().key_id != key.key_id


def test_the_key_goes_to_the_keyring_and_no_file_holds_it(workspace, memory_keyring):
    info = identity.create_key(workspace, _given(""))
    assert info.storage is Storage.KEYRING
    secret = memory_keyring.secrets[(keys.KEYRING_SERVICE, info.key_id)]
    workspace.close()
    assert not _files_contain(workspace.folder, secret.encode())
    signing = identity.signing_key(workspace, _given(""))
    assert signing.public == info.public


def test_without_a_keyring_the_key_is_an_encrypted_private_file(workspace, no_keyring):
    info = identity.create_key(workspace, _given(PASSPHRASE))
    assert info.storage is Storage.FILE
    path = keys.key_file(workspace.folder, info.key_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    assert document["kdf"]["name"] == "scrypt" and document["cipher"]["name"] == "AES-256-GCM"
    signing = identity.signing_key(workspace, _given(PASSPHRASE))
    assert signing.key_id == info.key_id
    workspace.close()
    for form in (signing.raw(), b64(signing.raw()).encode()):
        assert not _files_contain(workspace.folder, form)


def test_a_wrong_passphrase_unlocks_nothing(workspace, no_keyring):
    identity.create_key(workspace, _given(PASSPHRASE))
    with pytest.raises(StewardError) as caught:
        identity.signing_key(workspace, _given("not the passphrase"))
    assert caught.value.code == "keys.passphrase_wrong"


def test_a_changed_key_file_unlocks_nothing(workspace, no_keyring):
    info = identity.create_key(workspace, _given(PASSPHRASE))
    path = keys.key_file(workspace.folder, info.key_id)
    document = json.loads(path.read_text())
    sealed = bytearray(keys.unb64(document["ciphertext"]))
    sealed[0] ^= 1
    document["ciphertext"] = b64(bytes(sealed))
    path.write_text(json.dumps(document))
    with pytest.raises(StewardError):
        identity.signing_key(workspace, _given(PASSPHRASE))


def test_a_short_passphrase_is_refused_and_nothing_is_recorded(workspace, no_keyring):
    with pytest.raises(StewardError) as caught:
        identity.create_key(workspace, _given("short"))
    assert caught.value.code == "keys.passphrase_short"
    assert identity.key_info(workspace) is None


def test_the_file_can_be_chosen_even_where_a_keyring_exists(workspace, memory_keyring, monkeypatch):
    monkeypatch.setenv(keys.STORAGE_ENV, "file")
    assert identity.create_key(workspace, _given(PASSPHRASE)).storage is Storage.FILE
    assert memory_keyring.secrets == {}


def test_a_keyring_that_refuses_falls_back_to_the_encrypted_file(workspace, memory_keyring, monkeypatch):
    def refuse(*_args):
        raise KeyringError("locked")

    monkeypatch.setattr(memory_keyring, "set_password", refuse)
    assert identity.create_key(workspace, _given(PASSPHRASE)).storage is Storage.FILE


def test_one_key_per_workspace_and_delete_removes_the_secret(workspace, memory_keyring):
    info = identity.create_key(workspace, _given(""))
    with pytest.raises(StewardError) as caught:
        identity.create_key(workspace, _given(""))
    assert caught.value.code == "keys.exists"
    identity.delete_key(workspace)
    assert memory_keyring.secrets == {} and identity.key_info(workspace) is None
    assert identity.create_key(workspace, _given("")).key_id != info.key_id


def test_the_exported_public_key_file_is_read_back(workspace, memory_keyring, tmp_path):
    info = identity.create_key(workspace, _given(""), steward="张三")
    public, document = keys.read_public_key_file(identity.export_public_key(workspace, tmp_path / "pub.json"))
    assert public == info.public
    assert document["department_code"] == workspace.department_code and document["steward"] == "张三"
    (tmp_path / "bad.json").write_text(json.dumps({**document, "key_id": "0" * 32}))
    with pytest.raises(StewardError):
        keys.read_public_key_file(tmp_path / "bad.json")


# The command line -------------------------------------------------------------------------


@pytest.fixture
def cli_workspace(tmp_path, department, department_name):
    folder = tmp_path / "ws"
    assert run_cli("init", folder, "--department-code", department, "--department-name", department_name,
                   cwd=ROOT).returncode == 0
    return folder


def _keys_cli(*args, env: dict[str, str], lang: str = "en"):
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return run_cli("keys", *args, lang=lang, cwd=ROOT)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_keys_new_show_export_through_a_keyring(cli_workspace, tmp_path):
    env = {"PYTHON_KEYRING_BACKEND": "tests.keyring_backend.FileKeyring",
           "STEWARD_TEST_KEYRING_FILE": str(tmp_path / "keyring.json")}
    created = _keys_cli("new", cli_workspace, "--json", env=env)
    assert created.returncode == 0, created.stderr
    made = json.loads(created.stdout)
    assert made["storage"] == "keyring"
    shown = json.loads(_keys_cli("show", cli_workspace, "--json", env=env).stdout)
    assert shown == made
    human = _keys_cli("show", cli_workspace, env=env, lang="zh")
    assert "系统密钥环" in human.stdout and keys.spaced(made["fingerprint"]) in human.stdout
    assert _keys_cli("export", cli_workspace, tmp_path / "pub.json", env=env).returncode == 0
    assert keys.read_public_key_file(tmp_path / "pub.json")[0].key_id == made["key_id"]


def test_keys_new_without_a_keyring_or_passphrase_says_what_to_do(cli_workspace):
    done = _keys_cli("new", cli_workspace, env={"STEWARD_KEY_STORAGE": "file"})
    assert done.returncode == 2
    assert "STEWARD_KEY_PASSPHRASE" in done.stderr and "Traceback" not in done.stderr


def test_keys_show_without_a_key_exits_2(cli_workspace):
    done = _keys_cli("show", cli_workspace, env={})
    assert done.returncode == 2 and "steward keys new" in done.stderr


def test_a_workspace_whose_recorded_key_is_small_order_is_refused(workspace, memory_keyring):
    identity.create_key(workspace, _given(""))
    workspace.set_fact("key_public", b64(bytes([1]) + bytes(31)))  # a profile edited, or made by a broken tool
    with pytest.raises(StewardError) as caught:
        identity.key_info(workspace)
    assert caught.value.code == "keys.weak.small_order"
    assert str(workspace.folder) in caught.value.message("en")
