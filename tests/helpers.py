"""Helpers shared by the core's tests (importable as `tests.helpers`)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from steward import sample
from steward.catalogue.model import DataItem, Entry
from steward.sync import outbox, shadow

DEPARTMENT = sample.DEPARTMENTS[0]  # 上海市市场监督管理局, 11310000MB2F41826L
DEPARTMENT_CODE = DEPARTMENT.code
DEPARTMENT_NAME = DEPARTMENT.name

ROOT = Path(__file__).resolve().parents[1]

_FALSE_WORDS = {"", "0", "false", "no", "off"}


def in_ci() -> bool:
    """Whether the CI variable is set to something true (CI=true, CI=1, ...)."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE_WORDS


def require(condition: object, reason: str) -> None:
    """Skip the test when `condition` is false, or fail it on CI, where nothing may be quietly missing.

    For tests that need something outside the project (a service, ../shared): on a developer's
    machine its absence is a skip; on CI (CI=true) it is a failure.
    """
    if condition:
        return
    if in_ci():
        pytest.fail(f"required on CI: {reason}")
    pytest.skip(reason)


_sequence = itertools.count(1)


def make_clean_entry(**overrides: object) -> Entry:
    """An entry of DEPARTMENT with no problems at all; each call gets its own resource code.

    Keyword arguments replace fields (e.g. sharing_type="conditional"); `items` replaces the items.
    """
    n = next(_sequence)
    values: dict[str, object] = {
        "classification": "319001",
        "name": f"企业登记信息{n}",
        "code": f"319001/{n:06d}",
        "provider": DEPARTMENT_NAME,
        "provider_code": DEPARTMENT_CODE,
        "abstract": "记录本局在企业登记工作中形成的登记信息,用于跨部门业务协同。",
        "format_category": "database",
        "format_type": "MySQL",
        "sharing_type": "unconditional",
        "sharing_conditions": "",
        "sharing_method_category": "platform",
        "sharing_method_type": "interface",
        "open_type": "unconditional",
        "open_conditions": "",
        "update_frequency": "daily",
        "published": "2020-01-01",
        "related_codes": [],
        "items": [
            DataItem(name="统一社会信用代码", data_type="C", length=18, position=1),
            DataItem(name="机构名称", data_type="C", length=200, position=2),
            DataItem(name="登记日期", data_type="D", length=8, position=3),
        ],
    }
    values.update(overrides)
    return Entry(**values)  # type: ignore[arg-type]


def steward_env(lang: str = "en") -> dict[str, str]:
    env = dict(os.environ)
    env.pop("STEWARD_DEBUG", None)
    env["STEWARD_LANG"] = lang
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run_cli(*args: str | Path, lang: str = "en", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real command line (`python -m steward ...`) in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "steward", *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=steward_env(lang),
        cwd=cwd,
        timeout=120,
        check=False,
    )


def accept_pending(ws, entry_ids=None, version: int | None = None) -> None:
    """What a sync does when the exchange accepts the local changes: the same code path, without the network.

    Each entry gets `version`, or one more than the exchange's copy had.
    """
    with ws.writing() as conn:
        if entry_ids is None:
            entry_ids = [row[0] for row in conn.exec_driver_sql("SELECT id FROM entries WHERE dirty = 1")]
        out = outbox.outgoing(conn, entry_ids)
        known = shadow.load(conn, out.operations)
        versions = {i: version if version is not None else (known[i].version if i in known else 0) + 1
                    for i in out.operations}
        operations = [op for ops in out.operations.values() for op in ops]
        outbox.accept(conn, operations, versions, out.op_seq, ws.department_code)
