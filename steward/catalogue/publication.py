"""What may be published to the public: the one decision behind the open data exports and anything else that publishes.

An entry is published when it is open to the public (active, 无条件开放 or 有条件开放, and not
不予共享, which the rules forbid to be open anyway) and breaks no catalogue rule of severity error:
an entry with a rule error is not fit to be seen as it is (有条件开放 without its conditions, a
sharing type still undecided), whoever publishes it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from steward.catalogue import rules
from steward.catalogue.model import DataItem, Entry
from steward.catalogue.vocabulary import OpenType, SharingType, Status


class Withheld(StrEnum):
    """Why an entry is not published."""

    CLOSED = "closed"  # not open to the public: not open, open attribute not set, not shared, or retired
    RULE_ERRORS = "rule_errors"  # open, but breaking a catalogue rule of severity error


def is_open(entry: Entry) -> bool:
    """Whether `entry` is open to the public, rules aside: what `withheld` decides for an entry known to break no
    rule of severity error (the exchange refuses any such entry, so it asks only this as changesets land)."""
    return (
        entry.status == Status.ACTIVE
        and entry.open_type in (OpenType.UNCONDITIONAL, OpenType.CONDITIONAL)
        and entry.sharing_type != SharingType.NOT_SHARED
    )


def withheld(entry: Entry, ctx: rules.Context | None = None) -> Withheld | None:
    """Why `entry` may not be published, or None when it may; `ctx` is what the rules know of the catalogue."""
    if not is_open(entry):
        return Withheld.CLOSED
    if rules.has_errors(rules.check(entry, ctx)):
        return Withheld.RULE_ERRORS
    return None


# The entry's fields the public sees in what is published (DCAT-AP, data.json, the exchange's open channel), in the
# catalogue's order. Not the sharing type and conditions (what departments see of each other), nor the status (a
# retired entry is not published at all), nor the related codes: a published relation points only to another
# published dataset, which depends on the rest of the catalogue, not on the entry.
PUBLIC_FIELDS: tuple[str, ...] = (
    "classification", "name", "code", "provider", "provider_code", "abstract", "format_category", "format_type",
    "sharing_method_category", "sharing_method_type", "open_type", "open_conditions", "update_frequency", "published",
)
# A published data item's fields: the published schema of the dataset.
PUBLIC_ITEM_FIELDS: tuple[str, ...] = ("name", "data_type", "length")


def item_is_public(entry: Entry, item: DataItem) -> bool:
    """Whether a data item of a published entry is in its published schema: not 不予开放 (None: as the entry)."""
    return (item.open_type or entry.open_type) != OpenType.NOT_OPEN


def public_form(entry: Entry) -> dict[str, Any]:
    """What the public sees of `entry` once published: {field: value} of PUBLIC_FIELDS, and "items": {item id:
    {field: value}} of its public data items, in the entry's order.

    The conditions are shown only of 有条件开放, as the exporters do (an unconditional entry has none to state).
    """
    form: dict[str, Any] = {key: getattr(entry, key) for key in PUBLIC_FIELDS}
    if entry.open_type != OpenType.CONDITIONAL:
        form["open_conditions"] = ""
    form["items"] = {item.id: {key: getattr(item, key) for key in PUBLIC_ITEM_FIELDS}
                     for item in entry.items if item_is_public(entry, item)}
    return form
