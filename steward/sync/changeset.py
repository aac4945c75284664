"""Signed changesets: the operations a steward sends to the exchange, their canonical form and signature.

A changeset is a JSON object; its signature is Ed25519 over a domain tag followed by the RFC 8785
canonical JSON of every member but `signature`. `verify` is the one check both the exchange and
the client use. `parse` refuses anything outside the format (docs/protocol.md), and
`apply_operations` is how both sides turn operations into entry content.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import rfc8785

from steward.catalogue.model import ENTRY_FIELD, ENTRY_FIELDS, ITEM_FIELD, DataItem, Entry, Kind, item_order, new_id
from steward.catalogue.operations import WIRE_KINDS, OpKind
from steward.catalogue.rules import MAX_TEXT, REFUSED_RANGES, is_valid_uscc, refused_character
from steward.catalogue.vocabulary import Status, vocabulary
from steward.sync.keys import PublicKey, SigningKey, b64, unb64

FORMAT = "steward.changeset/1"
SIGNING_TAG = b"steward-changeset-v1\n"  # domain separation: a changeset signature is nothing else
MAX_OPERATIONS = 20_000
MAX_SEQ = 2**53 - 1  # RFC 8785 numbers are IEEE doubles: larger integers are not canonical
# What the first of a chain names as the one before it: the log's first record, a sharing request's first step.
GENESIS = "0" * 64

ITEM_KEYS = ("id", "name", "data_type", "length", "sharing_type", "open_type", "position")
# Fields an update may not name: status changes through retire/restore, identity never changes.
NOT_SET = frozenset({"status"})
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"  # as _is_uuid accepts
_KEY_ID = re.compile(r"[0-9a-f]{32}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)")


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON: the bytes every signature and hash is computed over."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Building operations ----------------------------------------------------------------------


def entry_document(entry: Entry) -> dict[str, Any]:
    """An entry's content and items as a create operation carries them."""
    document = entry.content()
    document["related_codes"] = list(entry.related_codes)
    document["items"] = [item.to_dict() for item in entry.items]
    return document


def op_create(entry: Entry) -> dict[str, Any]:
    return {"kind": OpKind.CREATE, "entry_id": entry.id, "entry": entry_document(entry)}


def op_set(entry_id: str, base_version: int, field_key: str, base: Any, value: Any) -> dict[str, Any]:
    return {"kind": OpKind.SET, "entry_id": entry_id, "base_version": base_version, "field": field_key,
            "base": base, "value": value}


def op_retire(entry_id: str, base_version: int) -> dict[str, Any]:
    return {"kind": OpKind.RETIRE, "entry_id": entry_id, "base_version": base_version}


def op_restore(entry_id: str, base_version: int) -> dict[str, Any]:
    return {"kind": OpKind.RESTORE, "entry_id": entry_id, "base_version": base_version}


def op_item_add(entry_id: str, base_version: int, item: DataItem) -> dict[str, Any]:
    return {"kind": OpKind.ITEM_ADD, "entry_id": entry_id, "base_version": base_version, "item": item.to_dict()}


def op_item_set(
    entry_id: str, base_version: int, item_id: str, field_key: str, base: Any, value: Any
) -> dict[str, Any]:
    return {"kind": OpKind.ITEM_SET, "entry_id": entry_id, "base_version": base_version, "item_id": item_id,
            "field": field_key, "base": base, "value": value}


def op_item_remove(entry_id: str, base_version: int, item: DataItem) -> dict[str, Any]:
    return {"kind": OpKind.ITEM_REMOVE, "entry_id": entry_id, "base_version": base_version, "item_id": item.id,
            "base": item.to_dict()}


