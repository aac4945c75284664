"""The console's overview and catalogue search read indexes, never the entries' and changesets' rows.

Those rows hold each entry's document and each changeset's body before the columns the console counts
by, so a query that reads the rows walks every document's overflow pages: on 100,000 entries the
overview took ~400 ms and a search ~130 ms (bench/console.py). The check is SQLite's query plan for
every statement the figures run (SQLite is what a city's exchange is benchmarked on).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event

from exchange.console import figures
from exchange.db import make_engine, migrate, reading


def _plans(tmp_path, work) -> list[tuple[str, str]]:
    """(statement, its plan) for each statement `work(conn)` runs, planned with the values it ran with."""
    engine = make_engine(f"sqlite:///{tmp_path / 'exchange.sqlite'}")
    migrate(engine)
    ran: list[tuple[str, object]] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _conn, _cursor, statement, parameters, _context, _many: ran.append((statement, parameters)))
    with reading(engine) as conn:
        work(conn)
    plans = []
    with engine.connect() as conn:
        for statement, parameters in ran:
            if not statement.lstrip().upper().startswith("SELECT"):  # BEGIN: the read transaction itself
                continue
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            plans.append((statement, " / ".join(row[-1] for row in rows)))
    engine.dispose()
    return plans


def _reads_rows(plan: str, table: str, matching: str = "") -> bool:
    """Whether the plan scans `table`'s rows, rather than an index that holds what it needs (or, with
    `matching`, an index that holds what the condition tests, so only the rows it matches are read)."""
    return any(step.startswith(f"SCAN {table}") and "COVERING INDEX" not in step
               and not (matching and f"USING INDEX {matching}" in step) for step in plan.split(" / "))


def test_the_overview_counts_from_indexes(tmp_path):
    plans = _plans(tmp_path, lambda conn: figures.overview(conn, datetime.now(UTC)))
    for statement, plan in plans:
        assert not _reads_rows(plan, "entries") and not _reads_rows(plan, "changesets"), (statement, plan)


def test_the_catalogue_search_counts_and_pages_from_an_index(tmp_path):
    plans = _plans(tmp_path, lambda conn: figures.search(conn, "登记", "", 0))
    assert plans
    for statement, plan in plans:
        assert not _reads_rows(plan, "e", matching="ix_entries_search"), (statement, plan)
