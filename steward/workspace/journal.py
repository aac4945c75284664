"""The change journal: the one path by which entries change, and what it recorded.

Every change (from the command line, the window, an import, an undo) is a list of `Change`
values given to `apply`, which, in one transaction, updates the entries, records one
`Operation` per field changed (old value, new value, the entry's base version, time, reason),
refreshes the search index and the stored problems, and marks the entries unsynced. Pending
changes, undo, history and sync are all read from these operations.

Making an entry or a data item more restrictive is a decision that must be explained: such a change
needs a reason (see `tightening`), and an undo or redo records the reason of what it takes back.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.errors import StewardError
from steward.catalogue.messages import render
from steward.catalogue.model import (
    ENTRY_FIELD,
    ITEM_FIELD,
    DataItem,
    Entry,
    Kind,
    item_order,
    new_id,
)
from steward.catalogue.operations import OpKind
from steward.catalogue.rules import RESTRICTIVE_FIELDS, more_open, tightens
from steward.sync import shadow
from steward.workspace import search, store
from steward.workspace.workspace import Workspace, now


class OpState(StrEnum):
    PENDING = "pending"  # made here, not yet accepted by the exchange
    SYNCED = "synced"  # on the exchange: sent by us and accepted (or brought from there: origin remote)
    # Made here, and settled by another steward's changeset without ours (settled_by, settled_value):
    MERGED = "merged"  # the exchange had the same value
    SUPERSEDED = "superseded"  # the exchange kept another value: the other side's won, or was taken


# The changes a caller may ask for --------------------------------------------------------


@dataclass(frozen=True)
class CreateEntry:
    entry: Entry

    @property
    def entry_id(self) -> str:
        return self.entry.id


@dataclass(frozen=True)
class SetField:
    entry_id: str
    field: str
    value: Any


@dataclass(frozen=True)
class AddItem:
    entry_id: str
    item: DataItem


@dataclass(frozen=True)
class SetItemField:
    entry_id: str
    item_id: str
    field: str
    value: Any


@dataclass(frozen=True)
class RemoveItem:
    entry_id: str
    item_id: str


@dataclass(frozen=True)
class EraseEntry:
    """Delete an entry outright: only for one the exchange has never seen (others are retired)."""

    entry_id: str


Change = CreateEntry | SetField | AddItem | SetItemField | RemoveItem | EraseEntry


def taking_back(kind: OpKind, entry_id: str, field: str | None, item_id: str | None, old: Any) -> Change:
    """The change that undoes an operation of `kind` whose previous value was `old`."""
    match kind:
        case OpKind.CREATE:
            return EraseEntry(entry_id)
        case OpKind.ERASE:
            return CreateEntry(Entry.from_dict(old))
        case OpKind.SET:
            return SetField(entry_id, field or "", old)
        case OpKind.ITEM_SET:
            return SetItemField(entry_id, item_id or "", field or "", old)
        case OpKind.ITEM_ADD:
            return RemoveItem(entry_id, item_id or "")
        case OpKind.ITEM_REMOVE:
            return AddItem(entry_id, DataItem.from_dict(old))
    raise ValueError(kind)


# What the journal records -----------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Where remote changes come from: a changeset the exchange accepted from another steward."""

    changeset_id: str
    key_id: str
    department_code: str
    author: str
    created_at: str
    verified: bool


@dataclass(frozen=True)
class Operation:
    id: str
    group_id: str
    entry_id: str
    kind: OpKind
    field: str | None
    item_id: str | None
    old: Any
    new: Any
    base_version: int
    revision: int
    created_at: str
    author: str
    reason: str | None = None
    state: OpState = OpState.PENDING
    undoes: str | None = None
    seq: int | None = None
    # Remote operations: the changeset that brought them, its key and department, and whether it verified.
    origin: str = "local"
    changeset_id: str | None = None
    key_id: str | None = None
    department_code: str | None = None
    verified: bool | None = None
    # Merged or superseded: the changeset that settled this local operation, and the value the exchange has.
    settled_by: str | None = None
    settled_value: Any = None

    def inverse(self) -> Change:
        """The change that takes this operation back."""
        return taking_back(self.kind, self.entry_id, self.field, self.item_id, self.old)


