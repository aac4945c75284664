"""docs/protocol.md is exact: its examples are test vectors, and its table of rules is the code's.

The vectors are checked with cryptography, rfc8785 and hashlib only, as an independent
implementer would check them; the rules table against the calls in steward/catalogue/rules.py, so a rule
added, dropped or moved between error and warning without the document fails here.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from steward.catalogue.messages import MESSAGES
from tests.helpers import ROOT

DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
GENESIS = "0" * 64


def _examples() -> list[dict]:
    """Every JSON example of the document that is whole JSON (some abbreviate with "…" outside strings)."""
    found = []
    for block in re.findall(r"```json\n(.*?)```", DOC, re.S):
        try:
            found.append(json.loads(block))
        except ValueError:
            continue
    return found


def _example(test) -> dict:
    [chosen] = [e for e in _examples() if test(e)]
    return chosen


def _verify(public_b64: str, signature_b64: str, message: bytes) -> None:
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64)).verify(base64.b64decode(signature_b64), message)


def _record_hash(position, changeset_id, changeset_sha256, versions, prev_hash, accepted_at) -> str:
    header = {"position": position, "changeset_id": changeset_id, "changeset_sha256": changeset_sha256,
              "versions": versions, "prev_hash": prev_hash, "accepted_at": accepted_at}
    return hashlib.sha256(b"steward-feed-record-v1\n" + rfc8785.dumps(header)).hexdigest()


EXAMPLE_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))  # "private key bytes 0x00 … 0x1f"
EXAMPLE_PUBLIC = EXAMPLE_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
CHANGESETS = [e for e in _examples() if e.get("format") == "steward.changeset/1"]


def test_the_public_key_file_is_the_example_key():
    key_file = _example(lambda e: e.get("format") == "steward.public-key/1")
    fingerprint = hashlib.sha256(EXAMPLE_PUBLIC).hexdigest()
    assert key_file["public_key"] == base64.b64encode(EXAMPLE_PUBLIC).decode()
    assert key_file["key_id"] == fingerprint[:32]
    assert fingerprint.startswith(key_file["fingerprint"].rstrip("…"))


@pytest.mark.parametrize("number", [0, 1])
def test_each_example_changeset_is_signed_by_the_example_key_over_its_canonical_form(number):
    document = CHANGESETS[number]
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    message = b"steward-changeset-v1\n" + rfc8785.dumps(unsigned)
    assert document["key_id"] == hashlib.sha256(EXAMPLE_PUBLIC).hexdigest()[:32]
    _verify(base64.b64encode(EXAMPLE_PUBLIC).decode(), document["signature"], message)
    assert base64.b64encode(EXAMPLE_KEY.sign(message)).decode() == document["signature"]  # Ed25519 is deterministic


def test_the_canonical_form_and_digest_given_are_the_first_changesets():
    canonical = rfc8785.dumps(CHANGESETS[0])
    [start] = re.findall(r"Its canonical form starts\n`([^`]*)…`", DOC)
    assert canonical.startswith(start.encode())
    [digest] = re.findall(r"`signature` included; here `([0-9a-f]{64})`", DOC)
    assert hashlib.sha256(canonical).hexdigest() == digest


def test_the_receipt_and_the_feed_record_chain_the_two_changesets():
    first, second = CHANGESETS
    server = _example(lambda e: e.get("protocol") == "steward-exchange/1")
    receipt = _example(lambda e: "changeset_sha256" in e and "signature" in e)
    [record] = _example(lambda e: "records" in e)["records"]
    server_public = base64.b64decode(server["public_key"])
    assert server["fingerprint"] == hashlib.sha256(server_public).hexdigest()
    assert server["key_id"] == server["fingerprint"][:32]

    assert receipt["changeset_id"] == first["id"]
    assert receipt["changeset_sha256"] == hashlib.sha256(rfc8785.dumps(first)).hexdigest()
    assert receipt["hash"] == _record_hash(1, first["id"], receipt["changeset_sha256"], receipt["versions"],
                                           GENESIS, receipt["accepted_at"])
    _verify(server["public_key"], receipt["signature"], b"steward-receipt-v1\n"
            + rfc8785.dumps({k: v for k, v in receipt.items() if k != "signature"}))

    # The record does not carry the changeset's id: it comes from its changeset_json (§ 6).
    assert record["changeset_sha256"] == hashlib.sha256(rfc8785.dumps(second)).hexdigest()
    assert record["prev_hash"] == receipt["hash"]
    assert record["hash"] == _record_hash(2, second["id"], record["changeset_sha256"], record["versions"],
                                          record["prev_hash"], record["accepted_at"])
    assert record["versions"] == {second["operations"][0]["entry_id"]: second["operations"][0]["base_version"] + 1}


# The rules table --------------------------------------------------------------------------


def _rules_in_code() -> dict[str, str]:
    """Each rule code steward/catalogue/rules.py raises, with its severity (from its _error / _warning calls)."""
    tree = ast.parse((ROOT / "steward" / "catalogue" / "rules.py").read_text(encoding="utf-8"))
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_error", "_warning"):
            code = node.args[2]
            assert isinstance(code, ast.Constant), f"a rule code that is not a literal: {ast.unparse(code)}"
            found.setdefault(code.value, set()).add(node.func.id.lstrip("_"))
    assert all(len(severities) == 1 for severities in found.values()), found
    return {code: severities.pop() for code, severities in found.items()}


def _rules_in_document() -> dict[str, tuple[str, str]]:
    section = DOC.split("### Catalogue rules: errors and warnings", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| `([a-z_.]+)` \| (error|warning) \| [^|]+ \| ([^|]+) \|$", section, re.M)
    table = {code: (severity, message.strip()) for code, severity, message in rows}
    assert len(table) == len(rows), "a rule appears twice in the table"
    return table


def test_the_documents_rules_table_lists_every_rule_with_its_severity():
    in_code = _rules_in_code()
    assert {code: severity for code, (severity, _) in _rules_in_document().items()} == in_code
    assert len(in_code) >= 20


def test_the_documents_rules_table_gives_the_english_message_the_exchange_sends():
    for code, (_, message) in _rules_in_document().items():
        assert message == MESSAGES[code][1], code
