"""A programmable HTTP proxy in front of a real exchange: to hold a push, drop a connection or tamper with answers.

Tests use it to play a network that fails at the worst moment, or an exchange that lies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from exchange.local import free_port

# Given (method, path, body): "forward", "drop" (close the connection without an answer), or an HTTP status
# to answer with at once (a JSON error body), as an exchange behind a failing gateway would.
RequestHook = Callable[[str, str, bytes], str | int]
# Given (method, path, status, body): the body to send back instead.
ResponseHook = Callable[[str, str, int, bytes], bytes]


class Proxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
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
                action = proxy.on_request(self.command, self.path, body)
                if action == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if isinstance(action, int):
                    self._answer(action, b'{"error": {"code": "proxy", "message": "injected", "details": []}}')
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                try:
                    answer = requests.request(self.command, proxy.upstream + self.path, data=body or None,
                                              headers=headers, timeout=60)
                except requests.ConnectionError:
                    self.close_connection = True
                    self.connection.close()
                    return
                self._answer(answer.status_code,
                             proxy.on_response(self.command, self.path, answer.status_code, answer.content))

            def _answer(self, status: int, content: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

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
