"""The CKAN channel's per-client rate limit, on a real exchange serving with a small one (`--open-rate`)."""

from __future__ import annotations

import ckanapi
import pytest
import requests

SERVE_ARGS = ("--open-rate", "0.2", "--open-burst", "3")


def test_a_client_past_its_burst_is_answered_429_with_retry_after_in_ckans_envelope(server):
    url = f"{server.url}/api/3/action/package_search"
    assert [requests.get(url, timeout=60).status_code for _ in range(3)] == [200, 200, 200]
    refused = requests.get(url, timeout=60)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 5  # one request earned back every 5 s
    assert refused.json()["success"] is False
    with pytest.raises(ckanapi.CKANAPIError):
        ckanapi.RemoteCKAN(server.url).action.status_show()
    assert requests.get(f"{server.url}/v1/server", timeout=60).status_code == 200  # the rest of the exchange
