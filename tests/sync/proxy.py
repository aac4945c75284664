"""A programmable HTTP proxy in front of a real exchange: to hold a push, drop a connection or tamper with answers.

Tests use it to play a network that fails at the worst moment, or an exchange that lies. It also
works as an office's forward proxy (absolute URLs and CONNECT tunnels), asking for a login when
given one (`auth`): 407 with Proxy-Authenticate until the right Proxy-Authorization comes.
"""

from __future__ import annotations

import base64
import select
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from exchange.local import free_port

# Given (method, path, body): "forward", "drop" (close the connection without an answer), or an HTTP status
# to answer with at once (a JSON error body), as an exchange behind a failing gateway would; a status with
# headers as (status, {name: value}).
RequestHook = Callable[[str, str, bytes], str | int | tuple[int, dict[str, str]]]
# Given (method, path, status, body): the body to send back instead.
ResponseHook = Callable[[str, str, int, bytes], bytes]


GATEWAY_PAGE = b"<html><body><h1>Bad gateway</h1></body></html>"
INJECTED_ERROR = b'{"error": {"code": "proxy", "message": "injected", "details": []}}'


class Proxy:
    def __init__(self, upstream: str = "", auth: tuple[str, str] | None = None) -> None:
        self.upstream = upstream
        self.auth = auth
        self.headers: list[dict[str, str]] = []  # every request's headers, in order
        self.on_request: RequestHook = lambda _m, _p, _b: "forward"
        self.on_response: ResponseHook = lambda _m, _p, _s, body: body
        self.requests: list[tuple[str, str]] = []  # every request seen: (method, path)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.requests.append((self.command, self.path))
                proxy.headers.append(dict(self.headers.items()))
                if not self._logged_in():
                    return
                target = self.path if self.path.startswith("http") else proxy.upstream + self.path
                action = proxy.on_request(self.command, self.path, body)
                if action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(action, int | tuple):
                    status, extra = action if isinstance(action, tuple) else (action, {})
                    # a 5xx is a gateway's page, anything else an answer in the exchange's own form
                    self._answer(status, GATEWAY_PAGE if status >= 500 else INJECTED_ERROR, extra)
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "proxy-authorization")}
                try:
                    answer = requests.request(self.command, target, data=body or None, headers=headers,
                                              timeout=60, proxies={"http": "", "https": ""})
                except requests.ConnectionError:
                    self.close_connection = True
                    self.connection.close()
                    return
                self._answer(answer.status_code,
                             proxy.on_response(self.command, self.path, answer.status_code, answer.content))

            def _answer(self, status: int, content: bytes, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def _logged_in(self) -> bool:
                if proxy.auth is None:
                    return True
                login = base64.b64encode(":".join(proxy.auth).encode()).decode()
                if self.headers.get("Proxy-Authorization") == f"Basic {login}":
                    return True
                self.send_response(407)
                self.send_header("Proxy-Authenticate", 'Basic realm="office"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return False

            def do_CONNECT(self) -> None:
                proxy.requests.append(("CONNECT", self.path))
                proxy.headers.append(dict(self.headers.items()))
                if not self._logged_in():
                    return
                host, port = self.path.rsplit(":", 1)
                try:
                    upstream = socket.create_connection((host, int(port)), timeout=10)
                except OSError:
                    self.send_error(502)
                    return
                self.send_response(200, "Connection established")
                self.end_headers()
                self.close_connection = True
                _pipe(self.connection, upstream)

            do_GET = do_POST = _handle

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _pipe(client: socket.socket, upstream: socket.socket) -> None:
    """Carry bytes both ways until either side closes (a CONNECT tunnel)."""
    with upstream:
        while True:
            ready, _, _ = select.select([client, upstream], [], [], 30)
            if not ready:
                return
            for side in ready:
                data = side.recv(65536)
                if not data:
                    return
                (upstream if side is client else client).sendall(data)
