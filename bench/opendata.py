"""Open-data scenarios (issue 17): the open catalogue of a city's exchange harvested whole, and what keeping the open
view costs a big push.

- Harvest: 100 departments, 100,000 entries of which 60,000 are open (pushed through the ledger, as bench/city.py
  fills its exchange), served by `steward-exchange serve` in a child process (SQLite). Once the server has
  written every dataset's pieces (its warm-up, reported), a harvester follows hydra:next over every DCAT page
  (gzip accepted, as harvesters ask) and data.json is fetched whole. Target: the DCAT harvest <= 10 s.
- Push: a 10,000-operation push (every entry's update frequency changed; 60 % of them open) applied through
  `ledger.push` in this process, with the time spent in the view's upkeep (`exchange.opendata.view.upkeep`)
  measured inside it: the view's extra time is that over the rest of the push. Target <= 10 %. Three pushes,
  the median reported, on SQLite and PostgreSQL; and, between them, three pushes with the upkeep skipped, to
  compare whole pushes with and without the view (that counts the commit's share too, but is noisier).

The machine may be shared (the report carries its load average): figures vary from run to run.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests
from rdflib import RDF, Graph, Namespace

from bench import city
from bench.ckan import ckan_api
from bench.exchange import _database
from bench.harness import Report, stopwatch
from exchange import ledger, server_key
from exchange.db import make_engine, migrate, reading
from exchange.local import LocalExchange
from exchange.opendata import view
from exchange.opendata.config import OpenConfig
from steward import sample
from steward.catalogue import rules
from steward.catalogue.model import Entry
from steward.sync import changeset
from steward.sync.keys import SigningKey
from steward.sync.protocol import utc_now

ENTRIES, DEPARTMENTS, OPEN_SHARE = 100_000, 100, 0.6
PUSH_OPERATIONS, PUSH_REPEAT = 10_000, 3
LICENCE = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
DCAT_DATASET = "http://www.w3.org/ns/dcat#Dataset"
WARM_TIMEOUT_S = 1800


def _with_open_share(entries: list[Entry], department: sample.Department) -> list[Entry]:
    """The entries with OPEN_SHARE of them 无条件开放 and the rest 不予开放, each still breaking no rule."""
    ctx = rules.Context(department_code=department.code)
    made = []
    for n, entry in enumerate(entries):
        if (n % 10) < OPEN_SHARE * 10:  # shared without condition too: the public never sees more than departments
            changed = replace(entry, status="active", open_type="unconditional", open_conditions="",
                              sharing_type="unconditional", sharing_conditions="",
                              sharing_method_category=entry.sharing_method_category or "platform",
                              sharing_method_type=entry.sharing_method_type or "interface")
        else:
            changed = replace(entry, open_type="not_open", open_conditions="")
        changed.items = [replace(item, open_type=None) if changed.open_type == "not_open" else item
                         for item in changed.items]
        if not rules.has_errors(rules.check(changed, ctx)):
            made.append(changed)
    return made


def _fill(db_url: str, key_file: Path, count: int, departments: int) -> list[Entry]:
    """Push `count` entries (about OPEN_SHARE open) of `departments` departments through the ledger."""
    engine = make_engine(db_url)
    migrate(engine)
    server = server_key.load_or_create(key_file)
    exchange = ledger.exchange_id(engine)
    pushed: list[Entry] = []
    for n, department in enumerate(city.departments(departments)):
        ledger.add_department(engine, department.code, department.name)
        key = SigningKey.generate()
        ledger.enroll(engine, department.code, key.public, f"steward-{n}")
        per = count // departments  # a few generated entries break a rule once made open: some spare ones
        entries = _with_open_share(city._clean(department, per + per // 10, n), department)[:per]
        ledger.push(engine, server, exchange, changeset.new_changeset(
            department.code, key, 1, utc_now(), "bench", [changeset.op_create(e) for e in entries]),
            ledger.lookup_key(engine, key.key_id))
        pushed.extend(entries)
    engine.dispose()
    return pushed


def _wait_warm(db_url: str, config: OpenConfig) -> float:
    """Seconds until the server has written every dataset's pieces."""
    engine = make_engine(db_url)
    key = config.options().key()
    with stopwatch() as elapsed:
        while True:
            with reading(engine) as conn:
                if not view.unrendered(conn, key, 1):
                    break
            if elapsed() > WARM_TIMEOUT_S:
                raise RuntimeError("the server did not write the open view's pieces in time")
            time.sleep(0.5)
    engine.dispose()
    return elapsed()


