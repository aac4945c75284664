"""Local changes another steward's changeset settles: nothing of them is left to send, and the history says why.

Where a remote change meets local operations on the same entry field (or data item) and the
entry then holds what the exchange holds there, those operations will never be sent: they are
`merged` when they wrote the value the exchange has (both stewards wrote it), `superseded` when
the exchange kept another (the other side's value, merged in or taken to resolve a conflict).
Each records the changeset that settled it and the exchange's value. Operations on a field that
still differs from the exchange stay pending: a later changeset of ours sends them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.model import ENTRY_FIELDS, Entry
from steward.catalogue.operations import OpKind
from steward.workspace import journal, store
from steward.workspace.journal import Operation, OpState, Settlement

# Where an operation writes: (None, an entry field key), or (an item id, None) for all of a data item: an item's
# changes are settled together, once the whole item is as the exchange has it.
Unit = tuple[str | None, str | None]


def unit_of(op: Operation) -> Unit | None:
    if op.kind is OpKind.SET:
        return None, op.field
    if op.kind in (OpKind.ITEM_SET, OpKind.ITEM_ADD, OpKind.ITEM_REMOVE):
        return op.item_id, None
    return None  # create and erase: only a changeset of ours settles them


def value_at(entry: Entry, unit: Unit) -> Any:
    item_id, field = unit
    if item_id is None:
        return getattr(entry, field or "")
    item = entry.item(item_id)
    return None if item is None else item.to_dict()


def changed_units(before: Entry, after: Entry) -> set[Unit]:
    """Where a changeset changed an entry: the fields, and the data items, that differ."""
    units: set[Unit] = {(None, spec.key) for spec in ENTRY_FIELDS
                        if getattr(before, spec.key) != getattr(after, spec.key)}
    for item_id in {item.id for item in (*before.items, *after.items)}:
        if value_at(before, (item_id, None)) != value_at(after, (item_id, None)):
            units.add((item_id, None))
    return units


def _exchange_value(op: Operation, theirs: Entry) -> Any:
    """What the exchange has where `op` wrote, as `op.new` would hold it."""
    if op.kind is OpKind.SET:
        return getattr(theirs, op.field or "")
    item = theirs.item(op.item_id or "")
    if op.kind is OpKind.ITEM_SET:
        return None if item is None else getattr(item, op.field or "")
    return None if item is None else item.to_dict()


def settle(conn: Connection, theirs: dict[str, Entry], units: dict[str, set[Unit]], changeset_id: str) -> None:
    """Settle the pending local operations on `units` of each entry now as `theirs` (the exchange's copy) has it.

    `changeset_id` is the changeset that brought the exchange's values there.
    """
    wanted = [entry_id for entry_id, found in units.items() if found]
    operations = journal.pending_local(conn, wanted) if wanted else []
    if not operations:
        return
    local = {e.id: e for e in store.load_entries(conn, ids={op.entry_id for op in operations}).values()}
    settled = []
    for op in operations:
        unit, entry, there = unit_of(op), local.get(op.entry_id), theirs[op.entry_id]
        if unit is None or unit not in units[op.entry_id] or entry is None:
            continue
        if value_at(entry, unit) != value_at(there, unit):
            continue  # still differs from the exchange: still to send
        value = _exchange_value(op, there)
        settled.append(Settlement(op.id, OpState.MERGED if op.new == value else OpState.SUPERSEDED, changeset_id,
                                  value))
    journal.settle(conn, settled)


def settle_resolved(conn: Connection, theirs: Entry, resolved: Iterable[tuple[Unit, str | None]]) -> None:
    """After conflicts of one entry were resolved: each (unit, the changeset that brought theirs) now taken."""
    by_changeset: dict[str, set[Unit]] = {}
    for unit, changeset_id in resolved:
        if changeset_id is not None:
            by_changeset.setdefault(changeset_id, set()).add(unit)
    for changeset_id, units in by_changeset.items():
        settle(conn, {theirs.id: theirs}, {theirs.id: units}, changeset_id)
