"""Exchange scenarios (issue 4): one 10,000-operation push, and 20 clients pushing small changesets for 30 s;
(issue 12) how long a 1-operation push of another department waits while a 20,000-operation push is checked.

Both run against `steward-exchange serve` in a child process, on SQLite and on PostgreSQL
(127.0.0.1:5432; reported as skipped where it does not answer).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.harness import Report, percentile, stopwatch
from exchange import ledger
from exchange.db import make_engine, migrate
from exchange.local import LocalExchange
from steward import sample
from steward.catalogue import rules
from steward.catalogue.model import DataItem, Entry
from steward.sync import changeset
from steward.sync.changeset import canonical
from steward.sync.exchange_client import Connection, ExchangeClient, ExchangeRefused
from steward.sync.keys import SigningKey, unb64
from steward.sync.protocol import utc_now

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
BULK_OPERATIONS = 10_000
BIG_OPERATIONS = changeset.MAX_OPERATIONS  # item_add on one entry: the push that held the lock for ~20 s
CREATE_BATCH = 1_000
CLIENT_PROCESSES, THREADS_PER_PROCESS = 4, 5  # 20 clients; processes so the load is not bound by one GIL
LOAD_SECONDS = 30.0
DEPARTMENT = sample.DEPARTMENTS[0]


@contextlib.contextmanager
def _database(backend: str, folder: Path) -> Iterator[str | None]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'exchange-bench.sqlite'}"
        return
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            name = f"steward_bench_{uuid.uuid4().hex[:10]}"
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as error:  # no server: the report says so
        print(f"  PostgreSQL unavailable, skipped: {error}", flush=True)
        yield None
        return
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _clean_entries(count: int, first_sequence: int = 1, department: sample.Department = DEPARTMENT) -> list[Entry]:
    """Generated entries of `department` that break no rule (the exchange refuses the others).

    The generator repeats a few resource codes on purpose; only the first entry of each code is kept.
    """
    ctx = rules.Context(department_code=department.code)
    chosen: dict[str, Entry] = {}
    for entry in sample.generate(department, count * 2, seed=41, first_sequence=first_sequence):
        if entry.code not in chosen and not rules.has_errors(rules.check(entry, ctx)):
            chosen[entry.code] = entry
            if len(chosen) == count:
                break
    return list(chosen.values())


def _enroll(db_url: str, count: int) -> list[SigningKey]:
    engine = make_engine(db_url)
    migrate(engine)
    with contextlib.suppress(ledger.Refused):
        ledger.add_department(engine, DEPARTMENT.code, DEPARTMENT.name)
    keys = [SigningKey.generate() for _ in range(count)]
    for key in keys:
        ledger.enroll(engine, DEPARTMENT.code, key.public)
    engine.dispose()
    return keys


def bulk_push(report: Report, backend: str, server: LocalExchange, key: SigningKey) -> None:
    client = ExchangeClient(Connection(server.url, retries=0, read_timeout=600, deadline=3600), key)
    entries = _clean_entries(BULK_OPERATIONS)
    seq = 0
    for start in range(0, len(entries), CREATE_BATCH):
        seq += 1
        ops = [changeset.op_create(e) for e in entries[start : start + CREATE_BATCH]]
        client.push(changeset.new_changeset(DEPARTMENT.code, key, seq, utc_now(), "bench", ops))
    scenario = f"push 10,000 ops ({backend})"
    with stopwatch() as total:
        with stopwatch() as signing:
            ops = [changeset.op_set(e.id, 1, "update_frequency", e.update_frequency,
                                    "monthly" if e.update_frequency != "monthly" else "weekly") for e in entries]
            cs = changeset.new_changeset(DEPARTMENT.code, key, seq + 1, utc_now(), "bench", ops)
        with stopwatch() as pushing:
            status, receipt = client.push(cs)
    assert status == 201 and len(receipt["versions"]) == len(entries)
    floor = _floor(cs, key, entries, server.db_url)
    report.add(scenario, "operations", len(ops), "ops")
    report.add(scenario, "body size", len(canonical(cs.to_dict())) / 1e6, "MB")
    report.add(scenario, "client: build + sign", signing(), "s")
    report.add(scenario, "server: verify + apply (round trip)", pushing(), "s")
    report.add(scenario, "total", total(), "s", 5.0)
    report.add(scenario, "floor: canonicalise+verify+insert", floor, "s")
    report.add(scenario, "ratio to floor", total() / floor, "x")
    client.close()


def _floor(cs: changeset.Changeset, key: SigningKey, entries: list[Entry], db_url: str) -> float:
    """Canonicalising and verifying the same bytes once, plus a raw bulk insert of the same rows."""
    documents = [(e.id, canonical(changeset.entry_document(e)).decode()) for e in entries]
    with stopwatch() as elapsed:
        message = changeset.SIGNING_TAG + canonical(cs.unsigned())
        assert key.public.verify(unb64(cs.signature), message)
        if db_url.startswith("sqlite"):
            conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
            conn.execute("CREATE TEMP TABLE floor(id TEXT PRIMARY KEY, document TEXT)")
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO floor VALUES (?, ?)", documents)
            conn.execute("COMMIT")
            conn.close()
        else:
            import psycopg

            with psycopg.connect(db_url.replace("postgresql+psycopg", "postgresql")) as conn:
                conn.execute("CREATE TEMP TABLE floor(id TEXT PRIMARY KEY, document TEXT)")
                with conn.cursor() as cursor:
                    cursor.executemany("INSERT INTO floor VALUES (%s, %s)", documents)
    return elapsed()


def lock_delay(report: Report, backend: str, server: LocalExchange) -> None:
    """A 20,000-operation push, and meanwhile 1-operation pushes of another department one after another.

    The delay is how much longer the slowest of those took than a 1-operation push takes alone: the
    time it waited for the big push (which holds the write lock only to write, issue 12).
    """
    other = sample.DEPARTMENTS[1]
    engine = make_engine(server.db_url)
    for department in (DEPARTMENT, other):
        with contextlib.suppress(ledger.Refused):  # registered already
            ledger.add_department(engine, department.code, department.name)
    big_key, small_key = SigningKey.generate(), SigningKey.generate()
    ledger.enroll(engine, DEPARTMENT.code, big_key.public)
    ledger.enroll(engine, other.code, small_key.public)
    engine.dispose()
    big_client = ExchangeClient(Connection(server.url, retries=0, read_timeout=600), big_key)
    small_client = ExchangeClient(Connection(server.url, retries=0), small_key)
    [big_entry] = _clean_entries(1, first_sequence=BULK_OPERATIONS * 7)
    [small_entry] = _clean_entries(1, first_sequence=BULK_OPERATIONS * 8, department=other)
    big_client.push(changeset.new_changeset(DEPARTMENT.code, big_key, 1, utc_now(), "bench",
                                            [changeset.op_create(big_entry)]))
    small_client.push(changeset.new_changeset(other.code, small_key, 1, utc_now(), "bench",
                                              [changeset.op_create(small_entry)]))
    renames = _renames(small_client, small_key, other.code, small_entry)
    alone = [next(renames) for _ in range(20)]
    ops = [changeset.op_item_add(big_entry.id, 1, DataItem(name=f"信息项{n}", data_type="C", length=10,
                                                            position=100 + n)) for n in range(BIG_OPERATIONS)]
    big = changeset.new_changeset(DEPARTMENT.code, big_key, 2, utc_now(), "bench", ops)
    done = threading.Event()
    during: list[float] = []

    def small_pushes() -> None:
        while not done.is_set():
            during.append(next(renames))

    pusher = threading.Thread(target=small_pushes)
    with stopwatch() as big_time:
        pusher.start()
        status, _ = big_client.push(big)
    done.set()
    pusher.join()
    assert status == 201
    scenario = f"{BIG_OPERATIONS:,}-op push ({backend})"
    report.add(scenario, f"{BIG_OPERATIONS:,} item_add push time", big_time(), "s")
    report.add(scenario, "1-op pushes meanwhile", len(during), "cs")
    report.add(scenario, "1-op push alone (p50)", percentile(alone, 50), "ms")
    report.add(scenario, "delay of a 1-op push during it", (max(during) - percentile(alone, 50)) / 1000, "s", 1.0)
    big_client.close()
    small_client.close()


def _renames(client: ExchangeClient, key: SigningKey, department: str, entry: Entry) -> Iterator[float]:
    """Rename `entry` again and again, one 1-operation push each; yields each push's milliseconds."""
    version, name = 1, entry.name
    for seq in itertools.count(2):
        new_name = f"{entry.name}·{seq}"
        cs = changeset.new_changeset(department, key, seq, utc_now(), "bench",
                                     [changeset.op_set(entry.id, version, "name", name, new_name)])
        started = time.perf_counter()
        client.push(cs)
        yield (time.perf_counter() - started) * 1000
        version, name = version + 1, new_name


