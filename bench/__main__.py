"""Run the benchmarks: python -m bench [--entries N] [--keep DIR]."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench import core, gui
from bench.harness import Report
from steward.workspace import Workspace


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--entries", type=int, default=100_000, help="catalogue size (default 100,000)")
    parser.add_argument("--keep", type=Path, help="build the workspaces in DIR and keep them")
    parser.add_argument("--reuse", action="store_true", help="with --keep: use the workspace already in DIR")
    parser.add_argument("--no-gui", action="store_true", help="skip the window scenarios")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="steward-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    report = Report()
    try:
        if args.reuse and args.keep:
            ws = Workspace.open(folder / "bench")
            core.searching(report, ws)
            core.load_entry(report, ws)
            core.validate_all(report, ws)
        else:
            ws = core.run(report, folder, args.entries)
        ws.close()
        if not args.no_gui:
            gui.run(report, ws.folder)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    report.print_table()
    path = report.write({"entries": args.entries})
    print(f"\nwritten {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