@dataclass
class ApplyResult:
    group_id: str
    operations: list[Operation]
    entry_ids: set[str] = field(default_factory=set)  # entries created, changed or erased

    def inverse(self) -> list[Change]:
        return [op.inverse() for op in reversed(self.operations)]


# Applying ---------------------------------------------------------------------------------

_NOT_SETTABLE = {"id", "version", "revision"}


def _check_value(spec_kind: Kind, key: str, value: Any) -> None:
    """Refuse values of the wrong Python type: those are programming errors, not user input."""
    if spec_kind is Kind.CODES:
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif spec_kind is Kind.INT:
        ok = value is None or (isinstance(value, int) and not isinstance(value, bool))
    elif spec_kind is Kind.VOCAB:
        ok = value is None or isinstance(value, str)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise TypeError(f"{key}: {value!r} has the wrong type for a {spec_kind} field")


class _Batch:
    """The entries one `apply` works on, and the operations it records."""

    def __init__(self, conn: Connection, changes: Sequence[Change], meta: dict[str, Any]) -> None:
        self.conn = conn
        self.meta = meta
        wanted = {c.entry_id for c in changes if not isinstance(c, CreateEntry)}
        loaded = store.load_entries(conn, ids=wanted)
        self.pk = {e.id: pk for pk, e in loaded.items()}
        self.before = {e.id: e for e in loaded.values()}
        self.working = {e.id: e.copy() for e in loaded.values()}
        self.taken = set(store.pks_for_ids(conn, [c.entry.id for c in changes if isinstance(c, CreateEntry)]))
        self.created: dict[str, Entry] = {}
        self.erased: dict[str, Entry] = {}
        self.operations: list[Operation] = []
        self.revision: dict[str, int] = {}
        # Another department's entries arrive from the exchange and are read-only here.
        own = meta["department_code"]
        self.foreign = {} if meta["origin"] is not None else {
            entry_id: department for entry_id, department in shadow.departments(conn, wanted).items()
            if department != own
        }

    def entry(self, entry_id: str) -> Entry:
        entry = self.working.get(entry_id)
        if entry is None:
            raise StewardError("entry.not_found", key=entry_id)
        if entry_id in self.foreign:
            raise StewardError("entry.read_only", key=entry.code or entry_id, department=self.foreign[entry_id])
        return entry

    def record(
        self, entry: Entry, kind: OpKind, old: Any, new: Any, fld: str | None = None, item_id: str | None = None
    ) -> None:
        if entry.id not in self.revision:
            self.revision[entry.id] = entry.revision + 1
        self.operations.append(
            Operation(
                id=new_id(),
                group_id=self.meta["group_id"],
                entry_id=entry.id,
                kind=kind,
                field=fld,
                item_id=item_id,
                old=old,
                new=new,
                base_version=entry.version,
                revision=self.revision[entry.id],
                created_at=self.meta["created_at"],
                author=self.meta["author"],
                reason=self.meta["reason"],
                undoes=self.meta["undoes"],
                **self.meta["provenance"],
            )
        )

    def run(self, change: Change) -> None:
        match change:
            case CreateEntry(entry=new_entry):
                self._create(new_entry)
            case SetField(entry_id=entry_id, field=key, value=value):
                spec = ENTRY_FIELD.get(key)
                if spec is None or key in _NOT_SETTABLE:
                    raise KeyError(f"not a settable entry field: {key}")
                _check_value(spec.kind, key, value)
                entry = self.entry(entry_id)
                old = getattr(entry, key)
                if old != value:
                    setattr(entry, key, list(value) if isinstance(value, list) else value)
                    self.record(entry, OpKind.SET, old, value, key)
            case SetItemField(entry_id=entry_id, item_id=item_id, field=key, value=value):
                spec = ITEM_FIELD.get(key)
                if spec is None:
                    raise KeyError(f"not a data item field: {key}")
                _check_value(spec.kind, key, value)
                entry = self.entry(entry_id)
                item = entry.item(item_id)
                if item is None:
                    raise KeyError(f"entry {entry_id} has no data item {item_id}")
                old = getattr(item, key)
                if old != value:
                    setattr(item, key, value)
                    entry.items.sort(key=item_order)
                    self.record(entry, OpKind.ITEM_SET, old, value, key, item_id)
            case AddItem(entry_id=entry_id, item=item):
                entry = self.entry(entry_id)
                if entry.item(item.id) is not None:
                    raise KeyError(f"entry {entry_id} already has data item {item.id}")
                if not item.position:
                    item = replace(item, position=max((i.position for i in entry.items), default=0) + 1)
                entry.items.append(replace(item))
                entry.items.sort(key=item_order)
                self.record(entry, OpKind.ITEM_ADD, None, item.to_dict(), item_id=item.id)
            case RemoveItem(entry_id=entry_id, item_id=item_id):
                entry = self.entry(entry_id)
                item = entry.item(item_id)
                if item is None:
                    raise KeyError(f"entry {entry_id} has no data item {item_id}")
                entry.items.remove(item)
                self.record(entry, OpKind.ITEM_REMOVE, item.to_dict(), None, item_id=item_id)
            case EraseEntry(entry_id=entry_id):
                self._erase(self.entry(entry_id))

    def _create(self, new_entry: Entry) -> None:
        if new_entry.id in self.working or new_entry.id in self.taken:
            raise KeyError(f"entry {new_entry.id} exists already")
        # The journal takes the entry over rather than copying it: bulk imports create many.
        entry = new_entry
        entry.version = entry.revision = 0
        for position, item in enumerate(entry.items, start=1):
            item.position = item.position or position
        self.working[entry.id] = entry
        self.created[entry.id] = entry
        # Another steward's entry is recorded by name: its whole content is in the exchange's copy, and a
        # first sync would otherwise write every entry of the catalogue twice.
        created = {"code": entry.code, "name": entry.name} if self.meta["origin"] else snapshot(entry)
        self.record(entry, OpKind.CREATE, None, created)

    def _erase(self, entry: Entry) -> None:
        if entry.version > 0 or shadow.exchange_may_have(self.conn, entry.id):
            raise StewardError("entry.erase_synced", key=entry.code or entry.id)
        del self.working[entry.id]
        if self.created.pop(entry.id, None) is None:
            self.erased[entry.id] = entry
        self.record(entry, OpKind.ERASE, snapshot(entry), None)


