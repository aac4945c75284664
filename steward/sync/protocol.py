"""What client and exchange both compute: request signatures, the feed's hash chain, receipts, checkpoints.

Every signed thing starts with its own domain tag, so a signature made for one purpose can
never be passed off as another (a request signature as a changeset, a receipt as a checkpoint).
docs/protocol.md specifies each form.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from steward.sync.changeset import (
    GENESIS as GENESIS,  # where it was first defined: the log's first record names it
)
from steward.sync.changeset import (
    Changeset,
    ChangesetInvalid,
    FormatProblem,
    canonical,
    from_canonical,
    sha256_hex,
)
from steward.sync.changeset import verify as verify_changeset
from steward.sync.keys import PublicKey, SigningKey, b64, unb64
from steward.sync.requests.documents import SealedStep, Step, parse_sealed, parse_step
from steward.sync.requests.refusals import StepRefused
from steward.sync.requests.state import Signer, check_signer

API = "/v1"
REQUEST_TAG = b"steward-request-v1\n"
RECORD_TAG = b"steward-feed-record-v1\n"
STEP_RECORD_TAG = b"steward-feed-step-v1\n"  # a sharing request's step in the log: not a changeset's record
RECEIPT_TAG = b"steward-receipt-v1\n"
CHECKPOINT_TAG = b"steward-checkpoint-v1\n"
ENROLLMENT_TAG = b"steward-enrollment-v1\n"
KEY_ROTATION_TAG = b"steward-key-rotation-v1\n"
DEPARTMENT_TAG = b"steward-department-v1\n"  # a registered department's name, as the exchange vouches for it
CLOCK_SKEW_S = 300  # how far a request's timestamp may be from the server's clock

HEADER_KEY = "Steward-Key"
HEADER_TIME = "Steward-Timestamp"
HEADER_SIGNATURE = "Steward-Signature"


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Request authentication -------------------------------------------------------------------


def request_message(method: str, target: str, timestamp: str, body: bytes, key_id: str) -> bytes:
    """What a request signature covers: method, path with query exactly as sent, time, body hash, key."""
    return REQUEST_TAG + canonical({
        "method": method.upper(),
        "target": target,
        "timestamp": timestamp,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "key_id": key_id,
    })


def sign_request(key: SigningKey, method: str, target: str, body: bytes = b"",
                 timestamp: str | None = None) -> dict[str, str]:
    """The headers that authenticate one request."""
    timestamp = timestamp or utc_now()
    signature = key.sign(request_message(method, target, timestamp, body, key.key_id))
    return {HEADER_KEY: key.key_id, HEADER_TIME: timestamp, HEADER_SIGNATURE: b64(signature)}


def parse_time(timestamp: str) -> datetime:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("timestamp without a time zone")
    return moment


def verify_request(public: PublicKey, method: str, target: str, body: bytes, timestamp: str, signature: str,
                   now: datetime | None = None) -> str | None:
    """None if the request is authentic and fresh, else why not."""
    try:
        moment = parse_time(timestamp)
    except ValueError:
        return "timestamp is not RFC 3339"
    now = now or datetime.now(UTC)
    if abs((now - moment).total_seconds()) > CLOCK_SKEW_S:
        return f"timestamp is more than {CLOCK_SKEW_S} s from the server's clock"
    try:
        raw = unb64(signature)
    except ValueError:
        return "signature is not base64"
    if not public.verify(raw, request_message(method, target, timestamp, body, public.key_id)):
        return "signature does not verify"
    return None


# The feed's hash chain --------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One accepted changeset's place in the feed."""

    position: int
    changeset_id: str
    changeset_sha256: str
    versions: dict[str, int]  # entry id -> its version after this changeset
    prev_hash: str
    accepted_at: str

    def header(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "changeset_id": self.changeset_id,
            "changeset_sha256": self.changeset_sha256,
            "versions": self.versions,
            "prev_hash": self.prev_hash,
            "accepted_at": self.accepted_at,
        }

    def hash(self) -> str:
        return sha256_hex(RECORD_TAG + canonical(self.header()))


@dataclass(frozen=True)
class StepRecord:
    """One step of a sharing request in the feed: its place, the exchange's stamp, and the due date it set."""

    position: int
    step_digest: str  # the step's digest: the same for the whole step and its redacted form
    due: str | None  # YYYY-MM-DD (China): when the answer this step waits for is due; None if none has a deadline
    prev_hash: str
    accepted_at: str

    def header(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "step_digest": self.step_digest,
            "due": self.due,
            "prev_hash": self.prev_hash,
            "accepted_at": self.accepted_at,
        }

    def hash(self) -> str:
        return sha256_hex(STEP_RECORD_TAG + canonical(self.header()))


# Server signatures ------------------------------------------------------------------------


def server_sign(key: SigningKey, tag: bytes, body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "signature": b64(key.sign(tag + canonical(body)))}


def server_verify(public: PublicKey, tag: bytes, signed: dict[str, Any]) -> bool:
    body = {k: v for k, v in signed.items() if k != "signature"}
    try:
        return public.verify(unb64(str(signed.get("signature", ""))), tag + canonical(body))
    except ValueError:
        return False


