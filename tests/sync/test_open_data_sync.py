"""What a steward's sync does to the open catalogue a real exchange serves (SQLite and PostgreSQL).

An entry made 不予开放 in a workspace and synced disappears from every open channel at the next request:
the DCAT pages in each form, and data.json; the open view keeps a tombstone that says when.
"""

from __future__ import annotations

import requests

from exchange.db import reading
from exchange.opendata import view
from steward.workspace import journal
from steward.workspace.journal import CreateEntry, SetField
from tests.helpers import make_clean_entry

CHANNELS = ("/open/catalog.ttl", "/open/catalog.jsonld", "/open/catalog.rdf", "/open/catalog", "/open/data.json")


def _published(url: str, code: str) -> dict[str, bool]:
    return {path: code in requests.get(f"{url}{path}", timeout=60).text for path in CHANNELS}


def test_an_entry_made_not_open_and_synced_disappears_from_every_channel(exchange, make_steward):
    local, engine = exchange
    steward = make_steward()
    ws = steward.ws
    entry = make_clean_entry(provider=ws.department_name, provider_code=ws.department_code)
    journal.apply(ws, [CreateEntry(entry)])
    steward.sync()
    assert _published(local.url, entry.code) == dict.fromkeys(CHANNELS, True)
    before = requests.get(f"{local.url}/open/data.json", timeout=60).headers["ETag"]

    journal.apply(ws, [SetField(entry.id, "open_type", "not_open")], reason="含个人信息，经审查不予开放")
    report = steward.sync()
    assert report.pushed == 1
    assert _published(local.url, entry.code) == dict.fromkeys(CHANNELS, False)
    again = requests.get(f"{local.url}/open/data.json", headers={"If-None-Match": before}, timeout=60)
    assert again.status_code == 200
    with reading(engine) as conn:
        assert view.dataset(conn, entry.id) is None
        assert entry.id in {r.entry_id for r in view.removed_since(conn, 0, 100_000)}
