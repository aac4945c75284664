"""Ed25519 keys: key ids and fingerprints, and the steward's private key kept in the OS keyring.

Where no secure keyring exists (a headless Linux, some domestic desktops), the private key is
kept in a file encrypted with a passphrase (scrypt + AES-256-GCM), never in plain text. The
workspace records which of the two holds its key; the private key itself never touches the
workspace database or a log.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import keyring
import keyring.errors
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from steward.catalogue.errors import StewardError

KEYRING_SERVICE = "Steward steward key"
PASSPHRASE_ENV = "STEWARD_KEY_PASSPHRASE"
STORAGE_ENV = "STEWARD_KEY_STORAGE"  # "file" forces the encrypted file even where a keyring exists
KEY_DIR = "keys"
PUBLIC_KEY_FORMAT = "steward.public-key/1"
KEY_FILE_FORMAT = "steward.key-file/1"
PUBLIC_KEY_REQUIRED = ("public_key", "key_id", "fingerprint")  # besides format and algorithm
MIN_PASSPHRASE = 8
# scrypt cost: ~0.1 s and 32 MiB on an office PC, enough to make guessing a passphrase slow.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1

# Edwards25519 (RFC 8032 § 5.1): the field prime, the curve constant d and the group order L.
FIELD_P = 2**255 - 19
CURVE_D = -121665 * pow(121666, FIELD_P - 2, FIELD_P) % FIELD_P
GROUP_L = 2**252 + 27742317777372353535851937790883648493
_Y_MASK = (1 << 255) - 1
# The y of a point of order 8 (libsodium's blocklist; tests/test_keys.py checks its order). With
# y = 0 (order 4), 1 (the identity), p - 1 (order 2) and p - y8 it gives all 8 torsion points.
_ORDER_8_Y = int.from_bytes(bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
                            "little")
# Every 32-byte string that decodes (as OpenSSL decodes: y taken modulo p, either sign of x) to a
# point of small order: the 8 torsion points and their non-canonical spellings (y + p, x = -0).
# Such a point as a public key, or as a signature's R, lets anyone forge a "valid" signature.
SMALL_ORDER_ENCODINGS = frozenset(
    (y | sign << 255).to_bytes(32, "little")
    for y in (0, 1, FIELD_P - 1, _ORDER_8_Y, FIELD_P - _ORDER_8_Y, FIELD_P, FIELD_P + 1)
    for sign in (0, 1)
)


class KeyRefused(ValueError):
    """A public key that must not be trusted; `reason` is small_order, non_canonical or not_on_curve."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the public key is {reason.replace('_', '-')}")
        self.reason = reason


def point_problem(raw: bytes) -> str | None:
    """Why 32 bytes may not stand for a point in a signature or key: byte checks, cheap enough for every one."""
    if raw in SMALL_ORDER_ENCODINGS:
        return "small_order"
    if int.from_bytes(raw, "little") & _Y_MASK >= FIELD_P:
        return "non_canonical"
    return None


def _on_curve(raw: bytes) -> bool:
    """Whether `raw` (canonical) decodes to a curve point: RFC 8032 § 5.1.3, recovering x from y."""
    y = int.from_bytes(raw, "little") & _Y_MASK
    u, v = (y * y - 1) % FIELD_P, (CURVE_D * y * y + 1) % FIELD_P
    x = u * pow(v, 3, FIELD_P) * pow(u * pow(v, 7, FIELD_P), (FIELD_P - 5) // 8, FIELD_P) % FIELD_P
    return (v * x * x - u) % FIELD_P == 0 or (v * x * x + u) % FIELD_P == 0


def check_public_key(raw: bytes) -> None:
    """Refuse (KeyRefused) a public key no honest key pair has: small order, non-canonical, off the curve."""
    problem = point_problem(raw) or (None if _on_curve(raw) else "not_on_curve")
    if problem:
        raise KeyRefused(problem)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def fingerprint(public_raw: bytes) -> str:
    """SHA-256 of the raw public key in hex: what people compare when they confirm a key."""
    return hashlib.sha256(public_raw).hexdigest()


def key_id(public_raw: bytes) -> str:
    """The first 128 bits of the fingerprint: a lookup name, never trusted without the signature."""
    return fingerprint(public_raw)[:32]


def spaced(fp: str) -> str:
    """A fingerprint in groups of four, as shown to people."""
    return " ".join(fp[i : i + 4] for i in range(0, len(fp), 4))


@dataclass(frozen=True)
class PublicKey:
    raw: bytes

    @classmethod
    def from_b64(cls, text: str) -> PublicKey:
        try:
            raw = unb64(text)
        except (ValueError, UnicodeEncodeError) as error:
            raise ValueError("public key is not base64") from error
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key has 32 bytes")
        check_public_key(raw)
        return cls(raw)

    @property
    def key_id(self) -> str:
        return key_id(self.raw)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)

    def to_b64(self) -> str:
        return b64(self.raw)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """The one signature check of client and exchange: RFC 8032, and nothing a small-order point allows.

        OpenSSL accepts a small-order or non-canonical key, and R, as given (R = identity, S = 0 then
        "verifies" under the identity key for every message), so those are refused here first.
        """
        if (len(signature) != 64 or point_problem(self.raw) or point_problem(signature[:32])
                or int.from_bytes(signature[32:], "little") >= GROUP_L):
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """A private key in memory, for as long as one signing job needs it."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, raw: bytes) -> SigningKey:
        return cls(Ed25519PrivateKey.from_private_bytes(raw))

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.private.public_key().public_bytes_raw())

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def raw(self) -> bytes:
        return self.private.private_bytes_raw()


# Public key files (what a steward sends for enrollment) -----------------------------------


def public_key_document(public: PublicKey, department_code: str, steward: str) -> dict[str, str]:
    return {
        "format": PUBLIC_KEY_FORMAT,
        "algorithm": "Ed25519",
        "public_key": public.to_b64(),
        "key_id": public.key_id,
        "fingerprint": public.fingerprint,
        "department_code": department_code,
        "steward": steward,
    }


def read_public_key_file(path: Path) -> tuple[PublicKey, dict[str, str]]:
    """The key in a file `steward keys export` wrote; the key id and fingerprint it declares must be the key's."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        if document.get("format") != PUBLIC_KEY_FORMAT or document.get("algorithm") != "Ed25519":
            raise ValueError("not a Steward public key file")
        missing = [m for m in PUBLIC_KEY_REQUIRED if not isinstance(document.get(m), str)]
        if missing:
            raise ValueError(f"the member {missing[0]} is missing")
        public = PublicKey.from_b64(document["public_key"])
    except KeyRefused as error:
        raise StewardError(f"keys.weak.{error.reason}", source=str(path)) from error
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise StewardError("keys.public_file_invalid", path=str(path), reason=str(error)) from error
    for member, actual in (("key_id", public.key_id), ("fingerprint", public.fingerprint)):
        if document[member] != actual:
            raise StewardError("keys.public_file_mismatch", path=str(path), member=member, declared=document[member],
                               actual=actual)
    return public, document


