"""Behind the exchange's TLS proxy (`serve --trust-proxy`): each client counted by the address the proxy forwarded."""

from __future__ import annotations

import requests

SERVE_ARGS = ("--open-rate", "0.2", "--open-burst", "3", "--trust-proxy")


def _get(server, path: str, forwarded: str) -> int:
    return requests.get(f"{server.url}{path}", timeout=60, headers={"X-Forwarded-For": forwarded}).status_code


def test_each_forwarded_client_has_its_own_allowance_counted_by_the_hop_the_proxy_added(server):
    # The proxy appends the address it saw; what comes before it is the client's own writing.
    first = [_get(server, "/open/catalog.ttl", f"203.0.113.{n}, 10.1.1.1") for n in range(3)]
    assert first == [200, 200, 200]
    assert _get(server, "/api/3/action/status_show", "198.51.100.7, 10.1.1.1") == 429
    # Another client behind the same proxy still has its allowance.
    assert _get(server, "/open/catalog.ttl", "10.1.1.2") == 200
