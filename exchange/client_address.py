"""Who a request came from: the connection's address, or behind the exchange's own TLS proxy the one it forwarded.

Only with `serve --trust-proxy` is `X-Forwarded-For` read, and then only its last hop, the one our proxy
added: earlier hops are whatever the client wrote. Without the option every client behind a proxy has the
proxy's address, and a header cannot buy a client a fresh rate-limit bucket or login throttle.
"""

from __future__ import annotations

from starlette.requests import Request


def client_address(request: Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = [a.strip() for a in request.headers.get("x-forwarded-for", "").split(",") if a.strip()]
        if forwarded:
            return forwarded[-1]
    return request.client.host if request.client else "-"
