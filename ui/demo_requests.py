"""The demo's sharing requests: a second department applies for the first's entries, in every state, one overdue.

Made once, through the real core and the demo's own exchange: the requesting department's steward signs
applications, escalations and a withdrawal; the first department's steward approves and refuses; the data
authority's reviews and outcomes are the exchange's review functions. So every step is a genuine signed step
of the log. Two requests are dated days back (the exchange's `clock`): one now overdue, one grant expired.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from exchange import ledger, server_key, sharing
from exchange.db import make_engine
from exchange.local import LocalExchange
from steward import sample
from steward.catalogue.model import Entry
from steward.catalogue.vocabulary import SharingType, Status
from steward.sync import identity, syncer
from steward.sync.exchange_client import Connection, ExchangeClient
from steward.sync.keys import SigningKey
from steward.sync.requests import documents, inbox
from steward.sync.requests.documents import Application, Outcome, OutcomeVerdict, Review, ReviewVerdict
from steward.workspace import query
from steward.workspace.workspace import DB_FILE, Workspace

REQUESTER = sample.DEPARTMENTS[2]  # 上海市公安局 asks the demo department (市场监管局) for data
REQUESTER_STEWARD = "演示管理员丙"
REVIEWER = "演示审查员"  # the data authority's person
MOST_LOOKED_AT = 40  # entries of each sharing type looked at for the requests (each entry is asked for once)
PURPOSES = (("核验企业登记信息", "网约车驾驶员背景核查"), ("查询企业许可情况", "治安重点单位检查"),
            ("比对企业法定代表人", "涉企案件协查"), ("核对经营地址", "流动人口服务管理"))


class DemoPlace(Protocol):
    """Where the demo keeps its exchange and workspaces (ui.demo.Demo)."""

    folder: Path

    @property
    def db_url(self) -> str: ...

    @property
    def key_file(self) -> Path: ...

    def workspace_folder(self, n: int) -> Path: ...

    def start_exchange(self) -> LocalExchange: ...


def requester_folder(demo: DemoPlace) -> Path:
    return demo.folder / "requester"


@dataclass(frozen=True)
class _Party:
    ws: Workspace
    key: SigningKey

    @property
    def steward(self) -> inbox.Steward:
        return inbox.steward_of(self.ws, self.key)


@dataclass
class _Making:
    """What making the demo's requests needs at hand."""

    provider: _Party
    using: _Party
    engine: Engine
    exchange_key: SigningKey
    url: str
    entries: dict[str, list[Entry]]  # the provider's clean entries by sharing type, taken one by one

    def sync(self, *parties: _Party) -> None:
        for party in parties:
            client = ExchangeClient(Connection(self.url), party.key)
            try:
                syncer.sync(party.ws, client, party.key)
            finally:
                client.close()

    def entry(self, sharing_type: str) -> Entry:
        return self.entries[sharing_type].pop(0)

    def apply(self, sharing_type: str, n: int, until: str | None = None) -> str:
        purpose, scenario = PURPOSES[n % len(PURPOSES)]
        step = inbox.new_request(self.using.ws, self.using.steward, self.entry(sharing_type).id, purpose=purpose,
                                 scenario=scenario, until=until)
        return step.request_id

    def review(self, request_id: str, verdict: ReviewVerdict = ReviewVerdict.PASS, *,
               at: datetime | None = None) -> None:
        reason = "用途与申请部门的法定职责不符" if verdict is ReviewVerdict.REJECT else ""
        sharing.authority_step(self.engine, self.exchange_key, request_id,
                               Review(verdict=verdict, reason=reason, reviewer=REVIEWER),
                               clock=lambda: at or datetime.now(UTC))

    def dated_request(self, sharing_type: str, made: datetime, until: str) -> str:
        """A request made at `made` (the exchange stamps it then) and reviewed an hour later."""
        entry = self.entry(sharing_type)
        purpose, scenario = PURPOSES[0]
        items = tuple(item.id for item in entry.items if item.sharing_type != SharingType.NOT_SHARED)
        application = Application(entry_id=entry.id, entry_code=entry.code, provider=entry.provider_code,
                                  purpose=purpose, scenario=scenario, items=items, until=until,
                                  author=REQUESTER_STEWARD)
        step = documents.open_request(application, self.using.key, REQUESTER.code)
        sharing.record(self.engine, self.exchange_key, step, clock=lambda: made)
        self.review(step.request_id, at=made + timedelta(hours=1))
        return step.request_id


