"""Department profiles: the file with which a department joins an exchange without typing a fingerprint.

The exchange's administrator downloads it from the console (or `steward-exchange department
profile CODE`) and hands it to the department's steward, as one would a key file. It names the
exchange (URL, id, public key), the department (code, name) and, optionally, the CA certificate of
the intranet's TLS. It is signed by the exchange's key with its own domain tag over the RFC 8785
form (docs/protocol.md § 2), so a damaged or edited profile is refused; what makes the key in it
trustworthy is the way the file came (from the administrator), as with the fingerprint read out
by phone before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.catalogue.errors import StewardError
from steward.catalogue.rules import is_valid_uscc
from steward.sync.changeset import canonical, strict_json
from steward.sync.keys import KeyRefused, PublicKey, SigningKey, b64, unb64
from steward.sync.protocol import utc_now

FORMAT = "steward.profile/1"
TAG = b"steward-profile-v1\n"
SUFFIX = ".steward-profile"
MEMBERS = ("format", "exchange_url", "exchange_id", "exchange_public_key", "department_code", "department_name",
           "ca_certificate", "issued_at", "signature")
MAX_BYTES = 256 * 1024  # a profile is a few hundred bytes, a CA certificate a few kilobytes


@dataclass(frozen=True)
class Profile:
    exchange_url: str
    exchange_id: str
    exchange_public: PublicKey
    department_code: str
    department_name: str
    ca_certificate: str | None  # PEM
    issued_at: str


def sign_profile(key: SigningKey, exchange_url: str, exchange_id: str, department_code: str, department_name: str,
                 ca_certificate: str | None = None) -> dict[str, Any]:
    body = {"format": FORMAT, "exchange_url": exchange_url.rstrip("/"), "exchange_id": exchange_id,
            "exchange_public_key": key.public.to_b64(), "department_code": department_code,
            "department_name": department_name, "ca_certificate": ca_certificate, "issued_at": utc_now()}
    return {**body, "signature": b64(key.sign(TAG + canonical(body)))}


def profile_bytes(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _invalid(source: str, reason: str) -> StewardError:
    return StewardError("profile.invalid", path=source, reason=reason)


def parse_profile(data: bytes, source: str) -> Profile:
    """The profile in `data`, if it is one and the exchange's signature in it verifies; else a clear refusal."""
    if len(data) > MAX_BYTES:
        raise _invalid(source, f"larger than {MAX_BYTES} bytes")
    try:
        document = strict_json(data)
    except ValueError as error:
        raise _invalid(source, str(error)) from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _invalid(source, f"not a {FORMAT} document")
    if set(document) != set(MEMBERS):
        raise _invalid(source, f"a profile has exactly the members {', '.join(MEMBERS)}")
    strings = [m for m in MEMBERS if m != "ca_certificate" and not isinstance(document[m], str)]
    if strings or not isinstance(document["ca_certificate"], str | None):
        raise _invalid(source, f"{(strings or ['ca_certificate'])[0]} has the wrong type")
    try:
        public = PublicKey.from_b64(document["exchange_public_key"])
        signature = unb64(document["signature"])
    except KeyRefused as error:
        raise StewardError(f"keys.weak.{error.reason}", source=source) from error
    except ValueError as error:
        raise _invalid(source, f"exchange_public_key or signature is malformed: {error}") from error
    body = {k: v for k, v in document.items() if k != "signature"}
    if not public.verify(signature, TAG + canonical(body)):
        raise StewardError("profile.bad_signature", path=source)
    if not is_valid_uscc(document["department_code"]):
        raise _invalid(source, "department_code is not a valid 统一社会信用代码")
    if not document["exchange_url"].startswith(("https://", "http://")):
        raise _invalid(source, "exchange_url is not an http(s) URL")
    return Profile(document["exchange_url"], document["exchange_id"], public, document["department_code"],
                   document["department_name"], document["ca_certificate"], document["issued_at"])


def read_profile(path: Path) -> Profile:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise StewardError("profile.unreadable", path=str(path), reason=error.strerror or str(error)) from error
    return parse_profile(data, str(path))
