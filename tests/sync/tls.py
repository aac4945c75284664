"""A private certificate authority and tiny servers on 127.0.0.1, to meet the network's failures for real.

`Authority` makes a root, an intermediate and leaves (good, expired, for another host, signed by the
intermediate); `TlsServer` serves one of them over HTTPS and answers GET /v1/server like an
exchange would (recording each request's headers); `SilentServer` accepts connections and never answers.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from exchange.local import free_port
from steward.sync.keys import SigningKey

NOW = datetime.now(UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Steward tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def _issue(subject: str, issuer: Issued | None, *, ca: bool, names: tuple[str, ...] = (),
           not_before: datetime = NOW - timedelta(days=1), not_after: datetime = NOW + timedelta(days=30),
           ca_issuers_url: str | None = None) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(_name(subject))
               .issuer_name(issuer.certificate.subject if issuer else _name(subject))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    if issuer:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.key.public_key()), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(IPv4Address(n)) if n[0].isdigit() else x509.DNSName(n) for n in names]), critical=False)
    if ca_issuers_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(ca_issuers_url))]),
            critical=False)
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


class Authority:
    """A private root CA with one intermediate, issuing leaves for 127.0.0.1."""

    def __init__(self, folder: Path, name: str = "Steward Test Root CA") -> None:
        self.folder = folder
        self.root = _issue(name, None, ca=True)
        self.intermediate = _issue("Steward Test Issuing CA", self.root, ca=True)
        self.bundle = folder / "office-ca.pem"
        self.bundle.write_bytes(self.root.pem())

    def leaf(self, *, names: tuple[str, ...] = ("127.0.0.1", "localhost"), expired: bool = False,
             via_intermediate: bool = False) -> Issued:
        issuer = self.intermediate if via_intermediate else self.root
        dates = {"not_before": NOW - timedelta(days=60), "not_after": NOW - timedelta(days=30)} if expired else {}
        url = "http://ca.example.gov.cn/issuing.crt" if via_intermediate else None
        return _issue("exchange", issuer, ca=False, names=names, ca_issuers_url=url, **dates)

    def server_files(self, leaf: Issued, *, send_intermediate: bool) -> tuple[Path, Path]:
        """(certificate chain file, key file) for a server presenting `leaf`."""
        chain = leaf.pem() + (self.intermediate.pem() if send_intermediate else b"")
        cert_file = self.folder / f"leaf-{leaf.certificate.serial_number}.pem"
        key_file = self.folder / f"leaf-{leaf.certificate.serial_number}.key"
        cert_file.write_bytes(chain)
        key_file.write_bytes(leaf.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
        return cert_file, key_file


class TlsServer:
    """HTTPS on 127.0.0.1 answering GET /v1/server like an exchange; it records the headers of every request."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.headers: list[dict[str, str]] = []
        self.public = SigningKey.generate().public
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.headers.append(dict(self.headers.items()))
                if self.path == "/v1/server":
                    status, body = 200, {"exchange_id": "tls-test", "public_key": server.public.to_b64()}
                else:
                    status, body = 404, {"error": {"code": "not_found", "message": "no such thing", "details": []}}
                content = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.handle_error = lambda *_args: None  # type: ignore[method-assign]  # failed handshakes are the point
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts every connection, reads what comes, and never answers: an exchange hung behind a load balancer."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.closing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closing.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(connection)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.closing.set()
        self.listener.close()
        for connection in self.accepted:
            connection.close()
