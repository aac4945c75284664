"""Core scenarios (issue 2): fill, search, load one entry, validate everything."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

from bench.harness import Report, percentile, stopwatch, timed
from steward import sample
from steward.sync import publish_preview
from steward.workspace import journal, query, search, store
from steward.workspace.workspace import DB_FILE, Workspace

BATCH = 2000
LONG_QUERIES = (
    "医疗机构", "医师执业注册", "许可证信息", "统一社会信用代码", "浦东新区", "监测数据", "出生医学", "登记机关",
    "317001/", "公民身份号码",
)
SHORT_QUERIES = ("医", "证", "登记", "许可", "户籍", "浦东", "护士", "学", "名录", "照")

# The tables our write path fills, in an order the foreign keys accept.
FLOOR_TABLES = ("entries", "items", "operations", "problems")


def fill(report: Report, folder: Path, entries: int, seed: int = 7) -> Workspace:
    """Fill a new workspace through the journal, then time raw executemany of the very same rows."""
    department = sample.DEPARTMENTS[1]
    ws = Workspace.create(folder / "bench", department.code, department.name)
    generated = sample.generate(department, entries, seed=seed)
    generation = writing = 0.0
    done = 0
    while done < entries:
        with stopwatch() as gen_time:
            batch = [next(generated) for _ in range(min(BATCH, entries - done))]
        with stopwatch() as write_time:
            journal.apply(ws, [journal.CreateEntry(e) for e in batch], reason="bench")
        generation += gen_time()
        writing += write_time()
        done += len(batch)
    floor = _floor(ws, folder / "floor", department)
    items = query.summary(ws).items
    report.add("fill", "entries", entries, "rows")
    report.add("fill", "data items", items, "rows")
    report.add("fill", "generate sample (not in fill)", generation, "s")
    report.add("fill", "fill through the journal", writing, "s")
    report.add("fill", "floor: raw sqlite3 executemany", floor, "s")
    report.add("fill", "ratio to floor", writing / floor, "x", 2.0)
    report.add("fill", "entries per second", entries / writing, "1/s")
    return ws


def _floor(ws: Workspace, folder: Path, department: sample.Department) -> float:
    """Seconds for sqlite3 executemany of exactly the rows the journal wrote (index rows included)."""
    source = sqlite3.connect(ws.db_path)
    rows = {t: source.execute(f"SELECT * FROM {t}").fetchall() for t in FLOOR_TABLES}
    index = source.execute("SELECT rowid, text FROM search_tri").fetchall()
    source.close()
    tokens = [(pk, search.short_tokens(doc)) for pk, doc in index]
    Workspace.create(folder, department.code, department.name).close()
    target = sqlite3.connect(folder / DB_FILE, isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=NORMAL")
    target.execute("PRAGMA foreign_keys=ON")
    with stopwatch() as elapsed:
        target.execute("BEGIN")
        for table, values in rows.items():
            if values:
                marks = ",".join("?" * len(values[0]))
                target.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        target.executemany("INSERT INTO search_tri(rowid, text) VALUES (?, ?)", index)
        target.executemany("INSERT INTO search_bi(rowid, tokens) VALUES (?, ?)", tokens)
        target.execute("COMMIT")
    target.close()
    return elapsed()


def searching(report: Report, ws: Workspace, repeat: int = 20) -> None:
    for name, queries, limit in (("3+ characters", LONG_QUERIES, 20.0), ("1-2 characters", SHORT_QUERIES, 60.0)):
        samples: list[float] = []
        hits = []
        for text in queries:
            query.search_entries(ws, text)  # warm the page cache as a steward's second search would
            samples.extend(timed(lambda t=text: query.search_entries(ws, t), repeat))
            hits.append(query.search_entries(ws, text).total)
        report.add("search " + name, "p50", percentile(samples, 50), "ms")
        report.add("search " + name, "p95", percentile(samples, 95), "ms", limit)
        report.add("search " + name, "mean matches per query", sum(hits) / len(hits), "rows")
    # With a filter the page cannot come straight off the index: informative, no target in the issue.
    flt = query.EntryFilter(sharing_types=frozenset({"conditional"}))
    samples = []
    for text in LONG_QUERIES[:5] + SHORT_QUERIES[:5]:
        samples.extend(timed(lambda t=text: query.search_entries(ws, t, flt), 5))
    report.add("search + sharing filter", "p50", percentile(samples, 50), "ms")
    report.add("search + sharing filter", "p95", percentile(samples, 95), "ms")


def load_entry(report: Report, ws: Workspace, repeat: int = 500) -> None:
    with ws.reading() as conn:
        ids = [row[0] for row in conn.connection.driver_connection.execute("SELECT id FROM entries")]
    rng = random.Random(3)
    chosen = [rng.choice(ids) for _ in range(repeat)]
    samples = [timed(lambda i=i: query.get_entry(ws, i), 1)[0] for i in chosen]
    report.add("load one entry + items", "p50", percentile(samples, 50), "ms")
    report.add("load one entry + items", "p95", percentile(samples, 95), "ms", 5.0)


def validate_all(report: Report, ws: Workspace) -> None:
    with stopwatch() as elapsed, ws.writing() as conn:
        store.revalidate_all(conn, ws.department_code)
    report.add("validate whole workspace", "seconds", elapsed(), "s", 10.0)


def run(report: Report, folder: Path, entries: int) -> Workspace:
    print(f"Core scenarios at {entries:,} entries", flush=True)
    ws = fill(report, folder, entries)
    searching(report, ws)
    load_entry(report, ws)
    validate_all(report, ws)
    preview_pending(report, folder)
    return ws


PREVIEW_ENTRIES = 10_000


def preview_pending(report: Report, folder: Path, entries: int = PREVIEW_ENTRIES, repeat: int = 3) -> None:
    """The publish preview (issue 17) of 10,000 synced entries, each with a pending change the public may see."""
    from tests.helpers import accept_pending  # the real accept path of a sync, without the network

    department = sample.DEPARTMENTS[1]
    ws = Workspace.create(folder / "preview", department.code, department.name)
    generated = list(sample.generate(department, entries * 5 // 4, seed=17))
    for start in range(0, len(generated), BATCH):
        journal.apply(ws, [journal.CreateEntry(e) for e in generated[start : start + BATCH]], reason="bench")
    accept_pending(ws)  # all but the sample's entries with rule errors, which a sync holds back
    with ws.reading() as conn:
        synced = {row[0] for row in conn.exec_driver_sql("SELECT id FROM entries WHERE dirty = 0")}
    # A mix of what stewards do, each a change to a different entry: open one, close one, rename one, retire one.
    changes: list[journal.Change] = []
    for n, entry in enumerate(e for e in generated if e.id in synced):
        if n == entries:
            break
        kind = n % 4
        if kind == 0 and entry.open_type != "unconditional":
            changes.append(journal.SetField(entry.id, "open_type", "unconditional"))
        elif kind == 1 and entry.open_type != "not_open":
            changes.append(journal.SetField(entry.id, "open_type", "not_open"))
        elif kind == 3:
            changes.append(journal.SetField(entry.id, "status", "retired"))
        else:
            changes.append(journal.SetField(entry.id, "name", entry.name + "（修订）"))
    journal.apply(ws, changes, reason="bench")
    samples = timed(lambda: publish_preview.preview(ws), repeat)
    cpu = time.process_time()
    result = publish_preview.preview(ws)
    cpu = (time.process_time() - cpu) * 1000  # the machine may be shared: what the preview itself costs
    scenario = f"publish preview ({result.pending:,} pending entries)"
    report.add(scenario, "appearing", result.appearing, "rows")
    report.add(scenario, "withdrawn", result.withdrawn, "rows")
    report.add(scenario, "changed", result.changed, "rows")
    report.add(scenario, "held (not sent)", result.held, "rows")
    report.add(scenario, "CPU time", cpu, "ms")
    report.add(scenario, "p50", percentile(samples, 50), "ms")
    report.add(scenario, "max", max(samples), "ms", 3000.0)  # off the GUI thread, with progress
    ws.close()
