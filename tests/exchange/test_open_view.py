"""The open view (exchange/opendata/view.py) as a real exchange keeps it while stewards push (SQLite and PostgreSQL).

What the public may see follows every accepted changeset in its transaction: publishable entries are
in, with their 不予开放 data items left out; an entry that stops being publishable leaves a tombstone;
a snapshot read sees the view as it was at its position, whatever was pushed since.
"""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import text

from exchange.db import _alembic_config, make_engine, migrate, reading
from exchange.opendata import view
from steward.catalogue.model import DataItem
from steward.sync import changeset
from tests.exchange.conftest import new_database


def _push(steward, *operations):
    status, receipt = steward.client.push(steward.changeset(list(operations)))
    assert status == 201
    return receipt["position"]


def _items():
    return [DataItem(name="统一社会信用代码", data_type="C", length=18, position=1),
            DataItem(name="法定代表人身份证号", data_type="C", length=18, position=2, open_type="not_open")]


def test_publishable_entries_are_in_the_view_as_published_and_others_are_not(server):
    steward = server.steward()
    shown = steward.entry(items=_items())
    closed = steward.entry(open_type="not_open")
    position = _push(steward, changeset.op_create(shown), changeset.op_create(closed))
    with reading(server.engine) as conn:
        row = view.dataset(conn, shown.id)
        assert view.dataset(conn, closed.id) is None
        assert view.dataset_by_code(conn, shown.code).entry_id == shown.id
        assert view.dataset_by_code(conn, closed.code) is None
        assert view.version(conn) >= position
    assert row is not None
    assert (row.department_code, row.code, row.name, row.position) == (steward.department, shown.code, shown.name,
                                                                         position)
    assert [item.name for item in row.entry().items] == ["统一社会信用代码"]  # the 不予开放 item is left out
    assert "法定代表人身份证号" not in row.document
    shown.items = shown.items[:1]
    assert json.loads(row.document) == changeset.entry_document(shown)


def test_an_entry_made_not_open_leaves_a_tombstone_and_a_snapshot_still_sees_it(server):
    steward = server.steward()
    entry = steward.entry()
    created = _push(steward, changeset.op_create(entry))
    with reading(server.engine) as conn:
        before = view.snapshot(conn)
        counted = view.count(conn)
    closed = _push(steward, changeset.op_set(entry.id, 1, "open_type", "unconditional", "not_open"))
    with reading(server.engine) as conn:
        assert view.dataset(conn, entry.id) is None
        assert view.count(conn) == counted - 1
        assert [(r.entry_id, r.removed_at) for r in view.removed_since(conn, created)] == [(entry.id, closed)]
        assert view.version(conn) >= closed
        # A harvest that started before the change still reads the entry as it was.
        old = [d for d in view.datasets(conn, limit=100_000, as_of=before) if d.entry_id == entry.id]
        assert [d.position for d in old] == [created]
        assert view.count(conn, as_of=before) == counted
    reopened = _push(steward, changeset.op_set(entry.id, 2, "open_type", "not_open", "unconditional"))
    with reading(server.engine) as conn:
        assert view.dataset(conn, entry.id).position == reopened
        assert view.removed_since(conn, created) == []


def test_a_changed_entry_replaces_its_row_and_a_snapshot_keeps_the_old_version(server):
    steward = server.steward()
    entry = steward.entry()
    _push(steward, changeset.op_create(entry))
    with reading(server.engine) as conn:
        before = view.snapshot(conn)
    renamed = _push(steward, changeset.op_set(entry.id, 1, "name", entry.name, "新名称"))
    with reading(server.engine) as conn:
        assert view.dataset(conn, entry.id).name == "新名称"
        assert view.dataset(conn, entry.id).position == renamed
        [old] = [d for d in view.datasets(conn, limit=100_000, as_of=before) if d.entry_id == entry.id]
        assert old.name == entry.name
        now = [d for d in view.datasets(conn, limit=100_000) if d.entry_id == entry.id]
        assert [d.name for d in now] == ["新名称"]


def test_retiring_an_entry_removes_it(server):
    steward = server.steward()
    entry = steward.entry()
    _push(steward, changeset.op_create(entry))
    retired = _push(steward, changeset.op_retire(entry.id, 1))
    with reading(server.engine) as conn:
        assert view.dataset(conn, entry.id) is None
        assert entry.id in {r.entry_id for r in view.removed_since(conn, retired - 1)}


def test_pages_after_a_key_cover_every_dataset_once_and_organizations_count_them(server):
    steward = server.steward()
    entries = [steward.entry() for _ in range(7)]
    _push(steward, *[changeset.op_create(e) for e in entries])
    with reading(server.engine) as conn:
        seen, after = [], ""
        while page := view.datasets(conn, after=after, limit=3):
            seen.extend(d.entry_id for d in page)
            after = page[-1].entry_id
        assert len(seen) == len(set(seen)) == view.count(conn)
        assert {e.id for e in entries} <= set(seen)
        mine = [d.entry_id for d in view.datasets(conn, limit=1000, department=steward.department)]
        assert view.count(conn, department=steward.department) == len(mine)
        counts = {o.code: o.datasets for o in view.organizations(conn)}
        assert counts[steward.department] == len(mine)


def test_the_migration_fills_the_view_from_entries_already_there(tmp_path: Path):
    from tests.helpers import make_clean_entry

    with new_database("sqlite", tmp_path) as url:
        engine = make_engine(url)
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "0005")
        shown, closed = make_clean_entry(items=_items()), make_clean_entry(open_type="not_open")
        with engine.begin() as conn:
            for n, entry in enumerate((shown, closed), start=1):
                conn.execute(text("INSERT INTO entries(id, department_code, code, status, version, document, "
                                  "position, updated_at) VALUES (:i, :d, :c, 'active', 1, :doc, :p, :t)"),
                             {"i": entry.id, "d": entry.provider_code, "c": entry.code, "p": n,
                              "doc": json.dumps(changeset.entry_document(entry), ensure_ascii=False),
                              "t": "2026-01-01T00:00:00.000000Z"})
        migrate(engine)
        with reading(engine) as conn:
            assert [d.entry_id for d in view.datasets(conn)] == [shown.id]
            assert [i.name for i in view.dataset(conn, shown.id).entry().items] == ["统一社会信用代码"]
        engine.dispose()