def _client_process(url: str, raw_keys: list[bytes], entries: list[dict[str, Any]], seconds: float,
                    results: Any) -> None:
    """THREADS_PER_PROCESS clients, each renaming its own entry again and again until the time is up."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client(raw_key: bytes, document: dict[str, Any]) -> None:
        key = SigningKey.from_raw(raw_key)
        talker = ExchangeClient(Connection(url, retries=0), key)
        version, name, seq = 1, document["name"], 1
        mine: list[float] = []
        while time.perf_counter() < stop_at:
            seq += 1
            new_name = f"{document['name']}·{seq}"
            cs = changeset.new_changeset(DEPARTMENT.code, key, seq, utc_now(), "bench",
                                         [changeset.op_set(document["id"], version, "name", name, new_name)])
            started = time.perf_counter()
            try:
                talker.push(cs)
            except ExchangeRefused as error:
                with lock:
                    failures.append(str(error))
                break
            mine.append((time.perf_counter() - started) * 1000)
            version, name = version + 1, new_name
        talker.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=pair) for pair in zip(raw_keys, entries, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put((latencies, failures))


def concurrent_load(report: Report, backend: str, server: LocalExchange, keys: list[SigningKey]) -> None:
    """20 clients, each with its own key and entry, pushing one-operation changesets as fast as answers come."""
    entries = _clean_entries(len(keys), first_sequence=BULK_OPERATIONS * 5)  # codes the bulk push did not use
    for key, entry in zip(keys, entries, strict=True):
        ExchangeClient(Connection(server.url), key).push(
            changeset.new_changeset(DEPARTMENT.code, key, 1, utc_now(), "bench", [changeset.op_create(entry)]))
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = []
    for n in range(CLIENT_PROCESSES):
        part = slice(n * THREADS_PER_PROCESS, (n + 1) * THREADS_PER_PROCESS)
        processes.append(context.Process(target=_client_process, args=(
            server.url, [k.raw() for k in keys[part]], [{"id": e.id, "name": e.name} for e in entries[part]],
            LOAD_SECONDS, results)))
    with stopwatch() as elapsed:
        for process in processes:
            process.start()
        collected = [results.get() for _ in processes]
        for process in processes:
            process.join()
    latencies = [ms for part, _ in collected for ms in part]
    failures = [f for _, part in collected for f in part]
    scenario = f"20 clients × 30 s ({backend}{', 2 workers' if backend == 'postgresql' else ''})"
    report.add(scenario, "changesets accepted", len(latencies), "cs")
    report.add(scenario, "refused (should be 0)", len(failures), "cs", 0)
    report.add(scenario, "throughput", len(latencies) / elapsed(), "cs/s", note="target >= 200/s on SQLite")
    report.add(scenario, "latency p50", percentile(latencies, 50), "ms")
    report.add(scenario, "latency p95", percentile(latencies, 95), "ms", 100)
    if backend == "sqlite":
        rate = len(latencies) / elapsed()
        report.add(scenario, "throughput shortfall below 200/s", max(0.0, 200 - rate), "cs/s", 0)


def run(report: Report, folder: Path) -> None:
    print("Exchange scenarios", flush=True)
    for backend in ("sqlite", "postgresql"):
        with _database(backend, folder) as db_url:
            if db_url is None:
                continue
            keys = _enroll(db_url, 1 + CLIENT_PROCESSES * THREADS_PER_PROCESS)
            # PostgreSQL is served as in production, by several processes; SQLite by one.
            workers = ("--workers", "2") if backend == "postgresql" else ()
            server = LocalExchange.start(db_url, folder / f"server-key-{backend}.json", folder / f"{backend}.log",
                                         extra=workers)
            try:
                bulk_push(report, backend, server, keys[0])
                concurrent_load(report, backend, server, keys[1:])
                lock_delay(report, backend, server)
            finally:
                server.stop()
