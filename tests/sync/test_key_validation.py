"""The one signature check both sides use refuses what a small-order or non-canonical point allows.

Vectors: RFC 8032 § 7.1 test 1; the 8 torsion points of Edwards25519 and their non-canonical
spellings (checked here with independent curve arithmetic); S = L and S = L + 1.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from steward.sync import keys
from steward.sync.keys import (
    GROUP_L,
    SMALL_ORDER_ENCODINGS,
    KeyRefused,
    PublicKey,
    SigningKey,
    public_key_document,
    spaced,
)
from steward.sync.protocol import KEY_ROTATION_TAG, follow_rotations, rotation_body, server_sign
from tests.helpers import ROOT

P, D = keys.FIELD_P, keys.CURVE_D
IDENTITY = bytes([1]) + bytes(31)

RFC8032_TEST1 = {
    "secret": "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "public": "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    "signature": "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                 "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
}


# Independent Edwards25519 arithmetic (affine, RFC 8032 § 5.1), to check the blocklist -------------


def _decode(raw: bytes) -> tuple[int, int] | None:
    """A point as OpenSSL reads it: y taken modulo p, x from the sign bit; None when off the curve."""
    number = int.from_bytes(raw, "little")
    y, sign = (number & ((1 << 255) - 1)) % P, number >> 255
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    for x in _square_roots(u * pow(v, P - 2, P) % P):
        if x % 2 == sign or x == 0:
            return x, y
    return None


def _square_roots(a: int) -> list[int]:
    x = pow(a, (P + 3) // 8, P)
    if x * x % P != a:
        x = x * pow(2, (P - 1) // 4, P) % P
    return [] if x * x % P != a else sorted({x, (P - x) % P})


def _add(p1: tuple[int, int], p2: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    return ((x1 * y2 + y1 * x2) * pow(1 + t, P - 2, P) % P, (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P)


def _times(n: int, point: tuple[int, int]) -> tuple[int, int]:
    result = (0, 1)
    for _ in range(n):
        result = _add(result, point)
    return result


def _encode(point: tuple[int, int]) -> bytes:
    x, y = point
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _openssl_accepts(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except InvalidSignature:
        return False
    return True


# The blocklist is exactly the torsion subgroup, in every spelling ------------------------------


def test_the_small_order_encodings_are_the_eight_torsion_points_and_their_other_spellings():
    points = {_decode(raw) for raw in SMALL_ORDER_ENCODINGS}
    assert None not in points and len(points) == 8
    assert all(_times(8, point) == (0, 1) for point in points)
    assert {_add(a, b) for a in points for b in points} == points  # a group of 8: the whole torsion subgroup
    canonical = {raw for raw in SMALL_ORDER_ENCODINGS if _encode(_decode(raw)) == raw}
    assert canonical == {_encode(point) for point in points}
    assert len(SMALL_ORDER_ENCODINGS - canonical) == 6  # y + p for y = 0 and 1 (either sign), and x = -0 twice


@pytest.mark.parametrize("raw", sorted(SMALL_ORDER_ENCODINGS), ids=lambda raw: raw.hex()[:8] + raw.hex()[-2:])
def test_every_small_order_point_is_refused_as_a_key_and_as_r(raw):
    with pytest.raises(KeyRefused) as refused:
        PublicKey.from_b64(base64.b64encode(raw).decode())
    assert refused.value.reason == "small_order"
    real = SigningKey.generate()
    genuine = real.sign(b"message")
    assert not real.public.verify(raw + genuine[32:], b"message")
    assert not PublicKey(raw).verify(raw + bytes(32), b"message")


def test_the_issues_forgery_identity_key_r_identity_s_zero_is_refused():
    forged = IDENTITY + bytes(32)
    assert _openssl_accepts(IDENTITY, forged, b"any message at all")  # what verify() must not rely on
    assert not PublicKey(IDENTITY).verify(forged, b"any message at all")


def test_a_forgery_with_an_order_8_key_and_a_small_order_r_is_refused():
    """With A of order 8 and S = 0, R = -[k]A verifies whenever k (which hashes R) lands right: 1 in 8 tries."""
    public = next(raw for raw in sorted(SMALL_ORDER_ENCODINGS) if _times(4, _decode(raw)) != (0, 1)
                  and _encode(_decode(raw)) == raw)
    torsion = sorted({_encode(_decode(raw)) for raw in SMALL_ORDER_ENCODINGS})
    forgeries = []
    for n in range(64):
        message = f"message {n}".encode()
        for r in torsion:
            k = int.from_bytes(hashlib.sha512(r + public + message).digest(), "little") % GROUP_L
            x, y = _times(k % 8, _decode(public))
            if _encode(((P - x) % P, y)) == r and r != IDENTITY:
                forgeries.append((r + bytes(32), message))
    assert forgeries
    for signature, message in forgeries:
        assert _openssl_accepts(public, signature, message)
        assert not PublicKey(public).verify(signature, message)


# RFC 8032, and S --------------------------------------------------------------------------------


def test_rfc_8032_test_1_verifies():
    key = SigningKey.from_raw(bytes.fromhex(RFC8032_TEST1["secret"]))
    assert key.public.raw.hex() == RFC8032_TEST1["public"]
    public = PublicKey.from_b64(base64.b64encode(bytes.fromhex(RFC8032_TEST1["public"])).decode())
    signature = bytes.fromhex(RFC8032_TEST1["signature"])
    assert key.sign(b"") == signature
    assert public.verify(signature, b"")
    assert not public.verify(signature, b"\x00")


@pytest.mark.parametrize("s", ["L", "L+1", "S+L"])
def test_a_signature_whose_s_is_not_below_l_is_refused(s):
    key = SigningKey.from_raw(bytes.fromhex(RFC8032_TEST1["secret"]))
    signature = key.sign(b"")
    value = {"L": GROUP_L, "L+1": GROUP_L + 1, "S+L": int.from_bytes(signature[32:], "little") + GROUP_L}[s]
    assert not key.public.verify(signature[:32] + value.to_bytes(32, "little"), b"")


def test_a_non_canonical_r_is_refused():
    non_canonical_identity = (P + 1).to_bytes(32, "little")
    assert not PublicKey(IDENTITY).verify(non_canonical_identity + bytes(32), b"message")


# Keys that are not small-order but still no honest key pair's -----------------------------------


def test_a_non_canonical_public_key_is_refused():
    y = next(y for y in range(2, 19) if _decode(y.to_bytes(32, "little")) is not None)
    raw = (y + P).to_bytes(32, "little")  # the same point as y, spelled with y >= p
    with pytest.raises(KeyRefused) as refused:
        PublicKey.from_b64(base64.b64encode(raw).decode())
    assert refused.value.reason == "non_canonical"
    assert not PublicKey(raw).verify(bytes(64), b"")


def test_a_public_key_off_the_curve_is_refused():
    y = next(y for y in range(2, 100) if _decode(y.to_bytes(32, "little")) is None)
    with pytest.raises(KeyRefused) as refused:
        PublicKey.from_b64(base64.b64encode(y.to_bytes(32, "little")).decode())
    assert refused.value.reason == "not_on_curve"


def test_real_keys_pass():
    for _ in range(50):
        key = SigningKey.generate()
        assert PublicKey.from_b64(key.public.to_b64()) == key.public
        assert key.public.verify(key.sign(b"m"), b"m")


# docs/protocol.md's examples are test vectors -------------------------------------------------


def _json_blocks(text: str) -> list[dict]:
    """The document's JSON examples that are whole documents (others elide parts with …)."""
    blocks = []
    for block in text.split("```json\n")[1:]:
        with contextlib.suppress(ValueError):
            blocks.append(json.loads(block.split("```", 1)[0]))
    return blocks


