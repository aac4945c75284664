"""Console scenarios (issue 16): 总览 on 100,000 entries and 100 departments, and the catalogue search.

Each is measured twice on the city's exchange (bench/city.py, SQLite): the figures function alone on a
read transaction, as the route runs it; and the page as a logged-in browser gets it from `steward-exchange
serve` in a child process (loopback HTTP, so its time is the server's plus a little).
"""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path

import requests

from bench import city
from bench.harness import Report, percentile, timed
from exchange import accounts
from exchange.console import figures
from exchange.db import make_engine, reading
from exchange.local import LocalExchange
from exchange.opendata import ckan_index, view
from exchange.opendata.config import OpenConfig

REPEAT = 30
SETTLE_TIMEOUT_S = 900.0
ACCOUNT = "bench"


def _terms(town: city.City) -> list[tuple[str, str]]:
    """What an authority types (word, department filter): parts of names and codes, a filter, nothing at all."""
    entries = town.entries[::7][:30]
    terms = [(e.name[:2], "") for e in entries[:10]]  # two characters: many matches, counted in full
    terms += [(e.name, "") for e in entries[10:15]]  # a whole name: a few matches
    terms += [(e.code[:8], "") for e in entries[15:20]]  # a code's beginning
    terms += [(e.name[:2], e.provider_code) for e in entries[20:25]]  # a word within one department
    terms += [("", ""), ("", town.departments[3].code), ("不存在的资源名称", "")]
    return terms


def _log_in(url: str, password: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(f"{url}/console/login", timeout=30).text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token, "the login form carries a CSRF token"
    answer = browser.post(f"{url}/console/login", data={"csrf": token.group(1), "account": ACCOUNT,
                                                        "password": password, "next": "/console/overview"},
                          timeout=30)
    assert answer.ok and answer.url.endswith("/console/overview"), answer.status_code
    return browser


def _page(browser: requests.Session, url: str, params: dict[str, str] | None = None) -> None:
    answer = browser.get(url, params=params, timeout=60, allow_redirects=False)
    assert answer.status_code == 200, answer.status_code


def _settled(db_url: str, base_uri: str) -> float:
    """Seconds until the server started on `db_url` has written every open dataset's pieces and indexed them."""
    engine = make_engine(db_url)
    key = OpenConfig(base_uri).options().key()
    started = time.perf_counter()
    try:
        while True:
            with reading(engine) as conn:
                if not view.unrendered(conn, key, 1) and ckan_index.indexed(conn) >= view.version(conn):
                    return time.perf_counter() - started
            if time.perf_counter() - started > SETTLE_TIMEOUT_S:
                raise RuntimeError("the server's background work on the open view did not end in time")
            time.sleep(0.5)
    finally:
        engine.dispose()


def run(report: Report, folder: Path) -> None:
    print("Console scenarios", flush=True)
    town = city.build(folder)
    engine = make_engine(town.db_url)
    terms = _terms(town)

    def overview() -> None:
        with reading(engine, snapshot=True) as conn:
            figures.overview(conn)

    scenario = f"总览 ({len(town.departments)} depts, {city.ENTRIES:,})"
    samples = timed(overview, REPEAT)
    report.add(scenario, "figures.overview p50", percentile(samples, 50), "ms")
    report.add(scenario, "figures.overview p95", percentile(samples, 95), "ms", 300)

    def search_all() -> list[float]:
        found: list[float] = []
        for term, department in terms:
            def one(term: str = term, department: str = department) -> None:
                with reading(engine, snapshot=True) as conn:
                    figures.search(conn, term, department, 0)
            found.extend(timed(one, 3))
        return found

    search_scenario = f"console search ({city.ENTRIES:,})"
    searched = search_all()
    report.add(search_scenario, "figures.search p50", percentile(searched, 50), "ms")
    report.add(search_scenario, "figures.search p95", percentile(searched, 95), "ms", 100)

    password = secrets.token_urlsafe(16)
    accounts.add(engine, ACCOUNT, accounts.Role.REVIEWER, password)
    engine.dispose()
    server = LocalExchange.start(town.db_url, town.key_file, folder / "console-exchange.log")
    try:
        # A city pushed while no server ran: at its first start the server writes the open view's pieces and
        # catches the CKAN index up in the background. The console's figures are of the exchange at work.
        report.add(scenario, "first start's background work", _settled(town.db_url, f"{server.url}/"), "s",
                   note="open view's pieces and CKAN index of a city pushed with no server running; once")
        browser = _log_in(server.url, password)
        pages = timed(lambda: _page(browser, f"{server.url}/console/overview"), REPEAT)
        report.add(scenario, "GET /console/overview p50", percentile(pages, 50), "ms")
        report.add(scenario, "GET /console/overview p95", percentile(pages, 95), "ms", 300)
        listed: list[float] = []
        for term, department in terms:
            listed.extend(timed(lambda t=term, d=department: _page(
                browser, f"{server.url}/console/catalogue", {"q": t, "department": d}), 3))
        report.add(search_scenario, "GET /console/catalogue?q= p50", percentile(listed, 50), "ms")
        report.add(search_scenario, "GET /console/catalogue?q= p95", percentile(listed, 95), "ms", 100)
        browser.close()
    finally:
        server.stop()
