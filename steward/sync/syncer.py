"""Syncing a workspace with its exchange: confirm what landed, pull and merge, then push — losing nothing.

The order matters. Changesets signed before (perhaps sent before a crash) are settled first by
asking the exchange whether they landed. The pull verifies every record back to enrolled keys
and the pinned exchange key before anything is applied, and verified pages are applied in
transactions that carry the feed position, so a cancel or a dropped connection leaves the
workspace consistent and the next sync continues. Local changes are then signed into
changesets, stored, and only then sent; a receipt or a refusal settles each.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

from sqlalchemy import Connection

from steward.catalogue.errors import StewardError
from steward.catalogue.model import Entry
from steward.sync import collector, conflicts, departments, outbox, refusals, settle, shadow
from steward.sync.changeset import Changeset, apply_operations, new_changeset
from steward.sync.exchange_client import ExchangeClient, ExchangeRefused
from steward.sync.keys import KeyRefused, PublicKey, SigningKey, spaced, unb64
from steward.sync.merge import merge
from steward.sync.protocol import (
    GENESIS,
    RECEIPT_TAG,
    Decoded,
    FeedInvalid,
    Verified,
    VerifiedRecord,
    VerifiedStep,
    decode_records,
    follow_rotations,
    server_verify,
    step_signers,
    trusted_keys,
    utc_now,
    verify_feed,
)
from steward.sync.requests import inbox
from steward.sync.requests import local as requests_local
from steward.sync.requests.documents import Step
from steward.sync.requests.state import Signer
from steward.sync.shadow import Shadow
from steward.workspace import journal, store
from steward.workspace.workspace import Workspace

FEED_PAGE = 200
CHANGESET_OPERATIONS = 5_000  # split bigger pushes: each changeset stays well inside the exchange's limits
CHANGESET_BYTES = 8 * 1024 * 1024
PULL_TRANSACTION_SECONDS = 5.0  # at most this much pulled work is lost to a crash; it is fetched again
PUSH_ROUNDS = 3  # pull and push again after a conflict with a change that arrived meanwhile

Trust = Callable[[str], bool]  # shown the exchange's fingerprint on first contact: does the steward confirm it?
Progress = Callable[[str, int, int], None]  # (stage, done, total)


class SyncCancelled(Exception):
    """The steward cancelled: what was finished is kept, the rest waits for the next sync."""


@dataclass(frozen=True)
class HeldBack:
    entry_id: str
    code: str
    reason: str  # errors, conflict, provider, refused (by the exchange, until the entry is edited again)
    message: str = ""  # for refused: the exchange's reason


class Sent(Enum):
    """What became of one changeset sent."""

    LANDED = auto()  # accepted now, or before
    CONFLICT = auto()  # met another steward's newer change: pull, then push again
    ENTRIES_REFUSED = auto()  # refused for some entries: they are held back, the rest is to be signed again
    REFUSED = auto()  # refused as a whole


@dataclass
class SyncReport:
    confirmed: int = 0  # our changesets found to have landed (after a crash or timeout)
    pulled: int = 0  # other stewards' changesets applied
    conflicts: int = 0  # new conflicts
    pushed: int = 0  # our changesets accepted now
    operations: int = 0
    held_back: list[HeldBack] = field(default_factory=list)
    refused: list[dict[str, Any]] = field(default_factory=list)
    position: int = 0
    exchange_key_moved: tuple[str, str] | None = None  # (old, new) fingerprint when a rotation statement moved the pin
    steps_pulled: int = 0  # sharing request steps recorded by the exchange, applied here
    steps_sent: int = 0  # sharing request steps signed here and recorded by the exchange now
    steps_refused: list[dict[str, Any]] = field(default_factory=list)  # … or refused: {request_id, seq, code, …}

    def to_dict(self) -> dict[str, Any]:
        return {"confirmed": self.confirmed, "pulled": self.pulled, "conflicts": self.conflicts, "pushed": self.pushed,
                "operations": self.operations, "position": self.position, "refused": self.refused,
                "exchange_key_moved": list(self.exchange_key_moved) if self.exchange_key_moved else None,
                "held_back": [h.__dict__ for h in self.held_back], "steps_pulled": self.steps_pulled,
                "steps_sent": self.steps_sent, "steps_refused": self.steps_refused}


# Facts the workspace keeps about its exchange ------------------------------------------------

FACTS = ("exchange_url", "exchange_id", "exchange_key", "feed_position", "feed_hash", "last_sync")
ENROLLMENT_FACT = "enrollment"  # "pending" while an enrollment request waits for approval (steward/sync/joining.py)


def _facts(ws: Workspace) -> dict[str, str]:
    return ws.facts()


def pin_exchange(ws: Workspace, url: str, exchange_id: str, public: PublicKey) -> None:
    """Trust an exchange without asking: for one this machine made itself (the demo), whose key is known."""
    with ws.writing() as conn:
        store.set_meta(conn, {"exchange_url": url, "exchange_id": exchange_id, "exchange_key": public.to_b64(),
                          "feed_position": "0", "feed_hash": GENESIS})


def offered_key(info: dict[str, Any], url: str) -> PublicKey:
    """The exchange's public key from `GET /v1/server`, refused if no honest key pair could have it."""
    try:
        return PublicKey.from_b64(info["public_key"])
    except KeyRefused as error:
        raise StewardError(f"keys.weak.{error.reason}", source=url) from error


