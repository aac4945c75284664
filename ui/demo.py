"""The demo: a local exchange and sample workspaces enrolled with it, so a newcomer can edit, sync and meet a conflict.

Everything lives in its own folder (the user data folder's `demo`), apart from real work. The
demo's steward keys go to the keyring where there is one; otherwise into key files protected by
DEMO_PASSPHRASE, which the app supplies itself: they sign changes for this local toy exchange only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_path

from exchange import ledger, server_key
from exchange.db import make_engine, migrate
from exchange.local import LocalExchange
from steward import sample
from steward.sync import identity, syncer
from steward.workspace.workspace import DB_FILE, Workspace
from ui.demo_requests import prepare_requests

DEMO_PASSPHRASE = "steward-demo-only"
DEPARTMENT = sample.DEPARTMENTS[0]
STEWARD_NAMES = ("演示管理员甲", "演示管理员乙")


def demo_folder() -> Path:
    return user_data_path("Steward", appauthor=False) / "demo"


@dataclass(frozen=True)
class Demo:
    folder: Path

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.folder / 'exchange.sqlite'}"

    @property
    def key_file(self) -> Path:
        return self.folder / "exchange-key.json"

    def workspace_folder(self, n: int) -> Path:
        return self.folder / f"steward-{n}"

    def start_exchange(self) -> LocalExchange:
        return LocalExchange.start(self.db_url, self.key_file, self.folder / "exchange.log")


def prepare(folder: Path | None = None) -> Demo:
    """The demo's exchange database and key, the first steward's workspace with sample data, and a second
    department's workspace with sharing requests between the two in every state (made once)."""
    demo = Demo(folder or demo_folder())
    demo.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(demo.db_url)
    migrate(engine)
    server_key.load_or_create(demo.key_file)
    if not ledger.departments(engine):
        ledger.add_department(engine, DEPARTMENT.code, DEPARTMENT.name)
    engine.dispose()
    steward_workspace(demo, 1)
    prepare_requests(demo, DEMO_PASSPHRASE)
    return demo


def steward_workspace(demo: Demo, n: int) -> Path:
    """Demo steward n's workspace: created, keyed, enrolled and pinned to the demo exchange the first time.

    The first steward starts with sample entries; the others start empty and receive them by syncing.
    """
    folder = demo.workspace_folder(n)
    if (folder / DB_FILE).exists():
        return folder
    engine = make_engine(demo.db_url)
    key = server_key.load(demo.key_file)
    with Workspace.create(folder, DEPARTMENT.code, DEPARTMENT.name) as ws:
        if n == 1:
            sample.add_sample(ws, sample.DEMO_ENTRIES, seed=1)
        info = identity.create_key(ws, lambda _new: DEMO_PASSPHRASE, steward=STEWARD_NAMES[(n - 1) % 2])
        ledger.enroll(engine, DEPARTMENT.code, info.public, info.steward)
        syncer.pin_exchange(ws, "", ledger.exchange_id(engine), key.public)
    engine.dispose()
    return folder
