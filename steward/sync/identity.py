"""The workspace's steward key: which key signs this workspace's changesets, and where its secret lives.

The workspace records the key id, the public key and the kind of storage as facts; the
private key stays in the keyring or the encrypted key file (steward/keys.py).
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.sync.keys import (
    PASSPHRASE_ENV,
    KeyRefused,
    PassphraseSource,
    PublicKey,
    SigningKey,
    Storage,
    delete_private_key,
    load_private_key,
    public_key_document,
    store_private_key,
)
from steward.workspace import store
from steward.workspace.journal import default_author
from steward.workspace.workspace import Workspace, now

FACTS = ("key_id", "key_public", "key_storage", "key_steward", "key_created_at")


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    public: PublicKey
    storage: Storage
    steward: str
    created_at: str

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint


def key_info(ws: Workspace) -> KeyInfo | None:
    """The workspace's key, or None when it has none yet."""
    facts = ws.facts()
    if not facts.get("key_id"):
        return None
    try:
        public = PublicKey.from_b64(facts["key_public"])
    except KeyRefused as error:
        raise StewardError(f"keys.weak.{error.reason}", source=str(ws.folder)) from error
    return KeyInfo(facts["key_id"], public, Storage(facts["key_storage"]), facts.get("key_steward", ""),
                   facts.get("key_created_at", ""))


def require_key(ws: Workspace) -> KeyInfo:
    info = key_info(ws)
    if info is None:
        raise StewardError("keys.none")
    return info


def create_key(ws: Workspace, passphrase: PassphraseSource, steward: str | None = None) -> KeyInfo:
    """Make the workspace's key pair; the secret goes to the keyring or an encrypted file."""
    existing = key_info(ws)
    if existing is not None:
        raise StewardError("keys.exists", key_id=existing.key_id)
    key = SigningKey.generate()
    storage = store_private_key(key, ws.folder, passphrase)
    info = KeyInfo(key.key_id, key.public, storage, steward if steward is not None else default_author(), now())
    values = (info.key_id, info.public.to_b64(), str(info.storage), info.steward, info.created_at)
    try:
        for name, value in zip(FACTS, values, strict=True):
            ws.set_fact(name, value)
    except BaseException:
        delete_private_key(key.key_id, storage, ws.folder)
        raise
    return info


def signing_key(ws: Workspace, passphrase: PassphraseSource) -> SigningKey:
    info = require_key(ws)
    return load_private_key(info.key_id, info.storage, ws.folder, passphrase)


def export_public_key(ws: Workspace, path: Path) -> Path:
    """Write the public key file an exchange administrator enrolls."""
    info = require_key(ws)
    document = public_key_document(info.public, ws.department_code, info.steward)
    document["department_name"] = ws.department_name
    path = Path(path)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def delete_key(ws: Workspace) -> KeyInfo:
    info = require_key(ws)
    delete_private_key(info.key_id, info.storage, ws.folder)
    with ws.writing() as conn:
        store.delete_meta(conn, FACTS)
    return info


def passphrase_prompt(new: bool) -> str:
    """The passphrase from STEWARD_KEY_PASSPHRASE or, on a terminal, asked for (twice for a new one)."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        raise StewardError("keys.passphrase_missing", variable=PASSPHRASE_ENV)
    first = getpass.getpass(render("keys.passphrase_prompt") + " ")
    if new and getpass.getpass(render("keys.passphrase_again") + " ") != first:
        raise StewardError("keys.passphrase_mismatch")
    return first
