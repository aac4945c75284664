"""Run the benchmarks: python -m bench [--entries N] [--keep DIR]."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from bench import console, core, exchange, formats, gui, opendata, packaging, sync
from bench import requests as sharing_requests
from bench.harness import Report
from steward.workspace.workspace import Workspace

GROUPS = ("core", "gui", "exchange", "sync", "requests", "console", "formats", "opendata", "packaging")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--entries", type=int, default=100_000, help="catalogue size (default 100,000)")
    parser.add_argument("--keep", type=Path, help="build the workspaces in DIR and keep them")
    parser.add_argument("--reuse", action="store_true", help="with --keep: use the workspace already in DIR")
    parser.add_argument("--no-gui", action="store_true", help="skip the window scenarios")
    parser.add_argument("--only", choices=GROUPS, action="append",
                        help="run only these groups (repeatable); default: all")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="steward-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    report = Report()
    groups = set(args.only or GROUPS) - ({"gui"} if args.no_gui else set())
    try:
        if groups & {"core", "gui"}:
            _catalogue(report, folder, args, "gui" in groups)
        if "exchange" in groups:
            exchange.run(report, folder)
        if "sync" in groups:
            sync.run(report, folder, args.entries)
        if "requests" in groups:
            sharing_requests.run(report, folder)  # the sharing requests' load, the overdue count, the inbox
        if "console" in groups:
            console.run(report, folder)  # on the same city's exchange as the overdue count, built once
        if "formats" in groups:
            formats.run(report, folder)  # its own 10,000-entry catalogue, as the issue sets the targets
        if "opendata" in groups:
            opendata.run(report, folder)  # its own city's exchange, 60 % of it open, as the issue sets the targets
        if "packaging" in groups:
            packaging.run(report)  # dist/ as make dist and make deb leave it, built when missing
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    report.print_table()
    # The machine may be shared: its load while the figures were taken goes with them.
    path = report.write({"entries": args.entries, "load_average": os.getloadavg()})
    print(f"\nwritten {path}")
    return 0


def _catalogue(report: Report, folder: Path, args: argparse.Namespace, with_gui: bool) -> None:
    """The core scenarios on a workspace of args.entries entries, then the window's on the same workspace."""
    if args.reuse and args.keep:
        ws = Workspace.open(folder / "bench")
        core.searching(report, ws)
        core.load_entry(report, ws)
        core.validate_all(report, ws)
    else:
        ws = core.run(report, folder, args.entries)
    ws.close()
    if with_gui:
        gui.run(report, ws.folder)


if __name__ == "__main__":
    raise SystemExit(main())