def receipt_body(exchange_id: str, record: Record) -> dict[str, Any]:
    return {
        "exchange_id": exchange_id,
        "changeset_id": record.changeset_id,
        "changeset_sha256": record.changeset_sha256,
        "position": record.position,
        "hash": record.hash(),
        "versions": record.versions,
        "accepted_at": record.accepted_at,
    }


def checkpoint_body(exchange_id: str, position: int, head_hash: str, issued_at: str) -> dict[str, Any]:
    return {"exchange_id": exchange_id, "position": position, "hash": head_hash, "issued_at": issued_at}


def enrollment_body(key_id: str, public_key: str, department: str, enrolled_at: str,
                    revoked_at: str | None) -> dict[str, Any]:
    return {"key_id": key_id, "public_key": public_key, "department": department, "enrolled_at": enrolled_at,
            "revoked_at": revoked_at}


def department_body(code: str, name: str) -> dict[str, str]:
    """What the exchange signs of a registered department: its code and its name (GET /v1/departments)."""
    return {"code": code, "name": name}


def rotation_body(exchange_id: str, old_public_key: str, new_public_key: str, rotated_at: str) -> dict[str, Any]:
    """What the exchange's old key signs when the exchange moves to a new key."""
    return {"exchange_id": exchange_id, "old_public_key": old_public_key, "new_public_key": new_public_key,
            "rotated_at": rotated_at}


ROTATION_MEMBERS = frozenset({"exchange_id", "old_public_key", "new_public_key", "rotated_at", "signature"})


def follow_rotations(pinned: PublicKey, offered: PublicKey, statements: Any, exchange_id: str) -> bool:
    """Whether rotation statements lead from the pinned exchange key to the offered one.

    Each step must be a statement for this exchange, signed by the key it leaves, naming the next
    key; anything else in the list is ignored, so a forged statement can only fail to help.
    """
    steps = [s for s in statements if _well_formed_rotation(s, exchange_id)] if isinstance(statements, list) else []
    current, seen = pinned, {pinned}
    while current != offered:
        step = next((s for s in steps if s["old_public_key"] == current.to_b64()
                     and server_verify(current, KEY_ROTATION_TAG, s)), None)
        if step is None:
            return False
        try:
            current = PublicKey.from_b64(step["new_public_key"])
        except ValueError:
            return False
        if current in seen:
            return False
        seen.add(current)
    return True


def _well_formed_rotation(statement: Any, exchange_id: str) -> bool:
    return (isinstance(statement, dict) and set(statement) == ROTATION_MEMBERS
            and all(isinstance(v, str) for v in statement.values()) and statement["exchange_id"] == exchange_id)


# Checking what the feed serves ------------------------------------------------------------


class FeedInvalid(Exception):
    """The feed cannot be trusted from this record on: nothing from it may be applied."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"record {position}: {reason}")
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class VerifiedRecord:
    record: Record
    changeset: Changeset


@dataclass(frozen=True)
class VerifiedStep:
    """A sharing request's step from the feed, signed by a key that may sign it: whole, or redacted for a
    department that is not a party to the request. Its place in the request's chain is the reader's to check."""

    record: StepRecord
    step: Step | SealedStep


Verified = VerifiedRecord | VerifiedStep


def trusted_keys(enrollments: list[dict[str, Any]], server_public: PublicKey) -> dict[str, dict[str, Any]]:
    """The enrollments the exchange really signed for sound keys, by key id (others are ignored)."""
    return {e["key_id"]: e for e in enrollments
            if server_verify(server_public, ENROLLMENT_TAG, e) and _sound_key_named(e["public_key"], e["key_id"])}


def _sound_key_named(public_key: str, key_id: str) -> bool:
    try:
        return PublicKey.from_b64(public_key).key_id == key_id
    except ValueError:  # a small-order or malformed key: nothing it signs can be trusted
        return False


Decoded = Changeset | ChangesetInvalid | Step | SealedStep | StepRefused


def decode_records(records: list[dict[str, Any]]) -> list[Decoded]:
    """The changesets and steps of feed records, decoded: the costly part of checking a page, safe on another
    thread. A record with `step` holds a sharing request's step, whole (with `body`) or redacted."""
    decoded: list[Decoded] = []
    for raw in records:
        if isinstance(raw, dict) and "step" in raw:
            decoded.append(_decode_step(raw["step"]))
            continue
        try:
            decoded.append(from_canonical(str(raw["changeset_json"]).encode("utf-8")))
        except ChangesetInvalid as error:
            decoded.append(error)
        except (KeyError, TypeError):
            decoded.append(ChangesetInvalid([FormatProblem("changeset_json", "missing")]))
    return decoded


def _decode_step(document: Any) -> Step | SealedStep | StepRefused:
    try:
        return parse_step(document) if isinstance(document, dict) and "body" in document else parse_sealed(document)
    except StepRefused as error:
        return error


