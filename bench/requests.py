"""Sharing-request scenarios (issue 15): the exchange under 20 clients making and answering requests, the data
authority's overdue count over 100,000 requests, and a steward's inbox of 10,000 requests.

The load runs against `steward-exchange serve` (SQLite) in a child process: 10 clients of the using
department make requests for the provider's 有条件共享 entries, and 10 clients of the provider answer
requests that passed the authority's review (approve and refuse in turn), each step signed and sent as
`POST /v1/steps` by the client's ExchangeClient. Those reviewed requests are made before the load, in
this process, through sharing.record: the authority's reviews are the exchange's own steps, which no
client sends.

The overdue count runs on the city's exchange (bench/city.py) after 100,000 requests are written straight
into its `sharing_requests` (the count reads nothing else). The inbox is `inbox.requests` on a
workspace holding 10,000 requests to its department and their signed steps, written straight into its
tables: the core's listing (bench/gui.py opens the window's view of the same workspace).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import city
from bench.harness import Report, percentile, timed
from exchange import ledger, server_key, sharing
from exchange.db import make_engine, migrate
from exchange.local import LocalExchange
from steward import sample
from steward.catalogue import rules
from steward.catalogue.model import Entry
from steward.catalogue.vocabulary import SharingType
from steward.sync import changeset, departments
from steward.sync.changeset import sha256_hex
from steward.sync.exchange_client import Connection, ExchangeClient, ExchangeRefused
from steward.sync.keys import SigningKey
from steward.sync.protocol import utc_now
from steward.sync.requests.documents import (
    Application,
    Decision,
    DecisionVerdict,
    Escalation,
    OutcomeVerdict,
    Review,
    ReviewVerdict,
    StepKind,
    Withdrawal,
    follow,
    open_request,
    parse_sealed,
)
from steward.sync.requests.documents import Outcome as FinalWord  # Outcome here: what a load client saw
from steward.sync.requests.inbox import Box, listing, requests
from steward.sync.requests.state import RequestStatus
from steward.workspace import store
from steward.workspace.workspace import Workspace

PROVIDER, USING = sample.DEPARTMENTS[0], sample.DEPARTMENTS[1]
CLIENT_PROCESSES, THREADS_PER_PROCESS = 4, 5  # 20 clients; processes so the load is not bound by one GIL
LOAD_SECONDS = 20.0
SPAWN_SECONDS = 8.0  # the client processes start (import, connect) before the load's clock starts
ENTRIES = 100  # the provider's 有条件共享 entries the requests name
REVIEWED_PER_ANSWERER = 600  # more than one client answers in LOAD_SECONDS (~240 at 200 steps/s shared by 20)
AUTHORITY_REQUESTS = 100_000
INBOX_REQUESTS = 10_000
REPEAT = 20


# The load ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One client's part: making requests for `entries`, or answering the reviewed requests `reviews`."""

    raw_key: bytes
    department: str
    entries: list[tuple[str, str, str]]  # (entry id, code, a data item id) to apply for
    reviews: list[dict[str, Any]]  # the authority's review steps (redacted form) to answer


def _conditional_entries(count: int) -> list[Entry]:
    """The provider's 有条件共享 entries that break no rule, each with a data item that may be shared."""
    ctx = rules.Context(department_code=PROVIDER.code)
    chosen: dict[str, Entry] = {}
    for entry in sample.generate(PROVIDER, count * 3, seed=15, first_sequence=900_001):
        entry.sharing_type, entry.open_type, entry.sharing_conditions = (SharingType.CONDITIONAL, "not_open",
                                                                         "经审批后共享")
        if entry.code in chosen or rules.has_errors(rules.check(entry, ctx)) or not _item(entry):
            continue
        chosen[entry.code] = entry
        if len(chosen) == count:
            break
    return list(chosen.values())


def _item(entry: Entry) -> str | None:
    return next((item.id for item in entry.items if item.sharing_type != SharingType.NOT_SHARED), None)


def _application(entry: tuple[str, str, str]) -> Application:
    entry_id, code, item = entry
    return Application(entry_id=entry_id, entry_code=code, provider=PROVIDER.code, purpose="核验企业登记信息",
                       scenario="网约车驾驶员背景核查", items=(item,), until="2099-12-31", author="bench")


