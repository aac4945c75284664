"""Bulk edits: one field set to one value on many entries, and which of them that makes more restrictive.

The window's bulk edit and any scripted one share these rules: entries already at the value are
left out (so the undo step and the changeset hold only real changes), and the count of entries a
change tightens decides whether a reason is required (see `rules.tightens`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.classification import is_valid_classification
from steward.catalogue.model import ENTRY_FIELD
from steward.catalogue.rules import tightens
from steward.catalogue.vocabulary import vocabulary
from steward.workspace import store
from steward.workspace.journal import SetField

# The fields a bulk edit may set. Also the whitelist that makes naming them as SQL columns safe.
BULK_FIELDS: tuple[str, ...] = ("sharing_type", "open_type", "update_frequency", "classification")


@dataclass(frozen=True)
class BulkPlan:
    """What setting `field` to `value` would do to a set of entries."""

    field: str
    value: Any
    changes: list[SetField] = field(default_factory=list)
    tightening: int = 0  # entries made more restrictive: a reason is required when > 0
    unchanged: int = 0  # entries already at the value
    missing: int = 0  # ids asked for that no longer exist

    @property
    def needs_reason(self) -> bool:
        return self.tightening > 0


def is_valid_value(field_key: str, value: Any) -> bool:
    """Whether `value` may be set on `field_key` by a bulk edit (a known vocabulary key or a well-formed class)."""
    if field_key not in BULK_FIELDS or not isinstance(value, str):
        return False
    spec = ENTRY_FIELD[field_key]
    if spec.vocabulary:
        return value in vocabulary(spec.vocabulary)
    return is_valid_classification(value)


def current_values(
    conn: Connection, entry_ids: Iterable[str], fields: Sequence[str] = BULK_FIELDS
) -> dict[str, dict[str, Any]]:
    """The current value of each of `fields` for each entry: {field: {entry_id: value}}, one query per 900 ids."""
    unknown = [f for f in fields if f not in BULK_FIELDS]
    if unknown:
        raise KeyError(f"not a bulk-editable field: {unknown}")
    db = store.dbapi(conn)
    result: dict[str, dict[str, Any]] = {f: {} for f in fields}
    columns = ", ".join(fields)
    for chunk in store.chunked(list(dict.fromkeys(entry_ids))):
        sql = f"SELECT id, {columns} FROM entries WHERE id IN ({store.placeholders(len(chunk))})"
        for entry_id, *values in db.execute(sql, chunk):
            for key, value in zip(fields, values, strict=True):
                result[key][entry_id] = value
    return result


def plan(entry_ids: Sequence[str], field_key: str, value: Any, current: Mapping[str, Any]) -> BulkPlan:
    """The changes that set `field_key` to `value` on `entry_ids`, given their `current` values ({id: value})."""
    if field_key not in BULK_FIELDS:
        raise KeyError(f"not a bulk-editable field: {field_key}")
    changes: list[SetField] = []
    tightening = unchanged = missing = 0
    for entry_id in dict.fromkeys(entry_ids):
        if entry_id not in current:
            missing += 1
            continue
        old = current[entry_id]
        if old == value:
            unchanged += 1
            continue
        changes.append(SetField(entry_id, field_key, value))
        if tightens(field_key, old, value):
            tightening += 1
    return BulkPlan(field_key, value, changes, tightening, unchanged, missing)


def bulk_changes(conn: Connection, entry_ids: Sequence[str], field_key: str, value: Any) -> tuple[list[SetField], int]:
    """The SetField changes for a bulk edit (entries already at `value` left out) and how many of them tighten."""
    current = current_values(conn, entry_ids, (field_key,))[field_key]
    result = plan(entry_ids, field_key, value, current)
    return result.changes, result.tightening
