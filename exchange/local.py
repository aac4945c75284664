"""Running an exchange on this machine in a child process: for tests, benchmarks and the demo mode."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from steward.sync.protocol import API


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LocalExchange:
    process: subprocess.Popen
    url: str
    db_url: str
    key_file: Path
    log: Path

    @classmethod
    def start(cls, db_url: str, key_file: Path, log: Path, port: int | None = None, extra: tuple[str, ...] = (),
              timeout: float = 60.0) -> LocalExchange:
        """Start `steward-exchange serve` on 127.0.0.1 and wait until it answers."""
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "exchange.cli", "serve", "--db", db_url, "--key-file", str(key_file),
                   "--port", str(port), "--no-access-log", "--log-level", "warning", *extra]
        with log.open("w") as handle:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1], stdout=handle,
                                       stderr=subprocess.STDOUT)
        exchange = cls(process, url, db_url, key_file, log)
        deadline = time.monotonic() + timeout
        while not exchange.answers():
            if process.poll() is not None:
                raise RuntimeError(f"steward-exchange serve exited: {log.read_text()}")
            if time.monotonic() > deadline:
                exchange.stop()
                raise RuntimeError(f"steward-exchange serve did not answer within {timeout} s: {log.read_text()}")
            time.sleep(0.1)
        return exchange

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.url}{API}/server", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