class Syncer:
    """One sync of one workspace with one exchange."""

    def __init__(self, ws: Workspace, client: ExchangeClient, key: SigningKey, *, trust: Trust | None = None,
                 progress: Progress | None = None, cancelled: Callable[[], bool] = lambda: False) -> None:
        self.ws = ws
        self.client = client
        self.key = key
        self.trust = trust
        self.progress = progress or (lambda _stage, _done, _total: None)
        self.cancelled = cancelled
        self.report = SyncReport()
        self.server_public: PublicKey | None = None
        self.former_exchange_keys: tuple[PublicKey, ...] = ()  # keys the exchange rotated from: their reviews stand
        self.keys: dict[str, dict[str, Any]] = {}
        self.signers: dict[str, Signer] = {}  # who may sign sharing request steps, by key id

    def run(self) -> SyncReport:
        with collector.paced_for_bulk_work(), self.client.attempt():
            return self._run()

    def _run(self) -> SyncReport:
        self._pin_exchange()
        self._settle_waiting(resend=False)  # first: a key revoked meanwhile may still ask about its own changesets
        self._refresh_keys()
        self._learn_departments()
        self._pull()
        self._settle_waiting(resend=True)
        for _ in range(PUSH_ROUNDS):
            if not self._push():
                break
            self._pull()  # someone changed an entry first: take their change, merge, and try again
        if self._send_steps():
            self._pull()  # the steps recorded now: the requests' states here become the exchange's
        with self.ws.writing() as conn:
            store.set_meta(conn, {"last_sync": utc_now()})
            store.delete_meta(conn, (ENROLLMENT_FACT,))  # a sync went through: the key is enrolled
        return self.report

    def _check_cancel(self) -> None:
        if self.cancelled():
            raise SyncCancelled()

    # First contact and the exchange's key ---------------------------------------------------

    def _pin_exchange(self) -> None:
        info = self.client.server_info()
        offered = offered_key(info, self.client.base)
        facts = _facts(self.ws)
        pinned = facts.get("exchange_key")
        if pinned and pinned != offered.to_b64():
            self._follow_rotation(PublicKey(unb64(pinned)), offered, info, facts.get("exchange_id", ""))
        if not pinned:
            with self.client.paused():
                trusted = self.trust is not None and self.trust(offered.fingerprint)
            if not trusted:
                raise StewardError("sync.server_untrusted", url=self.client.base,
                                   fingerprint=spaced(offered.fingerprint))
            pin_exchange(self.ws, self.client.base, info["exchange_id"], offered)
        self.server_public = offered
        self.former_exchange_keys = _former_keys(offered, info, _facts(self.ws).get("exchange_id", ""))
        with self.ws.writing() as conn:
            inbox.remember_deadlines(conn, info)

    def _follow_rotation(self, pinned: PublicKey, offered: PublicKey, info: dict[str, Any], exchange_id: str) -> None:
        """Move the pin to the exchange's new key if statements signed by the pinned key name it; else refuse."""
        if not follow_rotations(pinned, offered, info.get("key_rotations"), exchange_id):
            raise StewardError("sync.server_key_changed", url=self.client.base, pinned=spaced(pinned.fingerprint),
                               offered=spaced(offered.fingerprint))
        with self.ws.writing() as conn:
            store.set_meta(conn, {"exchange_key": offered.to_b64()})
        self.report.exchange_key_moved = (pinned.fingerprint, offered.fingerprint)

    def _refresh_keys(self) -> None:
        assert self.server_public is not None
        self.keys = trusted_keys(self.client.keys(), self.server_public)
        self.signers = step_signers(self.keys, (self.server_public, *self.former_exchange_keys))

    def _learn_departments(self) -> None:
        """Keep the departments' names the exchange signs, for the lists that say who asked whom."""
        assert self.server_public is not None
        found = departments.vouched(self.client.departments(), self.server_public)
        with self.ws.writing() as conn:
            departments.remember(conn, found)

    # Our changesets whose answer we do not know ----------------------------------------------

    def _settle_waiting(self, resend: bool) -> None:
        with self.ws.reading() as conn:
            waiting = outbox.waiting(conn)
        for queued in waiting:
            self._check_cancel()
            if resend:  # entries it has refused are held back; the next push signs the rest again
                self._send(queued.changeset, queued.op_seq)
                continue
            receipt = self.client.changeset_status(queued.changeset.id)
            if receipt is not None:
                self._accepted(queued.changeset, queued.op_seq, receipt)
                self.report.confirmed += 1

    def _accepted(self, cs: Changeset, op_seq: int, receipt: dict[str, Any]) -> None:
        assert self.server_public is not None
        genuine = server_verify(self.server_public, RECEIPT_TAG, receipt)
        if not genuine or receipt.get("changeset_sha256") != cs.digest():
            raise StewardError("sync.bad_receipt", changeset=cs.id)
        with self.ws.writing() as conn:
            if _outbox_state(conn, cs.id) == "accepted":  # the feed brought it first
                return
            outbox.accept(conn, cs.operations, {k: int(v) for k, v in receipt["versions"].items()}, op_seq,
                          self.ws.department_code)
            outbox.settle(conn, cs.id, "accepted", receipt)

    # Pulling ----------------------------------------------------------------------------------

    def _pull(self) -> None:
        """Apply the feed from where the last sync stopped, a few seconds' worth of pages per transaction.

        Each transaction carries the feed position with what it applied, so stopping anywhere is
        consistent; fewer, larger transactions save SQLite rewriting (and checkpointing) the same
        index pages after every page.
        """
        facts = _facts(self.ws)
        self.report.position = int(facts.get("feed_position", "0"))
        pages = self._verified_pages(self.report.position, facts.get("feed_hash", GENESIS))
        try:
            while self._apply_for_a_while(pages):
                pass
        finally:
            pages.close()

    def _apply_for_a_while(self, pages: Iterator[tuple[list[Verified], int]]) -> bool:
        """One transaction of pages; False once the feed is done. A cancel or a bad page commits what came before."""
        stop: Exception | None = None
        with self.ws.writing() as conn:
            started = time.monotonic()
            while time.monotonic() - started < PULL_TRANSACTION_SECONDS:
                try:
                    self._check_cancel()
                    verified, total = next(pages)
                except StopIteration:
                    return False  # the block commits on the way out
                # journal.Cancelled: the client's own cancel, cutting a page's request short.
                except (SyncCancelled, journal.Cancelled, StewardError) as error:
                    stop = error
                    break
                self._apply_page(conn, verified)
                self.progress("pull", self.report.position, total)
        if stop is not None:
            raise stop
        return True

    def _verified_pages(self, position: int, last_hash: str) -> Iterator[tuple[list[Verified], int]]:
        """Verified feed pages (and the checkpoint's position); the next is fetched while one is applied."""
        assert self.server_public is not None
        with ThreadPoolExecutor(1, thread_name_prefix="feed") as fetcher:
            coming = fetcher.submit(self._fetch, position)
            while True:
                page, decoded = coming.result()
                verified = self._verify(page, position, last_hash, decoded)
                if page.get("more") and verified:
                    coming = fetcher.submit(self._fetch, verified[-1].record.position)
                if verified:
                    position, last_hash = verified[-1].record.position, verified[-1].record.hash()
                yield verified, page["checkpoint"]["position"]
                if not page.get("more") or not verified:
                    return

    def _apply_page(self, conn: Connection, verified: list[Verified]) -> None:
        if not verified:
            return
        for record in verified:
            if isinstance(record, VerifiedStep):
                requests_local.apply_pulled(conn, record, self.ws.department_code, self.signers.get)
                self.report.steps_pulled += 1
            else:
                self._apply_record(conn, record)
        last = verified[-1].record
        store.set_meta(conn, {"feed_position": str(last.position), "feed_hash": last.hash()})
        self.report.position = last.position

    def _fetch(self, after: int) -> tuple[dict[str, Any], list[Decoded]]:
        """A feed page and its changesets decoded (on the fetch thread: SQLite lets it run while a page is written)."""
        page = self.client.feed(after, FEED_PAGE)
        return page, decode_records(page["records"])

    def _verify(self, page: dict[str, Any], position: int, last_hash: str,
                decoded: list[Decoded]) -> list[Verified]:
        assert self.server_public is not None
        try:
            return verify_feed(page["records"], page["checkpoint"], self.server_public, self.keys, position, last_hash,
                               decoded, self.former_exchange_keys)
        except FeedInvalid as first:
            if "not enrolled" not in first.reason:
                raise StewardError("sync.feed_invalid", position=first.position, reason=first.reason) from first
            self._refresh_keys()  # a steward enrolled since we last asked
            try:
                return verify_feed(page["records"], page["checkpoint"], self.server_public, self.keys, position,
                                   last_hash, decoded, self.former_exchange_keys)
            except FeedInvalid as error:
                raise StewardError("sync.feed_invalid", position=error.position, reason=error.reason) from error

    def _apply_record(self, conn: Connection, record: VerifiedRecord) -> None:
        cs, versions = record.changeset, {k: int(v) for k, v in record.record.versions.items()}
        state = _outbox_state(conn, cs.id)
        if state is not None:  # ours
            if state != "accepted":
                op_seq = store.dbapi(conn).execute(
                    "SELECT op_seq FROM outbox WHERE id = ?", (cs.id,)).fetchone()[0]
                outbox.accept(conn, cs.operations, versions, op_seq, self.ws.department_code)
                outbox.settle(conn, cs.id, "accepted", {"position": record.record.position, "versions": versions})
                self.report.confirmed += 1
            return
        ids = cs.entry_ids()
        local = {e.id: e for e in store.load_entries(conn, ids=ids).values()}
        servers = shadow.load(conn, ids, local)
        copies = {i: s.entry() for i, s in servers.items()}
        if apply_operations(copies, {i: s.version for i, s in servers.items()}, cs.operations):
            raise StewardError("sync.copy_diverged", position=record.record.position)
        _refuse_foreign(record, servers, copies)
        changes: list[journal.Change] = []
        found = []
        changed: dict[str, set[settle.Unit]] = {}  # where the changeset changed entries we hold
        for entry_id in ids:
            if entry_id not in local:  # new here: the exchange's copy itself becomes the entry
                changes.append(journal.CreateEntry(copies[entry_id]))
                continue
            base = servers[entry_id].entry() if entry_id in servers else None
            merged = merge(base, copies[entry_id], local[entry_id])
            changes.extend(merged.changes)
            found.extend(merged.conflicts)
            if base is not None:
                changed[entry_id] = settle.changed_units(base, copies[entry_id])
        # The copies first (before the journal takes over the new entries): the journal then measures what
        # stays unsynced against the exchange's new state. An entry new here is made from the exchange's
        # copy itself, so its copy is stored as "the entry".
        new = [i for i in ids if i not in local]
        shadow.save(conn, [shadow.of_entry(copies[i], cs.department, versions[i]) for i in ids if i in local])
        shadow.save_as_entry(conn, new, cs.department, versions)
        if changes:
            origin = journal.Origin(cs.id, cs.key_id, cs.department, cs.author, cs.created_at, verified=True)
            journal.apply_on(conn, self.ws.department_code, changes, origin=origin)
        # An entry made here from the exchange's copy equals it; only those we already had can differ.
        store.set_versions(conn, {i: versions[i] for i in new}, dirty=dict.fromkeys(new, False))
        store.set_versions(conn, {i: versions[i] for i in ids if i in local})
        shadow.refresh_dirty(conn, store.load_entries(conn, ids=[i for i in ids if i in local]))
        settle.settle(conn, copies, changed, cs.id)  # local changes this one made moot: merged or superseded
        self.report.conflicts += conflicts.record(conn, found, cs.id)
        self.report.pulled += 1

    # Pushing ----------------------------------------------------------------------------------

    def _push(self) -> bool:
        """Sign, store and send the local changes; True when a conflict asks for another pull first.

        A changeset refused for some of its entries holds those back, and the rest is signed and sent
        again at once: each such round holds back at least one entry more, so the rounds end.
        """
        while True:
            with self.ws.writing() as conn:
                ready = self._eligible(conn)
                out = outbox.outgoing(conn, ready)
                batches = _split(out.operations)
                seq = max(outbox.last_seq(conn), 0)
                queued = []
                for batch in batches:
                    seq += 1
                    cs = new_changeset(self.ws.department_code, self.key, seq, utc_now(), self.key_author(), batch)
                    outbox.enqueue(conn, cs, out.op_seq, utc_now())  # stored and committed before it is sent
                    queued.append(cs)
            answers = set()
            for n, cs in enumerate(queued, start=1):
                self._check_cancel()
                answers.add(self._send(cs, out.op_seq))
                self.progress("push", n, len(queued))
            if Sent.CONFLICT in answers:
                return True
            if Sent.ENTRIES_REFUSED not in answers:
                return False

    def _send_steps(self) -> bool:
        """Send the sharing request steps signed here, oldest first; True when the exchange recorded any.

        Each is settled by the answer: recorded, or refused (kept with the exchange's reason for the steward);
        a step the exchange says it holds already (`request.replayed`) had landed before its answer was lost.
        """
        with self.ws.reading() as conn:
            waiting = requests_local.queued(conn)
        landed = False
        for n, queued in enumerate(waiting, start=1):
            self._check_cancel()
            step = queued.step
            try:
                self.client.submit_step(step)
            except ExchangeRefused as refusal:
                if refusal.code == "request.replayed":
                    self._settle_step(step, requests_local.Outbox.ACCEPTED)
                    landed = True
                    continue
                error = {"status": refusal.status, "code": refusal.code, "message": refusal.message,
                         "details": refusal.details[:20]}
                self._settle_step(step, requests_local.Outbox.REFUSED, error)
                self.report.steps_refused.append({"request_id": step.request_id, "seq": step.seq,
                                                  "kind": str(step.kind), **error})
                continue
            self._settle_step(step, requests_local.Outbox.ACCEPTED)
            self.report.steps_sent += 1
            landed = True
            self.progress("steps", n, len(waiting))
        return landed

    def _settle_step(self, step: Step, state: str, error: dict[str, Any] | None = None) -> None:
        with self.ws.writing() as conn:
            requests_local.settle(conn, step, state, error)

    def key_author(self) -> str:
        return _facts(self.ws).get("key_steward", "")

    def _eligible(self, conn: Connection) -> list[str]:
        """Unsynced entries that may be sent; the others are reported as held back, with why."""
        db = store.dbapi(conn)
        in_conflict = conflicts.entries_in_conflict(conn)
        rows = db.execute(
            "SELECT e.id, e.code, e.provider_code, e.error_count, s.department_code FROM entries e "
            "LEFT JOIN server_entries s ON s.entry_id = e.id WHERE e.dirty = 1").fetchall()
        refusals.forget_edited(conn)
        refused = refusals.standing(conn)
        own = self.ws.department_code
        eligible = []
        held = []
        for entry_id, code, provider_code, errors, department in rows:
            if department is not None and department != own:
                continue  # another department's entry: read-only here
            reason = ("conflict" if entry_id in in_conflict else "errors" if errors else
                      "refused" if entry_id in refused else "provider" if provider_code != own else None)
            if reason:
                held.append(HeldBack(entry_id, code, reason, refused[entry_id].reason if reason == "refused" else ""))
            else:
                eligible.append(entry_id)
        self.report.held_back = held  # as of this push round: the last one is what the sync leaves
        return eligible

    def _send(self, cs: Changeset, op_seq: int) -> Sent:
        """Push one stored changeset and settle it."""
        try:
            status, receipt = self.client.push(cs)
        except ExchangeRefused as refusal:
            held = refusals.entries_refused(cs, refusal)
            with self.ws.writing() as conn:
                outbox.settle(conn, cs.id, "refused", error=json.dumps(
                    {"status": refusal.status, "code": refusal.code, "message": refusal.message,
                     "details": refusal.details[:50]}, ensure_ascii=False))
                if held:
                    refusals.hold(conn, held, cs.id, op_seq, utc_now())
            if refusal.status == 409 and refusal.code in ("conflict", "sequence_reused"):
                return Sent.CONFLICT
            if held:
                return Sent.ENTRIES_REFUSED
            self.report.refused.append({"changeset": cs.id, "status": refusal.status, "code": refusal.code,
                                        "message": refusal.message, "details": refusal.details[:20]})
            return Sent.REFUSED
        self._accepted(cs, op_seq, receipt)
        if status == 201:
            self.report.pushed += 1
            self.report.operations += len(cs.operations)
        else:
            self.report.confirmed += 1
        return Sent.LANDED


