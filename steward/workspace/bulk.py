"""Bulk edits: one field set to one value on many entries, which of them that makes more restrictive, and
which errors it would bring.

The window's bulk edit and any scripted one share these rules: entries already at the value are
left out (so the undo step and the changeset hold only real changes), and the count of entries a
change tightens, judged as the journal judges it (against the exchange's value too, see
`rules.tightens`), decides whether a reason is required.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from steward.catalogue import rules
from steward.catalogue.classification import is_valid_classification
from steward.catalogue.model import ENTRY_FIELD, Entry
from steward.catalogue.rules import Problem, Severity, tightens
from steward.catalogue.vocabulary import vocabulary
from steward.sync import shadow
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


@dataclass(frozen=True)
class SelectionValues:
    """The selected entries' values of the bulk fields, here and on the exchange: {field: {entry_id: value}}."""

    current: dict[str, dict[str, Any]]
    synced: dict[str, dict[str, Any]]  # only entries the exchange has


def selection_values(
    conn: Connection, entry_ids: Sequence[str], fields: Sequence[str] = BULK_FIELDS
) -> SelectionValues:
    """What a bulk edit needs to know of its entries, ids and values only (never whole entries)."""
    return SelectionValues(current_values(conn, entry_ids, fields), shadow.field_values(conn, entry_ids, fields))


def plan(
    entry_ids: Sequence[str], field_key: str, value: Any, current: Mapping[str, Any],
    synced: Mapping[str, Any] | None = None,
) -> BulkPlan:
    """The changes that set `field_key` to `value` on `entry_ids`, given their `current` values ({id: value})
    and, for the entries the exchange has, its `synced` ones."""
    if field_key not in BULK_FIELDS:
        raise KeyError(f"not a bulk-editable field: {field_key}")
    synced = synced or {}
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
        if tightens(field_key, old, value, synced.get(entry_id)):
            tightening += 1
    return BulkPlan(field_key, value, changes, tightening, unchanged, missing)


def bulk_changes(conn: Connection, entry_ids: Sequence[str], field_key: str, value: Any) -> tuple[list[SetField], int]:
    """The SetField changes for a bulk edit (entries already at `value` left out) and how many of them tighten."""
    values = selection_values(conn, entry_ids, (field_key,))
    result = plan(entry_ids, field_key, value, values.current[field_key], values.synced[field_key])
    return result.changes, result.tightening


@dataclass(frozen=True)
class NewError:
    """An error (one rule) a bulk edit would give entries that do not have it now."""

    code: str  # the rule's code
    entries: int  # how many entries would newly break it
    example: Problem  # the first of them, for its message
    alike: bool  # whether every entry's message reads as the example's (none names its own item or code)


_PREVIEW_CHUNK = 2000  # entries checked at a time: a bulk edit of the whole catalogue stays in memory bounds


def new_errors(conn: Connection, department_code: str, bulk: BulkPlan) -> list[NewError]:
    """The errors `bulk` would bring: each rule with the entries that would newly break it (those breaking
    it already are left out). Runs the rules on the would-be entries; writes nothing."""
    ids = [change.entry_id for change in bulk.changes]
    found: dict[str, list[Problem]] = {}
    for chunk in store.chunked(ids, _PREVIEW_CHUNK):
        entries = list(store.load_entries(conn, ids=chunk).values())
        ctx = store.rule_context(conn, department_code, store.duplicate_codes(conn, {e.code for e in entries}))
        for entry in entries:
            had = {(p.code, p.field, p.item_id) for p in _errors(entry, ctx)}
            after = entry.copy()
            setattr(after, bulk.field, bulk.value)
            fresh: dict[str, Problem] = {}
            for problem in _errors(after, ctx):
                if (problem.code, problem.field, problem.item_id) not in had:
                    fresh.setdefault(problem.code, problem)
            for code, problem in fresh.items():
                found.setdefault(code, []).append(problem)
    return [NewError(code, len(problems), problems[0], _alike(problems)) for code, problems in found.items()]


def _alike(problems: list[Problem]) -> bool:
    first = problems[0]
    if all(p.params == first.params for p in problems):
        return True
    return all(p.message(lang) == first.message(lang) for p in problems for lang in ("zh", "en"))


def _errors(entry: Entry, ctx: rules.Context) -> list[Problem]:
    return [p for p in rules.check(entry, ctx) if p.severity is Severity.ERROR]
