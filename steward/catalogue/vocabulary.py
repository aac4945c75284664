"""The catalogue's controlled vocabularies: enums for code, labels and synonyms from vocabularies.json."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources


class SharingType(StrEnum):
    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NOT_SHARED = "not_shared"


class OpenType(StrEnum):
    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    NOT_OPEN = "not_open"


class UpdateFrequency(StrEnum):
    REALTIME = "realtime"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    SEMIANNUAL = "semiannual"
    ANNUAL = "annual"
    IRREGULAR = "irregular"


class FormatCategory(StrEnum):
    DOCUMENT = "document"
    SPREADSHEET = "spreadsheet"
    DATABASE = "database"
    IMAGE = "image"
    MEDIA = "media"
    SELF_DESCRIBING = "self_describing"
    SERVICE = "service"


class SharingMethodCategory(StrEnum):
    PLATFORM = "platform"
    EMAIL = "email"
    MEDIA = "media"


class SharingMethodType(StrEnum):
    DATABASE = "database"
    INTERFACE = "interface"
    FILE = "file"


class DataType(StrEnum):
    CHARACTER = "C"
    NUMERIC = "N"
    CURRENCY = "Y"
    DATE = "D"
    DATETIME = "T"
    LOGICAL = "L"
    MEMO = "M"
    GENERAL = "G"
    DOUBLE = "B"
    INTEGER = "I"
    FLOAT = "F"


class Status(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class ClassificationTop(StrEnum):
    BASE = "1"
    THEME = "2"
    DEPARTMENT = "3"


# Vocabulary name (as in vocabularies.json) -> the enum whose values are its keys.
ENUMS: dict[str, type[StrEnum]] = {
    "sharing_type": SharingType,
    "open_type": OpenType,
    "update_frequency": UpdateFrequency,
    "format_category": FormatCategory,
    "sharing_method_category": SharingMethodCategory,
    "sharing_method_type": SharingMethodType,
    "data_type": DataType,
    "status": Status,
    "classification_top": ClassificationTop,
}


@dataclass(frozen=True)
class Term:
    """One value of a vocabulary with its codes and labels."""

    key: str
    code: str
    zh: str
    en: str
    synonyms: tuple[str, ...] = ()
    rank: int = 0
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Vocabulary:
    name: str
    zh: str
    en: str
    terms: tuple[Term, ...]

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en

    def term(self, key: str) -> Term:
        for term in self.terms:
            if term.key == key:
                return term
        raise KeyError(f"{self.name}: no value {key!r}")

    def keys(self) -> list[str]:
        return [t.key for t in self.terms]

    def __contains__(self, key: object) -> bool:
        return key in _key_set(self.name)

    def parse(self, text: str) -> str | None:
        """The key that `text` names (key, national code, label or local synonym), or None."""
        return _lookup_table(self.name).get(normalize(text))

    def rank(self, key: str) -> int:
        return self.term(key).rank


def normalize(text: str) -> str:
    """Fold full-width forms, case and surrounding space, as spreadsheets and keyboards vary them."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


@cache
def all_vocabularies() -> dict[str, Vocabulary]:
    raw = json.loads(resources.files("steward.catalogue").joinpath("vocabularies.json").read_text(encoding="utf-8"))
    result: dict[str, Vocabulary] = {}
    for name, spec in raw.items():
        if name.startswith("_"):
            continue
        terms = []
        for value in spec["values"]:
            known = {"key", "code", "zh", "en", "synonyms", "rank"}
            terms.append(
                Term(
                    key=value["key"],
                    code=value["code"],
                    zh=value["zh"],
                    en=value["en"],
                    synonyms=tuple(value.get("synonyms", ())),
                    rank=value.get("rank", 0),
                    extra={k: v for k, v in value.items() if k not in known},
                )
            )
        result[name] = Vocabulary(name=name, zh=spec["zh"], en=spec["en"], terms=tuple(terms))
    return result


def vocabulary(name: str) -> Vocabulary:
    return all_vocabularies()[name]


@cache
def _key_set(name: str) -> frozenset[str]:
    return frozenset(t.key for t in vocabulary(name).terms)


@cache
def _lookup_table(name: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for term in vocabulary(name).terms:
        for word in (term.key, term.code, term.zh, term.en, *term.synonyms):
            table.setdefault(normalize(word), term.key)
    return table


def label(name: str, key: str | None, lang: str = "zh") -> str:
    """The label of `key` in vocabulary `name`; an unknown key is shown as it is."""
    if not key:
        return ""
    try:
        return vocabulary(name).term(key).label(lang)
    except KeyError:
        return key
