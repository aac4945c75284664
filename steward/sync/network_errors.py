"""What went wrong on the way to the exchange, in the steward's words: certificates, proxies, gateways.

requests and urllib3 report a failed TLS handshake or proxy as one long string ("HTTPSConnectionPool(…)
Max retries exceeded … SSLCertVerificationError(…)"). Here each cause becomes a message code that says
whose it is to fix: an authority this computer does not trust (ask the administrator for its CA
certificate), an expired certificate or one for another host name, a server that does not send its
intermediate certificate (the server's to fix), a proxy that wants a login or cannot be reached.

Telling an untrusted authority from a missing intermediate needs the certificates the server sent,
which a failed verification does not keep: a second handshake without verification fetches them
(only to explain the failure; nothing is sent over it). The rule: if the server sent only its own
certificate, whose issuer is not self-signed by it, and that certificate names where its issuer's
certificate can be fetched (Authority Information Access, as certificates from an intermediate
authority do), the intermediate is missing; otherwise the authority is untrusted.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID, NameOID

from steward.catalogue.errors import StewardError

# OpenSSL's verification results (X509_V_ERR_*) that name a cause.
_EXPIRED = 10
_NOT_YET_VALID = 9
_SELF_SIGNED = (18, 19)  # a self-signed certificate, or a self-signed root in the chain, not trusted here
_ISSUER_UNKNOWN = (2, 20, 21)  # the issuer's certificate is neither sent nor trusted here
_HOST_MISMATCH = (62, 63, 64)  # host name, e-mail address, IP address
_TUNNEL = re.compile(r"Tunnel connection failed: (\d{3})")
DIAGNOSIS_TIMEOUT_S = 5.0


# The office's CA bundle ---------------------------------------------------------------------


def read_ca_bundle(path: str) -> str | bytes:
    """The certificates in a CA bundle file, as `load_verify_locations(cadata=…)` takes them (PEM text or DER).

    Raises StewardError naming the file when it is missing, unreadable, or holds no certificate; a
    single DER certificate (.cer as Windows exports it) is accepted as well as PEM.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as error:
        raise StewardError("exchange.ca_bundle_missing", path=path) from error
    except OSError as error:
        raise StewardError("exchange.ca_bundle_unreadable", path=path, reason=error.strerror or str(error)) from error
    if b"-----BEGIN CERTIFICATE-----" in data:
        try:
            x509.load_pem_x509_certificates(data)
            return data.decode("ascii")
        except (ValueError, UnicodeDecodeError) as error:
            raise StewardError("exchange.ca_bundle_invalid", path=path) from error
    try:
        x509.load_der_x509_certificate(data)
    except ValueError as error:
        raise StewardError("exchange.ca_bundle_invalid", path=path) from error
    return data


def load_ca_bundle(context: ssl.SSLContext, path: str) -> None:
    certificates = read_ca_bundle(path)
    try:
        context.load_verify_locations(cadata=certificates)
    except ssl.SSLError as error:
        raise StewardError("exchange.ca_bundle_invalid", path=path) from error


# Explaining a failure ------------------------------------------------------------------------


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps (urllib3 nests the real cause two or three levels deep)."""
    seen: set[int] = set()
    todo: list[BaseException] = [error]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [getattr(current, "reason", None), getattr(current, "original_error", None),
                 current.__cause__, current.__context__, *current.args]
        todo.extend(e for e in inner if isinstance(e, BaseException))


def without_password(url: str) -> str:
    """A proxy's address fit to show or log: the user name stays, a password never."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def proxy_failure(error: BaseException, url: str, proxy: str) -> StewardError:
    """A failure at the proxy: a login it wants (407), a refusal of the tunnel, or no proxy at that address."""
    shown = without_password(proxy)
    for cause in causes(error):
        found = _TUNNEL.search(str(cause))
        if found:
            status = int(found.group(1))
            if status == 407:
                return StewardError("exchange.proxy_auth", proxy=shown)
            if status in (502, 503, 504):
                return StewardError("exchange.unavailable", url=url, status=status)
            return StewardError("exchange.proxy_refused", proxy=shown, url=url, status=status)
    return StewardError("exchange.proxy_unreachable", proxy=shown, reason=_short(_deepest(error)))


def at_proxy(error: BaseException, proxy: str) -> bool:
    """Whether the failure happened talking to the proxy itself (urllib3 names the proxy's address then)."""
    where = urlsplit(proxy)
    for cause in causes(error):
        url = getattr(cause, "url", None)
        if isinstance(url, str) and "://" in url:
            parts = urlsplit(url)
            if (parts.hostname, parts.port) == (where.hostname, where.port):
                return True
    return False


def is_proxy_login_failure(error: BaseException) -> bool:
    return any((m := _TUNNEL.search(str(c))) and m.group(1) == "407" for c in causes(error))


