"""Exporting the catalogue: xlsx and CSV in the template layout, DCAT-AP 3.0 and data.json.

Entries are read in resource-code order. Every format is written to a temporary file beside the
target and moved over it at the end, so a cancelled or failed export leaves no half-written file.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO

from steward.catalogue import publication
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import os_reason
from steward.catalogue.model import Entry
from steward.files import datajson, dcat, template
from steward.files.dcat import DcatOptions
from steward.workspace import store
from steward.workspace.workspace import Workspace

Progress = Callable[[int, int], None]
_URI = re.compile(r"^https?://[^\s/]+(/[^\s]*)?$")


class Format(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"
    DCAT = "dcat"
    DATAJSON = "datajson"


_BY_SUFFIX = {".xlsx": Format.XLSX, ".csv": Format.CSV, ".jsonld": Format.DCAT, ".ttl": Format.DCAT,
              ".json": Format.DATAJSON}


def format_for(path: Path, given: str | None = None) -> Format:
    """The format named, or the one the file name suggests (data.json -> datajson, .jsonld/.ttl -> dcat)."""
    if given:
        return Format(given)
    found = _BY_SUFFIX.get(Path(path).suffix.lower())
    if found is None:
        raise StewardError("export.format", path=str(path))
    return found


def check_options(options: DcatOptions) -> DcatOptions:
    """The options with the base address ending in '/', or StewardError for values that are not web addresses."""
    base = (options.base_uri or "").strip() or None
    if base is not None:
        if not base.endswith("/"):
            base += "/"
        if not _URI.match(base):
            raise StewardError("export.base_uri", value=options.base_uri)
    licence = (options.license or "").strip() or None
    if licence is not None and not _URI.match(licence):
        raise StewardError("export.license", value=options.license)
    return DcatOptions(base, licence)


@dataclass
class ExportResult:
    path: Path
    format: Format
    written: int = 0
    left_out_uncoded: int = 0  # template layouts need the code to link items to their entry
    left_out_closed: int = 0  # DCAT-AP and data.json describe only what is open
    # ... and publish nothing that breaks a catalogue rule: these entries, by code (by id when uncoded)
    left_out_for_errors: list[str] = field(default_factory=list)
    extra_paths: list[Path] = field(default_factory=list)  # the items CSV beside the entries CSV

    @property
    def left_out_errors(self) -> int:
        return len(self.left_out_for_errors)


def entries_in_code_order(workspace: Workspace, progress: Progress | None = None,
                          entry_ids: Collection[str] | None = None) -> tuple[int, Iterator[tuple[Entry, str]]]:
    """How many entries there are (of `entry_ids`, when given), and (entry, time of its last change) pairs in code
    order, read in chunks."""
    with workspace.reading() as conn:
        db = store.dbapi(conn)
        order = db.execute("SELECT pk, updated_at FROM entries ORDER BY code, pk").fetchall()
        if entry_ids is not None:
            wanted = set(store.pks_for_ids(conn, entry_ids).values())
            order = [(pk, stamp) for pk, stamp in order if pk in wanted]

    def generate() -> Iterator[tuple[Entry, str]]:
        done = 0
        for chunk in store.chunked(order):
            pks = [pk for pk, _ in chunk]
            with workspace.reading() as conn:
                loaded = store.load_entries(conn, pks=pks)
            for pk, stamp in chunk:
                if pk in loaded:
                    yield loaded[pk], stamp
            done += len(chunk)
            if progress:
                progress(done, len(order))

    return len(order), generate()


@contextmanager
def _text_file(path: Path) -> Iterator[IO[str]]:
    path = Path(path)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or None)
    except OSError as error:
        raise StewardError("export.failed", path=str(path), reason=os_reason(error)) from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            yield out
        os.replace(temp, path)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise StewardError("export.failed", path=str(path), reason=os_reason(error)) from error
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def export(workspace: Workspace, path: Path | str, fmt: Format | str, *, options: DcatOptions | None = None,
           progress: Progress | None = None, entry_ids: Collection[str] | None = None) -> ExportResult:
    """Write the catalogue (only the entries `entry_ids`, when given) to `path` in `fmt`.

    `progress(done, total)` may raise journal.Cancelled to stop.
    """
    path = Path(path)
    fmt = Format(fmt)
    result = ExportResult(path, fmt)
    total, pairs = entries_in_code_order(workspace, progress, entry_ids)
    if fmt in (Format.XLSX, Format.CSV):

        def coded() -> Iterator[Entry]:
            for entry, _stamp in pairs:
                if entry.code:
                    yield entry
                else:
                    result.left_out_uncoded += 1

        writer = template.write_xlsx if fmt is Format.XLSX else template.write_csv
        result.written = writer(path, coded(), total)
        if fmt is Format.CSV:
            result.extra_paths.append(template.items_csv_path(path))
        return result
    checked = check_options(options or DcatOptions())
    with workspace.reading() as conn:
        ctx = store.catalogue_rule_context(conn, workspace.department_code)
    chosen = []
    for entry, stamp in pairs:
        why = publication.withheld(entry, ctx)
        if why is None:
            chosen.append((entry, stamp))
        elif why is publication.Withheld.RULE_ERRORS:
            result.left_out_for_errors.append(entry.code or entry.id)
        else:
            result.left_out_closed += 1
    result.written = len(chosen)
    with _text_file(path) as out:
        if fmt is Format.DCAT:
            graph = dcat.build(chosen, checked, department_code=workspace.department_code,
                               department_name=workspace.department_name,
                               catalogue_issued=(workspace.facts().get("created_at") or "")[:10])
            dcat.write(graph, out, turtle=path.suffix.lower() == ".ttl")
        else:
            datajson.write(datajson.catalogue(chosen, checked), out)
    return result