# The changeset ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Changeset:
    id: str
    department: str
    key_id: str
    seq: int
    created_at: str
    author: str
    operations: tuple[dict[str, Any], ...]
    signature: str = ""

    def unsigned(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "id": self.id,
            "department": self.department,
            "key_id": self.key_id,
            "seq": self.seq,
            "created_at": self.created_at,
            "author": self.author,
            "operations": list(self.operations),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.unsigned(), "signature": self.signature}

    @cached_property
    def canonical_unsigned(self) -> bytes:
        return canonical(self.unsigned())

    @cached_property
    def canonical_bytes(self) -> bytes:
        """canonical(self.to_dict()), made from the unsigned form without canonicalising it all again.

        RFC 8785 sorts members, and "signature" sorts after every other member of a changeset, so the
        signed form is the unsigned one with the signature added last (tests/test_changeset.py checks it).
        """
        return self.canonical_unsigned[:-1] + b',"signature":' + canonical(self.signature) + b"}"

    def signed_message(self) -> bytes:
        return SIGNING_TAG + self.canonical_unsigned

    def sign(self, key: SigningKey) -> Changeset:
        if key.key_id != self.key_id:
            raise ValueError("the changeset names another key")
        return Changeset(self.id, self.department, self.key_id, self.seq, self.created_at, self.author,
                         self.operations, b64(key.sign(self.signed_message())))

    def digest(self) -> str:
        """SHA-256 of the canonical signed changeset: its identity in the exchange's hash chain."""
        return sha256_hex(self.canonical_bytes)

    def entry_ids(self) -> list[str]:
        return list(dict.fromkeys(op["entry_id"] for op in self.operations))


def new_changeset(department: str, key: SigningKey, seq: int, created_at: str, author: str,
                  operations: Sequence[dict[str, Any]]) -> Changeset:
    """A new changeset, signed."""
    return Changeset(new_id(), department, key.key_id, seq, created_at, author, tuple(operations)).sign(key)


def verify(changeset: Changeset, public: PublicKey) -> bool:
    """Whether `changeset` is signed by `public` over exactly its canonical form."""
    if public.key_id != changeset.key_id:
        return False
    try:
        signature = unb64(changeset.signature)
    except ValueError:
        return False
    return public.verify(signature, changeset.signed_message())


# Parsing what arrives ---------------------------------------------------------------------


@dataclass(frozen=True)
class FormatProblem:
    path: str  # where in the document, e.g. "operations[3].value"
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


