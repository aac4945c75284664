"""Turning typed text (FIELD=VALUE, a spreadsheet cell) into field values and changes."""

from __future__ import annotations

import re
from typing import Any

from stdnum.cn import uscc

from steward.catalogue.classification import clean_code
from steward.catalogue.dates import normalize_date
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import language, render
from steward.catalogue.model import ENTRY_FIELD, ENTRY_FIELDS, ITEM_FIELD, ITEM_FIELDS, DataItem, Entry, FieldSpec, Kind
from steward.catalogue.vocabulary import normalize, vocabulary
from steward.workspace.journal import AddItem, Change, RemoveItem, SetField, SetItemField

LIST_SEPARATORS = re.compile(r"[,,;;、\s]+")
_ITEM_KEY = re.compile(r"^items\.(\d+)\.(\w+)$")

# Keys a person may type for a field: its key, its national-guide name, its English name.
_ENTRY_KEYS = {normalize(name): spec for spec in ENTRY_FIELDS for name in (spec.key, spec.zh, spec.en)}
_ITEM_KEYS = {normalize(name): spec for spec in ITEM_FIELDS for name in (spec.key, spec.zh, spec.en)}


def parse_value(spec: FieldSpec, raw: str) -> Any:
    """The stored value for text typed into field `spec`; StewardError("set.bad_value") if it cannot be one."""
    text = raw.strip()
    if spec.kind is Kind.VOCAB:
        if not text:
            return None
        key = vocabulary(spec.vocabulary or "").parse(text)
        if key is None:
            lang = language()
            terms = vocabulary(spec.vocabulary or "").terms
            choices = ("、" if lang == "zh" else ", ").join(t.label(lang) for t in terms)
            raise StewardError("set.bad_value", field=spec.key, value=raw, reason=_choices(choices))
        return key
    if spec.kind is Kind.INT:
        if not text:
            return None
        folded = normalize(text)
        if not folded.isdigit():
            raise StewardError("set.bad_value", field=spec.key, value=raw, reason=_int_reason())
        return int(folded)
    if spec.kind is Kind.CODES:
        return [clean_code(c) for c in LIST_SEPARATORS.split(text) if c]
    if spec.key == "code" or spec.key == "classification":
        return clean_code(text)
    if spec.key == "provider_code":
        return uscc.compact(normalize(text)).upper() if text else ""
    if spec.kind is Kind.DATE:
        return normalize_date(text)
    return text


def _choices(choices: str) -> str:
    return render("value.vocab", {"choices": choices})


def _int_reason() -> str:
    return render("value.int")


def entry_field(key: str) -> FieldSpec:
    spec = _ENTRY_KEYS.get(normalize(key))
    if spec is None or spec.key not in ENTRY_FIELD:
        raise StewardError("set.unknown_field", key=key)
    return spec


def changes_for(entry: Entry, assignments: list[str]) -> list[Change]:
    """Changes to `entry` for assignments written FIELD=VALUE (see docs/cli.md for the keys)."""
    changes: list[Change] = []
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        if not sep or not key.strip():
            raise StewardError("set.syntax", text=assignment)
        key = key.strip()
        if key == "items+":
            changes.append(AddItem(entry.id, _new_item(raw)))
        elif key == "items-":
            changes.append(RemoveItem(entry.id, _item_at(entry, raw).id))
        elif match := _ITEM_KEY.match(key):
            item = _item_at(entry, match[1])
            spec = _ITEM_KEYS.get(normalize(match[2]))
            if spec is None or spec.key == "position":
                raise StewardError("set.unknown_field", key=key)
            changes.append(SetItemField(entry.id, item.id, spec.key, parse_value(spec, raw)))
        else:
            spec = entry_field(key)
            changes.append(SetField(entry.id, spec.key, parse_value(spec, raw)))
    return changes


def _item_at(entry: Entry, position_text: str) -> DataItem:
    position = position_text.strip()
    if not position.isdigit() or not 1 <= int(position) <= len(entry.items):
        raise StewardError("set.no_item", position=position_text)
    return entry.items[int(position) - 1]


def _new_item(raw: str) -> DataItem:
    """A data item from NAME:TYPE[:LENGTH]."""
    parts = [p.strip() for p in raw.split(":")]
    name = parts[0]
    data_type = parse_value(ITEM_FIELD["data_type"], parts[1]) if len(parts) > 1 else None
    length = parse_value(ITEM_FIELD["length"], parts[2]) if len(parts) > 2 else None
    return DataItem(name=name, data_type=data_type, length=length)
