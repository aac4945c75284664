"""Cancelling a sync while the exchange is slow: the request in flight and a pause between tries end at once.

The exchange here hangs for 120 s (a proxy in front of it holds the request), longer than any bound the
tests wait for; the sync must end because it was cancelled, not because something timed out.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from steward.sync import syncer
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.workspace import journal, query
from steward.workspace.journal import Cancelled, CreateEntry
from tests.helpers import make_clean_entry
from tests.sync.proxy import Proxy
from tests.sync.tls import Authority

HANG_S = 120
BOUND_S = 10  # generous: the cancel must not wait for the hang, nor for a timeout


@pytest.fixture
def hanging() -> Iterator[Callable[[str, Callable[[str, str], bool]], Proxy]]:
    """hang(url, when) -> a proxy in front of the exchange at `url` holding the requests `when(method, path)` picks."""
    release = threading.Event()
    made: list[Proxy] = []

    def hang(url: str, when: Callable[[str, str], bool]) -> Proxy:
        proxy = Proxy(url)
        proxy.held = threading.Event()  # set once a request is held

        def on_request(method: str, path: str, _body: bytes) -> str:
            if when(method, path):
                proxy.held.set()
                release.wait(HANG_S)
            return "forward"

        proxy.on_request = on_request
        made.append(proxy)
        return proxy

    yield hang
    release.set()
    for proxy in made:
        proxy.close()


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as error:  # what the caller would see
            errors.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def _client(url: str, key=None) -> ExchangeClient:
    # Timeouts longer than the hang: only the cancel can end the request within the bound.
    return ExchangeClient(Connection(url, read_timeout=HANG_S * 2, deadline=HANG_S * 4), key)


def test_cancel_ends_a_request_the_exchange_does_not_answer(make_steward, hanging):
    steward = make_steward()
    proxy = hanging(steward.url, lambda _method, _path: True)
    client = _client(proxy.url)
    thread, errors = _in_thread(client.server_info)
    assert proxy.held.wait(BOUND_S)
    client.cancel()
    thread.join(BOUND_S)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], Cancelled), errors
    client.close()


def test_cancel_ends_a_request_over_tls_the_exchange_does_not_answer(tmp_path):
    """Over HTTPS the socket the answer is awaited on is the TLS wrapper, not the one first connected."""
    authority = Authority(tmp_path)
    cert_file, key_file = authority.server_files(authority.leaf(), send_intermediate=False)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    asked = threading.Event()
    kept: list[socket.socket] = []

    def hang() -> None:  # shakes hands, reads the request, never answers
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            wrapped = context.wrap_socket(connection, server_side=True)
            kept.append(wrapped)
            wrapped.recv(65536)
            asked.set()

    threading.Thread(target=hang, daemon=True).start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    client = ExchangeClient(Connection(url, ca_bundle=str(authority.bundle), read_timeout=HANG_S * 2,
                                       deadline=HANG_S * 4))
    try:
        thread, errors = _in_thread(client.server_info)
        assert asked.wait(BOUND_S)
        client.cancel()
        thread.join(BOUND_S)
        assert not thread.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], Cancelled), errors
    finally:
        client.close()
        listener.close()
        for connection in kept:
            connection.close()


def test_cancel_ends_the_pause_before_a_retry(make_steward):
    steward = make_steward()
    proxy = Proxy(steward.url)
    asked = threading.Event()

    def busy(_method: str, _path: str, _body: bytes) -> tuple[int, dict[str, str]]:
        asked.set()
        return 503, {"Retry-After": str(HANG_S)}  # the exchange asks to come back in two minutes

    proxy.on_request = busy
    client = _client(proxy.url)
    try:
        thread, errors = _in_thread(client.server_info)
        assert asked.wait(BOUND_S)
        client.cancel()
        thread.join(BOUND_S)
        assert not thread.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], Cancelled), errors
        assert len(proxy.requests) == 1  # no second try after the cancel
    finally:
        client.close()
        proxy.close()


def test_a_sync_cancelled_while_pulling_or_pushing_loses_nothing(make_steward, hanging):
    alice, bob = make_steward(), make_steward()
    theirs = [make_clean_entry(provider=alice.ws.department_name, provider_code=alice.ws.department_code)
              for _ in range(3)]
    journal.apply(alice.ws, [CreateEntry(e) for e in theirs])
    alice.sync()
    mine = make_clean_entry(provider=bob.ws.department_name, provider_code=bob.ws.department_code)
    journal.apply(bob.ws, [CreateEntry(mine)])

    for held in ("/feed", "/changesets"):
        proxy = hanging(bob.url, lambda method, path, held=held: held in path and (method == "POST" or held == "/feed"))
        client = _client(proxy.url, bob.key)
        thread, errors = _in_thread(lambda client=client: syncer.sync(
            bob.ws, client, bob.key, trust=lambda offered: offered == bob.server_fingerprint))
        assert proxy.held.wait(BOUND_S)
        client.cancel()
        thread.join(BOUND_S)
        assert not thread.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], Cancelled), errors
        client.close()

    report = bob.sync()  # straight to the exchange: the next sync carries on
    assert {e.id for e in theirs} <= set(bob.catalogue())
    assert query.summary(bob.ws).unsynced == 0 and report.refused == []
    alice.sync()
    assert mine.id in alice.catalogue()


def test_pages_pulled_before_a_cancel_are_kept(make_steward, hanging, monkeypatch):
    """The cancel arrives while the next page is awaited: the pages already applied stay applied."""
    alice, bob = make_steward(), make_steward()
    for _ in range(3):  # three changesets: three records on the log
        journal.apply(alice.ws, [CreateEntry(make_clean_entry(provider=alice.ws.department_name,
                                                              provider_code=alice.ws.department_code))])
        alice.sync()
    monkeypatch.setattr(syncer, "FEED_PAGE", 1)  # a page per record: the second page is the one held
    proxy = hanging(bob.url, lambda method, path: "/feed" in path and "after=0" not in path)
    client = _client(proxy.url, bob.key)
    thread, errors = _in_thread(lambda: syncer.sync(bob.ws, client, bob.key,
                                                    trust=lambda offered: offered == bob.server_fingerprint))
    assert proxy.held.wait(BOUND_S)
    client.cancel()
    thread.join(BOUND_S)
    client.close()
    assert not thread.is_alive() and len(errors) == 1, errors
    assert syncer.status(bob.ws).position >= 1
    assert query.summary(bob.ws).entries >= 1