# Where the private key lives --------------------------------------------------------------


class Storage(StrEnum):
    KEYRING = "keyring"
    FILE = "file"  # encrypted with a passphrase


def secure_keyring_available() -> bool:
    """Whether the OS offers a keyring that keeps secrets safe (not the 'fail' or 'null' stand-ins)."""
    if os.environ.get(STORAGE_ENV, "").lower() == "file":
        return False
    backend = keyring.get_keyring()
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return False
    if module.startswith("keyring.backends.chainer"):
        return bool(getattr(backend, "backends", []))
    return True


PassphraseSource = Callable[[bool], str]  # called with True when a new passphrase is being chosen


def store_private_key(key: SigningKey, folder: Path, passphrase: PassphraseSource) -> Storage:
    """Put `key` into the keyring, or into an encrypted file in `folder/keys` where there is none."""
    if secure_keyring_available():
        try:
            keyring.set_password(KEYRING_SERVICE, key.key_id, b64(key.raw()))
            return Storage.KEYRING
        except keyring.errors.KeyringError:
            pass  # a keyring that refuses (locked, no D-Bus): the encrypted file still protects the key
    secret = passphrase(True)
    if len(secret) < MIN_PASSPHRASE:
        raise StewardError("keys.passphrase_short", minimum=MIN_PASSPHRASE)
    _write_key_file(key_file(folder, key.key_id), key, secret)
    return Storage.FILE


def load_private_key(key_id_: str, storage: Storage, folder: Path, passphrase: PassphraseSource) -> SigningKey:
    """The steward's private key from where `store_private_key` put it."""
    if storage is Storage.KEYRING:
        try:
            secret = keyring.get_password(KEYRING_SERVICE, key_id_)
        except keyring.errors.KeyringError as error:
            raise StewardError("keys.keyring_failed", reason=str(error)) from error
        if secret is None:
            raise StewardError("keys.not_in_keyring", key_id=key_id_)
        key = SigningKey.from_raw(unb64(secret))
    else:
        key = _read_key_file(key_file(folder, key_id_), passphrase(False))
    if key.key_id != key_id_:
        raise StewardError("keys.mismatch", key_id=key_id_)
    return key


def delete_private_key(key_id_: str, storage: Storage, folder: Path) -> None:
    if storage is Storage.KEYRING:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            keyring.delete_password(KEYRING_SERVICE, key_id_)
    else:
        key_file(folder, key_id_).unlink(missing_ok=True)


def key_file(folder: Path, key_id_: str) -> Path:
    return Path(folder) / KEY_DIR / f"{key_id_}.key"


def _kdf(salt: bytes) -> Scrypt:
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)


def _write_key_file(path: Path, key: SigningKey, passphrase: str) -> None:
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    sealed = AESGCM(_kdf(salt).derive(passphrase.encode("utf-8"))).encrypt(nonce, key.raw(), key.key_id.encode())
    document = {
        "format": KEY_FILE_FORMAT,
        "key_id": key.key_id,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": b64(salt)},
        "cipher": {"name": "AES-256-GCM", "nonce": b64(nonce)},
        "ciphertext": b64(sealed),
    }
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)


def _read_key_file(path: Path, passphrase: str) -> SigningKey:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        kdf, cipher = document["kdf"], document["cipher"]
        if document["format"] != KEY_FILE_FORMAT or kdf["name"] != "scrypt" or cipher["name"] != "AES-256-GCM":
            raise ValueError("unknown key file format")
        derived = Scrypt(salt=unb64(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
            passphrase.encode("utf-8")
        )
        sealed = unb64(document["ciphertext"])
        raw = AESGCM(derived).decrypt(unb64(cipher["nonce"]), sealed, document["key_id"].encode())
    except FileNotFoundError as error:
        raise StewardError("keys.file_missing", path=str(path)) from error
    except InvalidTag as error:
        raise StewardError("keys.passphrase_wrong") from error
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StewardError("keys.file_invalid", path=str(path), reason=str(error)) from error
    return SigningKey.from_raw(raw)