def step_signers(keys: dict[str, dict[str, Any]],
                 exchange_keys: tuple[PublicKey, ...]) -> dict[str, Signer]:
    """Who may have signed a step, by key id: the trusted enrollments (for their department) and the exchange's
    keys, the pinned one and those it had before (reviews signed before a rotation stay valid)."""
    signers = {key.key_id: Signer(key, None) for key in exchange_keys}
    for key_id, enrollment in keys.items():
        signers[key_id] = Signer(PublicKey.from_b64(enrollment["public_key"]), enrollment["department"])
    return signers


def verify_feed(records: list[dict[str, Any]], checkpoint: dict[str, Any] | None, server_public: PublicKey,
                keys: dict[str, dict[str, Any]], prev_position: int, prev_hash: str,
                decoded: list[Decoded] | None = None,
                former_exchange_keys: tuple[PublicKey, ...] = ()) -> list[Verified]:
    """Check a feed page against the chain so far; raise FeedInvalid at the first record that fails.

    Each record must follow the previous one and hash to what it claims. A changeset must have the
    digest its record names and verify with an enrolled key of the changeset's department; a
    sharing request's step (whole or redacted) must have its record's digest and be signed by a key
    that may sign its kind (an enrolled key of its department, or a key of the exchange). The last
    record must be the exchange's signed checkpoint when the checkpoint is at that position.
    `decoded` may hold the records decoded beforehand (decode_records); every check is still made here.
    """
    decoded = decoded if decoded is not None else decode_records(records)
    signers = step_signers(keys, (server_public, *former_exchange_keys))
    verified: list[Verified] = []
    for raw, item in zip(records, decoded, strict=True):
        position = raw.get("position")
        expected = prev_position + 1
        if position != expected:
            raise FeedInvalid(expected, f"position {position} where {expected} was expected")
        if isinstance(item, Step | SealedStep | StepRefused):
            checked = _verify_step(raw, item, expected, prev_hash, signers)
            verified.append(checked)
            prev_position, prev_hash = expected, checked.record.hash()
            continue
        cs = item
        if isinstance(cs, ChangesetInvalid):
            raise FeedInvalid(expected, f"the changeset is malformed: {cs}")
        record = Record(expected, cs.id, cs.digest(), raw.get("versions") or {}, raw.get("prev_hash", ""),
                        raw.get("accepted_at", ""))
        if raw.get("changeset_sha256") != record.changeset_sha256:
            raise FeedInvalid(expected, "the changeset does not match its recorded digest")
        if record.prev_hash != prev_hash:
            raise FeedInvalid(expected, "the chain is broken: it does not follow the previous record")
        if raw.get("hash") != record.hash():
            raise FeedInvalid(expected, "the record's hash does not match its content")
        enrollment = keys.get(cs.key_id)
        if enrollment is None or enrollment["department"] != cs.department:
            raise FeedInvalid(expected, f"changeset {cs.id} is signed by key {cs.key_id}, not enrolled for "
                                        f"department {cs.department}")
        if not verify_changeset(cs, PublicKey.from_b64(enrollment["public_key"])):
            raise FeedInvalid(expected, f"the steward signature of changeset {cs.id} does not verify")
        verified.append(VerifiedRecord(record, cs))
        prev_position, prev_hash = expected, record.hash()
    if checkpoint is not None:
        if not server_verify(server_public, CHECKPOINT_TAG, checkpoint):
            raise FeedInvalid(prev_position, "the checkpoint is not signed by the pinned exchange key")
        if checkpoint.get("position") == prev_position and checkpoint.get("hash") != prev_hash:
            raise FeedInvalid(prev_position, "the exchange's signed checkpoint names another history")
        if not isinstance(checkpoint.get("position"), int) or checkpoint["position"] < prev_position:
            raise FeedInvalid(prev_position, "the signed checkpoint is behind the records served")
    return verified


def _verify_step(raw: dict[str, Any], step: Step | SealedStep | StepRefused, position: int, prev_hash: str,
                 signers: dict[str, Signer]) -> VerifiedStep:
    if isinstance(step, StepRefused):
        raise FeedInvalid(position, f"the sharing request step is malformed: {step}")
    sealed = step.sealed if isinstance(step, Step) else step
    due, accepted_at = raw.get("due"), raw.get("accepted_at")
    if not (due is None or isinstance(due, str)) or not isinstance(accepted_at, str):
        raise FeedInvalid(position, "the step's record is malformed")
    record = StepRecord(position, sealed.digest(), due, str(raw.get("prev_hash", "")), accepted_at)
    if raw.get("step_digest") != record.step_digest:
        raise FeedInvalid(position, "the step does not match its recorded digest")
    if record.prev_hash != prev_hash:
        raise FeedInvalid(position, "the chain is broken: it does not follow the previous record")
    if raw.get("hash") != record.hash():
        raise FeedInvalid(position, "the record's hash does not match its content")
    try:
        check_signer(sealed, signers.get)
    except StepRefused as error:
        if error.code == "request.key_unknown":
            raise FeedInvalid(position, f"the step is signed by key {sealed.key_id}, not enrolled") from error
        raise FeedInvalid(position, f"the step's signature is not valid: {error}") from error
    return VerifiedStep(record, step)
