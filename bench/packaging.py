"""Packaging figures (issue: installers): the one-folder build's unpacked size and the .deb's size.

Measures what `make dist` and `make deb` leave in dist/ (`make bench` brings dist/steward up to date
first). What is missing is built here, the .deb also when it is older than the bundle, and the build
time is then reported too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from bench.harness import Report, stopwatch

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
BUNDLE = DIST / "steward"
BUNDLE_LIMIT_MB = 150  # the target, unpacked


def tree_bytes(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())


def _bundle(report: Report) -> Path:
    executable = BUNDLE / "steward"
    if not executable.exists():
        with stopwatch() as elapsed:
            subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath",
                            str(DIST), "--workpath", str(ROOT / "build" / "pyinstaller"), str(ROOT / "build.spec")],
                           check=True)
        report.add("packaging", "one-folder build time", elapsed(), "s")
    return executable


def _deb(report: Report, executable: Path) -> Path | None:
    if shutil.which("dpkg-deb") is None:
        print("  packaging: no dpkg-deb here, so no .deb to measure")
        return None
    version = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True).stdout.split()[-1]
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    deb = DIST / f"steward_{version}_{arch}.deb"
    if not deb.exists() or deb.stat().st_mtime < executable.stat().st_mtime:
        with stopwatch() as elapsed:
            subprocess.run([sys.executable, str(ROOT / "packaging/linux/build_deb.py"), str(BUNDLE), "--out",
                            str(DIST)], check=True, stdout=subprocess.DEVNULL)
        report.add("packaging", ".deb build time", elapsed(), "s")
    return deb


def run(report: Report) -> None:
    executable = _bundle(report)
    files = [p for p in BUNDLE.rglob("*") if not p.is_dir()]
    report.add("packaging", "bundle unpacked size", tree_bytes(BUNDLE) / 1e6, "MB", BUNDLE_LIMIT_MB)
    report.add("packaging", "bundle files", len(files), "files")
    deb = _deb(report, executable)
    if deb is not None:
        report.add("packaging", ".deb size", deb.stat().st_size / 1e6, "MB")
