"""The client on a hostile network: real TLS servers, proxies and a hung exchange on 127.0.0.1.

Each failure must reach the steward as a message in their words (which cause, whose to fix), be
tried once when trying again cannot help (certificates, a proxy's 407), and end in bounded time.
"""

from __future__ import annotations

import subprocess
import sys
import threading

import keyring
import pytest
from cryptography.hazmat.primitives import serialization

import steward
from exchange.local import free_port
from steward.catalogue.errors import StewardError
from steward.sync import identity, syncer
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.sync.keys import PASSPHRASE_ENV, STORAGE_ENV
from steward.workspace.workspace import Workspace
from tests.helpers import ROOT, steward_env
from tests.keyring_backend import MemoryKeyring
from tests.sync.proxy import Proxy
from tests.sync.tls import Authority, SilentServer, TlsServer

PASSPHRASE = "correct horse battery"


@pytest.fixture
def authority(tmp_path):
    return Authority(tmp_path)


@pytest.fixture
def serve(authority):
    servers: list[TlsServer] = []

    def start(send_intermediate: bool = False, **leaf) -> TlsServer:
        server = TlsServer(*authority.server_files(authority.leaf(**leaf), send_intermediate=send_intermediate))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)


def _failure(connection: Connection) -> StewardError:
    client = ExchangeClient(connection)
    try:
        with pytest.raises(StewardError) as caught:
            client.server_info()
    finally:
        client.close()
    return caught.value


def _count_connections(server: TlsServer) -> list[int]:
    """How many TCP connections the server accepted (each is one TLS handshake)."""
    count = [0]
    accept = server.server.get_request

    def counted():
        count[0] += 1
        return accept()

    server.server.get_request = counted  # type: ignore[method-assign]
    return count


# CA bundle ------------------------------------------------------------------------------------


def test_the_office_ca_bundle_makes_the_private_authority_trusted_in_pem_and_der(serve, authority, tmp_path):
    server = serve()
    der = tmp_path / "office-ca.cer"
    der.write_bytes(authority.root.certificate.public_bytes(serialization.Encoding.DER))
    for bundle in (authority.bundle, der):
        client = ExchangeClient(Connection(server.url, ca_bundle=str(bundle)))
        try:
            assert client.server_info()["exchange_id"] == "tls-test"
        finally:
            client.close()


def test_the_user_agent_names_the_version(serve, authority):
    server = serve()
    client = ExchangeClient(Connection(server.url, ca_bundle=str(authority.bundle)))
    try:
        client.server_info()
    finally:
        client.close()
    assert server.headers[-1]["User-Agent"] == f"Steward/{steward.__version__}"
    assert steward.__version__ != "0+unknown"


def _cli(*args: object, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**steward_env(lang), STORAGE_ENV: "file", PASSPHRASE_ENV: PASSPHRASE}
    return subprocess.run([sys.executable, "-m", "steward", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", env=env, cwd=ROOT, timeout=60, check=False)


@pytest.fixture
def keyed_workspace(tmp_path, monkeypatch):
    """A workspace with a signing key in the encrypted file, which the command line unlocks."""
    folder = tmp_path / "ws"
    monkeypatch.setenv(STORAGE_ENV, "file")
    with Workspace.create(folder, "11310000MB2F41826L", "上海市市场监督管理局") as ws:
        identity.create_key(ws, lambda _new: PASSPHRASE)
    return folder


@pytest.mark.parametrize("lang, missing_words, invalid_words, unreadable_words", [
    ("en", "does not exist", "is not a certificate file", "cannot be read"),
    ("zh", "找不到证书文件", "不是证书文件", "无法读取"),
])
def test_sync_names_a_ca_bundle_that_is_missing_or_not_a_certificate(tmp_path, lang, missing_words, invalid_words,
                                                                     unreadable_words):
    folder = tmp_path / "ws"
    Workspace.create(folder, "11310000MB2F41826L", "上海市市场监督管理局").close()
    not_a_certificate = tmp_path / "notes.pem"
    not_a_certificate.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    plain_text = tmp_path / "readme.txt"
    plain_text.write_text("这不是证书")
    for bundle, words in ((tmp_path / "no-such-ca.pem", missing_words), (not_a_certificate, invalid_words),
                          (plain_text, invalid_words), (tmp_path, unreadable_words)):
        done = _cli("sync", folder, "--exchange", "https://127.0.0.1:9", "--ca-bundle", bundle, lang=lang)
        assert done.returncode == 2, done.stderr
        assert str(bundle) in done.stderr and words in done.stderr, done.stderr
        assert "Internal error" not in done.stderr and "Traceback" not in done.stderr


# Certificates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case, leaf, bundle, code, words", [
    ("untrusted", {}, False, "exchange.tls_untrusted", ("Steward Test Root CA", "Ask the exchange's administrator")),
    ("expired", {"expired": True}, True, "exchange.tls_expired", ("expired on", "must renew")),
    ("wrong host", {"names": ("exchange.example.gov.cn",)}, True, "exchange.tls_wrong_host",
     ("not for 127.0.0.1", "exchange.example.gov.cn")),
    ("no intermediate", {"via_intermediate": True}, True, "exchange.tls_incomplete_chain",
     ("Steward Test Issuing CA", "for the exchange's administrator to fix")),
])
def test_each_certificate_failure_is_named_and_tried_once(serve, authority, case, leaf, bundle, code, words):
    server = serve(**leaf)
    connections = _count_connections(server)
    error = _failure(Connection(server.url, ca_bundle=str(authority.bundle) if bundle else None, retries=3))
    assert error.code == code, error.message("en")
    english = error.message("en")
    assert all(w in english for w in words), english
    assert "HTTPSConnectionPool" not in english and "Max retries" not in english
    assert error.message("zh") != english and "交换平台" in error.message("zh")
    # One handshake that failed verification, and one that read the certificates to explain why: never retried.
    assert connections[0] == 2, case


