"""CKAN channel scenarios (issue 17): `package_search` p95 ≤ 50 ms on 100,000 entries, and `package_show`.

On the city's exchange (bench/city.py: 100 departments, 100,000 entries pushed through the ledger, SQLite;
how many of them are open is reported), served by `steward-exchange serve` in a child process with no
rate limit, and asked over loopback HTTP as a CKAN client asks: so each figure is the server's time plus a
little. The search index (exchange/opendata/ckan_index.py) is first brought up to the view, and the time
that takes is reported: a new exchange's migration, or the first request after a huge push, pays it.

The searches mix what clients send: the default query (10 rows), free text (a Chinese substring of a
dataset's title), `fq` on organization, tags and res_format, a sort by name, a deep page (start=50,000),
and a harvester's page (rows=1000, id asc) reported apart, as it carries a thousand datasets.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import requests

from bench import city
from bench.harness import Report, percentile, stopwatch, timed
from exchange.db import make_engine, migrate, reading
from exchange.local import LocalExchange
from exchange.opendata import ckan_index, view

REPEAT = 5


def _queries(town: city.City, tags: list[str], formats: list[str], rng: random.Random) -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = [{}, {"sort": "name asc"}, {"sort": "metadata_modified desc", "start": 50_000}]
    for entry in rng.sample(town.entries, 10):
        if len(entry.name) >= 4:
            at = rng.randrange(0, len(entry.name) - 3)
            queries.append({"q": entry.name[at : at + 3]})
    for department in rng.sample(town.departments, 5):
        queries.append({"fq": f"organization:{department.code.lower()}"})
    queries.extend({"fq": f'tags:"{tag}"'} for tag in tags)
    queries.extend({"fq": f"res_format:{fmt}"} for fmt in formats)
    queries.append({"q": "登记", "fq": f"organization:{town.departments[0].code.lower()}"})
    return queries


def run(report: Report, folder: Path) -> None:
    print("CKAN channel scenarios", flush=True)
    town = city.build(folder)
    engine = make_engine(town.db_url)
    migrate(engine)
    with stopwatch() as elapsed:
        ckan_index.catch_up(engine)
    with reading(engine) as conn:
        opened = view.count(conn)
        tags = [r[0] for r in conn.exec_driver_sql(
            "SELECT tag FROM ckan_tags GROUP BY tag ORDER BY count(*) DESC LIMIT 5")]
        formats = [r[0] for r in conn.exec_driver_sql(
            "SELECT res_format FROM ckan_packages GROUP BY res_format ORDER BY count(*) DESC LIMIT 3")]
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM ckan_packages ORDER BY entry_id")]
    engine.dispose()
    scenario = f"CKAN ({city.ENTRIES:,} entries, {opened:,} open)"
    report.add(scenario, "index caught up from empty", elapsed() * 1000, "ms",
               note="once per exchange (migration 0007), or after a huge push")
    server = LocalExchange.start(town.db_url, town.key_file, folder / "ckan-exchange.log",
                                 extra=("--open-rate", "0"))
    session = requests.Session()
    base = f"{server.url}/api/3/action"
    try:
        def get(action: str, params: dict[str, Any]) -> dict[str, Any]:
            answer = session.get(f"{base}/{action}", params=params, timeout=120)
            answer.raise_for_status()
            return answer.json()["result"]

        rng = random.Random(17)
        queries = _queries(town, tags, formats, rng)
        get("package_search", {})  # warm: the server's first request opens its connections
        searched: list[float] = []
        for _ in range(REPEAT):
            for params in queries:
                searched.extend(timed(lambda p=params: get("package_search", p), 1))
        report.add(scenario, "package_search p50", percentile(searched, 50), "ms")
        report.add(scenario, "package_search p95", percentile(searched, 95), "ms", 50,
                   note=f"{len(queries)} queries x {REPEAT}: default, q, fq organization/tags/res_format, sorts")
        shown = timed(lambda: get("package_show", {"id": rng.choice(names)}), 100)
        report.add(scenario, "package_show p50", percentile(shown, 50), "ms")
        report.add(scenario, "package_show p95", percentile(shown, 95), "ms", 50)
        page = timed(lambda: get("package_search", {"rows": 1000, "start": rng.randrange(0, max(1, opened - 1000)),
                                                    "sort": "id asc"}), 10)
        report.add(scenario, "package_search rows=1000 p95", percentile(page, 95), "ms",
                   note="a harvester's page of 1,000 datasets")
        with stopwatch() as harvest:
            start, seen = 0, 0
            while True:
                results = get("package_search", {"rows": 1000, "start": start, "sort": "id asc"})["results"]
                if not results:
                    break
                seen += len(results)
                start += 1000
        report.add(scenario, "full harvest (rows=1000 pages)", harvest(), "s",
                   note=f"{seen:,} datasets, as the CKAN harvester pages (it asks 100 a page)")
    finally:
        session.close()
        server.stop()
