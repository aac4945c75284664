"""The per-key budget of refused requests (issue 12): a steward's key cannot keep the exchange busy refusing it.

Each refusal (a 4xx answer) of a request that a key authenticated spends one unit of that key's
budget, a token bucket that refills evenly over the window. A key with no unit left is answered
429 with `Retry-After` straight away, before its body is looked at, its signature checked or the
database touched. Only authenticated refusals are spent (anyone can name a key id in a header,
but only its holder can spend its budget); a request naming a key that is over its budget is
turned away whoever sent it. Each server process keeps its own budgets, in memory.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from exchange.ledger import Refused
from steward.sync.protocol import HEADER_KEY

DEFAULT_BUDGET = 20  # refusals a key may have in a row
DEFAULT_WINDOW_S = 60.0  # a spent budget is whole again after this long
DRAIN_BYTES = 64 * 1024 * 1024  # as app.DRAIN_BYTES: read this much of a turned-away body so the client sees the 429


@dataclass
class RefusalBudget:
    """Refusals each key may still have; `budget` 0 turns the budget off."""

    budget: int = DEFAULT_BUDGET
    window_s: float = DEFAULT_WINDOW_S
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # key id -> (units left, when)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.budget < 0 or self.window_s <= 0:
            raise ValueError("the refusal budget must be 0 or more, and its window more than 0 seconds")

    def _left(self, key_id: str, now: float) -> float:
        left, then = self._buckets.get(key_id, (float(self.budget), now))
        return min(float(self.budget), left + (now - then) * self.budget / self.window_s)

    def spend(self, key_id: str) -> None:
        """Count one refusal of a request `key_id` authenticated."""
        if not self.budget:
            return
        with self._lock:
            now = self.clock()
            self._buckets[key_id] = (max(0.0, self._left(key_id, now) - 1), now)

    def retry_after(self, key_id: str) -> int | None:
        """Whole seconds until `key_id` has a refusal to spend again; None while it has one."""
        if not self.budget:
            return None
        with self._lock:
            left = self._left(key_id, self.clock())
        if left >= 1:
            return None
        return max(1, math.ceil((1 - left) * self.window_s / self.budget - 1e-9))  # 5.000000001 s is 5 s


class TooManyRefusals(Refused):
    def __init__(self, key_id: str, retry_after: int) -> None:
        super().__init__(429, "too_many_refusals",
                         f"key {key_id} had too many requests refused; try again in {retry_after} s",
                         [{"retry_after": retry_after}])
        self.retry_after = retry_after


class BudgetGate:
    """ASGI middleware: answers 429 to a request naming a key that is over its budget, before anything else runs."""

    def __init__(self, app: ASGIApp, budget: RefusalBudget,
                 on_turned_away: Callable[[Scope, Refused, int], None]) -> None:
        self.app = app
        self.budget = budget
        self.on_turned_away = on_turned_away

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key_id = Headers(scope=scope).get(HEADER_KEY) if scope["type"] == "http" else None
        wait = self.budget.retry_after(key_id) if key_id else None
        if key_id is None or wait is None:
            await self.app(scope, receive, send)
            return
        size = await _drain(receive)
        refusal = TooManyRefusals(key_id, wait)
        self.on_turned_away(scope, refusal, size)
        response = JSONResponse(refusal.body(), status_code=429, headers={"Retry-After": str(wait)})
        await response(scope, receive, send)


async def _drain(receive: Receive) -> int:
    """Read and drop the request's body (up to DRAIN_BYTES); how many bytes that was."""
    drained = 0
    while drained <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            break
        drained += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return drained
