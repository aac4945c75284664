"""Enrollment requests: a steward's new key asks the exchange to be enrolled for a department.

The request is signed by the key it names (so it proves the sender holds the private key) and
names the exchange it is meant for (so it cannot be replayed at another). It enrolls nothing:
the exchange keeps it pending until an administrator approves it in the console, and the
steward learns the outcome from `GET /v1/enrollment-requests/{key_id}` (docs/protocol.md § 5).
"""

from __future__ import annotations

from typing import Any

from steward.catalogue.rules import is_valid_uscc
from steward.sync.changeset import canonical
from steward.sync.keys import KeyRefused, PublicKey, SigningKey, b64, unb64
from steward.sync.protocol import parse_time, utc_now

FORMAT = "steward.enrollment-request/1"
TAG = b"steward-enrollment-request-v1\n"
MEMBERS = ("format", "exchange_id", "department", "key_id", "public_key", "steward", "requested_at", "signature")
MAX_STEWARD = 200  # characters of the steward's name


class RequestInvalid(ValueError):
    """An enrollment request the exchange refuses; the message says which member and why."""


def make_request(key: SigningKey, exchange_id: str, department: str, steward: str) -> dict[str, Any]:
    body = {"format": FORMAT, "exchange_id": exchange_id, "department": department, "key_id": key.key_id,
            "public_key": key.public.to_b64(), "steward": steward, "requested_at": utc_now()}
    return {**body, "signature": b64(key.sign(TAG + canonical(body)))}


def parse_request(document: Any, exchange_id: str) -> PublicKey:
    """The key a request asks to enroll, if the request is well formed, for this exchange, and signed by that key."""
    if not isinstance(document, dict) or set(document) != set(MEMBERS):
        raise RequestInvalid(f"an enrollment request has exactly the members {', '.join(MEMBERS)}")
    wrong = [m for m in MEMBERS if not isinstance(document[m], str)]
    if wrong:
        raise RequestInvalid(f"{wrong[0]} must be a string")
    if document["format"] != FORMAT:
        raise RequestInvalid(f"format must be {FORMAT}")
    if document["exchange_id"] != exchange_id:
        raise RequestInvalid("the request is meant for another exchange")
    if not is_valid_uscc(document["department"]):
        raise RequestInvalid("department is not a valid 统一社会信用代码")
    if len(document["steward"]) > MAX_STEWARD or any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F
                                                     for c in document["steward"]):
        raise RequestInvalid(f"steward is longer than {MAX_STEWARD} characters or holds a control character")
    try:
        parse_time(document["requested_at"])
        public = PublicKey.from_b64(document["public_key"])
        signature = unb64(document["signature"])
    except KeyRefused as error:
        raise RequestInvalid(f"public_key is refused: {error}") from error
    except ValueError as error:
        raise RequestInvalid(f"requested_at, public_key or signature is malformed: {error}") from error
    if public.key_id != document["key_id"]:
        raise RequestInvalid("key_id is not the key id of public_key")
    body = {k: v for k, v in document.items() if k != "signature"}
    if not public.verify(signature, TAG + canonical(body)):
        raise RequestInvalid("the signature does not verify with public_key")
    return public
