"""Making files and folders read-only in a way that binds root too, for the tests of read-only workspaces.

Tests run as root on CI, and root ignores file modes: a `chmod a-w` would prove nothing there. An
immutable file or folder (`chattr +i`, FS_IMMUTABLE_FL) refuses every writer, root included, as a
read-only medium or a folder without write permission would. Without the capability to set it (root
in a container without CAP_LINUX_IMMUTABLE) the test is skipped, or fails on CI (tests.helpers.require).
As another user, the file modes bind, and they are what is used.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.helpers import require


def _chattr(flag: str, path: Path) -> bool:
    chattr = shutil.which("chattr")
    if chattr is None:
        return False
    return subprocess.run([chattr, flag, str(path)], capture_output=True, check=False).returncode == 0


@contextmanager
def _one(path: Path) -> Iterator[None]:
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        try:
            yield
        finally:
            path.chmod(mode)
        return
    require(_chattr("+i", path), f"cannot make {path} immutable (chattr +i): root needs CAP_LINUX_IMMUTABLE "
                                 "and a file system that keeps the flag")
    try:
        yield
    finally:
        _chattr("-i", path)


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """`paths` (files or folders) cannot be changed inside the block, by this process or any other."""
    with ExitStack() as stack:
        for path in paths:
            stack.enter_context(_one(path))
        for path in paths:  # the proof that the test tests something
            probe = path / ".probe" if path.is_dir() else path
            try:
                with open(probe, "a"):
                    pass
            except OSError:
                continue
            if path.is_dir():
                probe.unlink()
            raise AssertionError(f"{path} is still writable")
        yield
