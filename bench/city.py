"""A city's exchange for the console's and the data authority's figures: 100 departments, 100,000 entries.

Each department gets a steward key and pushes its generated entries as one signed changeset through
the ledger (in this process, as the sync scenarios fill their exchange), so the `entries` rows and their
counting columns are the ones pushes write. Built once per folder and shared by the groups that use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from exchange import ledger, server_key
from exchange.db import make_engine, migrate
from steward import sample
from steward.catalogue import rules
from steward.catalogue.model import Entry
from steward.sync import changeset
from steward.sync.keys import SigningKey
from steward.sync.protocol import utc_now

DEPARTMENTS = 100
ENTRIES = 100_000
SEQUENCES = 5_000  # each department's entries are numbered in a range this long (codes hold 6 digits)


@dataclass(frozen=True)
class City:
    db_url: str
    key_file: Path  # the exchange's key, which a server started on db_url must use
    departments: list[sample.Department]
    entries: list[Entry]  # a sample of each department's entries, for the scenarios to name


_built: dict[Path, City] = {}


def departments(count: int) -> list[sample.Department]:
    """The sample's departments first, then made-up ones with valid codes (11 = a government organ)."""
    known = list(sample.DEPARTMENTS[:count])
    for n in range(len(known), count):
        code = sample.make_uscc("310000", f"B{n:08d}")
        known.append(sample.department_for(code, f"市第{n + 1}委办局"))
    return known


def _clean(department: sample.Department, count: int, n: int) -> list[Entry]:
    """Generated entries of the `n`th department that break no rule, one per code (the exchange refuses the
    others); numbered in a range of their own, as codes end in a sequence number that must not meet another's."""
    ctx = rules.Context(department_code=department.code)
    chosen: dict[str, Entry] = {}
    for entry in sample.generate(department, count * 2, seed=n, first_sequence=n * SEQUENCES + 1):
        if entry.code not in chosen and not rules.has_errors(rules.check(entry, ctx)):
            chosen[entry.code] = entry
            if len(chosen) == count:
                break
    return list(chosen.values())


def build(folder: Path, department_count: int = DEPARTMENTS, entry_count: int = ENTRIES) -> City:
    if folder in _built:
        return _built[folder]
    started = time.perf_counter()
    db_url = f"sqlite:///{folder / 'city-exchange.sqlite'}"
    engine = make_engine(db_url)
    migrate(engine)
    key_file = folder / "city-exchange-key.json"
    server = server_key.load_or_create(key_file)
    exchange = ledger.exchange_id(engine)
    chosen = departments(department_count)
    named: list[Entry] = []
    for n, department in enumerate(chosen):
        ledger.add_department(engine, department.code, department.name)
        key = SigningKey.generate()
        ledger.enroll(engine, department.code, key.public, f"steward-{n}")
        entries = _clean(department, entry_count // department_count, n)
        ledger.push(engine, server, exchange, changeset.new_changeset(
            department.code, key, 1, utc_now(), "bench", [changeset.op_create(e) for e in entries]),
            ledger.lookup_key(engine, key.key_id))
        named.extend(entries[:20])
    engine.dispose()
    print(f"  (city exchange: {department_count} departments, {entry_count:,} entries pushed in "
          f"{time.perf_counter() - started:.0f} s)", flush=True)
    _built[folder] = City(db_url, key_file, chosen, named)
    return _built[folder]
