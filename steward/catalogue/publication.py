"""What may be published to the public: the one decision behind the open data exports and anything else that publishes.

An entry is published when it is open to the public (active, 无条件开放 or 有条件开放, and not
不予共享, which the rules forbid to be open anyway) and breaks no catalogue rule of severity error:
an entry with a rule error is not fit to be seen as it is (有条件开放 without its conditions, a
sharing type still undecided), whoever publishes it.
"""

from __future__ import annotations

from enum import StrEnum

from steward.catalogue import rules
from steward.catalogue.model import Entry
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