def test_the_protocol_documents_key_examples_are_exact():
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    steward = SigningKey.from_raw(bytes(range(32)))
    assert f"`{steward.public.fingerprint}`" in text and f"`{spaced(steward.public.fingerprint)}`" in text
    blocks = _json_blocks(text)
    [key_file] = [b for b in blocks if b.get("format") == keys.PUBLIC_KEY_FORMAT]
    assert key_file == {**public_key_document(steward.public, "11310000MB2F41826L", "张三"),
                        "department_name": "上海市市场监督管理局"}
    [statement] = [b for b in blocks if "old_public_key" in b]
    old, new = SigningKey.from_raw(bytes(range(0x40, 0x60))), SigningKey.from_raw(bytes(range(0x60, 0x80)))
    assert statement == server_sign(old, KEY_ROTATION_TAG, rotation_body(
        "a5b279cb-0b5a-462b-92c3-9cd4c46172d8", old.public.to_b64(), new.public.to_b64(), statement["rotated_at"]))
    assert follow_rotations(old.public, new.public, [statement], "a5b279cb-0b5a-462b-92c3-9cd4c46172d8")
    listed = {bytes.fromhex(h) for h in re.findall(r"`([0-9a-f]{64})`", text)}
    order_8 = {raw for raw in listed if raw[0] in (0x26, 0xC7)}
    assert len(order_8) == 2 and order_8 <= SMALL_ORDER_ENCODINGS
    assert RFC8032_TEST1["secret"][:8] in text and RFC8032_TEST1["public"][-4:] in text


def test_a_client_ignores_an_enrollment_of_a_weak_key_even_signed_by_the_exchange():
    from steward.sync.protocol import ENROLLMENT_TAG, enrollment_body, trusted_keys

    exchange, sound = SigningKey.generate(), SigningKey.generate()
    enrollments = [server_sign(exchange, ENROLLMENT_TAG, enrollment_body(
        public.key_id, public.to_b64(), "11310000MB2F41826L", "2026-12-01T09:00:00.000000Z", None))
        for public in (sound.public, PublicKey(IDENTITY))]
    assert list(trusted_keys(enrollments, exchange.public)) == [sound.key_id]
