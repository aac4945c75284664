"""The test helpers themselves: require() skips locally and fails on CI."""

from __future__ import annotations

import pytest

from steward.catalogue.rules import Context, check
from tests.helpers import DEPARTMENT_CODE, in_ci, require


def test_require_passes_when_the_condition_holds(monkeypatch):
    monkeypatch.setenv("CI", "true")
    require(True, "present")
    require("non-empty", "present")


@pytest.mark.parametrize("value", [None, "", "0", "false", "False", "no"])
def test_require_skips_off_ci(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="no exchange"):
        require(False, "no exchange")


@pytest.mark.parametrize("value", ["true", "1", "yes", "TRUE"])
def test_require_fails_on_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match="no exchange"):
        require(None, "no exchange")


def test_require_fixture_is_the_helper(require):
    with pytest.raises((pytest.skip.Exception, pytest.fail.Exception)):
        require(False, "missing")


def test_fixtures(department, workspace, clean_entry):
    assert department == DEPARTMENT_CODE == workspace.department_code
    entry = clean_entry(name="覆盖的名称")
    assert entry.name == "覆盖的名称"
    assert check(entry, Context(department_code=department)) == []
    assert workspace.db_path.exists()