def _harvest(url: str, base: str, fmt: str) -> tuple[int, int, int]:
    """Follow hydra:next from the first page: (pages, datasets listed, bytes received)."""
    session = requests.Session()
    link: str | None = f"{url}/open/catalog.{fmt}"
    pages = datasets = size = 0
    while link:
        answer = session.get(link.replace(base, f"{url}/", 1), headers={"Accept-Encoding": "gzip"}, timeout=120)
        answer.raise_for_status()
        pages += 1
        size += len(answer.content)
        # Only the paging node is looked for here (a harvester's parse of each page is its own time).
        link, found = _next_link(answer.text, fmt)
        datasets += found
    session.close()
    return pages, datasets, size


def _next_link(body: str, fmt: str) -> tuple[str | None, int]:
    """The page's hydra:next (None on the last page) and how many datasets it lists."""
    if fmt == "jsonld":
        nodes = json.loads(body)["@graph"]
        [paging] = [n for n in nodes if n.get("@type") == "hydra:PagedCollection"]
        following = paging.get("hydra:next")
        return (following["@id"] if following else None), sum(1 for n in nodes if n.get("@type") == "dcat:Dataset")
    marker = "hydra:next <" if fmt == "ttl" else '<hydra:next rdf:resource="'
    count = body.count("a dcat:Dataset") if fmt == "ttl" else body.count(f'"{DCAT_DATASET}"')
    start = body.find(marker)
    if start < 0:
        return None, count
    begin = start + len(marker)
    return body[begin: body.index(">" if fmt == "ttl" else '"', begin)].replace("&amp;", "&"), count