def test_a_server_that_sends_its_intermediate_is_trusted(serve, authority):
    server = serve(via_intermediate=True, send_intermediate=True)
    client = ExchangeClient(Connection(server.url, ca_bundle=str(authority.bundle)))
    try:
        assert client.server_info()["exchange_id"] == "tls-test"
    finally:
        client.close()


def test_the_command_line_shows_the_certificate_failure_in_the_stewards_language(serve, keyed_workspace):
    server = serve()
    done = _cli("sync", keyed_workspace, "--exchange", server.url, lang="zh")
    assert done.returncode == 2
    assert "不信任的证书颁发机构“Steward Test Root CA”" in done.stderr, done.stderr
    assert "SSLCertVerificationError" not in done.stderr


# Proxies --------------------------------------------------------------------------------------


def test_a_proxy_that_wants_a_login_is_asked_once_per_sync_attempt(serve, authority):
    server = serve()
    proxy = Proxy(auth=("alice", "s3cret"))
    try:
        wrong = f"http://alice:wrong@127.0.0.1:{proxy.port}"
        error = _failure(Connection(server.url, ca_bundle=str(authority.bundle), proxy=wrong, retries=3))
        assert error.code == "exchange.proxy_auth"
        assert "wrong" not in error.message("en") and f"alice@127.0.0.1:{proxy.port}" in error.message("en")
        assert [m for m, _ in proxy.requests] == ["CONNECT"]  # a proxy that locks accounts saw one failed login
        right = f"http://alice:s3cret@127.0.0.1:{proxy.port}"
        client = ExchangeClient(Connection(server.url, ca_bundle=str(authority.bundle), proxy=right))
        try:
            assert client.server_info()["exchange_id"] == "tls-test"
        finally:
            client.close()
    finally:
        proxy.close()


def test_a_plain_http_exchange_behind_a_proxy_that_wants_a_login():
    proxy = Proxy(auth=("alice", "s3cret"))
    try:
        error = _failure(Connection("http://127.0.0.1:9", proxy=proxy.url, retries=3))
        assert error.code == "exchange.proxy_auth" and len(proxy.requests) == 1
    finally:
        proxy.close()


def test_an_unreachable_proxy_is_named_without_its_password(serve):
    server = serve()
    address = f"127.0.0.1:{free_port()}"
    error = _failure(Connection(server.url, proxy=f"http://bob:hunter2@{address}", retries=1))
    assert error.code == "exchange.proxy_unreachable"
    assert f"bob@{address}" in error.message("en") and "hunter2" not in error.message("en")


@pytest.mark.parametrize("status", [502, 503])
def test_a_gateway_without_its_exchange_says_unavailable_after_retrying(status):
    gateway = Proxy("http://127.0.0.1:9")
    gateway.on_request = lambda _m, _p, _b: status
    try:
        error = _failure(Connection(gateway.url, retries=2))
    finally:
        gateway.close()
    assert error.code == "exchange.unavailable" and str(status) in error.message("en")
    assert len(gateway.requests) == 3  # 5xx is worth retrying


@pytest.mark.parametrize("retry_after, tries", [("0.1", 3), ("3600", 1)])
def test_a_503s_retry_after_is_honoured_when_it_fits_before_the_deadline(retry_after, tries):
    gateway = Proxy("http://127.0.0.1:9")
    gateway.on_request = lambda _m, _p, _b: (503, {"Retry-After": retry_after})
    try:
        error = _failure(Connection(gateway.url, retries=2, deadline=60))
    finally:
        gateway.close()
    assert error.code == "exchange.unavailable"
    assert len(gateway.requests) == tries  # an hour's wait does not fit in a minute: said at once


