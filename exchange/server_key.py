"""The exchange's own Ed25519 key, which signs receipts, checkpoints and enrollments.

It lives in one private file (like a TLS key); every server process reads the same file, and
the first start of a new database creates it. The database records which key it was created
with, and is never served with another one unless `steward-exchange rotate-key` moved it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import Engine

from exchange import ledger
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import Phrase
from steward.sync.keys import SigningKey, b64, spaced, unb64

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


def for_database(engine: Engine, path: Path, refused: str = "exchange.not_started") -> SigningKey:
    """The key in `path`, if it is the one `engine`'s database is served with (a new database takes it).

    A missing file is created only for a database never served yet: for any other, a new key would
    be an accident (a mistyped --key-file) that every client would see as an attack. `refused` is
    the message code saying what did not happen when the key is refused (the server did not start,
    a shell command changed nothing).
    """
    path = Path(path)
    db = engine.url.render_as_string(hide_password=True)
    recorded = ledger.recorded_exchange_key(engine)
    outcome = Phrase(refused)
    if not path.exists() and recorded is not None:
        raise StewardError("exchange.key_missing", db=db, path=str(path), fingerprint=spaced(recorded.fingerprint),
                           refused=outcome)
    if not path.exists() and ledger.was_served(engine):  # served before keys were recorded
        raise StewardError("exchange.key_missing_unrecorded", db=db, path=str(path), refused=outcome)
    key = load_or_create(path)
    recorded = ledger.record_exchange_key(engine, key.public)
    if recorded != key.public:
        raise StewardError("exchange.key_differs", db=db, path=str(path), recorded=spaced(recorded.fingerprint),
                           offered=spaced(key.public.fingerprint), refused=outcome)
    return key
