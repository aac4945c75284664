"""What the public catalogue will gain, lose and change when the pending changes land (发布预览).

Each entry with pending changes is seen twice, with the decisions every publisher uses
(`steward.catalogue.publication`): as the exchange has it (the workspace's copy of it, the shadow)
and as it is here. An entry published in neither is no concern of the public; otherwise it

- *appears*: published after, not before (made 无条件开放, say, or new and open);
- is *withdrawn*: published before, not after, because it is closed to the public now or retired;
- *changes*: published both times, with different public fields (an item made 不予开放 leaves the schema);
- is *held*: its change would show, but the sync does not send it, so the public keeps what it sees now
  (`still_public`: the last synced form; or nothing). The sync holds back an entry open here but breaking a
  catalogue rule of severity error, one with an unresolved conflict, and one naming another department as
  its provider (steward.sync.syncer).

A refusal standing from the exchange is not foreseen here (the sync sends the entry again once it is edited),
nor what the pull before the push brings: the sync's summary names what it did not send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection

from steward.catalogue import publication, rules
from steward.catalogue.model import ENTRY_FIELD, ITEM_FIELD, Entry
from steward.catalogue.vocabulary import Status, label
from steward.sync import conflicts, shadow
from steward.workspace import store
from steward.workspace.workspace import Workspace

Progress = Callable[[int, int], None]


class Change(StrEnum):
    APPEARS = "appears"
    WITHDRAWN = "withdrawn"
    CHANGED = "changed"
    HELD = "held"


class Reason(StrEnum):
    """Why an entry is not published after its pending changes."""

    CLOSED = "closed"  # not open to the public (不予开放, open attribute cleared, 不予共享)
    RETIRED = "retired"
    # Held back by the sync:
    RULE_ERRORS = "rule_errors"
    CONFLICT = "conflict"  # an unresolved conflict with another steward's change
    PROVIDER = "provider"  # another department named as the provider


@dataclass(frozen=True)
class FieldChange:
    """One public field changed; with `item_id`, a data item's field, or (field "") the whole item joining or
    leaving the published schema (before None: it joins; after None: it leaves)."""

    field: str
    before: Any
    after: Any
    item_id: str | None = None
    item_name: str = ""


@dataclass(frozen=True)
class PreviewRow:
    entry_id: str
    code: str
    name: str
    change: Change
    reason: Reason | None = None  # for WITHDRAWN (closed, retired) and HELD (rule errors, conflict, provider)
    fields: tuple[FieldChange, ...] = ()  # for CHANGED
    still_public: bool = False  # for HELD: the exchange publishes the last synced form meanwhile


_ORDER = {c: n for n, c in enumerate(Change)}


@dataclass(frozen=True)
class PublishPreview:
    rows: list[PreviewRow] = field(default_factory=list)
    pending: int = 0  # entries with pending changes looked at

    def count(self, change: Change) -> int:
        return sum(1 for row in self.rows if row.change is change)

    @property
    def appearing(self) -> int:
        return self.count(Change.APPEARS)

    @property
    def withdrawn(self) -> int:
        return self.count(Change.WITHDRAWN)

    @property
    def changed(self) -> int:
        return self.count(Change.CHANGED)

    @property
    def held(self) -> int:
        return self.count(Change.HELD)


CHUNK = 2_000  # entries read and compared at a time, so progress is told and a cancel is heard


def preview(workspace: Workspace, progress: Progress | None = None) -> PublishPreview:
    """The publish preview of the workspace's pending changes; `progress(done, total)` may raise to cancel."""
    own = workspace.department_code
    with workspace.reading() as conn:
        ids = [row[0] for row in store.dbapi(conn).execute("SELECT id FROM entries WHERE dirty = 1 ORDER BY code, pk")]
        ctx = store.catalogue_rule_context(conn, own)
        in_conflict = conflicts.entries_in_conflict(conn)
    rows: list[PreviewRow] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        with workspace.reading() as conn:
            rows.extend(_compare_chunk(conn, chunk, ctx, own, in_conflict))
        if progress:
            progress(min(start + CHUNK, len(ids)), len(ids))
    rows.sort(key=lambda r: (_ORDER[r.change], r.code, r.entry_id))
    return PublishPreview(rows, len(ids))


def _compare_chunk(conn: Connection, ids: list[str], ctx: rules.Context, own: str,
                   in_conflict: set[str]) -> list[PreviewRow]:
    entries = {e.id: e for e in store.load_entries(conn, ids=ids).values()}
    servers = shadow.load(conn, ids, entries)
    found = []
    for entry_id in ids:
        entry = entries.get(entry_id)
        server = servers.get(entry_id)
        if entry is None or (server is not None and server.department_code != own):
            continue  # another department's entry is read-only here: the sync never sends it
        held = (Reason.CONFLICT if entry_id in in_conflict else
                Reason.PROVIDER if own and entry.provider_code != own else None)
        row = compare(server.entry() if server else None, entry, ctx, held)
        if row is not None:
            found.append(row)
    return found


def compare(before: Entry | None, after: Entry, ctx: rules.Context | None = None,
            held: Reason | None = None) -> PreviewRow | None:
    """What the public sees change when `before` (the exchange's copy; None: it has none) becomes `after`.

    `held`: why the sync will not send `after` (a conflict, another provider), whatever the public would see.
    """
    was_public = before is not None and publication.withheld(before, ctx) is None
    why = publication.withheld(after, ctx)
    shown = after if after.name or before is None else before

    def row(change: Change, reason: Reason | None = None, fields: tuple[FieldChange, ...] = ()) -> PreviewRow:
        if held is Reason.CONFLICT or (held is not None and reason is not Reason.RULE_ERRORS):
            change, reason, fields = Change.HELD, held, ()  # the sync's own order: a conflict, errors, provider
        return PreviewRow(after.id, after.code or (before.code if before else ""), shown.name, change, reason,
                          fields, was_public and change is Change.HELD)

    if why is publication.Withheld.RULE_ERRORS:
        return row(Change.HELD, Reason.RULE_ERRORS)
    if why is not None:
        if not was_public:
            return None
        return row(Change.WITHDRAWN, Reason.RETIRED if after.status == Status.RETIRED else Reason.CLOSED)
    if not was_public:
        return row(Change.APPEARS)
    assert before is not None
    changes = public_changes(publication.public_form(before), publication.public_form(after))
    return row(Change.CHANGED, fields=changes) if changes else None


def public_changes(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The differences of two public forms (publication.public_form): fields in the catalogue's order, then items."""
    changes = [FieldChange(key, old[key], new[key]) for key in publication.PUBLIC_FIELDS if old[key] != new[key]]
    old_items, new_items = old["items"], new["items"]
    for item_id, item in new_items.items():
        was = old_items.get(item_id)
        if was is None:
            changes.append(FieldChange("", None, item, item_id, item["name"]))
            continue
        changes.extend(FieldChange(key, was[key], item[key], item_id, item["name"])
                       for key in publication.PUBLIC_ITEM_FIELDS if was[key] != item[key])
    changes.extend(FieldChange("", item, None, item_id, item["name"])
                   for item_id, item in old_items.items() if item_id not in new_items)
    return tuple(changes)


# In the reader's words ---------------------------------------------------------------------------------------------


def field_label(change: FieldChange, lang: str) -> str:
    """The label the app gives the field (a data item's field for an item's change; "" for a whole item)."""
    if not change.field:
        return ""
    spec = ITEM_FIELD[change.field] if change.item_id else ENTRY_FIELD[change.field]
    return spec.label(lang)


def shown_value(change: FieldChange, value: Any, lang: str) -> str:
    """A value of the change as the app shows it: a vocabulary's label, a data item by its name."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return str(value.get("name", ""))
    spec = (ITEM_FIELD if change.item_id else ENTRY_FIELD).get(change.field)
    if spec is not None and spec.vocabulary:
        return label(spec.vocabulary, value, lang)
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)
