"""Talking to an exchange over HTTP(S): signed requests, timeouts, retries, the system's certificates.

Retries cover connection errors and 5xx answers only, never 4xx: a refusal is an answer. A
certificate that does not verify and a proxy that wants a login (407) are never retried either:
trying again cannot change them, and a proxy that locks accounts after failed logins would lock
the steward's. Pushes may be retried because the exchange recognises a changeset it already accepted.

Every request is bounded by the connect and read timeouts, and all requests of one sync attempt
together by its deadline. An exchange that accepts the connection and never answers ends the sync
after one read timeout (asking it again would only multiply the wait); meanwhile whoever watches
is told, every few seconds, that the client is still waiting.

A steward who cancels must not wait for any of that: `cancel` (from any thread) shuts the sockets of
the requests in flight, so a blocked read ends at once, and ends a pause between tries; the request
then raises `Cancelled`. Nothing is lost by it: a push cut short is settled by the next sync, which
asks whether it landed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

import keyring
import keyring.errors
import requests
import truststore
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool

import steward
from steward.catalogue.errors import StewardError
from steward.sync.changeset import Changeset, canonical
from steward.sync.keys import SigningKey, secure_keyring_available
from steward.sync.network_errors import (
    at_proxy,
    certificate_failure,
    connection_failure,
    is_proxy_login_failure,
    load_ca_bundle,
    proxy_failure,
    without_password,
)
from steward.sync.protocol import API, sign_request
from steward.sync.requests.documents import Step
from steward.workspace.journal import Cancelled

USER_AGENT = f"Steward/{steward.__version__}"
UNAVAILABLE = (502, 503, 504)  # a gateway in front of the exchange says it cannot reach it (now)
RETRIED_STATUSES = (500, *UNAVAILABLE)
NOTICE_S = 5.0
BACKOFF_S = 0.5  # 0.5 s, 1 s, 2 s … between tries

PROXY_KEYRING_SERVICE = "Steward proxy"  # one password per proxy login, under "user@host:port"

Waiting = Callable[[float, float], None]  # (seconds this request has waited, seconds until it gives up at most)


@dataclass
class ExchangeRefused(Exception):
    """The exchange answered with an error: nothing changed there."""

    status: int
    code: str
    message: str
    details: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class _Sockets:
    """The sockets a client's requests use, so that a cancel on another thread can shut them.

    Shutting a socket ends a read blocked on it at once (closing it from another thread would not);
    once cancelled, a socket opened afterwards is shut as soon as it is known.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: weakref.WeakSet[socket.socket] = weakref.WeakSet()
        self.cancelled = threading.Event()

    def add(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._open.add(sock)
        if self.cancelled.is_set():
            _shut(sock)

    def cancel(self) -> None:
        self.cancelled.set()
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already, or (TLS) handed over to its wrapper
        sock.shutdown(socket.SHUT_RDWR)


def _watch(pool: HTTPConnectionPool, sockets: _Sockets) -> None:
    """Make the connections `pool` opens from now on tell `sockets` theirs."""
    base = pool.ConnectionCls
    if getattr(base, "watched_by", None) is sockets:
        return

    class Watched(base):  # type: ignore[valid-type, misc]
        watched_by = sockets

        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            sockets.add(sock)  # while connecting through a proxy or shaking hands
            return sock

        def connect(self) -> None:
            super().connect()
            sockets.add(self.sock)  # TLS wraps the first socket in a new one

    pool.ConnectionCls = Watched


class _CancellableAdapter(HTTPAdapter):
    """Every connection it opens is known to the client's `_Sockets`, so a cancel can cut it."""

    def __init__(self, sockets: _Sockets) -> None:
        self.sockets = sockets
        super().__init__(max_retries=0)  # ExchangeClient retries itself, within the deadline

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> HTTPConnectionPool:
        pool = super().get_connection_with_tls_context(*args, **kwargs)
        _watch(pool, self.sockets)
        return pool


class _TrustAdapter(_CancellableAdapter):
    """Verifies TLS with the operating system's certificate store (plus an office CA bundle if given)."""

    def __init__(self, ca_bundle: str | None, sockets: _Sockets) -> None:
        self._context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if ca_bundle:
            load_ca_bundle(self._context, ca_bundle)
        super().__init__(sockets)

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
    read_timeout: float = 60.0
    deadline: float = 300.0  # one sync attempt, all its requests and retries together
    retries: int = 3
    notice_every: float | None = None  # how often a slow answer is told; None: 5 s, sooner for short timeouts

    @property
    def notice_interval(self) -> float:
        return self.notice_every or min(NOTICE_S, self.read_timeout / 2, self.deadline / 2)


class ExchangeClient:
    def __init__(self, connection: Connection, key: SigningKey | None = None) -> None:
        self.connection = connection
        self.base = connection.url.rstrip("/")
        self.key = key
        self.waiting: Waiting | None = None
        self._ends_at: float | None = None
        self._sockets = _Sockets()
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.mount("https://", _TrustAdapter(connection.ca_bundle, self._sockets))
        self.session.mount("http://", _CancellableAdapter(self._sockets))
        if connection.proxy:
            self.session.proxies = {"http": connection.proxy, "https": connection.proxy}

    def close(self) -> None:
        self.session.close()

    def cancel(self) -> None:
        """Stop now (from any thread): the request in flight and every later one raise `Cancelled`."""
        self._sockets.cancel()

    def _check_cancel(self) -> None:
        if self._sockets.cancelled.is_set():
            raise Cancelled()

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        """One sync attempt: every request inside shares the connection's deadline."""
        self._ends_at = time.monotonic() + self.connection.deadline
        try:
            yield
        finally:
            self._ends_at = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside (a steward comparing a fingerprint) does not count against the attempt's deadline."""
        started = time.monotonic()
        try:
            yield
        finally:
            if self._ends_at is not None:
                self._ends_at += time.monotonic() - started

    def _request(self, method: str, path: str, body: bytes = b"", params: dict[str, Any] | None = None,
                 signed: bool = True, expect: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        if signed and self.key is None:
            raise ValueError("this request needs the steward's key")
        request = requests.Request(method, f"{self.base}{API}{path}", params=params, data=body or None)

        def prepare() -> requests.PreparedRequest:
            """Signed afresh for each try: a retry after a long Retry-After must not carry a stale timestamp."""
            prepared = self.session.prepare_request(request)
            if body:
                prepared.headers["Content-Type"] = "application/json"
            if signed and self.key is not None:
                prepared.headers.update(sign_request(self.key, method, prepared.path_url, body))
            return prepared

        response = self._send(prepare)
        if response.status_code == 407:  # a proxy in front of a plain-HTTP exchange wants a login
            url = response.request.url or self.base
            raise StewardError("exchange.proxy_auth", proxy=without_password(self._proxy_for(url) or "?"))
        if response.status_code == 429:  # not a judgement of the request: it was not looked at
            raise StewardError("exchange.too_many_refusals", url=self.base,
                               seconds=_seconds(_retry_after(response) or 1))
        if response.status_code in UNAVAILABLE and _exchange_error(response) is None:
            raise StewardError("exchange.unavailable", url=self.base, status=response.status_code)
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

    def _send(self, prepare: Callable[[], requests.PreparedRequest]) -> requests.Response:
        """Send, retrying connection errors and 5xx within the deadline; the last answer, or a StewardError."""
        ends_at = self._ends_at if self._ends_at is not None else time.monotonic() + self.connection.deadline
        tries = self.connection.retries + 1
        for attempt in range(tries):
            self._check_cancel()
            left = ends_at - time.monotonic()
            if left <= 0:
                raise StewardError("exchange.deadline", url=self.base, seconds=_seconds(self.connection.deadline))
            last = attempt == tries - 1
            prepared = prepare()
            try:
                response = self._send_once(prepared, left)
            except requests.exceptions.RequestException as error:
                if self._sockets.cancelled.is_set():  # the cancel shut its socket: not the network's fault
                    raise Cancelled() from error
                failure = self._explain(error, prepared.url or self.base, ends_at)
                if last or not _worth_retrying(error) or not self._pause(_backoff(attempt), ends_at):
                    raise failure from error
                continue
            if response.status_code in RETRIED_STATUSES and _transient(response) and not last and \
                    self._pause(_retry_after(response) or _backoff(attempt), ends_at):
                response.close()
                continue
            return response  # an answer, or the last 5xx: the caller says what it means
        raise AssertionError("unreachable: the last try returns or raises")

    def _send_once(self, prepared: requests.PreparedRequest, left: float) -> requests.Response:
        timeout = (min(self.connection.connect_timeout, left), min(self.connection.read_timeout, left))
        done = threading.Event()
        if self.waiting is not None:
            threading.Thread(target=self._notify, args=(done,), daemon=True, name="still-waiting").start()
        try:
            return self.session.send(prepared, timeout=timeout)
        finally:
            done.set()

    def _notify(self, done: threading.Event) -> None:
        """Every few seconds while an answer is awaited: how long so far, and how long until this request gives up."""
        started = time.monotonic()
        while not done.wait(self.connection.notice_interval):
            waiting = self.waiting
            if waiting is not None:
                now = time.monotonic()
                ends_at = self._ends_at if self._ends_at is not None else started + self.connection.deadline
                gives_up = min(ends_at, started + self.connection.connect_timeout + self.connection.read_timeout)
                waiting(now - started, max(gives_up - now, 0.0))

    def _pause(self, seconds: float, ends_at: float) -> bool:
        """Wait before the next try; False (at once) when the deadline would pass first; a cancel ends it."""
        if time.monotonic() + seconds >= ends_at:
            return False
        if self._sockets.cancelled.wait(seconds):
            raise Cancelled()
        return True

    def _proxy_for(self, url: str) -> str | None:
        proxies = self.session.merge_environment_settings(url, {}, None, None, None)["proxies"]
        return requests.utils.select_proxy(url, proxies)

    def _explain(self, error: requests.exceptions.RequestException, url: str, ends_at: float) -> StewardError:
        """The steward's message for a request that got no answer."""
        proxy = self._proxy_for(url)
        if isinstance(error, requests.exceptions.SSLError):
            return certificate_failure(error, self.base, proxy)
        if isinstance(error, requests.exceptions.ProxyError) and proxy:
            return proxy_failure(error, self.base, proxy)
        if proxy and isinstance(error, requests.exceptions.Timeout) and at_proxy(error, proxy):
            # Opening the tunnel is part of connecting: the connect timeout applies to it.
            return StewardError("exchange.proxy_timeout", proxy=without_password(proxy),
                                seconds=_seconds(self.connection.connect_timeout))
        if time.monotonic() >= ends_at - 0.05:  # the timeout was cut short by the deadline
            return StewardError("exchange.deadline", url=self.base, seconds=_seconds(self.connection.deadline))
        if isinstance(error, requests.exceptions.ConnectTimeout):
            return StewardError("exchange.connect_timeout", url=self.base,
                                seconds=_seconds(self.connection.connect_timeout))
        if isinstance(error, requests.exceptions.ReadTimeout):
            return StewardError("exchange.no_answer", url=self.base, seconds=_seconds(self.connection.read_timeout))
        return connection_failure(error, self.base)

    def server_info(self) -> dict[str, Any]:
        return self._request("GET", "/server", signed=False)[1]

    def push(self, changeset: Changeset) -> tuple[int, dict[str, Any]]:
        """(201, receipt) when accepted now, (200, receipt) when it had landed before; else ExchangeRefused."""
        return self._request("POST", "/changesets", changeset.canonical_bytes, expect=(200, 201))

    def submit_step(self, step: Step) -> dict[str, Any]:
        """Send one signed step of a sharing request: its record in the log (201); else ExchangeRefused."""
        return self._request("POST", "/steps", canonical(step.to_dict()), expect=(201,))[1]

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

    def request_enrollment(self, document: dict[str, Any]) -> str:
        """Send an enrollment request (signed inside, not as a request: the key is not enrolled yet); its status."""
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        return str(self._request("POST", "/enrollment-requests", body, signed=False, expect=(200, 201))[1]["status"])

    def enrollment_status(self, key_id: str) -> str:
        """pending, enrolled, revoked, declined or unknown."""
        return str(self._request("GET", f"/enrollment-requests/{key_id}", signed=False)[1]["status"])


# A proxy's login: the password lives in the OS keyring, never in settings files or logs ---------------


def _login_name(parts: SplitResult) -> str:
    return f"{unquote(parts.username)}@{parts.hostname}:{parts.port}"


def remember_proxy_login(proxy: str) -> str:
    """Move a password out of `http://user:password@host:port` into the keyring; the address without it.

    The address returned (user name kept) is what may be written to settings; `proxy_with_login`
    puts the password back for the request. Raises StewardError when no secure keyring exists.
    """
    parts = urlsplit(proxy)
    if parts.password is None:
        return proxy
    if not secure_keyring_available():
        raise StewardError("exchange.proxy_no_keyring")
    try:
        keyring.set_password(PROXY_KEYRING_SERVICE, _login_name(parts), unquote(parts.password))
    except keyring.errors.KeyringError as error:
        raise StewardError("keys.keyring_failed", reason=str(error)) from error
    return without_password(proxy)


def forget_proxy_login(proxy: str) -> None:
    """Delete the password kept for a proxy's login (the steward changed or removed the proxy)."""
    parts = urlsplit(proxy)
    if parts.username is None or not secure_keyring_available():
        return
    with contextlib.suppress(keyring.errors.KeyringError):  # PasswordDeleteError included: none was kept
        keyring.delete_password(PROXY_KEYRING_SERVICE, _login_name(parts))


def proxy_with_login(proxy: str) -> str:
    """The proxy address with the password kept in the keyring for its user name (as it is when none is kept)."""
    parts = urlsplit(proxy)
    if parts.username is None or parts.password is not None or not secure_keyring_available():
        return proxy
    try:
        password = keyring.get_password(PROXY_KEYRING_SERVICE, _login_name(parts))
    except keyring.errors.KeyringError as error:
        raise StewardError("keys.keyring_failed", reason=str(error)) from error
    if password is None:
        return proxy  # the proxy will answer 407, and the steward is told to enter the login
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit((parts.scheme, f"{user}:{quote(password, safe='')}@{host}", parts.path, parts.query,
                       parts.fragment))


def _backoff(attempt: int) -> float:
    return BACKOFF_S * 2 ** attempt


def _exchange_error(response: requests.Response) -> dict[str, Any] | None:
    """The error member of the exchange's documented error body, if the answer is one (not a gateway's page)."""
    try:
        answer = response.json()
    except ValueError:
        return None
    failure = answer.get("error") if isinstance(answer, dict) else None
    return failure if isinstance(failure, dict) and isinstance(failure.get("code"), str) else None


def _transient(response: requests.Response) -> bool:
    """A 5xx worth asking again: from a gateway, or one the exchange itself asks to retry (Retry-After)."""
    return _exchange_error(response) is None or _retry_after(response) is not None


def _retry_after(response: requests.Response) -> float | None:
    """The seconds a 503's Retry-After asks for (a number; an HTTP date is not worth parsing here)."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


def _worth_retrying(error: requests.exceptions.RequestException) -> bool:
    """Connection errors are. Never a certificate that does not verify or a proxy's 407; nor an answer that
    did not come within the read timeout: asking a hung exchange again only multiplies the wait (a push's
    fate is settled by the next sync, which asks whether it landed)."""
    return not isinstance(error, requests.exceptions.SSLError | requests.exceptions.ReadTimeout) \
        and not is_proxy_login_failure(error)


def _seconds(value: float) -> str:
    return f"{value:g}"
