"""What every open-data response shares: its ETag and Last-Modified (answered 304), gzip, and the per-client limit.

Used by the DCAT and data.json routes (routes.py) and the CKAN Action API (ckan.py), so a harvester sees one
behaviour whichever it reads, and one allowance of requests covers both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request

from steward.files.dcat import utc_datetime


class RateLimit:
    """A token bucket per client address: `burst` tokens, refilled at `rate` a second."""

    MAX_CLIENTS = 10_000  # beyond this many, the buckets of clients idle longest are forgotten (they were full)

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, max(1, burst), clock
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Take a token for `client`: 0 when it may go on, else how many seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self.clock()
        with self.lock:
            tokens, then = self.buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1:
                self.buckets[client] = (tokens - 1, now)
                waiting = 0.0
            else:
                self.buckets[client] = (tokens, now)
                waiting = (1 - tokens) / self.rate
            if len(self.buckets) > self.MAX_CLIENTS:
                for stale in list(self.buckets)[: len(self.buckets) - self.MAX_CLIENTS]:
                    del self.buckets[stale]
        return waiting



def http_date(stamp: str | None) -> str | None:
    moment = utc_datetime(stamp or "")
    if not moment:
        return None
    return format_datetime(datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), usegmt=True)


def plain_tag(etag: str) -> str:
    return etag.strip().removeprefix("W/").replace('-gz"', '"')


def gzip_tag(etag: str) -> str:
    return f'{etag[:-1]}-gz"'


def client_is_current(request: Request, etag: str, last_modified: str | None) -> bool:
    """Whether the client's copy is current (If-None-Match first; If-Modified-Since only without it)."""
    matches = request.headers.get("if-none-match")
    if matches is not None:
        tags = {plain_tag(tag) for tag in matches.split(",")}
        return "*" in tags or etag in tags  # the gzipped form's tag names the same content
    since = request.headers.get("if-modified-since")
    if since and last_modified:
        try:
            return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
