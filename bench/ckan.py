"""CKAN channel scenarios (issue 17): `package_search` p95 ≤ 50 ms on 100,000 entries / 60,000 open, and
`package_show`, run by bench/opendata.py on its exchange while its server runs (no rate limit).

Asked over loopback HTTP as a CKAN client asks, so each figure is the server's time plus a little. The
searches mix what clients send: the default query (10 rows), free text (a Chinese substring of a dataset's
title), `fq` on organization, tags and res_format, a sort by name and a deep page (start=50,000); a
harvester's page (rows=1000, id asc) and a whole harvest by such pages are reported apart, as each page
carries a thousand datasets. The figures are taken once the server's thread has written every package's
JSON (exchange/opendata/ckan_index.py), as they are between pushes; the first request counts the facets of
tags, formats and organizations over the whole catalogue, reported apart too.
"""

from __future__ import annotations

import random
import time
from typing import Any

import requests
from sqlalchemy import text

from bench.harness import Report, percentile, stopwatch, timed
from exchange.db import make_engine, reading
from steward.catalogue.model import Entry

REPEAT = 5
WAIT_S = 1800


def _wait_written(db_url: str) -> float:
    """Seconds until the server's thread has written every package's JSON (ckan_documents)."""
    engine = make_engine(db_url)
    with stopwatch() as elapsed:
        while elapsed() < WAIT_S:
            with reading(engine) as conn:
                missing = conn.execute(text("SELECT count(*) FROM ckan_packages c LEFT JOIN ckan_documents j "
                                            "ON j.seq = c.seq WHERE j.seq IS NULL")).scalar_one()
            if not missing:
                break
            time.sleep(0.5)
    engine.dispose()
    return elapsed()


def ckan_api(report: Report, url: str, entries: list[Entry], scenario: str = "CKAN Action API (sqlite)",
             db_url: str | None = None) -> None:
    session = requests.Session()
    base = f"{url}/api/3/action"

    def get(action: str, params: dict[str, Any]) -> Any:
        answer = session.get(f"{base}/{action}", params=params, timeout=600)
        answer.raise_for_status()
        return answer.json()["result"]

    try:
        with stopwatch() as first:
            facets = get("package_search", {"rows": 0, "facet.field": '["tags", "res_format", "organization"]',
                                            "facet.limit": 5})["facets"]
        opened = get("package_search", {"rows": 0})["count"]
        report.add(scenario, "first request: facets over all", first() * 1000, "ms",
                   note=f"tags, res_format, organization counted over {opened:,} datasets")
        if db_url:
            report.add(scenario, "every package's JSON written", _wait_written(db_url), "s",
                       note="by the server's thread after the index; until then a package is built at the request")
        rng = random.Random(17)
        queries: list[dict[str, Any]] = [{}, {"sort": "name asc"}, {"sort": "metadata_modified desc", "start": 50_000}]
        titled = [e for e in entries if e.open_type == "unconditional" and len(e.name) >= 4]
        for entry in rng.sample(titled, 10):
            at = rng.randrange(0, len(entry.name) - 3)
            queries.append({"q": entry.name[at : at + 3]})
        queries.extend({"fq": f"organization:{name}"} for name in facets["organization"])
        queries.extend({"fq": f'tags:"{tag}"'} for tag in facets["tags"])
        queries.extend({"fq": f"res_format:{fmt}"} for fmt in list(facets["res_format"])[:3])
        queries.append({"q": "信息", "fq": f"organization:{next(iter(facets['organization']))}"})
        searched: list[float] = []
        for _ in range(REPEAT):
            for params in queries:
                searched.extend(timed(lambda p=params: get("package_search", p), 1))
        report.add(scenario, "package_search p50", percentile(searched, 50), "ms")
        report.add(scenario, "package_search p95", percentile(searched, 95), "ms", 50,
                   note=f"{len(queries)} queries x {REPEAT}: default, q, fq organization/tags/res_format, sorts")
        names = get("package_list", {})
        shown = timed(lambda: get("package_show", {"id": rng.choice(names)}), 100)
        report.add(scenario, "package_show p50", percentile(shown, 50), "ms")
        report.add(scenario, "package_show p95", percentile(shown, 95), "ms", 50)
        pages = timed(lambda: get("package_search", {"rows": 1000, "sort": "id asc",
                                                     "start": rng.randrange(0, max(1, opened - 1000))}), 10)
        report.add(scenario, "package_search rows=1000 p95", percentile(pages, 95), "ms",
                   note="a harvester's page of 1,000 datasets")
        with stopwatch() as harvest:
            start, seen = 0, 0
            while True:
                results = get("package_search", {"rows": 1000, "start": start, "sort": "id asc"})["results"]
                if not results:
                    break
                seen += len(results)
                start += 1000
        assert seen == opened, (seen, opened)
        report.add(scenario, "full harvest by rows=1000 pages", harvest(), "s", note=f"{seen:,} datasets")
    finally:
        session.close()