class ChangesetInvalid(Exception):
    def __init__(self, problems: list[FormatProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.reason}" for p in problems[:5]))


@dataclass
class _Checker:
    problems: list[FormatProblem] = field(default_factory=list)

    def fail(self, path: str, reason: str) -> None:
        if len(self.problems) < 100:  # a hostile document must not make the answer huge
            self.problems.append(FormatProblem(path, reason))

    def keys(self, path: str, value: dict[str, Any], required: Iterable[str], optional: Iterable[str] = ()) -> None:
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in required:
            if key not in value:
                self.fail(f"{path}.{key}" if path else key, "missing")
        for key in value:
            if key not in allowed:
                name = key if key.isidentifier() else json.dumps(key[:100])  # escaped: it may hold anything
                self.fail(f"{path}.{name}" if path else name, "unknown member")

    def uuid(self, path: str, value: Any) -> None:
        if not isinstance(value, str) or not _is_uuid(value):
            self.fail(path, "must be a lowercase UUID")

    def integer(self, path: str, value: Any, minimum: int = 0, maximum: int = MAX_SEQ) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.fail(path, f"must be an integer from {minimum} to {maximum}")

    def text(self, path: str, value: Any) -> None:
        if not isinstance(value, str):
            self.fail(path, "must be a string")
        elif len(value) > MAX_TEXT:  # code points, as Python counts them (docs/protocol.md § 3)
            self.fail(path, f"longer than {MAX_TEXT} characters")
        elif char := refused_character(value):
            self.fail(path, f"contains the refused character {char}")

    def field_value(self, path: str, kind: Kind, value: Any) -> None:
        if kind is Kind.CODES:
            if not isinstance(value, list) or len(value) > 1000:
                self.fail(path, "must be a list of resource codes")
            else:
                for n, code in enumerate(value):
                    self.text(f"{path}[{n}]", code)
        elif kind is Kind.INT:
            if value is not None:
                self.integer(path, value, -MAX_SEQ)
        elif kind is Kind.VOCAB:
            if value is not None:
                self.text(path, value)
        else:
            self.text(path, value)

    def item(self, path: str, value: Any) -> None:
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
            return
        self.keys(path, value, ITEM_KEYS)
        self.uuid(f"{path}.id", value.get("id"))
        for key in ITEM_KEYS[1:]:
            if key in value:
                self.field_value(f"{path}.{key}", ITEM_FIELD[key].kind, value[key])

    def entry(self, path: str, value: Any) -> None:
        if not isinstance(value, dict):
            self.fail(path, "must be an object")
            return
        self.keys(path, value, [spec.key for spec in ENTRY_FIELDS] + ["items"])
        for spec in ENTRY_FIELDS:
            if spec.key in value:
                self.field_value(f"{path}.{spec.key}", spec.kind, value[spec.key])
        if value.get("status") not in (None, *Status):
            self.fail(f"{path}.status", "must be active or retired")
        items = value.get("items")
        if not isinstance(items, list):
            self.fail(f"{path}.items", "must be a list")
            return
        seen: set[Any] = set()
        for n, item in enumerate(items):
            self.item(f"{path}.items[{n}]", item)
            item_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(item_id, str):  # reported by self.item; a list or object could not even be hashed
                continue
            if item_id in seen:  # an entry's item ids are unique in every workspace: one twice would stop each pull
                self.fail(f"{path}.items[{n}].id", "appears twice in this entry")
            seen.add(item_id)

    def operation(self, path: str, op: Any) -> None:
        if not isinstance(op, dict):
            self.fail(path, "must be an object")
            return
        kind = op.get("kind")
        if kind not in WIRE_KINDS:
            self.fail(f"{path}.kind", f"must be one of {', '.join(WIRE_KINDS)}")
            return
        common = ("kind", "entry_id") if kind == OpKind.CREATE else ("kind", "entry_id", "base_version")
        self.uuid(f"{path}.entry_id", op.get("entry_id"))
        if kind != OpKind.CREATE:
            self.integer(f"{path}.base_version", op.get("base_version"))
        if kind == OpKind.CREATE:
            self.keys(path, op, (*common, "entry"))
            self.entry(f"{path}.entry", op.get("entry"))
        elif kind in (OpKind.RETIRE, OpKind.RESTORE):
            self.keys(path, op, common)
        elif kind == OpKind.SET:
            self.keys(path, op, (*common, "field", "base", "value"))
            spec = ENTRY_FIELD.get(_name(op.get("field")))
            if spec is None or spec.key in NOT_SET:
                self.fail(f"{path}.field", "not a field an update may set")
            else:
                self.field_value(f"{path}.base", spec.kind, op.get("base"))
                self.field_value(f"{path}.value", spec.kind, op.get("value"))
        elif kind == OpKind.ITEM_SET:
            self.keys(path, op, (*common, "item_id", "field", "base", "value"))
            self.uuid(f"{path}.item_id", op.get("item_id"))
            spec = ITEM_FIELD.get(_name(op.get("field")))
            if spec is None:
                self.fail(f"{path}.field", "not a data item field")
            else:
                self.field_value(f"{path}.base", spec.kind, op.get("base"))
                self.field_value(f"{path}.value", spec.kind, op.get("value"))
        elif kind == OpKind.ITEM_ADD:
            self.keys(path, op, (*common, "item"))
            self.item(f"{path}.item", op.get("item"))
        else:  # item_remove
            self.keys(path, op, (*common, "item_id", "base"))
            self.uuid(f"{path}.item_id", op.get("item_id"))
            self.item(f"{path}.base", op.get("base"))


def changeset_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12, as OpenAPI 3.1 embeds it) of what `parse` accepts, for /openapi.json and
    schema-driven clients and fuzzers. Vocabulary fields list their keys (another value breaks a rule: 422
    `rules`); what a schema cannot say (check characters, unique item ids, the rules) `parse` and the
    exchange check. tests/exchange/test_openapi.py keeps the two in step.
    """
    text = {"type": "string", "maxLength": MAX_TEXT, "pattern": f"^[^{REFUSED_RANGES}]*$"}
    uuid_text = {"type": "string", "pattern": UUID_PATTERN}
    version = {"type": "integer", "minimum": 0, "maximum": MAX_SEQ}

    def value(spec: Any) -> dict[str, Any]:
        if spec.kind is Kind.CODES:
            return {"type": "array", "items": text, "maxItems": 1000}
        if spec.kind is Kind.INT:
            return {"type": ["integer", "null"], "minimum": -MAX_SEQ, "maximum": MAX_SEQ}
        if spec.key == "status":
            return {"enum": [str(s) for s in Status]}
        if spec.kind is Kind.VOCAB:
            return {"enum": [*(t.key for t in vocabulary(spec.vocabulary).terms), None]}
        return text

    def strict(properties: dict[str, Any], **more: Any) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": list(properties),
                "additionalProperties": False, **more}

    item = strict({"id": uuid_text, **{key: value(ITEM_FIELD[key]) for key in ITEM_KEYS[1:]}})
    entry = strict({**{spec.key: value(spec) for spec in ENTRY_FIELDS},
                    "items": {"type": "array", "items": item}})

    def operation(kind: str, **members: Any) -> dict[str, Any]:
        based = {} if kind == OpKind.CREATE else {"base_version": version}
        return strict({"kind": {"const": kind}, "entry_id": uuid_text, **based, **members})

    def sets(kind: str, specs: Iterable[Any], **members: Any) -> list[dict[str, Any]]:
        return [operation(kind, **members, field={"const": spec.key}, base=value(spec), value=value(spec))
                for spec in specs]

    operations = [
        operation(OpKind.CREATE, entry=entry), operation(OpKind.RETIRE), operation(OpKind.RESTORE),
        operation(OpKind.ITEM_ADD, item=item), operation(OpKind.ITEM_REMOVE, item_id=uuid_text, base=item),
        *sets(OpKind.SET, (spec for spec in ENTRY_FIELDS if spec.key not in NOT_SET)),
        *sets(OpKind.ITEM_SET, (ITEM_FIELD[key] for key in ITEM_KEYS[1:]), item_id=uuid_text),
    ]
    return strict({
        "format": {"const": FORMAT},
        "id": uuid_text,
        "department": {"type": "string", "pattern": "^[0-9A-HJ-NP-RTUW-Y]{18}$",
                       "description": "a 统一社会信用代码 with a valid check character"},
        "key_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "seq": {"type": "integer", "minimum": 1, "maximum": MAX_SEQ},
        "created_at": {"type": "string", "format": "date-time", "pattern": f"^{_TIMESTAMP.pattern}$"},
        "author": text,
        "operations": {"type": "array", "minItems": 1, "maxItems": MAX_OPERATIONS, "items": {"oneOf": operations}},
        "signature": {"type": "string", "pattern": "^[A-Za-z0-9+/]{86}==$"},
    }, title="Changeset", description="A signed changeset (docs/protocol.md § 3)")


def _name(value: Any) -> str:
    """A member's value as a name to look up: a list or an object names nothing (and cannot be hashed)."""
    return value if isinstance(value, str) else ""


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def parse(document: Any) -> Changeset:
    """A Changeset from decoded JSON, or ChangesetInvalid naming every problem (at most 100)."""
    return _parse_header(document, deep=True)


