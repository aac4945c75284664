"""The open catalogue's per-client rate limit, on a real exchange serving with a small one (`--open-rate`)."""

from __future__ import annotations

import requests

SERVE_ARGS = ("--open-rate", "0.2", "--open-burst", "3")


def test_a_client_past_its_burst_is_answered_429_with_retry_after(server):
    answers = [requests.get(f"{server.url}/open/catalog.ttl", timeout=60) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    refused = requests.get(f"{server.url}/open/data.json", timeout=60)  # the limit counts every /open route
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    # One request is earned back every 5 s (0.2 a second): Retry-After says when, in whole seconds.
    assert 1 <= int(refused.headers["Retry-After"]) <= 5
    # The rest of the exchange does not count against it.
    assert requests.get(f"{server.url}/v1/server", timeout=60).status_code == 200


def test_a_forwarded_address_does_not_buy_a_fresh_allowance_and_the_ckan_api_counts_with_open(server):
    # Without --trust-proxy the header is the client's own writing: every request here is 127.0.0.1's.
    answers = [requests.get(f"{server.url}/open/catalog.ttl", timeout=60,
                            headers={"X-Forwarded-For": f"10.0.0.{n}"}).status_code for n in range(4)]
    assert 429 in answers
    # One allowance for both channels: the CKAN API answers this client 429 as well.
    assert requests.get(f"{server.url}/api/3/action/status_show", timeout=60).status_code == 429