def snapshot(entry: Entry) -> dict[str, Any]:
    """An entry's content as the journal records a creation or an erasure (no version counters)."""
    data = entry.to_dict()
    del data["version"], data["revision"]
    return data


def default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name on some locked-down systems
        return ""


class Cancelled(Exception):
    """Raised by a progress callback to abandon an apply; nothing is written."""


Progress = Callable[[int, int], None]


def apply(
    workspace: Workspace,
    changes: Sequence[Change],
    *,
    reason: str | None = None,
    author: str | None = None,
    undoes: str | None = None,
    progress: Progress | None = None,
    lang: str | None = None,
) -> ApplyResult:
    """Make `changes` and record them, all in one transaction; nothing is written if any fails.

    `progress(done, total)` is called now and then on long lists; it may raise Cancelled.
    A change that makes an entry more restrictive needs a `reason` that is not blank (see `tightening`);
    an undo or redo (`undoes`) without one carries the reason of what it takes back, in `lang`.
    """
    with workspace.writing() as conn:
        return apply_on(conn, workspace.department_code, changes, reason=reason, author=author, undoes=undoes,
                        progress=progress, lang=lang)


def apply_on(
    conn: Connection,
    department_code: str,
    changes: Sequence[Change],
    *,
    reason: str | None = None,
    author: str | None = None,
    undoes: str | None = None,
    progress: Progress | None = None,
    origin: Origin | None = None,
    lang: str | None = None,
) -> ApplyResult:
    """`apply` inside a transaction the caller holds; with `origin`, the changes are another steward's, synced."""
    provenance: dict[str, Any] = {}
    if origin is not None:
        provenance = {"origin": "remote", "state": OpState.SYNCED, "changeset_id": origin.changeset_id,
                      "key_id": origin.key_id, "department_code": origin.department_code,
                      "verified": origin.verified}
    reason = (reason or "").strip() or None  # a blank reason explains nothing
    fallback: str | None = None
    if reason is None and undoes is not None:
        reason, fallback = _undo_reasons(conn, undoes, lang)
    meta = {
        "group_id": new_id(),
        "created_at": origin.created_at if origin else now(),
        "author": origin.author if origin else (author if author is not None else default_author()),
        "reason": reason,
        "undoes": undoes,
        "origin": origin,
        "department_code": department_code,
        "provenance": provenance,
    }
    batch = _Batch(conn, changes, meta)
    for n, change in enumerate(changes):
        if progress and n % 500 == 0:
            progress(n, len(changes))
        batch.run(change)
    if reason is None and origin is None:  # another steward's changes were explained where they were made
        found = _tightenings(conn, batch)
        if found and fallback is None:
            code = "reason.required" if found[0].item_id is None else "reason.required_item"
            raise StewardError(code, field=found[0].field, of_item=found[0].item_id is not None)
        if found:
            batch.operations = [replace(op, reason=fallback) for op in batch.operations]
    changed = _write(conn, batch, department_code, now())
    _write_operations(conn, batch.operations)
    # A changed entry may be back where the exchange has it (an undo, a revert, a change and back).
    shadow.refresh_dirty(conn, changed)
    if progress:
        progress(len(changes), len(changes))
    touched = set(batch.created) | set(batch.erased) | {op.entry_id for op in batch.operations}
    return ApplyResult(meta["group_id"], batch.operations, touched)


