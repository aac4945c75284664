"""Recording measurements against their targets, printing them and writing them as JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


@dataclass
class Measurement:
    scenario: str
    metric: str
    value: float
    unit: str
    target: str = ""  # e.g. "<= 20 ms"; empty when the figure is informative only
    ok: bool | None = None
    note: str = ""


@dataclass
class Report:
    measurements: list[Measurement] = field(default_factory=list)
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def add(self, scenario: str, metric: str, value: float, unit: str, limit: float | None = None,
            note: str = "") -> Measurement:
        target = "" if limit is None else f"<= {limit:g} {unit}"
        ok = None if limit is None else value <= limit
        m = Measurement(scenario, metric, round(value, 3), unit, target, ok, note)
        self.measurements.append(m)
        status = "" if ok is None else ("ok" if ok else "MISSED")
        print(f"  {scenario:<28} {metric:<34} {m.value:>12,.3f} {unit:<6} {target:<14} {status}", flush=True)
        return m

    def print_table(self) -> None:
        print()
        header = f"{'scenario':<28} {'metric':<34} {'value':>12} {'unit':<6} {'target':<14} status"
        print(header)
        print("-" * len(header))
        for m in self.measurements:
            status = "" if m.ok is None else ("ok" if m.ok else "MISSED")
            print(f"{m.scenario:<28} {m.metric:<34} {m.value:>12,.3f} {m.unit:<6} {m.target:<14} {status}")

    def write(self, extra: dict[str, object]) -> Path:
        RESULTS.mkdir(exist_ok=True)
        data = {
            "started": self.started,
            "machine": {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()},
            **extra,
            "measurements": [asdict(m) for m in self.measurements],
        }
        stamp = self.started.replace(":", "").replace("-", "")
        path = RESULTS / f"bench-{stamp}.json"
        text = json.dumps(data, ensure_ascii=False, indent=2)
        path.write_text(text, encoding="utf-8")
        (RESULTS / "latest.json").write_text(text, encoding="utf-8")
        return path


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """Seconds elapsed inside the block (readable during and after it)."""
    start = time.perf_counter()
    end: list[float] = []
    yield lambda: (end[0] if end else time.perf_counter()) - start
    end.append(time.perf_counter())


def percentile(samples: list[float], p: float) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(p) - 1]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds per call, `repeat` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples
