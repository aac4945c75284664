"""Three-way merge of another steward's change into a local entry, field by field and item by item.

`base` is the exchange's copy before the remote changeset, `theirs` after it, `mine` the local
entry. A field only they changed takes their value; one only I changed keeps mine; one we both
set to the same value is no conflict; one we set differently is a conflict. A remote retire of
an entry with local changes is always a conflict, never a silent drop.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from steward.catalogue.model import ENTRY_FIELDS, ITEM_FIELDS, DataItem, Entry
from steward.catalogue.vocabulary import Status
from steward.sync.changeset import entry_document
from steward.workspace.journal import AddItem, Change, CreateEntry, RemoveItem, SetField, SetItemField

ITEM_KEYS = tuple(spec.key for spec in ITEM_FIELDS)
WHOLE_ITEM = "item"  # the field name of a conflict about a data item's existence


@dataclass(frozen=True)
class FieldConflict:
    entry_id: str
    field: str  # an entry field, a data item field (with item_id), or "item" for the item as a whole
    item_id: str | None
    base: Any
    mine: Any
    theirs: Any


@dataclass
class Merge:
    changes: list[Change] = field(default_factory=list)  # to apply locally
    conflicts: list[FieldConflict] = field(default_factory=list)


def merge(base: Entry | None, theirs: Entry, mine: Entry | None) -> Merge:
    result = Merge()
    if mine is None:
        created = theirs.copy()
        created.version = created.revision = 0
        result.changes.append(CreateEntry(created))
        return result
    base = base if base is not None else mine  # we hold it but the exchange never sent it: no local change
    locally_changed = entry_document(mine) != entry_document(base)
    for spec in ENTRY_FIELDS:
        key = spec.key
        b, t, m = getattr(base, key), getattr(theirs, key), getattr(mine, key)
        retired_under_me = key == "status" and t == Status.RETIRED and b != Status.RETIRED and locally_changed
        if retired_under_me:
            result.conflicts.append(FieldConflict(mine.id, key, None, b, m, t))
        elif t == b or m == t:
            continue
        elif m == b:
            result.changes.append(SetField(mine.id, key, list(t) if isinstance(t, list) else t))
        else:
            result.conflicts.append(FieldConflict(mine.id, key, None, b, m, t))
    _merge_items(base, theirs, mine, result)
    return result


def _merge_items(base: Entry, theirs: Entry, mine: Entry, result: Merge) -> None:
    base_items = {i.id: i for i in base.items}
    their_items = {i.id: i for i in theirs.items}
    my_items = {i.id: i for i in mine.items}
    for item_id in dict.fromkeys([*base_items, *their_items]):
        b, t, m = base_items.get(item_id), their_items.get(item_id), my_items.get(item_id)
        if b == t:
            continue
        if b is None:  # they added it
            if m is None:
                result.changes.append(AddItem(mine.id, replace(t)))  # type: ignore[arg-type]
            elif m != t:
                result.conflicts.append(_whole(mine.id, item_id, None, m, t))
        elif t is None:  # they removed it
            if m == b:
                result.changes.append(RemoveItem(mine.id, item_id))
            elif m is not None:
                result.conflicts.append(_whole(mine.id, item_id, b, m, None))
        elif m is None:  # they changed an item I removed
            result.conflicts.append(_whole(mine.id, item_id, b, None, t))
        else:
            for key in ITEM_KEYS:
                bv, tv, mv = getattr(b, key), getattr(t, key), getattr(m, key)
                if tv == bv or mv == tv:
                    continue
                if mv == bv:
                    result.changes.append(SetItemField(mine.id, item_id, key, tv))
                else:
                    result.conflicts.append(FieldConflict(mine.id, key, item_id, bv, mv, tv))


def _whole(entry_id: str, item_id: str, base: DataItem | None, mine: DataItem | None,
           theirs: DataItem | None) -> FieldConflict:
    return FieldConflict(entry_id, WHOLE_ITEM, item_id, None if base is None else base.to_dict(),
                         None if mine is None else mine.to_dict(), None if theirs is None else theirs.to_dict())
