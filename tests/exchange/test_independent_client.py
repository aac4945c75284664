"""A client written from docs/protocol.md alone pushes to a real exchange and checks its whole feed.

`Independent` below uses only requests, cryptography, rfc8785 and the standard library, and
follows the document literally: § 4 to sign requests, § 3 to build and sign changesets, § 6 for
the order of the feed checks (the changeset id the record hash covers comes from the parsed
changeset_json). It must accept what the exchange serves, and refuse a tampered feed at the
same record as the reference client (steward.protocol.verify_feed).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from exchange import ledger
from steward import sample
from steward.sync import changeset
from steward.sync.keys import PublicKey
from steward.sync.protocol import GENESIS, FeedInvalid, trusted_keys, verify_feed
from tests.helpers import ROOT

SIGNED_TAIL = re.compile(rb',"signature":"([A-Za-z0-9+/]{86}==)"\}\Z')  # § 6, step 3


class Untrusted(Exception):
    def __init__(self, position: int, step: int) -> None:
        super().__init__(f"record {position}: step {step}")
        self.position = position
        self.step = step


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _verifies(public: bytes, signature_b64: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(signature_b64, validate=True), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _strict(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("a member twice")
    return dict(pairs)


def _no_constant(name: str) -> None:
    raise ValueError(name)


class Independent:
    """A steward's client made from the protocol document: its own key, requests, and the § 6 checks."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.key = Ed25519PrivateKey.generate()
        self.public = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = hashlib.sha256(self.public).hexdigest()[:32]  # § 1
        self.seq = 0
        self.pinned: bytes | None = None

    # § 4 ----------------------------------------------------------------------------------

    def request(self, method: str, target: str, body: bytes = b"") -> requests.Response:
        timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        description = {"method": method, "target": target, "timestamp": timestamp,
                       "body_sha256": hashlib.sha256(body).hexdigest(), "key_id": self.key_id}
        signature = self.key.sign(b"steward-request-v1\n" + rfc8785.dumps(description))
        headers = {"Steward-Key": self.key_id, "Steward-Timestamp": timestamp, "Steward-Signature": _b64(signature)}
        if body:
            headers["Content-Type"] = "application/json"
        return requests.request(method, self.url + target, data=body or None, headers=headers, timeout=60)

    def pin(self, published_fingerprint: str) -> None:
        """First contact: take the exchange's key if its fingerprint is the one the administrator published."""
        info = requests.get(self.url + "/v1/server", timeout=60).json()
        public = base64.b64decode(info["public_key"])
        assert hashlib.sha256(public).hexdigest() == info["fingerprint"] == published_fingerprint
        self.pinned = public

    # § 3 ----------------------------------------------------------------------------------

    def push(self, department: str, operations: list[dict[str, Any]]) -> requests.Response:
        self.seq += 1
        unsigned = {"format": "steward.changeset/1", "id": str(uuid.uuid4()), "department": department,
                    "key_id": self.key_id, "seq": self.seq,
                    "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "author": "独立客户端", "operations": operations}
        signature = self.key.sign(b"steward-changeset-v1\n" + rfc8785.dumps(unsigned))
        return self.request("POST", "/v1/changesets", rfc8785.dumps({**unsigned, "signature": _b64(signature)}))

    # § 6 ----------------------------------------------------------------------------------

    def enrollments(self) -> dict[str, dict[str, Any]]:
        """The enrollments the pinned exchange key really signed, for keys they really name."""
        assert self.pinned is not None
        found = {}
        for enrollment in self.request("GET", "/v1/keys").json()["keys"]:
            body = {k: v for k, v in enrollment.items() if k != "signature"}
            public = base64.b64decode(enrollment["public_key"])
            if (_verifies(self.pinned, enrollment["signature"], b"steward-enrollment-v1\n" + rfc8785.dumps(body))
                    and hashlib.sha256(public).hexdigest()[:32] == enrollment["key_id"]):
                found[enrollment["key_id"]] = enrollment
        return found

    def check_page(self, page: dict[str, Any], keys: dict[str, dict[str, Any]], position: int,
                   trusted_hash: str) -> tuple[int, str, list[dict[str, Any]]]:
        """The § 6 steps, in their order, over one page; the new trusted position and hash, and the changesets."""
        assert self.pinned is not None
        changesets = []
        for record in page["records"]:
            expected = position + 1
            if record["position"] != expected:  # 1
                raise Untrusted(expected, 1)
            b = record["changeset_json"].encode("utf-8")  # 2
            if hashlib.sha256(b).hexdigest() != record["changeset_sha256"]:
                raise Untrusted(expected, 2)
            tail = SIGNED_TAIL.search(b)  # 3
            try:
                cs = json.loads(b, object_pairs_hook=_strict, parse_constant=_no_constant)
            except ValueError as error:
                raise Untrusted(expected, 3) from error
            if tail is None or not isinstance(cs, dict) or cs.get("signature") != tail.group(1).decode() \
                    or cs.get("format") != "steward.changeset/1":
                raise Untrusted(expected, 3)
            u = b[: tail.start()] + b"}"
            header = {"position": record["position"], "changeset_id": cs["id"],  # 4
                      "changeset_sha256": record["changeset_sha256"], "versions": record["versions"],
                      "prev_hash": record["prev_hash"], "accepted_at": record["accepted_at"]}
            if record["prev_hash"] != trusted_hash or record["hash"] != hashlib.sha256(
                    b"steward-feed-record-v1\n" + rfc8785.dumps(header)).hexdigest():
                raise Untrusted(expected, 4)
            enrollment = keys.get(cs["key_id"])  # 5
            if enrollment is None or enrollment["department"] != cs["department"] or not _verifies(
                    base64.b64decode(enrollment["public_key"]), cs["signature"], b"steward-changeset-v1\n" + u):
                raise Untrusted(expected, 5)
            position, trusted_hash = expected, record["hash"]  # 6
            changesets.append(cs)
        checkpoint = page["checkpoint"]  # 7
        body = {k: v for k, v in checkpoint.items() if k != "signature"}
        if not _verifies(self.pinned, checkpoint["signature"], b"steward-checkpoint-v1\n" + rfc8785.dumps(body)) \
                or checkpoint["position"] < position \
                or (checkpoint["position"] == position and checkpoint["hash"] != trusted_hash):
            raise Untrusted(position, 7)
        return position, trusted_hash, changesets

    def read_feed(self, limit: int) -> list[dict[str, Any]]:
        pages, after = [], 0
        while True:
            page = self.request("GET", f"/v1/feed?after={after}&limit={limit}").json()
            pages.append(page)
            if not page["more"]:
                return pages
            after = page["records"][-1]["position"]


def _doc_entry(department) -> dict[str, Any]:
    """The entry of the document's first example changeset, made this department's, with new ids."""
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    first = json.loads(re.search(r"```json\n(\{\n  \"format\": \"steward.changeset/1\".*?)```", doc, re.S).group(1))
    entry = copy.deepcopy(first["operations"][0]["entry"])
    entry.update(code="319001/987654", provider=department.name, provider_code=department.code)
    for item in entry["items"]:
        item["id"] = str(uuid.uuid4())
    return entry


@pytest.fixture(scope="module")
def independent(server):
    """An independent client that pushed a create and an update, beside reference stewards of two departments.

    The last reference steward's key is revoked after its pushes.
    """
    department = sample.DEPARTMENTS[4]
    client = Independent(server.url)
    ledger.enroll(server.engine, department.code, PublicKey.from_b64(_b64(client.public)), "独立客户端")
    client.pin(server.public.fingerprint)
    for other in (sample.DEPARTMENTS[5], sample.DEPARTMENTS[6]):
        steward = server.steward(other)
        for _ in range(2):
            steward.client.push(steward.changeset([changeset.op_create(steward.entry())]))
    ledger.revoke(server.engine, steward.key.key_id)  # what it signed before stays valid (§ 6, step 5)
    entry_id = str(uuid.uuid4())
    created = client.push(department.code, [{"kind": "create", "entry_id": entry_id, "entry": _doc_entry(department)}])
    assert created.status_code == 201, created.text
    updated = client.push(department.code, [{"kind": "set", "entry_id": entry_id, "base_version": 1,
                                             "field": "update_frequency", "base": "daily", "value": "weekly"}])
    assert updated.status_code == 201, updated.text
    return client, created.json(), updated.json(), entry_id


def test_the_independent_clients_pushes_are_accepted_with_receipts_it_can_check(independent):
    client, created, updated, entry_id = independent
    for receipt in (created, updated):
        body = {k: v for k, v in receipt.items() if k != "signature"}
        assert _verifies(client.pinned, receipt["signature"], b"steward-receipt-v1\n" + rfc8785.dumps(body))
    assert (created["versions"], updated["versions"]) == ({entry_id: 1}, {entry_id: 2})
    assert client.request("GET", f"/v1/changesets/{updated['changeset_id']}").json() == {
        "status": "accepted", "receipt": updated}


def test_the_independent_client_checks_the_whole_feed_following_the_document(server, independent):
    client = independent[0]
    keys = client.enrollments()
    assert sum(1 for e in keys.values() if e["revoked_at"] is not None) == 1
    position, trusted_hash, changesets = 0, GENESIS, []
    for page in client.read_feed(limit=2):
        position, trusted_hash, found = client.check_page(page, keys, position, trusted_hash)
        changesets.extend(found)
    assert (position, trusted_hash) == server.head()
    assert len(changesets) == position >= 6
    assert [cs["author"] for cs in changesets].count("独立客户端") == 2


def _tampered(records: list[dict[str, Any]], how: str) -> list[dict[str, Any]]:
    records = copy.deepcopy(records)
    if how == "changed changeset":
        records[2]["changeset_json"] = records[2]["changeset_json"].replace('"kind":"create"', '"kind":"retire"')
    elif how == "changed changeset, digest recomputed":
        records[2]["changeset_json"] = records[2]["changeset_json"].replace('"author":"测试"', '"author":"别人"')
        records[2]["changeset_sha256"] = hashlib.sha256(records[2]["changeset_json"].encode()).hexdigest()
    elif how == "dropped record":
        del records[1]
    elif how == "another changeset id in the chain":
        records[1]["changeset_json"] = records[2]["changeset_json"]
        records[1]["changeset_sha256"] = records[2]["changeset_sha256"]
    elif how == "changed versions":
        records[3]["versions"] = {k: v + 1 for k, v in records[3]["versions"].items()}
    return records


@pytest.mark.parametrize("how", ["changed changeset", "changed changeset, digest recomputed", "dropped record",
                                 "another changeset id in the chain", "changed versions"])
def test_a_tampered_feed_is_refused_at_the_same_record_as_the_reference_client(server, independent, how):
    client = independent[0]
    page = client.request("GET", "/v1/feed?after=0&limit=1000").json()
    keys = client.enrollments()
    page["records"] = _tampered(page["records"], how)
    with pytest.raises(Untrusted) as independent_refusal:
        client.check_page(page, keys, 0, GENESIS)
    with pytest.raises(FeedInvalid) as reference_refusal:
        verify_feed(page["records"], page["checkpoint"], server.public, trusted_keys(keys.values(), server.public),
                    0, GENESIS)
    assert independent_refusal.value.position == reference_refusal.value.position