def _undo_reasons(conn: Connection, undoes: str, lang: str | None) -> tuple[str | None, str]:
    """The reason an undo (or redo) of group `undoes` records, and the one it falls back on should it tighten.

    A redo (the undo of an undo) is the original decision again and carries its reason; an undo says
    what it takes back ("撤销：<reason>"). An undo of a change made without a reason (a loosening) may
    itself tighten: it goes back to a restriction decided earlier, whose reason the history holds, so
    it records that it is an undo rather than stopping Ctrl+Z to ask.
    """
    db = store.dbapi(conn)
    row = db.execute("SELECT reason, undoes FROM operations WHERE group_id = ? ORDER BY seq LIMIT 1",
                     (undoes,)).fetchone()
    fallback = render("undo.plain", lang=lang)
    if row is None:
        return None, fallback
    undone_reason, undone_undoes = row
    if undone_undoes is not None:  # taking back an undo: a redo
        original = db.execute("SELECT reason FROM operations WHERE group_id = ? AND reason IS NOT NULL LIMIT 1",
                              (undone_undoes,)).fetchone()
        return (original[0] if original else None), fallback
    if undone_reason:
        return render("undo.reason", {"reason": undone_reason}, lang), fallback
    return None, fallback


@dataclass(frozen=True)
class Tightening:
    """A change that makes an entry, or one of its data items, more restrictive: it needs a reason."""

    entry_id: str
    item_id: str | None
    field: str
    before: str | None  # what it is judged against: the more open of its value and the exchange's
    after: str | None  # a data item's blank value counts as the entry's, here and in `before`