def prepare_requests(demo: DemoPlace, passphrase: str) -> None:
    """The requesting department's workspace and the requests between the two (made once)."""
    folder = requester_folder(demo)
    if (folder / DB_FILE).exists():
        return
    engine = make_engine(demo.db_url)
    exchange_key = server_key.load(demo.key_file)
    if REQUESTER.code not in {d["code"] for d in ledger.departments(engine)}:
        ledger.add_department(engine, REQUESTER.code, REQUESTER.name)
    exchange = demo.start_exchange()
    try:
        with _parties(demo, folder, engine, exchange_key, passphrase) as (provider, using):
            making = _Making(provider, using, engine, exchange_key, exchange.url, {})
            making.sync(provider, using)
            making.entries = _clean_entries(provider.ws)
            _make_requests(making)
    finally:
        exchange.stop()
        engine.dispose()


@contextmanager
def _parties(demo: DemoPlace, folder: Path, engine: Engine, exchange_key: SigningKey,
             passphrase: str) -> Iterator[tuple[_Party, _Party]]:
    with Workspace.open(demo.workspace_folder(1)) as provider_ws, \
            Workspace.create(folder, REQUESTER.code, REQUESTER.name) as using_ws:
        info = identity.create_key(using_ws, lambda _new: passphrase, steward=REQUESTER_STEWARD)
        ledger.enroll(engine, REQUESTER.code, info.public, info.steward)
        syncer.pin_exchange(using_ws, "", ledger.exchange_id(engine), exchange_key.public)
        unlock = lambda _new: passphrase  # noqa: E731 - the demo's keys have a known passphrase
        yield (_Party(provider_ws, identity.signing_key(provider_ws, unlock)),
               _Party(using_ws, identity.signing_key(using_ws, unlock)))


def _clean_entries(ws: Workspace) -> dict[str, list[Entry]]:
    """The provider's active entries without problems (all synced), by sharing type, in the catalogue's order."""
    found: dict[str, list[Entry]] = {}
    for sharing_type in (SharingType.CONDITIONAL, SharingType.UNCONDITIONAL):
        wanted = query.EntryFilter(sharing_types=frozenset({str(sharing_type)}), has_problems=False,
                                   statuses=frozenset({str(Status.ACTIVE)}))
        rows = query.search_entries(ws, "", wanted, limit=MOST_LOOKED_AT).rows
        entries = [query.get_entry(ws, row.id) for row in rows]
        # One conditional data item puts a request on the conditional path: a grant by review needs none.
        found[str(sharing_type)] = [entry for entry in entries if sharing_type is SharingType.CONDITIONAL
                                    or all(item.sharing_type != SharingType.CONDITIONAL for item in entry.items)]
    return found


def _make_requests(m: _Making) -> None:
    conditional, unconditional = str(SharingType.CONDITIONAL), str(SharingType.UNCONDITIONAL)
    now = datetime.now(UTC)
    # Dated back: waiting for the provider's answer since two weeks (overdue), and a grant ended last week.
    m.dated_request(conditional, now - timedelta(days=14), (now + timedelta(days=300)).date().isoformat())
    m.dated_request(unconditional, now - timedelta(days=40), (now - timedelta(days=7)).date().isoformat())
    m.apply(conditional, 1)  # left for the data authority's compliance review
    waiting, granted, approved, refused, escalated, denied, rejected, withdrawn = (
        m.apply(conditional, 2), m.apply(unconditional, 3), m.apply(conditional, 0), m.apply(conditional, 1),
        m.apply(conditional, 2), m.apply(conditional, 3), m.apply(conditional, 0), m.apply(conditional, 1))
    m.sync(m.using)
    for request_id in (waiting, granted, approved, refused, escalated, denied):
        m.review(request_id)
    m.review(rejected, ReviewVerdict.REJECT)
    inbox.withdraw(m.using.ws, m.using.steward, withdrawn, reason="业务调整，不再需要")
    m.sync(m.provider, m.using)
    inbox.approve(m.provider.ws, m.provider.steward, approved, conditions="仅用于背景核查，不得向第三方提供")
    for request_id in (refused, escalated, denied):
        inbox.refuse(m.provider.ws, m.provider.steward, request_id, reason="涉及企业商业秘密，须另行授权")
    m.sync(m.provider, m.using)
    for request_id in (escalated, denied):
        inbox.escalate(m.using.ws, m.using.steward, request_id, reason="履行法定职责所必需")
    m.sync(m.using)
    sharing.authority_step(m.engine, m.exchange_key, denied,
                           Outcome(verdict=OutcomeVerdict.DENY, reason="维持提供部门的答复", reviewer=REVIEWER))
    m.sync(m.provider, m.using)