def _former_keys(current: PublicKey, info: dict[str, Any], exchange_id: str) -> tuple[PublicKey, ...]:
    """The keys the exchange had before `current`: those its rotation statements lead from to `current`."""
    statements = info.get("key_rotations")
    former = []
    for statement in statements if isinstance(statements, list) else []:
        try:
            old = PublicKey.from_b64(statement["old_public_key"])
        except (KeyError, TypeError, ValueError):
            continue
        if old != current and follow_rotations(old, current, statements, exchange_id):
            former.append(old)
    return tuple(former)


def _refuse_foreign(record: VerifiedRecord, servers: dict[str, Shadow], copies: dict[str, Entry]) -> None:
    """A department changes only its own entries: checked here too, so a compromised exchange cannot slip one in."""
    department = record.changeset.department
    for entry_id, entry in copies.items():
        owner = servers[entry_id].department_code if entry_id in servers else department
        if owner != department or entry.provider_code != department:
            other = entry.provider_code if owner == department else owner
            raise StewardError("sync.foreign_change", position=record.record.position, department=department,
                               entry=entry.code or entry_id, owner=other)


def _outbox_state(conn: Connection, changeset_id: str) -> str | None:
    row = store.dbapi(conn).execute("SELECT state FROM outbox WHERE id = ?", (changeset_id,)).fetchone()
    return row[0] if row else None


