"""Making new entries: a blank one for the department, a duplicate of another, the next free code."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from steward.catalogue.classification import parse_resource_code
from steward.catalogue.model import Entry, new_id
from steward.catalogue.vocabulary import Status
from steward.workspace.workspace import Workspace


def next_code(workspace: Workspace, classification: str) -> str:
    """The first unused sequence code under `classification` (sequence width 6, as the sample uses)."""
    with workspace.reading() as conn:
        codes = conn.execute(
            text("SELECT code FROM entries WHERE code >= :lo AND code < :hi"),
            {"lo": f"{classification}/", "hi": f"{classification}0"},  # '0' sorts right after '/'
        ).scalars()
        highest = max((int(p.sequence) for c in codes if (p := parse_resource_code(c))), default=0)
    return f"{classification}/{highest + 1:06d}"


def highest_sequence(workspace: Workspace) -> int:
    """The highest sequence number used by any resource code of the workspace (0 when none)."""
    with workspace.reading() as conn:
        return conn.execute(
            text("SELECT MAX(CAST(substr(code, instr(code, '/') + 1) AS INTEGER)) FROM entries WHERE code LIKE '%/%'")
        ).scalar() or 0


def blank_entry(workspace: Workspace) -> Entry:
    """A new entry of this workspace's department: everything else is the steward's to fill."""
    return Entry(provider=workspace.department_name, provider_code=workspace.department_code)


def duplicate_entry(workspace: Workspace, source: Entry, suffix: str) -> Entry:
    """A copy of `source` with fresh ids, never synced, the next free code in its classification."""
    items = [replace(item, id=new_id()) for item in source.items]
    copy = replace(source.copy(), id=new_id(), name=source.name + suffix, items=items, version=0, revision=0,
                   status=Status.ACTIVE, related_codes=list(source.related_codes))
    if source.classification:
        copy.code = next_code(workspace, source.classification)
    return copy