def _parse_header(document: Any, deep: bool) -> Changeset:
    check = _Checker()
    if not isinstance(document, dict):
        raise ChangesetInvalid([FormatProblem("", "a changeset is a JSON object")])
    check.keys("", document, ("format", "id", "department", "key_id", "seq", "created_at", "author", "operations",
                              "signature"))
    if document.get("format") != FORMAT:
        check.fail("format", f"must be {FORMAT}")
    check.uuid("id", document.get("id"))
    department = document.get("department")
    if not isinstance(department, str) or not is_valid_uscc(department):
        check.fail("department", "must be a valid 统一社会信用代码")
    if not isinstance(document.get("key_id"), str) or not _KEY_ID.fullmatch(document["key_id"]):
        check.fail("key_id", "must be 32 lowercase hex digits")
    check.integer("seq", document.get("seq"), 1)
    created = document.get("created_at")
    if not _is_timestamp(created):
        check.fail("created_at", "must be an RFC 3339 timestamp")
    check.text("author", document.get("author"))
    signature = document.get("signature")
    if not isinstance(signature, str) or not _is_b64_signature(signature):
        check.fail("signature", "must be a base64 Ed25519 signature")
    operations = document.get("operations")
    if not isinstance(operations, list) or not operations:
        check.fail("operations", "must be a non-empty list")
        operations = []
    elif len(operations) > MAX_OPERATIONS:
        check.fail("operations", f"more than {MAX_OPERATIONS} operations")
        operations = []
    for n, op in enumerate(operations):
        if deep:
            check.operation(f"operations[{n}]", op)
        elif not isinstance(op, dict) or op.get("kind") not in WIRE_KINDS or not isinstance(op.get("entry_id"), str):
            check.fail(f"operations[{n}]", "not an operation")
    if check.problems:
        raise ChangesetInvalid(check.problems)
    return Changeset(document["id"], department, document["key_id"], document["seq"], created,  # type: ignore[arg-type]
                     document["author"], tuple(operations), signature)


_SIGNED_TAIL = re.compile(rb',"signature":"([A-Za-z0-9+/]{86}==)"\}\Z')


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("an object has the same member twice")
    return result


def strict_json(body: bytes) -> Any:
    """Decode JSON strictly: UTF-8, no NaN or Infinity, no member twice (which would make a signature ambiguous).

    Raises ValueError (UnicodeDecodeError and RecursionError included) for anything else.
    """
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_no_constants, object_pairs_hook=_strict_object)
    except RecursionError as error:
        raise ValueError("nested too deeply") from error


