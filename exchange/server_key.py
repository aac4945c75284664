"""The exchange's own Ed25519 key, which signs receipts, checkpoints and enrollments.

It lives in one private file beside the database (like a TLS key); every server process
reads the same file, and the first start creates it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from steward.sync.keys import SigningKey, b64, unb64

FORMAT = "steward.exchange-key/1"


class ServerKeyError(Exception):
    pass


def load_or_create(path: Path) -> SigningKey:
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        key = SigningKey.generate()
        document = {"format": FORMAT, "key_id": key.key_id, "private_key": b64(key.raw())}
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass  # another server process made it first: use theirs
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(document, handle)
            return key
    return load(path)


def load(path: Path) -> SigningKey:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if document.get("format") != FORMAT:
            raise ValueError("not an exchange key file")
        key = SigningKey.from_raw(unb64(document["private_key"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ServerKeyError(f"cannot read the exchange key {path}: {error}") from error
    if key.key_id != document.get("key_id"):
        raise ServerKeyError(f"the exchange key {path} does not match its key id")
    return key