def _prepare(folder: Path) -> tuple[str, Path, list[Job]]:
    """The exchange's database with both departments, their keys, the entries and the reviewed requests."""
    db_url = f"sqlite:///{folder / 'requests-exchange.sqlite'}"
    key_file = folder / "requests-exchange-key.json"
    engine = make_engine(db_url)
    migrate(engine)
    server = server_key.for_database(engine, key_file)  # recorded as the exchange's, which signs the reviews
    clients = CLIENT_PROCESSES * THREADS_PER_PROCESS
    keys: dict[str, list[SigningKey]] = {}
    for department in (PROVIDER, USING):
        ledger.add_department(engine, department.code, department.name)
        keys[department.code] = [SigningKey.generate() for _ in range(clients // 2 + 1)]
        for key in keys[department.code]:
            ledger.enroll(engine, department.code, key.public, "bench")
    author, *answerers = keys[PROVIDER.code]
    applicant, *makers = keys[USING.code]
    entries = _conditional_entries(ENTRIES)
    ledger.push(engine, server, ledger.exchange_id(engine), changeset.new_changeset(
        PROVIDER.code, author, 1, utc_now(), "bench", [changeset.op_create(e) for e in entries]),
        ledger.lookup_key(engine, author.key_id))
    named = [(e.id, e.code, _item(e) or "") for e in entries]
    started = time.perf_counter()
    jobs = [Job(key.raw(), USING.code, named, []) for key in makers]
    for n, key in enumerate(answerers):
        reviews = []
        for m in range(REVIEWED_PER_ANSWERER):
            request = open_request(_application(named[(n + m) % len(named)]), applicant, USING.code)
            sharing.record(engine, server, request)
            review = follow(request, Review(verdict=ReviewVerdict.PASS, reviewer="bench"), server, None)
            sharing.record(engine, server, review)
            reviews.append(review.sealed.to_dict())
        jobs.append(Job(key.raw(), PROVIDER.code, [], reviews))
    print(f"  ({len(answerers) * REVIEWED_PER_ANSWERER:,} reviewed requests recorded in "
          f"{time.perf_counter() - started:.0f} s)", flush=True)
    engine.dispose()
    return db_url, key_file, jobs


@dataclass
class Outcome:
    """What one client saw."""

    latencies: list[float]  # each step's milliseconds, from sending it to its answer
    failures: list[str]  # refusals (the client stops at the first)
    began: float  # when it sent its first step (time.time())
    ended: float  # when its last answer came
    ran_out: bool  # an answering client that answered every reviewed request before the time was up


def _client(url: str, job: Job, start_at: float, stop_at: float, interval: float = 0.0) -> Outcome:
    """One client's steps from `start_at` until `stop_at`, each `interval` seconds after the one before it began
    (0: as soon as the previous answer came)."""
    key = SigningKey.from_raw(job.raw_key)
    talker = ExchangeClient(Connection(url, retries=0), key)
    latencies: list[float] = []
    failures: list[str] = []
    reviews = iter(job.reviews)
    n, last = 0, start_at
    while time.time() < start_at:
        time.sleep(0.01)
    began = time.time()
    while time.time() < stop_at:
        if interval:  # paced: the step's time comes whatever the previous answers took (an open-loop load)
            time.sleep(max(0.0, began + n * interval - time.time()))
        if job.entries:
            step = open_request(_application(job.entries[n % len(job.entries)]), key, job.department)
        else:
            review = next(reviews, None)
            if review is None:
                break
            body = (Decision(verdict=DecisionVerdict.APPROVE, conditions="仅用于背景核查", author="bench") if n % 2
                    else Decision(verdict=DecisionVerdict.REFUSE, reason="涉及个人信息，须另行授权", author="bench"))
            step = follow(parse_sealed(review), body, key, job.department)
        n += 1
        started = time.perf_counter()
        try:
            talker.submit_step(step)
        except ExchangeRefused as error:
            failures.append(str(error))
            break
        latencies.append((time.perf_counter() - started) * 1000)
        last = time.time()
    talker.close()
    ran_out = not job.entries and time.time() < stop_at and not failures
    return Outcome(latencies, failures, began, last, ran_out)


def _client_process(url: str, jobs: list[Job], start_at: float, seconds: float, interval: float,
                    results: Any) -> None:
    collected: list[Outcome] = []
    lock = threading.Lock()

    def work(job: Job) -> None:
        outcome = _client(url, job, start_at, start_at + seconds, interval)
        with lock:
            collected.append(outcome)

    threads = [threading.Thread(target=work, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(collected)


def _cpu_seconds(pid: int) -> float | None:
    """The CPU time (user and system) process `pid` has used, where /proc says (Linux); else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def load(report: Report, folder: Path, rate: float | None = None) -> None:
    """20 clients making and answering requests: as fast as they can, or together at `rate` steps a second.

    As fast as they can (a closed loop), each client waits for its answer before its next step, so the latency is
    mostly the queue the other 19 make (p50 ≈ clients / throughput): the figure is the exchange's throughput.
    At `rate`, the steps come on time whatever the answers took (an open loop): the latency of one step at that
    load, which is the issue's "20 clients at 200 steps/s with p95 ≤ 100 ms".
    """
    folder.mkdir(parents=True, exist_ok=True)
    db_url, key_file, jobs = _prepare(folder)
    interval = len(jobs) / rate if rate else 0.0
    random.Random(15).shuffle(jobs)  # each process runs makers and answerers alike
    server = LocalExchange.start(db_url, key_file, folder / "requests-exchange.log")
    try:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        start_at = time.time() + SPAWN_SECONDS
        processes = [context.Process(target=_client_process, args=(
            server.url, jobs[n * THREADS_PER_PROCESS:(n + 1) * THREADS_PER_PROCESS], start_at, LOAD_SECONDS, interval,
            results))
            for n in range(CLIENT_PROCESSES)]
        for process in processes:
            process.start()
        cpu_before = _cpu_seconds(server.process.pid)
        collected = [outcome for _ in processes for outcome in results.get()]
        cpu_after = _cpu_seconds(server.process.pid)
        for process in processes:
            process.join()
    finally:
        server.stop()
    latencies = [ms for outcome in collected for ms in outcome.latencies]
    failures = [f for outcome in collected for f in outcome.failures]
    elapsed = max(outcome.ended for outcome in collected) - start_at
    scenario = f"20 clients × {LOAD_SECONDS:g} s steps (sqlite)" + (f", paced {rate:g}/s" if rate else "")
    report.add(scenario, "steps recorded", len(latencies), "steps")
    report.add(scenario, "refused (should be 0)", len(failures), "steps", 0)
    report.add(scenario, "answerers out of requests (0)", sum(o.ran_out for o in collected), "clients", 0)
    report.add(scenario, "last client's late start", max(o.began for o in collected) - start_at, "s",
               note=f"the client processes had {SPAWN_SECONDS:g} s to start before the clock")
    report.add(scenario, "throughput", len(latencies) / elapsed, "steps/s", note="target >= 200/s on SQLite")
    report.add(scenario, "throughput shortfall below 200/s", max(0.0, 200 - len(latencies) / elapsed), "steps/s", 0)
    report.add(scenario, "latency p50", percentile(latencies, 50), "ms")
    if rate:
        report.add(scenario, "latency p95", percentile(latencies, 95), "ms", 100)
    else:
        report.add(scenario, "latency p95", percentile(latencies, 95), "ms",
                   note="at saturation: each client's wait for the 19 others (the target is the paced run's)")
    if cpu_before is not None and cpu_after is not None:  # where the time goes: the server's share of the cores
        report.add(scenario, "server CPU per step", (cpu_after - cpu_before) * 1000 / len(latencies), "ms")
        report.add(scenario, "server CPU use", (cpu_after - cpu_before) / elapsed * 100, "%",
                   note="of one core, over the load (the clients share the machine's cores)")
    if failures:
        print(f"  first refusal: {failures[0]}", flush=True)


# The data authority's overdue count ------------------------------------------------------------------

# How the city's requests stand: most answered long ago, some waiting (a review, a decision, an outcome).
_STATUSES = ((RequestStatus.GRANTED, 30), (RequestStatus.APPROVED, 25), (RequestStatus.REFUSED, 10),
             (RequestStatus.DENIED, 3), (RequestStatus.REJECTED, 4), (RequestStatus.WITHDRAWN, 6),
             (RequestStatus.AWAITING_DECISION, 14), (RequestStatus.SUBMITTED, 5), (RequestStatus.ESCALATED, 3))


def _request_rows(town: city.City, count: int, now: datetime) -> list[dict[str, Any]]:
    rng = random.Random(16)
    statuses, weights = zip(*_STATUSES, strict=True)
    codes = [d.code for d in town.departments]
    rows = []
    for n in range(count):
        entry = town.entries[n % len(town.entries)]
        status = rng.choices(statuses, weights)[0]
        made = now - timedelta(days=rng.uniform(0, 730))
        waiting = status in (RequestStatus.AWAITING_DECISION, RequestStatus.SUBMITTED, RequestStatus.ESCALATED)
        requester = rng.choice([c for c in codes[:10] if c != entry.provider_code])
        rows.append({"r": f"00000000-0000-4000-8000-{n:012d}", "requester": requester,
                     "provider": entry.provider_code, "entry_id": entry.id, "entry_code": entry.code,
                     "items": json.dumps([entry.items[0].id] if entry.items else []),
                     "until": (made + timedelta(days=365)).date().isoformat(), "conditional": True,
                     "status": str(status), "seq": 3, "head": sha256_hex(str(n).encode()),
                     "due": (made + timedelta(days=7)).date().isoformat() if waiting else None,
                     "created": made.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
    return rows


def overdue(report: Report, folder: Path) -> None:
    town = city.build(folder)
    engine = make_engine(town.db_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sharing_requests(request_id, requester, provider, entry_id, entry_code, items, "
                          "until, conditional, status, seq, head, due, created_at, updated_at) VALUES (:r, "
                          ":requester, :provider, :entry_id, :entry_code, :items, :until, :conditional, :status, "
                          ":seq, :head, :due, :created, :created)"), _request_rows(town, AUTHORITY_REQUESTS, now))
    counted = sharing.overdue_per_department(engine, now)
    samples = timed(lambda: sharing.overdue_per_department(engine, now), REPEAT)
    engine.dispose()
    scenario = f"overdue per dept ({AUTHORITY_REQUESTS // 1000}k req.)"
    report.add(scenario, "departments with overdue", len(counted), "depts")
    report.add(scenario, "requests overdue", sum(counted.values()), "req.")
    report.add(scenario, "overdue_per_department p50", percentile(samples, 50), "ms")
    report.add(scenario, "overdue_per_department p95", percentile(samples, 95), "ms", 200)


# The steward's inbox -----------------------------------------------------------------------------------


# The steps each status has behind it, after the request itself (seq 1): what the trail and the lists read.
_TRAIL: dict[RequestStatus, tuple[StepKind, ...]] = {
    RequestStatus.SUBMITTED: (), RequestStatus.REJECTED: (StepKind.REVIEW,),
    RequestStatus.AWAITING_DECISION: (StepKind.REVIEW,), RequestStatus.GRANTED: (StepKind.REVIEW,),
    RequestStatus.APPROVED: (StepKind.REVIEW, StepKind.DECISION), RequestStatus.REFUSED: (StepKind.REVIEW,
                                                                                          StepKind.DECISION),
    RequestStatus.ESCALATED: (StepKind.REVIEW, StepKind.DECISION, StepKind.ESCALATION),
    RequestStatus.DENIED: (StepKind.REVIEW, StepKind.DECISION, StepKind.ESCALATION, StepKind.OUTCOME),
    RequestStatus.WITHDRAWN: (StepKind.WITHDRAWAL,),
}


def _next_body(kind: StepKind, status: RequestStatus) -> Any:
    """The body of a step of a request that ends in `status`, as the stewards and the authority word them."""
    refused = status in (RequestStatus.REFUSED, RequestStatus.ESCALATED, RequestStatus.DENIED)
    if kind is StepKind.REVIEW:
        return (Review(verdict=ReviewVerdict.REJECT, reason="用途与职责不符", reviewer="审查员甲")
                if status is RequestStatus.REJECTED else Review(verdict=ReviewVerdict.PASS, reviewer="审查员甲"))
    if kind is StepKind.DECISION:
        return (Decision(verdict=DecisionVerdict.REFUSE, reason="涉及个人信息，须另行授权", author="张三") if refused
                else Decision(verdict=DecisionVerdict.APPROVE, conditions="仅用于背景核查，不得转提供", author="张三"))
    if kind is StepKind.ESCALATION:
        return Escalation(reason="履行法定职责必需", author="李四")
    if kind is StepKind.OUTCOME:
        return FinalWord(verdict=OutcomeVerdict.DENY, reason="提供部门理由成立", reviewer="审查员乙")
    return Withdrawal(reason="需求已变更", author="李四")


def inbox_workspace(folder: Path) -> Workspace:
    """A workspace of the provider holding 10,000 requests to it from 30 departments, in every state, about a
    sixth overdue, each with its signed steps (the lists show the last answer), and the departments' names as a
    sync keeps them, written straight into its tables."""
    ws = Workspace.create(folder, PROVIDER.code, PROVIDER.name)
    rng = random.Random(17)
    today = date.today()
    named = city.departments(40)
    requesters = [d.code for d in named if d.code != PROVIDER.code][:30]
    keys = {code: SigningKey.generate() for code in [*requesters, PROVIDER.code, ""]}  # "": the exchange's
    rows, steps = [], []
    for n in range(INBOX_REQUESTS):
        status = rng.choices(*zip(*_STATUSES, strict=True))[0]
        waiting = status in (RequestStatus.AWAITING_DECISION, RequestStatus.SUBMITTED, RequestStatus.ESCALATED)
        made = today - timedelta(days=rng.randint(0, 400))
        # Due within a week (2 or 5 working days after the last step), or past it: some by weeks.
        due = (today + timedelta(days=rng.randint(-20, 7))).isoformat() if waiting else None
        stamp = f"{made.isoformat()}T08:00:00.000000Z"
        requester = rng.choice(requesters)
        until = (made + timedelta(days=365)).isoformat()
        entry = (f"00000000-0000-4000-a000-{n % 500:012d}", f"301004/{n % 500:06d}")
        items = (f"00000000-0000-4000-b000-{n % 500:012d}",)  # one data item of the entry
        step = open_request(Application(entry_id=entry[0], entry_code=entry[1], provider=PROVIDER.code,
                                        purpose="核验企业登记信息", scenario="网约车驾驶员背景核查", items=items,
                                        until=until, author="李四"), keys[requester], requester)
        trail = [step]
        for kind in _TRAIL[status]:
            signer = {StepKind.DECISION: PROVIDER.code, StepKind.ESCALATION: requester,
                      StepKind.WITHDRAWAL: requester}.get(kind)
            trail.append(follow(trail[-1], _next_body(kind, status), keys[signer or ""], signer))
        rows.append((step.request_id, requester, PROVIDER.code, *entry, json.dumps(items), until, 1, str(status),
                     "核验企业登记信息", "网约车驾驶员背景核查", len(trail), trail[-1].digest(), due, stamp, stamp))
        position = len(steps)  # the log's order: each request's steps one after the other
        steps.extend((s.request_id, s.seq, position + i, str(s.sealed.kind), s.key_id, s.department,
                      json.dumps(s.to_dict(), ensure_ascii=False), s.digest(), None, stamp)
                     for i, s in enumerate(trail))
    with ws.writing() as conn:
        db = store.dbapi(conn)
        db.executemany(
            "INSERT INTO sharing_requests(request_id, party, requester, provider, entry_id, entry_code, items, "
            "until, conditional, status, purpose, scenario, seq, head, due, created_at, updated_at) "
            "VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        db.executemany("INSERT INTO sharing_steps(request_id, seq, position, kind, key_id, department, document, "
                       "digest, due, accepted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", steps)
        departments.remember(conn, [departments.Department(d.code, d.name) for d in named])
    return ws


def _read_for_the_view(ws: Workspace) -> object:
    """What the inbox view reads on its worker before its first paint: the lazy listing and the status line's counts."""
    found = listing(ws, Box.INBOX)
    found.count_status(RequestStatus.AWAITING_DECISION)
    found.count_overdue()
    return found[:40]  # a screenful


def inbox(report: Report, folder: Path) -> None:
    ws = inbox_workspace(folder / "inbox-bench")
    scenario = f"inbox ({INBOX_REQUESTS:,} requests), core"
    listed = timed(lambda: requests(ws, Box.INBOX), REPEAT)
    report.add(scenario, "inbox.requests(INBOX) p50", percentile(listed, 50), "ms")
    report.add(scenario, "inbox.requests(INBOX) p95", percentile(listed, 95), "ms",
               note="every summary made, as `steward request list` lists them (the view makes them as rows show)")
    lazily = timed(lambda: _read_for_the_view(ws), REPEAT)
    report.add(scenario, "inbox.listing(INBOX) + counts p95", percentile(lazily, 95), "ms",
               note="the core's part of opening the view: summaries made as rows show")
    late = timed(lambda: requests(ws, Box.INBOX, overdue_only=True), REPEAT)
    report.add(scenario, "overdue_only p95", percentile(late, 95), "ms")
    ws.close()


def run(report: Report, folder: Path) -> None:
    print("Sharing request scenarios", flush=True)
    inbox(report, folder)
    overdue(report, folder)
    load(report, folder / "saturated")
    load(report, folder / "paced", rate=200)
