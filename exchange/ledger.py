"""The exchange's record: departments and keys, the catalogue, and the hash-chained log of changesets.

`push` is the only way the catalogue changes. It verifies, authorizes and checks a changeset
against a snapshot of the catalogue, without the write lock, then writes it and appends it to
the log in one transaction that holds the lock, or changes nothing and says why (`Refused`,
with an HTTP status and a structured body).
"""

from __future__ import annotations

import heapq
import itertools
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, text

from exchange import admin_log
from exchange.db import reading, writing
from exchange.opendata import view as open_view
from steward.catalogue import rules
from steward.catalogue.model import Entry
from steward.catalogue.rules import is_valid_uscc
from steward.sync.changeset import (
    Changeset,
    ChangesetInvalid,
    apply_operations,
    entry_document,
    entry_from_document,
    from_canonical,
    mixed_base_versions,
    parse,
    verify,
)
from steward.sync.keys import KeyRefused, PublicKey, SigningKey, check_public_key, unb64
from steward.sync.protocol import (
    CHECKPOINT_TAG,
    DEPARTMENT_TAG,
    ENROLLMENT_TAG,
    GENESIS,
    KEY_ROTATION_TAG,
    RECEIPT_TAG,
    Record,
    StepRecord,
    checkpoint_body,
    department_body,
    enrollment_body,
    parse_time,
    receipt_body,
    rotation_body,
    server_sign,
    server_verify,
    utc_now,
)
from steward.sync.requests.documents import parse_step
from steward.sync.requests.refusals import StepRefused
from steward.sync.requests.state import Context, EntryFacts, RequestState, Signer, apply
from steward.sync.working_days import china_date

CHUNK = 500
FEED_BYTES = 8 * 1024 * 1024  # a feed page stops growing past this many bytes of changesets
FEED_ROWS_AT_ONCE = 4


