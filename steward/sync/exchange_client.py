"""Talking to an exchange over HTTP(S): signed requests, timeouts, retries, the system's certificates.

Retries cover connection errors and 5xx answers only, never 4xx: a refusal is an answer. Pushes
may be retried because the exchange recognises a changeset it already accepted.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

import requests
import truststore
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from steward.catalogue.errors import StewardError
from steward.sync.changeset import Changeset
from steward.sync.keys import SigningKey
from steward.sync.protocol import API, sign_request

USER_AGENT = "Steward"


@dataclass
class ExchangeRefused(Exception):
    """The exchange answered with an error: nothing changed there."""

    status: int
    code: str
    message: str
    details: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class _TrustAdapter(HTTPAdapter):
    """Verifies TLS with the operating system's certificate store (plus an office CA bundle if given)."""

    def __init__(self, ca_bundle: str | None, retries: Retry) -> None:
        self._context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if ca_bundle:
            self._context.load_verify_locations(cafile=ca_bundle)
        super().__init__(max_retries=retries)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kwargs)


@dataclass(frozen=True)
class Connection:
    """How to reach an exchange: its address and the office network's settings."""

    url: str
    ca_bundle: str | None = None
    proxy: str | None = None  # None: the environment's HTTP(S)_PROXY applies
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    retries: int = 3


class ExchangeClient:
    def __init__(self, connection: Connection, key: SigningKey | None = None) -> None:
        self.connection = connection
        self.base = connection.url.rstrip("/")
        self.key = key
        retry = Retry(total=connection.retries, connect=connection.retries, read=connection.retries,
                      status=connection.retries, backoff_factor=0.5, status_forcelist=(500, 502, 503, 504),
                      allowed_methods=frozenset({"GET", "POST"}), raise_on_status=False)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = _TrustAdapter(connection.ca_bundle, retry)
        self.session.mount("https://", adapter)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        if connection.proxy:
            self.session.proxies = {"http": connection.proxy, "https": connection.proxy}

    def close(self) -> None:
        self.session.close()

    def _request(self, method: str, path: str, body: bytes = b"", params: dict[str, Any] | None = None,
                 signed: bool = True, expect: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        request = requests.Request(method, f"{self.base}{API}{path}", params=params, data=body or None)
        prepared = self.session.prepare_request(request)
        if body:
            prepared.headers["Content-Type"] = "application/json"
        if signed:
            if self.key is None:
                raise ValueError("this request needs the steward's key")
            prepared.headers.update(sign_request(self.key, method, prepared.path_url, body))
        try:
            response = self.session.send(prepared, timeout=(self.connection.connect_timeout,
                                                            self.connection.read_timeout))
        except requests.exceptions.SSLError as error:
            raise StewardError("exchange.tls", url=self.base, reason=_reason(error)) from error
        except requests.exceptions.RequestException as error:
            raise StewardError("exchange.unreachable", url=self.base, reason=_reason(error)) from error
        try:
            answer = response.json()
        except ValueError as error:
            raise StewardError("exchange.bad_answer", url=self.base, status=response.status_code,
                               reason="not JSON") from error
        if response.status_code in expect:
            return response.status_code, answer
        failure = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(failure, dict):
            raise StewardError("exchange.bad_answer", url=self.base, status=response.status_code,
                               reason="an error without the error member")
        raise ExchangeRefused(response.status_code, str(failure.get("code", "")), str(failure.get("message", "")),
                              list(failure.get("details") or []))

    def server_info(self) -> dict[str, Any]:
        return self._request("GET", "/server", signed=False)[1]

    def push(self, changeset: Changeset) -> tuple[int, dict[str, Any]]:
        """(201, receipt) when accepted now, (200, receipt) when it had landed before; else ExchangeRefused."""
        return self._request("POST", "/changesets", changeset.canonical_bytes, expect=(200, 201))

    def changeset_status(self, changeset_id: str) -> dict[str, Any] | None:
        """The receipt of a changeset that landed, or None if the exchange never accepted it."""
        status, answer = self._request("GET", f"/changesets/{changeset_id}", expect=(200, 404))
        return answer.get("receipt") if status == 200 else None

    def feed(self, after: int, limit: int = 200) -> dict[str, Any]:
        return self._request("GET", "/feed", params={"after": after, "limit": limit})[1]

    def checkpoint(self) -> dict[str, Any]:
        return self._request("GET", "/checkpoint")[1]

    def keys(self) -> list[dict[str, Any]]:
        return self._request("GET", "/keys")[1]["keys"]

    def departments(self) -> list[dict[str, str]]:
        return self._request("GET", "/departments")[1]["departments"]


def _reason(error: Exception) -> str:
    text = str(error)
    return text if len(text) < 300 else text[:300] + "…"
