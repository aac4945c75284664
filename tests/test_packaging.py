"""The installers: the one-folder build works on its own, and the .deb installs it, starts it in a real X
window and leaves nothing behind when removed.

Slow (a PyInstaller build, a .deb, lintian, dpkg -i): `pytest -m "not slow"` skips it; `make test` and
.ci/run run it. Everything is built in temporary folders, so a developer's dist/ is never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DEPARTMENT_CODE, DEPARTMENT_NAME, require

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
BUNDLE_LIMIT_BYTES = 150_000_000  # the target for the unpacked bundle
# What Qt's xcb platform needs from the system (../shared/platform-notes.md): the .deb must depend on it.
XCB_PACKAGES = {"libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0", "libxcb1", "libx11-6"}
SYSTEM_DEPS = "make system-deps installs it"
# Never in the bundle: other Qt bindings, Tk, the Qt modules Steward does not use, a PostgreSQL driver.
UNWANTED_MODULES = ("PyQt5", "PyQt6", "PySide2", "tkinter", "psycopg", "ui.screenshots", "steward.workspace.migrations")
UNWANTED_QT = re.compile(r"Qt6?(Qml|Quick|WebEngine|Network|Pdf|Wayland|Multimedia|OpenGL|Designer|Sql|Test)")


def version_of(executable: Path | str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(executable), "--version"], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment whose home, settings, data, logs and caches are all inside `home`, UI in Chinese."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "XDG_", "LD_", "STEWARD_", "DISPLAY"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
               XDG_STATE_HOME=str(home / "state"), XDG_CACHE_HOME=str(home / "cache"), LC_ALL="C.UTF-8",
               PYTHONIOENCODING="utf-8", **extra)
    settings = home / "config" / "Steward" / "Steward.conf"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[prefs]\nlanguage=zh_CN\n", encoding="utf-8")
    return env


def make_workspace(steward: Path | str, folder: Path, env: dict[str, str], entries: int = 40) -> None:
    """Create and fill a workspace with the packaged command line itself: its migrations run from inside it."""
    for args in (["init", str(folder), "--department-code", DEPARTMENT_CODE, "--department-name", DEPARTMENT_NAME],
                 ["sample", str(folder), "--entries", str(entries)]):
        done = subprocess.run([str(steward), *args], capture_output=True, text=True, env=env, timeout=300,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def smoke(steward: Path | str, workspace: Path, env: dict[str, str], cwd: Path) -> dict[str, object]:
    done = subprocess.run([str(steward), "gui", "--smoke", str(workspace)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_resources_found(timings: dict[str, object], rows: int) -> None:
    assert timings["rows"] == rows
    assert timings["language"] == "zh_CN"
    catalogues = {"steward_zh_CN.qm", "qtbase_zh_CN.qm", "qtbase_supplement_zh_CN.qm"}
    assert catalogues <= set(timings["catalogues"])  # type: ignore[arg-type]
    assert timings["icon"] is True


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*")}


def tree_size(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*") if not p.is_dir())


def is_elf(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(4) == b"\x7fELF"


def elf_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p)]


def dynamic_section(path: Path, tag: str) -> list[str]:
    dump = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split()[1] for line in dump.splitlines() if line.strip().startswith(tag + " ")]


# Fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh one-folder build of build.spec, in a temporary folder (removed after: it is 140 MB)."""
    require(sys.platform.startswith("linux"), "the packaging checks run on Linux")
    require(shutil.which("objdump"), f"objdump (binutils) is needed by PyInstaller on Linux; {SYSTEM_DEPS}")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", str(out),
         "--workpath", str(out / "work"), str(ROOT / "build.spec")],
        capture_output=True, text=True, timeout=1800, check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    yield out / "steward"
    shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="module")