def from_canonical(body: bytes) -> Changeset:
    """A changeset from the exact canonical bytes it was signed as (what the feed serves).

    The signature is checked over these very bytes (without their trailing signature member), so
    nothing needs canonicalising again, and the digest is theirs. The header is checked in full;
    the operations only for their shape, since a steward's verified signature and the exchange's
    own checks at acceptance stand behind them.
    """
    tail = _SIGNED_TAIL.search(body)
    try:
        # Without the duplicate-member check strict_json makes (a Python call per object, the cost of a first
        # sync): these bytes are the exchange's own canonical output, which has none, and any change to them
        # breaks the steward's signature over them. The exchange checks untrusted pushes strictly.
        document = json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError) as error:
        raise ChangesetInvalid([FormatProblem("", f"not JSON: {error}")]) from error
    if tail is None or not isinstance(document, dict) or document.get("signature") != tail.group(1).decode():
        raise ChangesetInvalid([FormatProblem("signature", "the body does not end with its signature member")])
    cs = _parse_header(document, deep=False)
    # Frozen dataclass: fill the cached properties directly, so digest() and verify() use these bytes.
    cs.__dict__["canonical_unsigned"] = body[: tail.start()] + b"}"
    cs.__dict__["canonical_bytes"] = body
    return cs


def _is_timestamp(value: Any) -> bool:
    """An RFC 3339 time that exists: no 30 February, no hour 24, no leap second, an offset under 24 hours."""
    if not isinstance(value, str) or not _TIMESTAMP.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_b64_signature(text: str) -> bool:
    try:
        return len(unb64(text)) == 64
    except ValueError:
        return False


# Applying operations to entries -----------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """An operation that does not fit the entry as it stands: made on another version or value."""

    entry_id: str
    reason: str  # version, value, exists, missing, item_exists, item_missing, mixed_versions
    field: str | None = None
    item_id: str | None = None
    base: Any = None
    current: Any = None
    yours: Any = None
    base_version: int | None = None
    current_version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"entry_id": self.entry_id, "reason": self.reason, "field": self.field, "item_id": self.item_id,
                "base": self.base, "server": self.current, "yours": self.yours, "base_version": self.base_version,
                "server_version": self.current_version}


def entry_from_document(entry_id: str, document: dict[str, Any]) -> Entry:
    values = {spec.key: document[spec.key] for spec in ENTRY_FIELDS if spec.key in document}
    entry = Entry(id=entry_id, **values)
    entry.related_codes = list(entry.related_codes)
    entry.items = sorted((DataItem.from_dict(item) for item in document.get("items", [])), key=item_order)
    return entry


def _item_value(item: DataItem) -> dict[str, Any]:
    return item.to_dict()


class _Items:
    """One entry's data items while operations apply: found by id in constant time, sorted once at the end.

    Looking items up in the list and sorting it after every operation made a changeset of n item
    operations cost n² (20,000 item_add took ~20 s, under the exchange's write lock).
    """

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.by_id: dict[str, DataItem] = {}
        for item in entry.items:
            self.by_id.setdefault(item.id, item)
        self.added: list[DataItem] = []
        self.removed: set[str] = set()
        self.unsorted = False

    def get(self, item_id: str) -> DataItem | None:
        return self.by_id.get(item_id)

    def add(self, item: DataItem) -> None:
        self.by_id[item.id] = item
        self.added.append(item)
        self.unsorted = True

    def remove(self, item: DataItem) -> None:
        del self.by_id[item.id]
        self.removed.add(item.id)

    def finish(self) -> None:
        """Write the items back to the entry, in item order if an operation may have moved one."""
        if not (self.added or self.removed or self.unsorted):
            return
        items = self.entry.items + self.added
        if self.removed:
            items = [item for item in items if item.id not in self.removed or self.by_id.get(item.id) is item]
        if self.unsorted:
            items.sort(key=item_order)
        self.entry.items = items


