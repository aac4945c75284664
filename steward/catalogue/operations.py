"""The kinds of operation on an entry: one vocabulary for the journal, pending changes and changesets."""

from __future__ import annotations

from enum import StrEnum


class OpKind(StrEnum):
    CREATE = "create"
    SET = "set"
    RETIRE = "retire"  # a changeset's way of setting status to retired (the journal records a SET)
    RESTORE = "restore"  # and back to active
    ITEM_ADD = "item_add"
    ITEM_SET = "item_set"
    ITEM_REMOVE = "item_remove"
    ERASE = "erase"  # local only: an entry the exchange never had, deleted outright


# What a changeset may carry, in the order the protocol lists them.
WIRE_KINDS: tuple[OpKind, ...] = (
    OpKind.CREATE, OpKind.SET, OpKind.RETIRE, OpKind.RESTORE, OpKind.ITEM_ADD, OpKind.ITEM_SET, OpKind.ITEM_REMOVE,
)