def _split(operations: dict[str, list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """Changesets of whole entries, each under the operation and size limits."""
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for ops in operations.values():
        weight = len(json.dumps(ops, ensure_ascii=False).encode())
        if current and (len(current) + len(ops) > CHANGESET_OPERATIONS or size + weight > CHANGESET_BYTES):
            batches.append(current)
            current, size = [], 0
        current.extend(ops)
        size += weight
    if current:
        batches.append(current)
    return batches


def sync(ws: Workspace, client: ExchangeClient, key: SigningKey, **options: Any) -> SyncReport:
    return Syncer(ws, client, key, **options).run()


# What the steward sees of the sync state --------------------------------------------------


@dataclass(frozen=True)
class Status:
    unsynced: int
    conflicts: int
    waiting: int  # changesets signed, answer unknown
    last_sync: str | None
    exchange_url: str | None
    exchange_fingerprint: str | None
    key_id: str | None
    position: int
    refused: list[dict[str, str]]  # entries the exchange refused, held back until edited again (Refusal.to_dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def status(ws: Workspace) -> Status:
    facts = ws.facts()
    with ws.reading() as conn:
        db = store.dbapi(conn)
        unsynced = db.execute("SELECT COUNT(*) FROM entries WHERE dirty = 1").fetchone()[0]
        open_conflicts = db.execute("SELECT COUNT(*) FROM conflicts WHERE resolved_at IS NULL").fetchone()[0]
        waiting = db.execute("SELECT COUNT(*) FROM outbox WHERE state = 'ready'").fetchone()[0]
        refused = [r.to_dict() for r in refusals.standing(conn).values()]
    pinned = facts.get("exchange_key")
    return Status(unsynced, open_conflicts, waiting, facts.get("last_sync"), facts.get("exchange_url"),
                  PublicKey(unb64(pinned)).fingerprint if pinned else None, facts.get("key_id"),
                  int(facts.get("feed_position", "0")), refused)