def tightening(workspace: Workspace, changes: Sequence[Change]) -> list[Tightening]:
    """Which of `changes` would make an entry more restrictive, so `apply` would want a reason; writes nothing."""
    with workspace.reading() as conn:
        meta = {"group_id": "", "created_at": "", "author": "", "reason": None, "undoes": None, "origin": None,
                "department_code": workspace.department_code, "provenance": {}}
        batch = _Batch(conn, changes, meta)
        for change in changes:
            batch.run(change)
        return _tightenings(conn, batch)


def _tightenings(conn: Connection, batch: _Batch) -> list[Tightening]:
    """The batch's moves to a stricter sharing or open attribute than the entry had or the exchange has."""
    candidates = [op for op in batch.operations if op.kind in (OpKind.SET, OpKind.ITEM_SET)
                  and op.field in RESTRICTIVE_FIELDS and op.entry_id in batch.before]
    if not candidates:
        return []
    # Only entries that change an attribute pay for reading the exchange's copy.
    synced = {i: s.entry() for i, s in shadow.load(conn, {op.entry_id for op in candidates}, batch.before).items()}
    found: list[Tightening] = []
    for op in candidates:
        key = op.field or ""
        before, server = batch.before[op.entry_id], synced.get(op.entry_id)
        after = batch.working.get(op.entry_id, before)
        if op.item_id is None:
            old, theirs, new = more_open(key, op.old, getattr(before, key)), _value(server, key), op.new
        else:
            old = more_open(key, op.old or getattr(before, key), _item_value(before, op.item_id, key))
            theirs = _item_value(server, op.item_id, key)
            new = op.new or getattr(after, key)
        if tightens(key, old, new, theirs):
            found.append(Tightening(op.entry_id, op.item_id, key, more_open(key, old, theirs), new))
    return found


def _value(entry: Entry | None, key: str) -> str | None:
    return getattr(entry, key) if entry is not None else None


def _item_value(entry: Entry | None, item_id: str, key: str) -> str | None:
    """A data item's attribute as it applies: its own, or the entry's where it has none."""
    item = entry.item(item_id) if entry is not None else None
    return (getattr(item, key) or getattr(entry, key)) if item is not None else None


def _write(conn: Connection, batch: _Batch, department_code: str, stamp: str) -> dict[int, Entry]:
    """Store the batch's entries, index and check them; returns the changed (not created) entries by pk."""
    created = list(batch.created.values())
    for entry in created:
        entry.revision = batch.revision[entry.id]
    new_pks = store.insert_entries(conn, created, stamp)
    checked: dict[int, Entry] = dict(zip(new_pks, created, strict=True))
    search.index_rows(conn, [(pk, store.document_of(e)) for pk, e in checked.items()])
    affected_codes = {e.code for e in created}
    changed: dict[int, Entry] = {}
    reindexed: dict[int, Entry] = {}
    shadow.before_change(conn, [batch.before[i] for i in batch.revision if i in batch.before])
    for entry_id, after in batch.working.items():
        before = batch.before.get(entry_id)
        if before is None or entry_id not in batch.revision:
            continue
        pk = batch.pk[entry_id]
        after.revision = batch.revision[entry_id]
        store.update_entry(conn, pk, before, after, stamp, 1)
        changed[pk] = after
        affected_codes.update((before.code, after.code))
        if store.document_of(before) != store.document_of(after):
            reindexed[pk] = after
    store.reindex(conn, reindexed)
    if batch.erased:
        store.delete_entries(conn, [batch.pk[i] for i in batch.erased])
        affected_codes.update(e.code for e in batch.erased.values())
    checked.update(changed)
    # Entries that share a code with a touched one may have gained or lost a duplicate.
    affected_codes.discard("")
    others = store.pks_with_codes(conn, affected_codes) - set(checked)
    checked.update(store.load_entries(conn, pks=others))
    ctx = store.rule_context(conn, department_code, store.duplicate_codes(conn, affected_codes))
    store.store_problems(conn, checked, ctx)
    return changed