def x_display(bundle: Path) -> Iterator[str]:
    """An Xvfb display of our own (its number chosen by Xvfb), once the xcb platform's libraries are there."""
    xvfb = shutil.which("Xvfb")
    require(xvfb, f"Xvfb is needed to start the app in a real X window; {SYSTEM_DEPS}")
    qxcb = next(bundle.rglob("libqxcb.so"))
    ldd = subprocess.run(["ldd", str(qxcb)], capture_output=True, text=True, check=False).stdout
    missing = [line.split()[0] for line in ldd.splitlines() if "not found" in line]
    require(not missing, f"Qt's xcb platform needs {', '.join(missing)}; {SYSTEM_DEPS}")
    read, write = os.pipe()
    server = subprocess.Popen([xvfb, "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    yield f":{number}"
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def deb(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    for tool in ("dpkg-deb", "dpkg-shlibdeps"):
        require(shutil.which(tool), f"{tool} is needed to build the .deb; {SYSTEM_DEPS}")
    out = tmp_path_factory.mktemp("deb")
    done = subprocess.run([sys.executable, str(ROOT / "packaging/linux/build_deb.py"), str(bundle), "--out", str(out)],
                          capture_output=True, text=True, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    yield Path(done.stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)


# The one-folder build ------------------------------------------------------------------------


def test_the_bundle_reports_the_version_of_pyproject(bundle):
    assert version_of(bundle / "steward") == f"steward {VERSION}"
    assert version_of(bundle / "steward-debug") == f"steward {VERSION}"


def test_the_bundle_makes_and_opens_a_workspace_offscreen_writing_only_to_the_users_folders(bundle, tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    env = user_env(home, QT_QPA_PLATFORM="offscreen")
    workspace = tmp_path / "ws"
    before = snapshot(bundle)
    make_workspace(bundle / "steward", workspace, env)
    check_resources_found(smoke(bundle / "steward", workspace, env, cwd), rows=40)
    assert snapshot(bundle) == before  # nothing written into the bundle (no __pycache__, no settings)
    assert not list(cwd.iterdir())
    written = {p.relative_to(home).parts[:2] for p in home.rglob("*") if p.is_file()}
    allowed = {("config", "Steward"), ("state", "Steward"), ("data", "Steward")}
    assert not [w for w in written if w not in allowed and w[0] != "cache"], written  # settings, logs, caches
    assert (home / "state" / "Steward" / "log" / "steward.log").is_file()


def test_the_bundle_opens_a_real_x_window(bundle, x_display, tmp_path):
    env = user_env(tmp_path / "home", QT_QPA_PLATFORM="xcb", DISPLAY=x_display)
    make_workspace(bundle / "steward", tmp_path / "ws", env, entries=20)
    timings = smoke(bundle / "steward", tmp_path / "ws", env, tmp_path)
    assert timings["platform"] == "xcb"
    check_resources_found(timings, rows=20)


def test_the_bundle_holds_what_steward_uses_and_nothing_it_does_not(bundle):
    from PyInstaller.archive.readers import CArchiveReader

    modules = set(CArchiveReader(str(bundle / "steward")).open_embedded_archive("PYZ.pyz").toc)
    expected = {"ui.app", "steward.cli", "steward.workspace.workspace", "sqlalchemy.dialects.sqlite", "alembic.op"}
    assert expected <= modules
    assert not {m for m in modules if m.startswith(UNWANTED_MODULES)}
    assert not {m for m in modules if m.startswith("PySide6.") and UNWANTED_QT.search(m)}
    internal = bundle / "_internal"
    if "keyring" in modules:  # with the signing work: every backend, and the metadata keyring finds them by
        assert {"keyring.backends.SecretService", "keyring.backends.fail", "keyring.backends.chainer"} <= modules
        assert list(internal.glob("keyring-*.dist-info"))
    # The project's metadata (dist-info, or egg-info when built from the source tree): the version comes from it.
    assert list(internal.glob("steward-*.dist-info")) + list(internal.glob("steward.egg-info"))
    migrations = ROOT / "steward" / "workspace" / "migrations"
    scripts = {str(p.relative_to(migrations)) for p in [migrations / "env.py", *migrations.glob("versions/0*.py")]}
    bundled = internal / "steward" / "workspace" / "migrations"
    assert scripts <= {str(p.relative_to(bundled)) for p in bundled.rglob("*.py")}
    assert (internal / "resources/translations/steward_zh_CN.qm").is_file()
    assert (internal / "resources/translations/qtbase_supplement_zh_CN.qm").is_file()
    assert (internal / "resources/icons/steward.svg").is_file()
    names = [str(p.relative_to(internal)) for p in internal.rglob("*")]
    assert not [n for n in names if UNWANTED_QT.search(n)]
    assert not [n for n in names if re.search(r"lib(X11|xcb|stdc\+\+|GL|gtk|wayland)", n)]  # the system's
    catalogues = [n for n in names if n.endswith(".qm") and "PySide6" in n]
    assert catalogues and all(n.endswith(("_zh_CN.qm", "_en.qm")) for n in catalogues)


def test_the_bundle_is_small_and_searches_no_build_machine_folder_for_libraries(bundle):
    assert tree_size(bundle) <= BUNDLE_LIMIT_BYTES
    for path in elf_files(bundle):
        for runpath in dynamic_section(path, "RUNPATH") + dynamic_section(path, "RPATH"):
            assert all(entry.startswith("$ORIGIN") for entry in runpath.split(":")), (path, runpath)


# The .deb ------------------------------------------------------------------------------------


def control_field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def depended_packages(deb: Path) -> set[str]:
    return {re.split(r"[\s(]", alt.strip())[0] for alt in re.split(r"[,|]", control_field(deb, "Depends"))}


def test_the_deb_is_named_and_described_for_this_machine(deb):
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    assert deb.name == f"steward_{VERSION}_{arch}.deb"
    assert control_field(deb, "Package") == "steward"
    assert control_field(deb, "Version") == VERSION
    assert control_field(deb, "Architecture") == arch
    assert control_field(deb, "Maintainer")
    assert XCB_PACKAGES | {"libc6", "libfontconfig1"} <= depended_packages(deb)
    assert "fonts-noto-cjk" in control_field(deb, "Recommends")


def test_the_deb_depends_on_every_system_library_the_bundle_links_to(deb, bundle):
    """Each library an ELF file of the bundle needs is either in the bundle or in a package it depends on."""
    inside = {p.name for p in bundle.rglob("*")}
    outside = {name for path in elf_files(bundle) for name in dynamic_section(path, "NEEDED")} - inside
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    located: dict[str, str] = {}
    for match in re.finditer(r"^\s*(\S+) \(.*\) => (\S+)$", cache, re.M):
        located.setdefault(match.group(1), match.group(2))  # the first is the one the loader takes
    depends = depended_packages(deb)
    for soname in sorted(outside):
        require(soname in located, f"{soname} is not installed here; {SYSTEM_DEPS}")
        assert owners(located[soname]) & depends, (soname, owners(located[soname]))


def owners(library: str) -> set[str]:
    """The packages owning a library file, by the path dpkg recorded (/lib or /usr/lib, before or after links)."""
    real = os.path.realpath(library)
    candidates = {library, real, real.removeprefix("/usr"), "/usr" + library}
    for path in sorted(candidates):
        found = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True, check=False)
        if found.returncode == 0:
            return {line.split(":")[0] for line in found.stdout.splitlines()}
    return set()


def test_the_deb_installs_the_folder_a_command_a_desktop_entry_and_an_icon(deb):
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    paths = {line.split()[5].removeprefix(".") for line in listing.splitlines()}
    assert {"/opt/steward/steward", "/opt/steward/steward-debug", "/usr/bin/steward",
            "/usr/share/applications/steward.desktop", "/usr/share/icons/hicolor/scalable/apps/steward.svg",
            "/usr/share/doc/steward/copyright", "/usr/share/doc/steward/changelog.gz"} <= paths
    assert "/usr/bin/steward -> /opt/steward/steward" in listing
    assert all(p.startswith(("/opt/steward", "/usr/bin", "/usr/share")) or p in ("/", "/opt/", "/usr/")
               for p in paths), paths
    entry = (ROOT / "packaging/linux/steward.desktop").read_text(encoding="utf-8")
    assert "Name[zh_CN]=" in entry and "Icon=steward" in entry and "Exec=steward" in entry
    validate = shutil.which("desktop-file-validate")
    require(validate, f"desktop-file-validate (desktop-file-utils) checks the desktop entry; {SYSTEM_DEPS}")
    done = subprocess.run([validate, str(ROOT / "packaging/linux/steward.desktop")], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_lintian_finds_no_errors(deb):
    lintian = shutil.which("lintian")
    require(lintian, f"lintian checks the .deb; {SYSTEM_DEPS}")
    done = subprocess.run([lintian, "--fail-on", "error", "--tag-display-limit", "0", str(deb)],
                          capture_output=True, text=True, timeout=600, check=False)
    errors = [line for line in done.stdout.splitlines() if line.startswith("E:")]
    assert done.returncode == 0 and not errors, done.stdout + done.stderr


def test_the_installed_app_starts_in_x_and_removal_leaves_nothing(deb, x_display, tmp_path):
    """dpkg -i on this machine (as root), the installed command in a real X window, then dpkg -P."""
    require(os.geteuid() == 0, "installing the .deb needs root")
    installed_before = subprocess.run(["dpkg-query", "-W", "steward"], capture_output=True, check=False)
    require(installed_before.returncode != 0, "a steward package is already installed here; not replacing it")
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    files = [line.split()[5].removeprefix(".") for line in listing.splitlines() if not line.startswith("d")]
    home = tmp_path / "home"
    env = user_env(home, QT_QPA_PLATFORM="xcb", DISPLAY=x_display, PATH="/usr/bin:/bin")
    # One test at a time may install the package on this machine.
    with open("/tmp/steward-deb-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, text=True, check=True, timeout=600)
        try:
            assert version_of("steward", env) == f"steward {VERSION}"  # the command in PATH
            make_workspace("steward", tmp_path / "ws", env, entries=20)
            timings = smoke("steward", tmp_path / "ws", env, tmp_path)
            assert timings["platform"] == "xcb"
            check_resources_found(timings, rows=20)
            owned = set(subprocess.run(["dpkg", "-L", "steward"], capture_output=True, text=True,
                                       check=True).stdout.splitlines())
            unowned = [str(p) for p in Path("/opt/steward").rglob("*") if str(p) not in owned]
            assert not unowned, unowned  # running it wrote nothing into the installation
        finally:
            subprocess.run(["dpkg", "-P", "steward"], capture_output=True, check=False, timeout=600)
    assert subprocess.run(["dpkg-query", "-W", "steward"], capture_output=True, check=False).returncode != 0
    assert not Path("/opt/steward").exists()
    assert not [f for f in files if os.path.lexists(f)]
    assert (tmp_path / "ws" / "workspace.sqlite").is_file()  # the steward's own work stays theirs
    assert (home / "config" / "Steward" / "Steward.conf").is_file()
