"""Python's cyclic garbage collector, paced for bulk work (a first sync creates millions of containers).

With the default pace (a young collection every 700 new containers) a first sync of 100,000
entries triggered some 70 full collections, each walking every live object: a tenth of the sync
on a small heap, more beside a large one. Bulk work asks for young collections ten times less
often, which leaves a few full ones; cyclic garbage waits a little longer, nothing else changes.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

BULK_YOUNG_THRESHOLD = 10_000

_lock = threading.Lock()
_holders = 0
_saved: tuple[int, ...] = ()


@contextmanager
def paced_for_bulk_work() -> Iterator[None]:
    """Collect less often inside the block; the pace in force before is restored when the last such block ends."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(_saved[0], BULK_YOUNG_THRESHOLD), *_saved[1:])
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                gc.set_threshold(*_saved)
