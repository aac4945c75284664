"""Steward's core: the catalogue, its rules, the local workspace and the command line (no Qt here)."""

import time

STARTED = time.perf_counter()  # first thing: smoke runs of the window report their times from here

from importlib.metadata import PackageNotFoundError, version  # noqa: E402

try:
    __version__ = version("steward")
except PackageNotFoundError:  # a source tree never installed: the number lives in pyproject.toml alone
    __version__ = "0+unknown"
