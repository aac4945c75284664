"""Fixtures for the core's tests: a department, a real workspace in tmp_path, clean entries."""

from __future__ import annotations

import keyring
import pytest

from steward.workspace.workspace import Workspace
from tests.helpers import DEPARTMENT_CODE, DEPARTMENT_NAME, make_clean_entry
from tests.helpers import require as _require
from tests.keyring_backend import MemoryKeyring


@pytest.fixture
def department() -> str:
    """A valid 统一社会信用代码 of a government organ (the sample's 市场监督管理局)."""
    return DEPARTMENT_CODE


@pytest.fixture
def department_name() -> str:
    return DEPARTMENT_NAME


@pytest.fixture
def workspace(tmp_path, department, department_name):
    """A new, empty workspace for `department` in tmp_path, closed at teardown."""
    ws = Workspace.create(tmp_path / "ws", department, department_name)
    yield ws
    ws.close()


@pytest.fixture
def clean_entry():
    """A factory: clean_entry(**overrides) makes an entry with no problems (and its own code)."""
    return make_clean_entry


@pytest.fixture
def require():
    """require(condition, reason): skip when false, but fail when CI is set (see tests/helpers.py)."""
    return _require


@pytest.fixture
def memory_keyring():
    """Secrets kept in memory for the test: no test touches the machine's keyring."""
    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    yield
    keyring.set_keyring(previous)