def certificate_failure(error: BaseException, url: str, proxy: str | None) -> StewardError:
    """A failed TLS handshake, explained by OpenSSL's verdict and, where needed, the certificates served."""
    verdict = next((c for c in causes(error) if isinstance(c, ssl.SSLCertVerificationError)), None)
    if verdict is None:
        return StewardError("exchange.tls", url=url, reason=_short(_deepest(error)))
    code = getattr(verdict, "verify_code", None)
    chain = served_chain(url, proxy)
    leaf = chain[0] if chain else None
    if code in _HOST_MISMATCH:
        names = ", ".join(_names(leaf)) if leaf else "?"
        return StewardError("exchange.tls_wrong_host", url=url, host=urlsplit(url).hostname, names=names)
    if code in (_EXPIRED, _NOT_YET_VALID):
        if leaf is None:
            return StewardError("exchange.tls", url=url, reason=_short(verdict))
        if code == _EXPIRED:
            return StewardError("exchange.tls_expired", url=url, date=_day(leaf.not_valid_after_utc))
        return StewardError("exchange.tls_not_yet_valid", url=url, date=_day(leaf.not_valid_before_utc))
    if code in _SELF_SIGNED or code in _ISSUER_UNKNOWN:
        if chain and code in _ISSUER_UNKNOWN and _intermediate_missing(chain):
            return StewardError("exchange.tls_incomplete_chain", url=url, issuer=_common_name(chain[0].issuer))
        top = chain[-1] if chain else None
        issuer = _common_name(top.issuer) if top is not None else "?"
        return StewardError("exchange.tls_untrusted", url=url, issuer=issuer)
    return StewardError("exchange.tls", url=url, reason=_short(verdict))


def connection_failure(error: BaseException, url: str) -> StewardError:
    """No connection to the exchange: nothing listening there, a host name unknown, or the line dropped."""
    found = list(causes(error))
    if any(isinstance(c, ConnectionRefusedError) for c in found):
        return StewardError("exchange.connection_refused", url=url)
    if any(isinstance(c, socket.gaierror) for c in found):
        return StewardError("exchange.unknown_host", url=url, host=urlsplit(url).hostname)
    return StewardError("exchange.unreachable", url=url, reason=_short(_deepest(error)))


def _intermediate_missing(chain: list[x509.Certificate]) -> bool:
    leaf = chain[0]
    if len(chain) > 1 or leaf.issuer == leaf.subject:
        return False
    try:
        access = leaf.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    except x509.ExtensionNotFound:
        return False
    return any(d.access_method == AuthorityInformationAccessOID.CA_ISSUERS for d in access)


def served_chain(url: str, proxy: str | None) -> list[x509.Certificate]:
    """The certificates the server sends (leaf first), fetched without verifying them; [] when it cannot be done."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read what the server sends; nothing goes over this connection
    try:
        with _open(host, port, proxy) as raw, context.wrap_socket(raw, server_hostname=host) as tls:
            served = tls._sslobj.get_unverified_chain() or []  # type: ignore[union-attr]  # public from 3.13 on
            return [x509.load_der_x509_certificate(_der(c)) for c in served]
    except (OSError, ValueError, AttributeError):
        return []


def _der(certificate: object) -> bytes:
    """DER bytes of a certificate from the ssl module (an _ssl.Certificate, or bytes as some versions give)."""
    if isinstance(certificate, bytes):
        return certificate
    return certificate.public_bytes(ssl._ssl.ENCODING_DER)  # type: ignore[attr-defined]


def _open(host: str, port: int, proxy: str | None) -> socket.socket:
    if not proxy:
        return socket.create_connection((host, port), timeout=DIAGNOSIS_TIMEOUT_S)
    via = urlsplit(proxy)
    raw = socket.create_connection((via.hostname or "", via.port or 80), timeout=DIAGNOSIS_TIMEOUT_S)
    request = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if via.username is not None:
        login = f"{unquote(via.username)}:{unquote(via.password or '')}".encode()
        request += f"Proxy-Authorization: Basic {base64.b64encode(login).decode()}\r\n"
    raw.sendall((request + "\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = raw.recv(4096)
        if not chunk:
            break
        answer += chunk
    if not answer.startswith((b"HTTP/1.1 200", b"HTTP/1.0 200")):
        raw.close()
        raise OSError("the proxy did not open a tunnel")
    return raw


def _names(certificate: x509.Certificate) -> list[str]:
    try:
        alternative = certificate.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        return [_common_name(certificate.subject)]
    names = [str(n) for n in alternative.get_values_for_type(x509.DNSName)]
    names += [str(a) for a in alternative.get_values_for_type(x509.IPAddress)]
    return names or [_common_name(certificate.subject)]


def _common_name(name: x509.Name) -> str:
    found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else name.rfc4514_string()


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _deepest(error: BaseException) -> BaseException:
    *_, last = causes(error)
    return last


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) < 200 else text[:200] + "…"
