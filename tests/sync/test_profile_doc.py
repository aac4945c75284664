"""docs/protocol.md's profile and enrollment request are test vectors: they verify, with the keys the text names."""

from __future__ import annotations

import json
import re

import pytest

from steward.catalogue.errors import StewardError
from steward.sync.enrollment import RequestInvalid, parse_request
from steward.sync.keys import SigningKey
from steward.sync.profile import parse_profile
from tests.helpers import ROOT

DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")


def _example(format_: str) -> dict:
    [found] = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC, re.S) if f'"format": "{format_}"' in b]
    return found


def test_the_profile_example_is_signed_by_the_exchange_key_it_names():
    document = _example("steward.profile/1")
    assert document["exchange_public_key"] == SigningKey.from_raw(bytes(range(0x80, 0xA0))).public.to_b64()
    profile = parse_profile(json.dumps(document, ensure_ascii=False).encode(), "doc")
    assert (profile.department_code, profile.ca_certificate) == ("11310000MB2F41826L", None)
    with pytest.raises(StewardError) as refused:
        parse_profile(json.dumps({**document, "department_name": "别的局"}).encode(), "doc")
    assert refused.value.code == "profile.bad_signature"


def test_the_enrollment_request_example_is_signed_by_the_key_it_asks_for():
    document = _example("steward.enrollment-request/1")
    assert document["public_key"] == SigningKey.from_raw(bytes(range(32))).public.to_b64()
    assert parse_request(document, document["exchange_id"]).key_id == document["key_id"]
    with pytest.raises(RequestInvalid, match="another exchange"):
        parse_request(document, "another-exchange")