def apply_operations(entries: dict[str, Entry], versions: dict[str, int],
                     operations: Iterable[dict[str, Any]]) -> list[Conflict]:
    """Apply parsed operations to `entries` (changed in place; new ones added); return every conflict.

    `versions` holds each existing entry's current version; an operation must be based on it.
    Entries created by these operations count as version 0. On conflicts the caller discards
    `entries`: they are then partly applied. The cost is linear in the operations and items.
    """
    conflicts: list[Conflict] = []
    created: set[str] = set()
    indexes: dict[str, _Items] = {}

    def items_of(entry: Entry) -> _Items:
        index = indexes.get(entry.id)
        if index is None or index.entry is not entry:
            index = indexes[entry.id] = _Items(entry)
        return index

    for op in operations:
        entry_id, kind = op["entry_id"], op["kind"]
        entry = entries.get(entry_id)
        if kind == OpKind.CREATE:
            if entry is not None:
                conflicts.append(Conflict(entry_id, "exists"))
            else:
                entries[entry_id] = entry_from_document(entry_id, op["entry"])
                created.add(entry_id)
            continue
        if entry is None:
            conflicts.append(Conflict(entry_id, "missing", base_version=op["base_version"]))
            continue
        current_version = 0 if entry_id in created else versions.get(entry_id, 0)
        if op["base_version"] != current_version:
            conflicts.append(_conflict(entry, items_of(entry), op, "version", current_version))
            continue
        conflict = _apply_one(entry, items_of(entry), op)
        if conflict is not None:
            conflicts.append(conflict)
    for index in indexes.values():
        index.finish()
    return conflicts


def mixed_base_versions(operations: Iterable[dict[str, Any]]) -> list[Conflict]:
    """Every operation whose `base_version` is not the one of the other operations on its entry.

    All operations of one changeset on one entry are made on one version of it (0 after a `create`
    in the same changeset). This needs only the changeset, so the exchange refuses such a changeset
    before it takes its write lock; `server_version` stays null, the entry is not read.
    """
    expected: dict[str, int] = {}
    conflicts = []
    for op in operations:
        if op["kind"] == OpKind.CREATE:
            expected.setdefault(op["entry_id"], 0)
            continue
        if op["base_version"] != expected.setdefault(op["entry_id"], op["base_version"]):
            conflicts.append(Conflict(op["entry_id"], "mixed_versions", op.get("field"), _item_id(op), op.get("base"),
                                      None, _yours(op), op["base_version"], None))
    return conflicts


def _item_id(op: dict[str, Any]) -> str | None:
    return op.get("item_id") or (op["item"]["id"] if op["kind"] == OpKind.ITEM_ADD else None)


def _yours(op: dict[str, Any]) -> Any:
    if op["kind"] in (OpKind.RETIRE, OpKind.RESTORE):
        return Status.RETIRED if op["kind"] == OpKind.RETIRE else Status.ACTIVE
    return op.get("value", op.get("item"))


def _conflict(entry: Entry, items: _Items, op: dict[str, Any], reason: str, current_version: int) -> Conflict:
    kind = op["kind"]
    item_id = _item_id(op)
    if kind == OpKind.SET:
        current: Any = getattr(entry, op["field"])
    elif kind in (OpKind.RETIRE, OpKind.RESTORE):
        current = entry.status
    else:
        item = items.get(item_id) if item_id else None
        current = (getattr(item, op["field"]) if kind == OpKind.ITEM_SET else _item_value(item)) if item else None
    return Conflict(entry.id, reason, op.get("field"), item_id, op.get("base"), current, _yours(op),
                    op["base_version"], current_version)


def _apply_one(entry: Entry, items: _Items, op: dict[str, Any]) -> Conflict | None:
    kind = op["kind"]
    if kind in (OpKind.RETIRE, OpKind.RESTORE):
        entry.status = (Status.RETIRED if kind == OpKind.RETIRE else Status.ACTIVE).value
        return None
    if kind == OpKind.SET:
        if getattr(entry, op["field"]) != op["base"]:
            return _conflict(entry, items, op, "value", op["base_version"])
        value = op["value"]
        setattr(entry, op["field"], list(value) if isinstance(value, list) else value)
        return None
    if kind == OpKind.ITEM_ADD:
        if items.get(op["item"]["id"]) is not None:
            return _conflict(entry, items, op, "item_exists", op["base_version"])
        items.add(DataItem.from_dict(op["item"]))
        return None
    item = items.get(op["item_id"])
    if item is None:
        return _conflict(entry, items, op, "item_missing", op["base_version"])
    if kind == OpKind.ITEM_REMOVE:
        items.remove(item)
        return None
    if getattr(item, op["field"]) != op["base"]:
        return _conflict(entry, items, op, "value", op["base_version"])
    setattr(item, op["field"], op["value"])
    items.unsorted = True
    return None