class Refused(Exception):
    """A request the exchange turns down: nothing was changed."""

    def __init__(self, status: int, code: str, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _in(name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """An IN clause with named parameters (portable between SQLite and PostgreSQL)."""
    params = {f"{name}{n}": value for n, value in enumerate(values)}
    return ", ".join(f":{key}" for key in params), params


# The exchange's identity ------------------------------------------------------------------


def exchange_id(engine: Engine) -> str:
    """The exchange's stable id, made on first use."""
    with writing(engine) as conn:
        conn.execute(
            text("INSERT INTO exchange_meta(key, value) VALUES ('exchange_id', :v) ON CONFLICT (key) DO NOTHING"),
            {"v": str(uuid.uuid4())},
        )
        return conn.execute(text("SELECT value FROM exchange_meta WHERE key = 'exchange_id'")).scalar_one()


def recorded_exchange_key(engine: Engine) -> PublicKey | None:
    """The exchange key this database is served with (the newest recorded), or None before the first serve."""
    with reading(engine) as conn:
        return _recorded_key(conn)


def _recorded_key(conn: Connection) -> PublicKey | None:
    row = conn.execute(text("SELECT public_key FROM exchange_keys ORDER BY position DESC LIMIT 1")).first()
    return PublicKey(unb64(row[0])) if row else None


def was_served(engine: Engine) -> bool:
    """Whether clients may know this database's exchange: it gave out its id (when first served) or holds receipts."""
    with reading(engine) as conn:
        return conn.execute(text("SELECT 1 FROM exchange_meta WHERE key = 'exchange_id' "
                                 "UNION ALL SELECT 1 FROM changesets LIMIT 1")).first() is not None


def record_exchange_key(engine: Engine, public: PublicKey) -> PublicKey:
    """Record `public` as the database's exchange key if none is yet; the recorded key either way."""
    with writing(engine) as conn:
        recorded = _recorded_key(conn)  # under the write lock: of two first starts, one records
        if recorded is None:
            conn.execute(text("INSERT INTO exchange_keys(position, public_key, fingerprint, recorded_at) "
                              "VALUES (1, :p, :f, :t)"),
                         {"p": public.to_b64(), "f": public.fingerprint, "t": utc_now()})
            return public
        return recorded


def rotate_exchange_key(engine: Engine, old: SigningKey, new: SigningKey, exchange: str) -> dict[str, Any]:
    with writing(engine) as conn:
        return rotate_key(conn, old, new, exchange)


def rotate_key(conn: Connection, old: SigningKey, new: SigningKey, exchange: str) -> dict[str, Any]:
    """Make `new` the exchange key (under the write lock): a statement signed by `old` names it, and every
    receipt and administration record is signed anew.

    Receipts and administration records are the only signatures the exchange stores (checkpoints and
    enrollments are signed when served), so after this the whole database speaks with the new key.
    Returns the statement.
    """
    recorded = _recorded_key(conn)
    if recorded != old.public:
        raise Refused(409, "exchange_key_not_current", "the current key file is not the database's exchange key")
    if conn.execute(text("SELECT 1 FROM exchange_keys WHERE public_key = :p"), {"p": new.public.to_b64()}).first():
        raise Refused(409, "exchange_key_used", "the new key was this exchange's key before")
    statement = server_sign(old, KEY_ROTATION_TAG,
                            rotation_body(exchange, old.public.to_b64(), new.public.to_b64(), utc_now()))
    position = conn.execute(text("SELECT max(position) FROM exchange_keys")).scalar_one() + 1
    conn.execute(text("INSERT INTO exchange_keys(position, public_key, fingerprint, recorded_at, statement) "
                      "VALUES (:n, :p, :f, :t, :s)"),
                 {"n": position, "p": new.public.to_b64(), "f": new.public.fingerprint,
                  "t": statement["rotated_at"], "s": json.dumps(statement)})
    _sign_receipts_anew(conn, new)
    admin_log.sign_anew(conn, new)
    return statement


def _sign_receipts_anew(conn: Connection, key: SigningKey) -> None:
    rows = conn.execute(text("SELECT position, receipt FROM changesets ORDER BY position")).all()
    for chunk in _chunks(rows):
        updates = []
        for position, receipt in chunk:
            body = {k: v for k, v in json.loads(receipt).items() if k != "signature"}
            updates.append({"p": position, "r": json.dumps(server_sign(key, RECEIPT_TAG, body))})
        conn.execute(text("UPDATE changesets SET receipt = :r WHERE position = :p"), updates)


def key_rotations(engine: Engine) -> list[dict[str, Any]]:
    """The exchange's key rotation statements, oldest first: how a client pinned to an old key reaches the new."""
    with reading(engine) as conn:
        rows = conn.execute(text("SELECT statement FROM exchange_keys WHERE statement IS NOT NULL "
                                 "ORDER BY position")).all()
    return [json.loads(row[0]) for row in rows]


# Departments and keys ---------------------------------------------------------------------


def add_department(engine: Engine, code: str, name: str) -> None:
    with writing(engine) as conn:
        insert_department(conn, code, name)


def insert_department(conn: Connection, code: str, name: str) -> tuple[str, str]:
    """Register a department (under the write lock); its code and name as stored."""
    code = code.strip().upper()
    if not is_valid_uscc(code):
        raise Refused(422, "department_code_invalid", f"{code} is not a valid 统一社会信用代码")
    if not name.strip():
        raise Refused(422, "department_name_required", "a department needs a name")
    if conn.execute(text("SELECT 1 FROM departments WHERE code = :c"), {"c": code}).first():
        raise Refused(409, "department_exists", f"department {code} exists already")
    conn.execute(text("INSERT INTO departments(code, name, created_at) VALUES (:c, :n, :t)"),
                 {"c": code, "n": name.strip(), "t": utc_now()})
    return code, name.strip()


def departments(engine: Engine) -> list[dict[str, str]]:
    with reading(engine) as conn:
        rows = conn.execute(text("SELECT code, name FROM departments ORDER BY code")).all()
    return [{"code": code, "name": name} for code, name in rows]


def signed_departments(engine: Engine, server_key: SigningKey) -> list[dict[str, str]]:
    """Every registered department, each signed by the exchange: clients show stewards names, not codes, and
    take a name only on the exchange's word (a proxy in the middle could otherwise rename a department)."""
    return [server_sign(server_key, DEPARTMENT_TAG, department_body(d["code"], d["name"]))
            for d in departments(engine)]


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    department: str
    public: PublicKey
    steward: str
    enrolled_at: str
    revoked_at: str | None
    last_seq: int

    def enrollment(self) -> dict[str, Any]:
        return enrollment_body(self.key_id, self.public.to_b64(), self.department, self.enrolled_at, self.revoked_at)


_KEY_COLUMNS = "key_id, department_code, public_key, steward, enrolled_at, revoked_at, last_seq"


def _key_record(row: Sequence[Any]) -> KeyRecord:
    # Not PublicKey.from_b64: a weak key enrolled before enrollment refused them must still load (and
    # then fail every signature check) rather than break every request that looks keys up.
    return KeyRecord(row[0], row[1], PublicKey(unb64(row[2])), row[3], row[4], row[5], row[6])


def find_key(conn: Connection, key_id: str) -> KeyRecord | None:
    row = conn.execute(text(f"SELECT {_KEY_COLUMNS} FROM steward_keys WHERE key_id = :k"), {"k": key_id}).first()
    return _key_record(row) if row else None


def lookup_key(engine: Engine, key_id: str) -> KeyRecord | None:
    with reading(engine) as conn:
        return find_key(conn, key_id)


def enroll(engine: Engine, department: str, public: PublicKey, steward: str = "") -> str:
    with writing(engine) as conn:
        return insert_key(conn, department, public, steward)


def insert_key(conn: Connection, department: str, public: PublicKey, steward: str) -> str:
    """Enroll `public` for `department` (under the write lock); its key id."""
    department = department.strip().upper()
    try:
        check_public_key(public.raw)  # whatever path the key came by: a small-order key lets anyone sign as it
    except KeyRefused as error:
        raise Refused(422, "key_refused", f"key {public.key_id} is refused: {error}") from error
    if not conn.execute(text("SELECT 1 FROM departments WHERE code = :c"), {"c": department}).first():
        raise Refused(404, "department_unknown", f"department {department} is not registered")
    if find_key(conn, public.key_id) is not None:
        raise Refused(409, "key_enrolled", f"key {public.key_id} is enrolled already")
    conn.execute(
        text("INSERT INTO steward_keys(key_id, department_code, public_key, steward, enrolled_at) "
             "VALUES (:k, :d, :p, :s, :t)"),
        {"k": public.key_id, "d": department, "p": public.to_b64(), "s": steward, "t": utc_now()},
    )
    return public.key_id


def revoke(engine: Engine, key_id: str) -> None:
    with writing(engine) as conn:
        revoke_key(conn, key_id)


def revoke_key(conn: Connection, key_id: str) -> KeyRecord:
    """Revoke a key (under the write lock; revoking it again changes nothing); the key as it was."""
    key = find_key(conn, key_id)
    if key is None:
        raise Refused(404, "key_unknown", f"no key {key_id} is enrolled")
    if key.revoked_at is None:
        conn.execute(text("UPDATE steward_keys SET revoked_at = :t WHERE key_id = :k"),
                     {"t": utc_now(), "k": key_id})
    return key


def signed_keys(engine: Engine, server_key: SigningKey) -> list[dict[str, Any]]:
    """Every enrolled key, each enrollment signed by the exchange, so clients can verify the feed."""
    with reading(engine) as conn:
        rows = conn.execute(text(f"SELECT {_KEY_COLUMNS} FROM steward_keys ORDER BY enrolled_at, key_id")).all()
    return [server_sign(server_key, ENROLLMENT_TAG, _key_record(row).enrollment()) for row in rows]


# Pushing ----------------------------------------------------------------------------------


def parse_changeset(document: Any) -> Changeset:
    try:
        return parse(document)
    except ChangesetInvalid as error:
        raise Refused(422, "invalid_changeset", "the changeset does not follow the format",
                      [p.to_dict() for p in error.problems]) from error


def _authorize(key: KeyRecord | None, cs: Changeset, request_key_id: str) -> KeyRecord:
    """The changeset's key, if it may push this changeset on behalf of the request's key."""
    if request_key_id != cs.key_id:
        raise Refused(403, "key_mismatch", "the request is authenticated by another key than the changeset's")
    if key is None:
        raise Refused(403, "key_unknown", f"key {cs.key_id} is not enrolled at this exchange")
    if key.revoked_at is not None:
        raise Refused(403, "key_revoked", f"key {cs.key_id} was revoked at {key.revoked_at}")
    if key.department != cs.department:
        raise Refused(403, "wrong_department",
                      f"key {cs.key_id} belongs to department {key.department}, not {cs.department}")
    return key


def _existing_receipt(conn: Connection, cs: Changeset, digest: str) -> dict[str, Any] | None:
    row = conn.execute(text("SELECT sha256, receipt FROM changesets WHERE id = :i"), {"i": cs.id}).first()
    if row is None:
        return None
    if row[0] != digest:
        raise Refused(409, "changeset_id_reused", f"changeset {cs.id} was accepted with other content")
    return json.loads(row[1])


@dataclass(frozen=True)
class StoredEntry:
    department: str
    version: int
    document: dict[str, Any]


def _load_entries(conn: Connection, ids: Sequence[str]) -> dict[str, StoredEntry]:
    found: dict[str, StoredEntry] = {}
    for chunk in _chunks(ids):
        marks, params = _in("i", chunk)
        rows = conn.execute(text(f"SELECT id, department_code, version, document FROM entries WHERE id IN ({marks})"),
                            params)
        for entry_id, department, version, document in rows:
            found[entry_id] = StoredEntry(department, version, json.loads(document))
    return found


def _codes_elsewhere(conn: Connection, entries: dict[str, Entry]) -> dict[str, int]:
    """How many entries outside `entries` hold each of their resource codes."""
    codes = sorted({e.code for e in entries.values() if e.code})
    counts: dict[str, int] = {}
    for chunk in _chunks(codes):
        marks, params = _in("c", chunk)
        rows = conn.execute(text(f"SELECT id, code FROM entries WHERE code IN ({marks})"), params)
        for entry_id, code in rows:
            if entry_id not in entries:
                counts[code] = counts.get(code, 0) + 1
    return counts


@dataclass(frozen=True)
class _Facts:
    """What the rules learned from the rest of the catalogue: equal facts give equal rule problems."""

    elsewhere: dict[str, int]  # resource code -> entries outside the changeset that hold it
    existing: dict[str, bool]  # code the rules looked up -> whether some entry holds it


def _code_exists(conn: Connection, code: str) -> bool:
    return conn.execute(text("SELECT 1 FROM entries WHERE code = :c LIMIT 1"), {"c": code}).first() is not None


def _rule_problems(conn: Connection, department: str,
                   entries: dict[str, Entry]) -> tuple[list[dict[str, Any]], _Facts]:
    """The errors that make entries invalid to publish (warnings do not refuse a changeset), and the facts used."""
    elsewhere = _codes_elsewhere(conn, entries)
    seen: dict[str, int] = {}
    for entry in entries.values():
        seen[entry.code] = seen.get(entry.code, 0) + 1
    duplicates = frozenset(code for code, n in seen.items() if code and n + elsewhere.get(code, 0) > 1)
    existing: dict[str, bool] = {}

    def code_exists(code: str) -> bool:
        if code not in existing:
            existing[code] = _code_exists(conn, code)
        return existing[code]

    ctx = rules.Context(department_code=department, duplicate_codes=duplicates, code_exists=code_exists)
    found = []
    for entry in entries.values():
        for problem in rules.check(entry, ctx):
            if problem.severity is rules.Severity.ERROR:
                found.append({**problem.to_dict("en"), "entry_code": entry.code})
    return found, _Facts(elsewhere, existing)


def _facts_now(conn: Connection, entries: dict[str, Entry], facts: _Facts) -> _Facts:
    """The same facts as they stand now (a few queries, whatever the number of codes)."""
    looked_up = sorted(facts.existing)
    present: set[str] = set()
    for chunk in _chunks(looked_up):
        marks, params = _in("c", chunk)
        present.update(row[0] for row in conn.execute(text(f"SELECT code FROM entries WHERE code IN ({marks})"),
                                                      params))
    return _Facts(_codes_elsewhere(conn, entries), {code: code in present for code in looked_up})


@dataclass(frozen=True)
class _Checked:
    """A changeset checked against one state of the catalogue: what it writes, and what the checks relied on."""

    head: int  # the log's position in that state
    versions: dict[str, int]  # the touched entries' versions in that state (a new entry has none)
    entries: dict[str, Entry]  # the touched entries after the changeset
    documents: dict[str, str]  # their stored JSON
    facts: _Facts


def _check(conn: Connection, cs: Changeset) -> _Checked:
    """Apply `cs` in memory to the catalogue as `conn` sees it: refuse it, or say what to write."""
    head = conn.execute(text("SELECT position FROM head WHERE id = 1")).scalar_one()
    touched_ids = cs.entry_ids()
    stored = _load_entries(conn, touched_ids)
    foreign = [{"entry_id": i, "department": s.department} for i, s in stored.items() if s.department != cs.department]
    if foreign:
        raise Refused(403, "foreign_entries", "the changeset touches entries of another department", foreign)
    entries = {i: entry_from_document(i, s.document) for i, s in stored.items()}
    versions = {i: s.version for i, s in stored.items()}
    conflicts = apply_operations(entries, versions, cs.operations)
    if conflicts:
        raise Refused(409, "conflict", "some operations were made on another version of their entry",
                      [c.to_dict() for c in conflicts])
    touched = {i: entries[i] for i in touched_ids}
    moved = [{"entry_id": e.id, "provider_code": e.provider_code} for e in touched.values()
             if e.provider_code != cs.department]
    if moved:
        raise Refused(403, "provider_not_department",
                      f"entries must name department {cs.department} as their provider", moved)
    problems, facts = _rule_problems(conn, cs.department, touched)
    _refuse_problems(problems)
    documents = {i: json.dumps(entry_document(e), ensure_ascii=False, separators=(",", ":"))
                 for i, e in touched.items()}
    return _Checked(head, versions, touched, documents, facts)


def _refuse_problems(problems: list[dict[str, Any]]) -> None:
    if problems:
        raise Refused(422, "rules", "entries would break catalogue rules", problems)


def _versions(conn: Connection, ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(ids):
        marks, params = _in("i", chunk)
        for entry_id, version in conn.execute(text(f"SELECT id, version FROM entries WHERE id IN ({marks})"), params):
            found[entry_id] = version
    return found


def _check_key(conn: Connection, cs: Changeset, request_key: KeyRecord) -> None:
    """The changeset's key as stored now: still enrolled, not revoked, and `seq` not used yet."""
    key = _authorize(find_key(conn, cs.key_id), cs, request_key.key_id)
    if cs.seq <= key.last_seq:
        raise Refused(409, "sequence_reused", f"sequence number {cs.seq} is not after {key.last_seq}",
                      [{"seq": cs.seq, "last_seq": key.last_seq}])


def push(engine: Engine, server_key: SigningKey, exchange: str, cs: Changeset,
         request_key: KeyRecord) -> tuple[int, dict[str, Any]]:
    """Apply and log `cs` (201 and the receipt), recognise a re-send (200 and the original receipt), or refuse.

    `request_key` is the key that authenticated the request; it must be the changeset's own.
    Every check runs first against a snapshot of the catalogue, without the write lock: a refusal
    there is what the exchange would have answered at that moment (refusing changes nothing), so
    a changeset that will be refused never waits for or holds the lock. Under the lock only what
    may have changed since is looked at again, then the changeset is written.
    """
    digest = cs.digest()
    key = _authorize(request_key, cs, request_key.key_id)
    if not verify(cs, key.public):
        raise Refused(403, "bad_signature", "the changeset's signature does not verify with its key")
    mixed = mixed_base_versions(cs.operations)  # needs only the changeset
    if mixed:
        raise Refused(409, "conflict", "operations on one entry name different base versions",
                      [c.to_dict() for c in mixed])
    with reading(engine, snapshot=True) as conn:
        receipt = _existing_receipt(conn, cs, digest)
        if receipt is not None:
            return 200, receipt
        _check_key(conn, cs, request_key)
        checked = _check(conn, cs)
    body = cs.canonical_bytes.decode("utf-8")
    with writing(engine) as conn:
        if _recorded_key(conn) not in (None, server_key.public):  # rotate-key ran while this process served
            raise Refused(503, "exchange_key_rotated",
                          "the exchange's key was rotated: this server process must be restarted with the new key")
        receipt = _existing_receipt(conn, cs, digest)  # an identical push landed meanwhile
        if receipt is not None:
            return 200, receipt
        _check_key(conn, cs, request_key)  # revoked, or the seq used, meanwhile?
        head_position, head_hash = conn.execute(text("SELECT position, hash FROM head WHERE id = 1")).one()
        if head_position != checked.head:  # changesets landed meanwhile (nothing else changes entries)
            checked = _recheck(conn, cs, checked)
        return 201, _append(conn, server_key, exchange, cs, digest, body, checked, head_position, head_hash)


def _recheck(conn: Connection, cs: Changeset, checked: _Checked) -> _Checked:
    """`checked` still holds if what it relied on is unchanged; else check again (under the lock)."""
    if _versions(conn, list(checked.entries)) != checked.versions:
        return _check(conn, cs)  # an entry changed meanwhile: this refuses it with a conflict
    if _facts_now(conn, checked.entries, checked.facts) != checked.facts:
        _refuse_problems(_rule_problems(conn, cs.department, checked.entries)[0])  # a code was taken, or went
    return checked


def _append(conn: Connection, server_key: SigningKey, exchange: str, cs: Changeset, digest: str, body: str,
            checked: _Checked, head_position: int, head_hash: str) -> dict[str, Any]:
    """Write the checked changeset's entries and append it to the log after the head (under the write lock)."""
    position = head_position + 1
    new_versions = {i: checked.versions.get(i, 0) + 1 for i in checked.entries}
    record = Record(position, cs.id, digest, new_versions, head_hash, utc_now())
    record_hash = record.hash()
    receipt = server_sign(server_key, RECEIPT_TAG, receipt_body(exchange, record))
    _write_entries(conn, cs.department, checked, new_versions, position, record.accepted_at)
    # The public's view changes in the same transaction: a harvest never sees an entry the log has withdrawn.
    open_view.upkeep(conn, cs.department, checked.entries, checked.documents, position, record.accepted_at)
    conn.execute(
        text("INSERT INTO changesets(position, id, key_id, department_code, seq, body, sha256, versions, prev_hash, "
             "hash, accepted_at, receipt) VALUES (:position, :id, :key_id, :department, :seq, :body, :sha256, "
             ":versions, :prev_hash, :hash, :accepted_at, :receipt)"),
        {"position": position, "id": cs.id, "key_id": cs.key_id, "department": cs.department, "seq": cs.seq,
         "body": body, "sha256": digest, "versions": json.dumps(new_versions, separators=(",", ":")),
         "prev_hash": head_hash, "hash": record_hash, "accepted_at": record.accepted_at,
         "receipt": json.dumps(receipt)},
    )
    conn.execute(text("UPDATE head SET position = :p, hash = :h WHERE id = 1"), {"p": position, "h": record_hash})
    conn.execute(text("UPDATE steward_keys SET last_seq = :s WHERE key_id = :k"), {"s": cs.seq, "k": cs.key_id})
    return receipt


def _write_entries(conn: Connection, department: str, checked: _Checked, new: dict[str, int], position: int,
                   stamp: str) -> None:
    rows = [
        {"id": i, "department": department, "code": e.code, "status": e.status, "version": new[i],
         "document": checked.documents[i], "position": position, "updated_at": stamp,
         # what the console counts and searches by, as columns (the document stays the record)
         "name": e.name, "sharing_type": e.sharing_type or "", "open_type": e.open_type or "",
         "update_frequency": e.update_frequency or ""}
        for i, e in checked.entries.items()
    ]
    created = [r for r in rows if r["id"] not in checked.versions]
    updated = [r for r in rows if r["id"] in checked.versions]
    if created:
        conn.execute(text("INSERT INTO entries(id, department_code, code, status, version, document, position, "
                          "updated_at, name, sharing_type, open_type, update_frequency) VALUES (:id, :department, "
                          ":code, :status, :version, :document, :position, :updated_at, :name, :sharing_type, "
                          ":open_type, :update_frequency)"), created)
    if updated:
        conn.execute(text("UPDATE entries SET code = :code, status = :status, version = :version, "
                          "document = :document, position = :position, updated_at = :updated_at, name = :name, "
                          "sharing_type = :sharing_type, open_type = :open_type, "
                          "update_frequency = :update_frequency WHERE id = :id"), updated)


# Reading the log --------------------------------------------------------------------------


def changeset_receipt(engine: Engine, changeset_id: str, signed_by: str | None = None) -> dict[str, Any] | None:
    """The receipt of an accepted changeset (only if key `signed_by` signed it, when given), else None."""
    query = "SELECT receipt FROM changesets WHERE id = :i" + (" AND key_id = :k" if signed_by else "")
    with reading(engine) as conn:
        row = conn.execute(text(query), {"i": changeset_id, "k": signed_by}).first()
    return json.loads(row[0]) if row else None


def checkpoint(engine: Engine, server_key: SigningKey, exchange: str, conn: Connection | None = None) -> dict[str, Any]:
    """The head of the log, signed by the exchange."""
    if conn is None:
        with reading(engine) as own:
            return checkpoint(engine, server_key, exchange, own)
    position, head_hash = conn.execute(text("SELECT position, hash FROM head WHERE id = 1")).one()
    return server_sign(server_key, CHECKPOINT_TAG, checkpoint_body(exchange, position, head_hash, utc_now()))


def feed(engine: Engine, server_key: SigningKey, exchange: str, after: int, limit: int,
         reader: str | None = None) -> dict[str, Any]:
    """The log after position `after`, oldest first, with a signed checkpoint of the head.

    Changesets travel as they were signed; a sharing request's step whole to the department `reader` if it
    is one of the request's two parties (or `reader` is None: the authority), else redacted.
    """
    records: list[dict[str, Any]] = []
    size = 0
    more = False
    with reading(engine) as conn:
        head = checkpoint(engine, server_key, exchange, conn)
        bounds = {"after": after, "head": head["position"], "limit": limit + 1}
        steps = conn.execute(
            text("SELECT s.position, CASE WHEN CAST(:reader AS TEXT) IS NULL OR r.requester = :reader "
                 "OR r.provider = :reader THEN s.document ELSE s.sealed END, "
                 "s.digest, s.due, s.prev_hash, s.hash, s.accepted_at "
                 "FROM sharing_steps s JOIN sharing_requests r ON r.request_id = s.request_id "
                 "WHERE s.position > :after AND s.position <= :head ORDER BY s.position LIMIT :limit"),
            {**bounds, "reader": reader}).all()
        # Streamed a few rows at a time: changesets can be megabytes each, and the page stops at FEED_BYTES,
        # so reading all `limit` rows up front would read (and throw away) most of the log on every page.
        rows = conn.execution_options(yield_per=FEED_ROWS_AT_ONCE).execute(
            text("SELECT position, body, sha256, versions, prev_hash, hash, accepted_at FROM changesets "
                 "WHERE position > :after AND position <= :head ORDER BY position LIMIT :limit"), bounds)
        changesets = ((row[0], len(row[1]), _changeset_record(row)) for row in rows)
        step_records = ((row[0], len(row[1]), _step_record(row)) for row in steps)
        for _position, weight, record in heapq.merge(changesets, step_records, key=lambda row: row[0]):
            if len(records) == limit or (records and size + weight > FEED_BYTES):
                more = True
                break
            size += weight
            records.append(record)
        rows.close()
    return {"records": records, "checkpoint": head, "more": more}


def _changeset_record(row: Sequence[Any]) -> dict[str, Any]:
    position, body, sha256, versions, prev_hash, record_hash, accepted_at = row
    # The exact bytes the steward signed: clients verify them as they are, without canonicalising again.
    return {"position": position, "changeset_json": body, "changeset_sha256": sha256,
            "versions": json.loads(versions), "prev_hash": prev_hash, "hash": record_hash,
            "accepted_at": accepted_at}


def _step_record(row: Sequence[Any]) -> dict[str, Any]:
    position, document, digest, due, prev_hash, record_hash, accepted_at = row
    return {"position": position, "step": json.loads(document), "step_digest": digest, "due": due,
            "prev_hash": prev_hash, "hash": record_hash, "accepted_at": accepted_at}


# Checking the whole log -------------------------------------------------------------------


def verify_log(engine: Engine, server_public: PublicKey) -> list[str]:
    """Every way the stored log and catalogue disagree with what was signed; empty when all is sound.

    Checks each changeset's steward signature against its enrolled key, the hash chain, every
    receipt's exchange signature, the head, and that replaying the log gives the stored catalogue.
    """
    problems: list[str] = []
    with reading(engine) as conn:
        keys = {row[0]: _key_record(row) for row in conn.execute(text(f"SELECT {_KEY_COLUMNS} FROM steward_keys"))}
        head_position, head_hash = conn.execute(text("SELECT position, hash FROM head WHERE id = 1")).one()
        replayed: dict[str, Entry] = {}
        versions: dict[str, int] = {}
        previous, expected_position = GENESIS, 1
        rows = conn.execute(text("SELECT position, body, sha256, versions, prev_hash, hash, accepted_at, receipt "
                                 "FROM changesets ORDER BY position"))
        steps = conn.execute(text("SELECT position, document, digest, due, prev_hash, hash, accepted_at "
                                  "FROM sharing_steps ORDER BY position")).all()
        sharing = _RequestReplay(keys, _exchange_keys(conn), replayed)
        records = heapq.merge(((row[0], row) for row in rows), ((row[0], row) for row in steps),
                              key=lambda pair: pair[0])
        for position, row in records:
            if len(row) == STEP_COLUMNS:
                problems.extend(sharing.check(row, previous, expected_position))
                previous, expected_position = row[5], position + 1
                continue
            _, body, sha256, stored_versions, prev_hash, record_hash, accepted_at, receipt = row
            problems.extend(_check_record(position, body, sha256, json.loads(stored_versions), prev_hash,
                                          record_hash, accepted_at, json.loads(receipt), keys, server_public,
                                          previous, expected_position, replayed, versions))
            previous, expected_position = record_hash, position + 1
        problems.extend(sharing.compare(conn))
        if (head_position, head_hash) != (expected_position - 1, previous):
            problems.append(f"the head ({head_position}, {head_hash}) is not the last record "
                            f"({expected_position - 1}, {previous})")
        problems.extend(_compare_catalogue(conn, replayed, versions))
        problems.extend(_check_exchange_keys(conn, server_public))
        problems.extend(admin_log.problems(conn, server_public))
    return problems


STEP_COLUMNS = 7  # a step's row in verify_log; a changeset's has its receipt too


def _exchange_keys(conn: Connection) -> list[PublicKey]:
    return [PublicKey(unb64(row[0])) for row in conn.execute(text("SELECT public_key FROM exchange_keys"))]


class _RequestReplay:
    """The sharing requests as the log's steps make them: each step checked again by the state machine, against
    the keys and the catalogue replayed up to its place, at the exchange's date in its stamp."""

    def __init__(self, keys: dict[str, KeyRecord], exchange_keys: list[PublicKey], catalogue: dict[str, Entry]) -> None:
        signers = {key_id: Signer(key.public, key.department) for key_id, key in keys.items()}
        signers.update({public.key_id: Signer(public, None) for public in exchange_keys})
        self.signers = signers
        self.catalogue = catalogue
        self.states: dict[str, RequestState] = {}

    def _facts(self, entry_id: str) -> EntryFacts | None:
        entry = self.catalogue.get(entry_id)
        return EntryFacts.of(entry) if entry is not None else None

    def check(self, row: Sequence[Any], previous: str, expected_position: int) -> Iterable[str]:
        position, document, digest, due, prev_hash, record_hash, accepted_at = row
        where = f"record {position}"
        if position != expected_position:
            yield f"{where}: expected position {expected_position}"
        if prev_hash != previous:
            yield f"{where}: its previous hash does not match record {position - 1}"
        try:
            step = parse_step(json.loads(document))
        except StepRefused as error:
            yield f"{where}: the stored sharing request step is malformed ({error})"
            return
        if step.digest() != digest:
            yield f"{where}: the step's content does not match its recorded digest"
        if StepRecord(position, digest, due, prev_hash, accepted_at).hash() != record_hash:
            yield f"{where}: its hash does not match its content"
        context = Context(self.signers.get, self._facts, china_date(parse_time(accepted_at)))
        try:
            self.states[step.request_id] = apply(self.states.get(step.request_id), step, context)
        except StepRefused as error:
            yield f"{where}: the state machine refuses the step of request {step.request_id} ({error.code})"

    def compare(self, conn: Connection) -> Iterable[str]:
        stored = {row[0]: tuple(row[1:]) for row in
                  conn.execute(text("SELECT request_id, status, seq, head FROM sharing_requests"))}
        for request_id, state in self.states.items():
            if stored.pop(request_id, None) != (str(state.status), state.seq, state.head):
                yield f"sharing request {request_id} differs from what the log says"
        for request_id in stored:
            yield f"sharing request {request_id} is stored but no step made it"


def _check_exchange_keys(conn: Connection, server_public: PublicKey) -> Iterable[str]:
    """Each recorded key after the first is named by a statement signed by the one before; the last is ours."""
    rows = conn.execute(text("SELECT position, public_key, statement FROM exchange_keys ORDER BY position")).all()
    for (_, previous, _), (position, public_key, statement) in itertools.pairwise(rows):
        signed = json.loads(statement or "{}")
        if signed.get("old_public_key") != previous or signed.get("new_public_key") != public_key \
                or not server_verify(PublicKey(unb64(previous)), KEY_ROTATION_TAG, signed):
            yield f"exchange key {position}: its rotation statement is not signed by the key before it"
    if rows and rows[-1][1] != server_public.to_b64():
        yield "the key file is not the exchange key the database records"


def _check_record(position: int, body: str, sha256: str, stored_versions: dict[str, int], prev_hash: str,
                  record_hash: str, accepted_at: str, receipt: dict[str, Any], keys: dict[str, KeyRecord],
                  server_public: PublicKey, previous: str, expected_position: int, replayed: dict[str, Entry],
                  versions: dict[str, int]) -> Iterable[str]:
    where = f"record {position}"
    if position != expected_position:
        yield f"{where}: expected position {expected_position}"
    if prev_hash != previous:
        yield f"{where}: its previous hash does not match record {position - 1}"
    try:
        cs = from_canonical(body.encode("utf-8"))
    except ChangesetInvalid as error:
        yield f"{where}: the stored changeset is malformed ({error})"
        return
    if cs.digest() != sha256:
        yield f"{where}: the changeset's content does not match its recorded digest"
    key = keys.get(cs.key_id)
    if key is None or not verify(cs, key.public):
        yield f"{where}: the steward signature of changeset {cs.id} does not verify"
    record = Record(position, cs.id, sha256, stored_versions, prev_hash, accepted_at)
    if record.hash() != record_hash:
        yield f"{where}: its hash does not match its content"
    if not server_verify(server_public, RECEIPT_TAG, receipt) or receipt.get("hash") != record_hash:
        yield f"{where}: the receipt's exchange signature does not verify"
    entries = {i: replayed[i] for i in cs.entry_ids() if i in replayed}
    if apply_operations(entries, versions, cs.operations):
        yield f"{where}: its operations do not apply to the replayed catalogue"
    replayed.update(entries)
    for entry_id in cs.entry_ids():
        versions[entry_id] = versions.get(entry_id, 0) + 1
    if {i: versions[i] for i in cs.entry_ids()} != stored_versions:
        yield f"{where}: its recorded versions do not follow from the log"


def _compare_catalogue(conn: Connection, replayed: dict[str, Entry], versions: dict[str, int]) -> Iterable[str]:
    stored = conn.execute(text("SELECT id, version, document FROM entries"))
    seen = set()
    for entry_id, version, document in stored:
        seen.add(entry_id)
        entry = replayed.get(entry_id)
        if entry is None:
            yield f"entry {entry_id} is in the catalogue but no changeset made it"
        elif version != versions.get(entry_id) or json.loads(document) != entry_document(entry):
            yield f"entry {entry_id} differs from what the log says"
    for entry_id in set(replayed) - seen:
        yield f"entry {entry_id} was made by the log but is missing from the catalogue"
