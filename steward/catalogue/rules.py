"""The catalogue's rules: pure functions from an entry (and what the workspace knows) to problems."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cache, lru_cache
from operator import attrgetter

from stdnum.cn import uscc

from steward.catalogue.classification import is_valid_classification, parse_resource_code
from steward.catalogue.messages import render
from steward.catalogue.model import ENTRY_FIELDS, DataItem, Entry, Kind
from steward.catalogue.vocabulary import OpenType, SharingType, vocabulary


class Severity(StrEnum):
    ERROR = "error"  # the entry cannot be published as it is
    WARNING = "warning"  # worth a look; publishing is still allowed


@dataclass(frozen=True)
class Problem:
    entry_id: str
    field: str
    code: str
    severity: Severity
    params: dict[str, object] = field(default_factory=dict, hash=False)
    item_id: str | None = None

    def message(self, lang: str | None = None) -> str:
        return render(self.code, self.params, lang)

    def to_dict(self, lang: str | None = None) -> dict[str, object]:
        return {
            "entry_id": self.entry_id,
            "item_id": self.item_id,
            "field": self.field,
            "rule": self.code,
            "severity": str(self.severity),
            "params": self.params,
            "message": self.message(lang),
        }


@dataclass(frozen=True)
class Context:
    """What a rule may know beyond the entry itself."""

    department_code: str | None = None
    today: date = field(default_factory=date.today)
    duplicate_codes: frozenset[str] = frozenset()
    code_exists: Callable[[str], bool] = lambda code: False


Rule = Callable[[Entry, Context], Iterable[Problem]]

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The characters no text may hold, here and in any changeset (docs/protocol.md § 3): C0 controls but tab, line
# feed and carriage return; DEL and the C1 controls (terminal escapes, invisible in a form); lone surrogates,
# which are not Unicode text and cannot be written as UTF-8 or canonicalised.
# Written with escapes, so the same ranges also serve as a JSON Schema pattern (changeset.changeset_schema).
REFUSED_RANGES = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\ud800-\udfff"
REFUSED_CHARACTERS = re.compile(f"[{REFUSED_RANGES}]")
# The longest text value, in Unicode code points as Python counts them (not bytes, not UTF-16 units): one
# limit for the rule below, the changeset format (changeset.py) and so the exchange (docs/protocol.md § 3).
MAX_TEXT = 20_000


def _error(entry: Entry, field_key: str, code: str, item: DataItem | None = None, **params: object) -> Problem:
    return Problem(entry.id, field_key, code, Severity.ERROR, params, item.id if item else None)


def _warning(entry: Entry, field_key: str, code: str, item: DataItem | None = None, **params: object) -> Problem:
    return Problem(entry.id, field_key, code, Severity.WARNING, params, item.id if item else None)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and (not value or value.isspace()))


def required_fields(entry: Entry, ctx: Context) -> Iterator[Problem]:
    for spec in ENTRY_FIELDS:
        if spec.required and _blank(getattr(entry, spec.key)):
            yield _error(entry, spec.key, "required", field=spec.key)
    if not entry.items:
        yield _error(entry, "items", "items.empty")


def vocabulary_values(entry: Entry, ctx: Context) -> Iterator[Problem]:
    for spec in ENTRY_FIELDS:
        if spec.kind is not Kind.VOCAB:
            continue
        value = getattr(entry, spec.key)
        if not _blank(value) and value not in _ranks(spec.vocabulary or ""):
            yield _error(entry, spec.key, "vocab.unknown", field=spec.key, value=value)


def classification_and_code(entry: Entry, ctx: Context) -> Iterator[Problem]:
    if entry.classification and not is_valid_classification(entry.classification):
        yield _error(entry, "classification", "classification.invalid", value=entry.classification)
    if not entry.code:
        return
    parsed = parse_resource_code(entry.code)
    if parsed is None:
        yield _error(entry, "code", "code.invalid", value=entry.code)
    elif entry.classification and parsed.classification != entry.classification:
        yield _warning(
            entry,
            "code",
            "code.classification_mismatch",
            code_class=parsed.classification,
            classification=entry.classification,
        )
    if entry.code in ctx.duplicate_codes:
        yield _error(entry, "code", "code.duplicate", value=entry.code)


@lru_cache(maxsize=4096)
def is_valid_uscc(code: str) -> bool:
    """Whether `code` is a valid 统一社会信用代码 (GB 32100, with its check character)."""
    return code == uscc.compact(code) and uscc.is_valid(code)


def provider_code(entry: Entry, ctx: Context) -> Iterator[Problem]:
    if not entry.provider_code:
        return
    if not is_valid_uscc(entry.provider_code):
        yield _error(entry, "provider_code", "provider_code.invalid", value=entry.provider_code)
    elif ctx.department_code and entry.provider_code != ctx.department_code:
        yield _warning(
            entry, "provider_code", "provider_code.foreign", value=entry.provider_code, department=ctx.department_code
        )


def dependent_fields(sharing_type: str | None, open_type: str | None) -> dict[str, str | None]:
    """The fields the sharing and open attributes bring into play, in form order.

    Each maps to the code of the problem raised while it is blank, or None when it may stay blank;
    a field left out does not apply to these attributes (the sharing method of a resource that is
    not shared). "sharing.basis_required" means the sharing conditions hold the law, regulation or
    policy that forbids sharing. It states what `sharing_and_opening` below checks, for forms that
    show and mark these fields; the two must agree (tests/ui/test_entry_editor.py checks they do).
    """
    needs: dict[str, str | None] = {}
    if sharing_type == SharingType.CONDITIONAL:
        needs["sharing_conditions"] = "sharing.conditions_required"
    elif sharing_type == SharingType.NOT_SHARED:
        needs["sharing_conditions"] = "sharing.basis_required"
    if sharing_type in (SharingType.UNCONDITIONAL, SharingType.CONDITIONAL):
        needs["sharing_method_category"] = needs["sharing_method_type"] = "sharing.method_required"
    elif sharing_type != SharingType.NOT_SHARED:  # not decided yet: a method may already be known
        needs["sharing_method_category"] = needs["sharing_method_type"] = None
    if open_type == OpenType.CONDITIONAL:
        needs["open_conditions"] = "open.conditions_required"
    return needs


def sharing_and_opening(entry: Entry, ctx: Context) -> Iterator[Problem]:
    if entry.sharing_type == SharingType.CONDITIONAL and _blank(entry.sharing_conditions):
        yield _error(entry, "sharing_conditions", "sharing.conditions_required")
    if entry.sharing_type == SharingType.NOT_SHARED and _blank(entry.sharing_conditions):
        yield _error(entry, "sharing_conditions", "sharing.basis_required")
    if entry.sharing_type in (SharingType.UNCONDITIONAL, SharingType.CONDITIONAL):
        for key in ("sharing_method_category", "sharing_method_type"):
            if _blank(getattr(entry, key)):
                yield _error(entry, key, "sharing.method_required", field=key)
    if entry.open_type == OpenType.CONDITIONAL and _blank(entry.open_conditions):
        yield _error(entry, "open_conditions", "open.conditions_required")
    if entry.sharing_type == SharingType.NOT_SHARED and entry.open_type not in (None, "", OpenType.NOT_OPEN):
        yield _error(entry, "open_type", "open.not_shared_but_open")


@cache
def _ranks(vocab: str) -> dict[str, int]:
    return {t.key: t.rank for t in vocabulary(vocab).terms}


def _rank(vocab: str, key: str | None) -> int | None:
    return _ranks(vocab).get(key) if key else None


def data_items(entry: Entry, ctx: Context) -> Iterator[Problem]:
    entry_ranks = {
        "sharing_type": _rank("sharing_type", entry.sharing_type),
        "open_type": _rank("open_type", entry.open_type),
    }
    data_types = _ranks("data_type")
    seen: set[str] = set()
    for position, item in enumerate(entry.items, start=1):
        # Most items are clean: build the message parameters only for a problem.
        name, data_type = item.name, item.data_type
        if not name or name.isspace():
            yield _error(entry, "name", "item.required", item, field="name", position=position, of_item=True)
        elif name in seen:
            yield _warning(entry, "name", "item.name.duplicate", item, name=name)
        seen.add(name)
        if not data_type or data_type.isspace():
            yield _error(entry, "data_type", "item.required", item, field="data_type", position=position, of_item=True)
        elif data_type not in data_types:
            yield _error(
                entry,
                "data_type",
                "item.vocab.unknown",
                item,
                field="data_type",
                value=item.data_type,
                position=position,
                of_item=True,
            )
        if item.length is not None and (not isinstance(item.length, int) or item.length <= 0):
            yield _error(entry, "length", "item.length.invalid", item, position=position, of_item=True)
        if item.sharing_type or item.open_type:
            yield from _item_attributes(entry, item, position, entry_ranks)


def _item_attributes(
    entry: Entry, item: DataItem, position: int, entry_ranks: dict[str, int | None]
) -> Iterator[Problem]:
    for key in ("sharing_type", "open_type"):
        value = getattr(item, key)
        if _blank(value):
            continue
        rank = _rank(key, value)
        where = {"position": position, "of_item": True}
        if rank is None:
            yield _error(entry, key, "item.vocab.unknown", item, field=key, value=value, **where)
        elif entry_ranks[key] is not None and rank < entry_ranks[key]:  # type: ignore[operator]
            yield _error(entry, key, "item.more_open_than_entry", item, field=key, name=item.name, **where)


RESTRICTIVE_FIELDS = ("sharing_type", "open_type")  # an entry's or a data item's attributes that can tighten


def more_open(field_key: str, *values: str | None) -> str | None:
    """The least restrictive of `values` (blank or unknown ones count for nothing), or None."""
    known = [(rank, value) for value in values if (rank := _rank(field_key, value)) is not None]
    return min(known)[1] if known else None


def tightens(field_key: str, old: str | None, new: str | None, synced: str | None = None) -> bool:
    """Whether setting a sharing or open attribute from `old` to `new` makes it more restrictive.

    Such a move must be explained: the journal refuses it without a reason. It is judged against the
    more open of `old` and `synced`, the value the exchange last had, so clearing the attribute first
    and then choosing a stricter one is still a tightening. Going back to the exchange's own value
    never is: the exchange sees nothing change (it is how a pending loosening is taken back).
    A data item's blank attribute means "as the entry": callers pass the entry's value for it.
    """
    if field_key not in RESTRICTIVE_FIELDS or new in (old, synced):
        return False
    after, before = _rank(field_key, new), _rank(field_key, more_open(field_key, old, synced))
    return before is not None and after is not None and after > before


def related_codes(entry: Entry, ctx: Context) -> Iterator[Problem]:
    for code in entry.related_codes:
        if code == entry.code:
            yield _error(entry, "related_codes", "related.self")
        elif parse_resource_code(code) is None and not ctx.code_exists(code):
            yield _error(entry, "related_codes", "related.invalid", value=code)


def refused_character(text: str) -> str | None:
    """The first character of `text` that no text may hold, as U+XXXX, or None."""
    found = REFUSED_CHARACTERS.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


_TEXT_OF_ENTRY = attrgetter(*(spec.key for spec in ENTRY_FIELDS if spec.kind not in (Kind.INT, Kind.CODES)))
_ITEM_TEXT_KEYS = ("name", "data_type", "sharing_type", "open_type")


def text_limits(entry: Entry, ctx: Context) -> Iterator[Problem]:
    """Text the exchange would refuse: longer than MAX_TEXT, or holding a refused character.

    Marked at its field as the steward types or imports it, so it is never sent: the changeset format
    (changeset.py, and so the exchange) checks the same limits, docs/protocol.md § 3. One problem per field.
    """
    # One pass over all the entry's text first: nearly every entry is clean, and this rule runs on each.
    texts = [t for t in (*_TEXT_OF_ENTRY(entry), *entry.related_codes,
                         *(getattr(item, key) for item in entry.items for key in _ITEM_TEXT_KEYS))
             if isinstance(t, str)]
    joined = "".join(texts)
    short = len(joined) <= MAX_TEXT or max(map(len, texts)) <= MAX_TEXT
    if short and (joined.isprintable() or not REFUSED_CHARACTERS.search(joined)):  # refused ones are unprintable
        return
    for spec in ENTRY_FIELDS:
        values = getattr(entry, spec.key)
        for value in values if isinstance(values, list) else [values]:
            if not isinstance(value, str):
                continue
            if len(value) > MAX_TEXT:
                yield _error(entry, spec.key, "text.too_long", field=spec.key, length=len(value), limit=MAX_TEXT)
                break
            if char := refused_character(value):
                yield _error(entry, spec.key, "text.refused_character", field=spec.key, char=char)
                break
    for position, item in enumerate(entry.items, start=1):
        for key in _ITEM_TEXT_KEYS:
            value = getattr(item, key)
            if not isinstance(value, str):
                continue
            if len(value) > MAX_TEXT:
                yield _error(entry, key, "item.text.too_long", item, field=key, length=len(value), limit=MAX_TEXT,
                             position=position, of_item=True)
            elif char := refused_character(value):
                yield _error(entry, key, "item.text.refused_character", item, field=key, char=char,
                             position=position, of_item=True)


def publication_date(entry: Entry, ctx: Context) -> Iterator[Problem]:
    if _blank(entry.published):
        return
    try:
        if not DATE_RE.match(entry.published):
            raise ValueError(entry.published)
        published = date.fromisoformat(entry.published)
    except ValueError:
        yield _error(entry, "published", "published.invalid", value=entry.published)
        return
    if published > ctx.today:
        yield _warning(entry, "published", "published.future", value=entry.published)


RULES: tuple[Rule, ...] = (
    required_fields,
    vocabulary_values,
    classification_and_code,
    provider_code,
    sharing_and_opening,
    data_items,
    related_codes,
    publication_date,
    text_limits,
)


def check(entry: Entry, ctx: Context | None = None) -> list[Problem]:
    """Every problem of `entry`, in rule order."""
    ctx = ctx or Context()
    return [problem for rule in RULES for problem in rule(entry, ctx)]


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity is Severity.ERROR for p in problems)
