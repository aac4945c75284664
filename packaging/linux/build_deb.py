"""`make deb`: turn the one-folder build (dist/steward) into dist/steward_<version>_<arch>.deb.

The package installs the folder as /opt/steward, links /usr/bin/steward to it, and adds a desktop
entry and the icon. Its Depends come from dpkg-shlibdeps reading the bundle, so they name exactly
the system libraries the bundle links to and does not carry (the X11/xcb stack, fonts, GLib, D-Bus,
the C library and C++ runtime), at the versions the build machine's copies require.

Usage: python packaging/linux/build_deb.py [BUNDLE] [--out DIR]; prints the path of the .deb.
Needs dpkg-deb and dpkg-shlibdeps (dpkg-dev), and objdump (binutils): `make system-deps`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PACKAGE = "steward"
INSTALL_DIR = Path("opt/steward")
MAINTAINER = os.environ.get("DEB_MAINTAINER", "Steward maintainers <steward@example.org>")
# A CJK font so Chinese is not drawn as boxes; domestic desktops bring their own, hence only Recommends.
RECOMMENDS = "fonts-noto-cjk | fonts-wqy-microhei | fonts-wqy-zenhei"
DESCRIPTION = """\
desktop client for the government data resource catalogue
 Steward is the tool with which a government department's data steward
 (数据管理员) keeps the department's entries in the government data resource
 catalogue (政务数据资源目录): classification, code, abstract, format, data
 items, and the sharing and open attributes with their conditions. Stewards
 work offline in a local workspace and sync signed changesets to the city's
 central exchange.
 .
 The package carries its own Python and Qt under /opt/steward."""
TOOLS = {"dpkg-deb": "dpkg", "dpkg-shlibdeps": "dpkg-dev", "objdump": "binutils"}


def run(*args: str | Path, cwd: Path | None = None) -> str:
    return subprocess.run([str(a) for a in args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def is_elf(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"\x7fELF"


def bundle_version(bundle: Path) -> str:
    """The version the bundle itself reports (`steward --version`), so package and app cannot disagree."""
    return run(bundle / "steward", "--version").split()[-1]


def stage(bundle: Path, root: Path) -> None:
    """Lay out the files as installed, with the modes lintian and dpkg expect."""
    shutil.copytree(bundle, root / INSTALL_DIR, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/steward").symlink_to(Path("/") / INSTALL_DIR / "steward")
    for source, target in (
        (HERE / "steward.desktop", "usr/share/applications/steward.desktop"),
        (ROOT / "resources/icons/steward.svg", "usr/share/icons/hicolor/scalable/apps/steward.svg"),
        (HERE / "lintian-overrides", f"usr/share/lintian/overrides/{PACKAGE}"),
    ):
        (root / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / target)
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        executable = path.is_dir() or (path.parent == root / INSTALL_DIR and is_elf(path))
        path.chmod(0o755 if executable else 0o644)


def write_docs(root: Path, bundle: Path, version: str, when: datetime) -> None:
    docs = root / "usr/share/doc" / PACKAGE
    docs.mkdir(parents=True)
    (docs / "copyright").write_text(
        (HERE / "copyright").read_text(encoding="utf-8") + bundled_python_licences(bundle), encoding="utf-8"
    )
    changelog = (
        f"{PACKAGE} ({version}) unstable; urgency=medium\n\n"
        f"  * Steward {version}, packaged from the one-folder build.\n\n"
        f" -- {MAINTAINER}  {format_datetime(when)}\n"
    )
    # mtime=0 and no file name in the header keep the package reproducible (lintian checks for it).
    with open(docs / "changelog.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(changelog.encode("utf-8"))
    for path in docs.iterdir():
        path.chmod(0o644)


def bundled_python_licences(bundle: Path) -> str:
    """One line per Python distribution whose modules the bundle's archive holds, with its declared licence."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(bundle / "steward")).open_embedded_archive("PYZ.pyz")
    top_level = {name.split(".")[0] for name in archive.toc}
    providers = importlib.metadata.packages_distributions()
    names = sorted({dist for module in top_level for dist in providers.get(module, ())} - {PACKAGE}, key=str.lower)
    lines = []
    for name in names:
        meta = importlib.metadata.metadata(name)
        licence = meta.get("License-Expression") or _classifier_licence(meta) or (meta.get("License") or "?")
        lines.append(f" - {meta['Name']} {meta['Version']}: {licence.splitlines()[0]}\n")
    return "".join(lines)


def _classifier_licence(meta: importlib.metadata.PackageMetadata) -> str:
    found = [c.split(" :: ")[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return ", ".join(found)


def depends(work: Path, root: Path) -> str:
    """dpkg-shlibdeps over every ELF file; libraries found inside the bundle (-l) give no dependency."""
    (work / "debian").mkdir(exist_ok=True)
    (work / "debian/control").write_text(f"Source: {PACKAGE}\n\nPackage: {PACKAGE}\nArchitecture: any\n")
    elves = sorted(str(p.relative_to(work)) for p in (root / INSTALL_DIR).rglob("*")
                   if p.is_file() and not p.is_symlink() and is_elf(p))
    output = run("dpkg-shlibdeps", "-O", "--ignore-missing-info", f"-l/{INSTALL_DIR}/_internal",
                 "--warnings=0", *elves, cwd=work)
    return output.strip().removeprefix("shlibs:Depends=")


def installed_size_kib(root: Path) -> int:
    return sum(-(-p.lstat().st_size // 1024) for p in root.rglob("*") if not p.is_dir()) + sum(
        1 for p in root.rglob("*") if p.is_dir()
    )


def write_control(root: Path, version: str, arch: str, depends_line: str) -> None:
    control = root / "DEBIAN"
    fields = {
        "Package": PACKAGE,
        "Version": version,
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(installed_size_kib(root)),
        "Depends": depends_line,
        "Recommends": RECOMMENDS,
        "Section": "misc",
        "Priority": "optional",
        "Description": DESCRIPTION,
    }
    (control / "control").write_text("".join(f"{k}: {v}\n" for k, v in fields.items()), encoding="utf-8")
    sums = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and control not in p.parents):
        sums.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {path.relative_to(root)}\n")
    (control / "md5sums").write_text("".join(sums), encoding="utf-8")
    for script in ("postinst", "postrm"):
        shutil.copyfile(HERE / script, control / script)
        (control / script).chmod(0o755)
    for name in ("control", "md5sums"):
        (control / name).chmod(0o644)


def build(bundle: Path, out: Path) -> Path:
    missing = [f"{tool} (apt package {package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: run `make system-deps`")
    if not (bundle / "steward").is_file():
        raise SystemExit(f"no one-folder build at {bundle}: run `make dist` first")
    version = bundle_version(bundle)
    arch = run("dpkg", "--print-architecture").strip()
    # The build's own time stamps the changelog, so rebuilding the same bundle gives the same package.
    when = datetime.fromtimestamp((bundle / "steward").stat().st_mtime, UTC)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{PACKAGE}_{version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="deb-", dir=out) as tmp:
        work = Path(tmp)
        root = work / "debian" / PACKAGE
        (root / "DEBIAN").mkdir(parents=True)  # first: dpkg-shlibdeps finds the package root by it
        stage(bundle, root)
        write_docs(root, bundle, version, when)
        write_control(root, version, arch, depends(work, root))
        run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", root, target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(prog="build_deb.py", description=__doc__.splitlines()[0])
    parser.add_argument("bundle", nargs="?", type=Path, default=ROOT / "dist" / "steward")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    print(build(args.bundle.resolve(), args.out.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