def harvest(report: Report, folder: Path) -> None:
    db_url = f"sqlite:///{folder / 'open-city.sqlite'}"
    key_file = folder / "open-city-key.json"
    with stopwatch() as filling:
        entries = _fill(db_url, key_file, ENTRIES, DEPARTMENTS)
    scenario = "open catalogue (sqlite)"
    engine = make_engine(db_url)
    with reading(engine) as conn:
        opened = view.count(conn)
    engine.dispose()
    report.add(scenario, "entries on the exchange", len(entries), "entries", note=f"filled in {filling():.0f} s")
    report.add(scenario, "open datasets", opened, "datasets")
    server = LocalExchange.start(db_url, key_file, folder / "open-city.log",
                                 extra=("--open-rate", "0", "--licence", LICENCE))
    base = f"{server.url}/"
    try:
        report.add(scenario, "warm-up: every dataset written", _wait_warm(db_url, OpenConfig(base, LICENCE)), "s",
                   note="after start; a page whose pieces are missing writes them itself")
        for fmt, limit in (("ttl", 10.0), ("rdf", None), ("jsonld", None)):
            with stopwatch() as elapsed:
                pages, listed, size = _harvest(server.url, base, fmt)
            report.add(scenario, f"full harvest, {fmt} ({pages} pages)", elapsed(), "s", limit,
                       note=f"{size / 1e6:.1f} MB (unzipped; sent gzipped)")
            assert pages == -(-opened // 1000) and listed >= opened, (pages, listed, opened)
        _check_a_page(server.url)
        for attempt in ("first", "again (cached)"):
            with stopwatch() as elapsed:
                answer = requests.get(f"{server.url}/open/data.json", headers={"Accept-Encoding": "gzip"},
                                      timeout=600)
            answer.raise_for_status()
            report.add(scenario, f"data.json, {attempt}", elapsed(), "s",
                       note=f"{len(answer.content) / 1e6:.1f} MB (unzipped; sent gzipped)")
        # The CKAN Action API's figures (issue 17: package_search p95 <= 50 ms on this exchange).
        ckan_api(report, server.url, entries, db_url=db_url)
    finally:
        server.stop()


def _check_a_page(url: str) -> None:
    """The first page is a Hydra page rdflib reads, with 1,000 datasets (the harvest above counted text)."""
    page = Graph().parse(data=requests.get(f"{url}/open/catalog.ttl", timeout=120).content, format="turtle")
    assert len(list(page.subjects(RDF.type, HYDRA.PagedCollection))) == 1
    assert len(list(page.subjects(RDF.type, Namespace("http://www.w3.org/ns/dcat#").Dataset))) == 1000


@contextlib.contextmanager
def _timed_commits() -> Iterator[list[float]]:
    """Seconds each write transaction of the ledger takes to commit while the block runs."""
    spent: list[float] = []
    original = ledger.writing

    @contextlib.contextmanager
    def writing(engine: Any) -> Iterator[Any]:
        with original(engine) as conn:
            yield conn
            started = time.perf_counter()
        spent.append(time.perf_counter() - started)

    ledger.writing = writing  # type: ignore[assignment]
    try:
        yield spent
    finally:
        ledger.writing = original  # type: ignore[assignment]


@contextlib.contextmanager
def _timed_upkeep(keep: bool = True) -> Iterator[list[float]]:
    """Seconds spent in the view's upkeep while the block runs (the ledger's own reference to it, wrapped);
    with `keep` false the upkeep is skipped (the push as it was before the view)."""
    spent: list[float] = []
    original = ledger.open_view.upkeep

    def upkeep(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        if keep:
            original(*args, **kwargs)
        spent.append(time.perf_counter() - started)

    ledger.open_view.upkeep = upkeep  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        ledger.open_view.upkeep = original  # type: ignore[method-assign]


def push_cost(report: Report, backend: str, db_url: str, folder: Path) -> None:
    key_file = folder / f"open-push-{backend}.json"
    engine = make_engine(db_url)
    migrate(engine)
    server = server_key.load_or_create(key_file)
    exchange = ledger.exchange_id(engine)
    [department] = city.departments(1)
    ledger.add_department(engine, department.code, department.name)
    key = SigningKey.generate()
    ledger.enroll(engine, department.code, key.public, "bench")
    record = ledger.lookup_key(engine, key.key_id)
    entries = _with_open_share(city._clean(department, int(PUSH_OPERATIONS * 1.1), 0), department)[:PUSH_OPERATIONS]
    seq = 0
    for start in range(0, len(entries), 1000):
        seq += 1
        creates = [changeset.op_create(e) for e in entries[start:start + 1000]]
        ledger.push(engine, server, exchange,
                    changeset.new_changeset(department.code, key, seq, utc_now(), "bench", creates), record)
    frequencies = ["monthly", "weekly", "daily"]
    current = {e.id: e.update_frequency for e in entries}
    ratios, totals, upkeeps, without, commits_with, commits_without = [], [], [], [], [], []
    for n in range(PUSH_REPEAT * 2):
        ops = []
        for entry in entries:
            new = frequencies[n % 3] if current[entry.id] != frequencies[n % 3] else "quarterly"
            ops.append(changeset.op_set(entry.id, n + 1, "update_frequency", current[entry.id], new))
            current[entry.id] = new
        seq += 1
        cs = changeset.new_changeset(department.code, key, seq, utc_now(), "bench", ops)
        keep = n % 2 == 0  # every other push without the view: the same push as it costs with none
        with _timed_commits() as commits, _timed_upkeep(keep) as spent, stopwatch() as elapsed:
            status, _ = ledger.push(engine, server, exchange, cs, record)
        assert status == 201
        (commits_with if keep else commits_without).append(sum(commits))
        if not keep:
            without.append(elapsed())
            continue
        upkeep = sum(spent)
        totals.append(elapsed())
        upkeeps.append(upkeep)
        ratios.append(upkeep / (elapsed() - upkeep) * 100)
    engine.dispose()
    scenario = f"open view on a push ({backend})"
    opened = sum(1 for e in entries if e.open_type == "unconditional")
    report.add(scenario, "operations (entries open)", len(entries), "ops", note=f"{opened} open")
    report.add(scenario, "push (median)", statistics.median(totals), "s")
    report.add(scenario, "of which the view's upkeep (median)", statistics.median(upkeeps), "s")
    report.add(scenario, "view's extra time (median)", statistics.median(ratios), "%", 10.0,
               note="upkeep / (push - upkeep); runs: " + ", ".join(f"{r:.1f}" for r in ratios))
    # What the view's rows add to the commit (writing them out) is outside the upkeep: counted here.
    commit_share = max(0.0, statistics.median(commits_with) - statistics.median(commits_without))
    report.add(scenario, "commit with / without the view (medians)", commit_share, "s",
               note=f"{statistics.median(commits_with):.3f} s / {statistics.median(commits_without):.3f} s")
    upkeep = statistics.median(upkeeps) + commit_share
    report.add(scenario, "view's extra time, its commit share too", upkeep / (statistics.median(totals) - upkeep) * 100,
               "%", 10.0, note="(upkeep + commit share) / the rest of the push, medians")
    # The same, from whole pushes with and without the view, alternately: the machine's noise between two
    # pushes weighs more here.
    report.add(scenario, "push without the view (median)", statistics.median(without), "s")
    report.add(scenario, "with / without - 1 (medians)",
               (statistics.median(totals) / statistics.median(without) - 1) * 100, "%",
               note="runs with: " + ", ".join(f"{t:.2f}" for t in totals) + "; without: "
               + ", ".join(f"{t:.2f}" for t in without))


def run(report: Report, folder: Path) -> None:
    print("Open-data scenarios", flush=True)
    for backend in ("sqlite", "postgresql"):
        with _database(backend, folder) as db_url:
            if db_url is not None:
                push_cost(report, backend, db_url, folder)
    harvest(report, folder)