def test_a_proxy_password_lives_in_the_keyring_only():
    from steward.sync.exchange_client import PROXY_KEYRING_SERVICE, proxy_with_login, remember_proxy_login

    saved = remember_proxy_login("http://alice:s%3Acret@proxy.example.gov.cn:3128")
    assert saved == "http://alice@proxy.example.gov.cn:3128"
    assert keyring.get_password(PROXY_KEYRING_SERVICE, "alice@proxy.example.gov.cn:3128") == "s:cret"
    assert proxy_with_login(saved) == "http://alice:s%3Acret@proxy.example.gov.cn:3128"
    assert proxy_with_login("http://proxy.example.gov.cn:3128") == "http://proxy.example.gov.cn:3128"


def test_nothing_listening_and_an_unknown_host_are_said_plainly():
    refused = _failure(Connection(f"http://127.0.0.1:{free_port()}", retries=0))
    assert refused.code == "exchange.connection_refused" and "not running" in refused.message("en")
    unknown = _failure(Connection("https://exchange.invalid", retries=0))  # .invalid never resolves (RFC 2606)
    assert unknown.code == "exchange.unknown_host" and "exchange.invalid" in unknown.message("zh")
    assert "Max retries" not in refused.message("en") + unknown.message("en")


# An exchange that never answers ---------------------------------------------------------------


def test_an_exchange_that_never_answers_ends_at_the_deadline_telling_it_is_still_waiting():
    silent = SilentServer()
    notices: list[tuple[float, float]] = []
    # So many retries that without the deadline the request would go on for hours.
    client = ExchangeClient(Connection(silent.url, read_timeout=1, deadline=3, retries=100))
    client.waiting = lambda waited, left: notices.append((waited, left))
    try:
        with client.attempt():
            with pytest.raises(StewardError) as caught:
                client.server_info()
            assert caught.value.code in ("exchange.no_answer", "exchange.deadline"), caught.value.message("en")
            while client.connection.deadline:  # the rest of the attempt is bounded too: it ends at the deadline
                try:
                    client.server_info()
                except StewardError as error:
                    if error.code == "exchange.deadline":
                        break
    finally:
        client.close()
        silent.close()
    assert notices and all(left >= 0 for _, left in notices)


def test_an_exchange_that_never_answers_is_asked_once():
    silent = SilentServer()
    try:
        error = _failure(Connection(silent.url, read_timeout=1, retries=3))
        assert error.code == "exchange.no_answer" and "did not answer within 1 s" in error.message("en")
        assert len(silent.accepted) == 1  # retrying would multiply the wait by four
    finally:
        silent.close()


def test_a_stalled_proxy_ends_with_a_message_naming_it():
    silent = SilentServer()
    try:
        error = _failure(Connection("https://exchange.example.gov.cn", proxy=silent.url, connect_timeout=1,
                                    read_timeout=1, deadline=4, retries=1))
    finally:
        silent.close()
    assert error.code == "exchange.proxy_timeout", error.message("en")
    assert silent.url.removeprefix("http://") in error.message("en")


def test_steward_sync_against_a_hung_exchange_prints_still_waiting_and_stops(keyed_workspace):
    silent = SilentServer()
    try:
        done = _cli("sync", keyed_workspace, "--exchange", silent.url, "--read-timeout", "1", "--deadline", "3")
    finally:
        silent.close()
    assert done.returncode == 2, done.stderr
    assert "Still waiting for the exchange" in done.stderr
    assert "did not answer within 1 s" in done.stderr or "stopped after 3 s" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_timeouts_are_checked_on_the_command_line(tmp_path):
    done = _cli("sync", tmp_path, "--deadline", "0")
    assert done.returncode == 2 and "is not a positive number of seconds" in done.stderr


def test_time_spent_confirming_the_exchange_does_not_count_against_the_deadline(make_steward):
    steward = make_steward()

    def slow_steward(offered: str) -> bool:
        threading.Event().wait(3.5)  # reading the fingerprint out to the administrator, past the deadline
        return offered == steward.server_fingerprint

    client = ExchangeClient(Connection(steward.url, deadline=3), steward.key)
    try:
        report = syncer.sync(steward.ws, client, steward.key, trust=slow_steward)
    finally:
        client.close()
    assert report.position == syncer.status(steward.ws).position


def test_each_retry_is_signed_afresh(make_steward):
    steward = make_steward()
    gateway = Proxy(steward.url)
    failed: list[str] = []

    def once_unavailable(_method: str, path: str, _body: bytes) -> str | int:
        if path.startswith("/v1/keys") and not failed:
            failed.append(path)
            return 503
        return "forward"

    gateway.on_request = once_unavailable
    steward.url = gateway.url
    try:
        steward.sync(retries=1)
    finally:
        gateway.close()
    stamps = [h["Steward-Timestamp"] for (_m, p), h in zip(gateway.requests, gateway.headers, strict=True)
              if p.startswith("/v1/keys")]
    assert len(stamps) == 2 and stamps[0] != stamps[1]  # a retry much later would otherwise be refused as stale