def _write_operations(conn: Connection, operations: list[Operation]) -> None:
    db = store.dbapi(conn)
    db.executemany(
        "INSERT INTO operations(id, group_id, entry_id, item_id, kind, field, old_value, new_value, base_version, "
        "revision, created_at, author, reason, state, undoes, origin, changeset_id, key_id, department_code, "
        "verified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                op.id,
                op.group_id,
                op.entry_id,
                op.item_id,
                str(op.kind),
                op.field,
                _dump(op.old),
                _dump(op.new),
                op.base_version,
                op.revision,
                op.created_at,
                op.author,
                op.reason,
                str(op.state),
                op.undoes,
                op.origin,
                op.changeset_id,
                op.key_id,
                op.department_code,
                None if op.verified is None else int(op.verified),
            )
            for op in operations
        ],
    )


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


# Reading the journal ----------------------------------------------------------------------

_OP_COLUMNS = (
    "seq, id, group_id, entry_id, kind, field, item_id, old_value, new_value, base_version, revision, "
    "created_at, author, reason, state, undoes, origin, changeset_id, key_id, department_code, verified, "
    "settled_by, settled_value"
)


def _operation(row: Sequence[Any]) -> Operation:
    seq, op_id, group_id, entry_id, kind, fld, item_id, old, new, base, rev, created, author, reason, state, *rest = row
    return Operation(
        id=op_id,
        group_id=group_id,
        entry_id=entry_id,
        kind=OpKind(kind),
        field=fld,
        item_id=item_id,
        old=_load(old),
        new=_load(new),
        base_version=base,
        revision=rev,
        created_at=created,
        author=author,
        reason=reason,
        state=OpState(state),
        undoes=rest[0],
        seq=seq,
        origin=rest[1],
        changeset_id=rest[2],
        key_id=rest[3],
        department_code=rest[4],
        verified=None if rest[5] is None else bool(rest[5]),
        settled_by=rest[6],
        settled_value=_load(rest[7]),
    )


def history(workspace: Workspace, entry_id: str) -> list[Operation]:
    """Every recorded operation on an entry, oldest first."""
    with workspace.reading() as conn:
        rows = store.dbapi(conn).execute(
            f"SELECT {_OP_COLUMNS} FROM operations WHERE entry_id = ? ORDER BY seq", (entry_id,)
        )
        return [_operation(r) for r in rows]


def group(workspace: Workspace, group_id: str) -> list[Operation]:
    with workspace.reading() as conn:
        rows = store.dbapi(conn).execute(
            f"SELECT {_OP_COLUMNS} FROM operations WHERE group_id = ? ORDER BY seq", (group_id,)
        )
        return [_operation(r) for r in rows]


# Settling local operations without a changeset of ours ------------------------------------


@dataclass(frozen=True)
class Settlement:
    """A pending local operation another steward's changeset settled (see OpState)."""

    operation_id: str
    state: OpState  # MERGED or SUPERSEDED
    changeset_id: str
    value: Any  # what the exchange has where the operation wrote


def pending_local(conn: Connection, entry_ids: Sequence[str]) -> list[Operation]:
    """The local operations on these entries that the exchange has not settled, oldest first."""
    db = store.dbapi(conn)
    found: list[Operation] = []
    for chunk in store.chunked(list(entry_ids)):
        found.extend(_operation(r) for r in db.execute(
            f"SELECT {_OP_COLUMNS} FROM operations WHERE entry_id IN ({store.placeholders(len(chunk))}) "
            "AND state = 'pending' AND origin = 'local' ORDER BY seq", chunk))
    return found


def settle(conn: Connection, settlements: Sequence[Settlement]) -> None:
    store.dbapi(conn).executemany(
        "UPDATE operations SET state = ?, settled_by = ?, settled_value = ? WHERE id = ? AND state = 'pending'",
        [(str(s.state), s.changeset_id, _dump(s.value), s.operation_id) for s in settlements],
    )
