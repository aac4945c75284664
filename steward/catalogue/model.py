"""Catalogue entries and data items as plain values, and the table of their fields."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from steward.catalogue.vocabulary import Status


class Kind(StrEnum):
    """How a field's value is written and parsed."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    VOCAB = "vocab"
    DATE = "date"
    CODES = "codes"  # a list of resource codes
    INT = "int"


@dataclass(frozen=True)
class FieldSpec:
    key: str
    zh: str  # the national guide's name of the field, also the template's column header
    en: str
    kind: Kind
    vocabulary: str | None = None
    required: bool = False

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


ENTRY_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("classification", "信息资源分类", "Classification", Kind.TEXT, required=True),
    FieldSpec("name", "信息资源名称", "Resource name", Kind.TEXT, required=True),
    FieldSpec("code", "信息资源代码", "Resource code", Kind.TEXT, required=True),
    FieldSpec("provider", "信息资源提供方", "Provider", Kind.TEXT, required=True),
    FieldSpec("provider_code", "提供方代码", "Provider code", Kind.TEXT, required=True),
    FieldSpec("abstract", "信息资源摘要", "Abstract", Kind.LONG_TEXT, required=True),
    FieldSpec("format_category", "信息资源格式分类", "Format category", Kind.VOCAB, "format_category", required=True),
    FieldSpec("format_type", "信息资源格式类型", "Format type", Kind.TEXT),
    FieldSpec("sharing_type", "共享类型", "Sharing type", Kind.VOCAB, "sharing_type", required=True),
    FieldSpec("sharing_conditions", "共享条件", "Sharing conditions", Kind.LONG_TEXT),
    FieldSpec("sharing_method_category", "共享方式分类", "Sharing channel", Kind.VOCAB, "sharing_method_category"),
    FieldSpec("sharing_method_type", "共享方式类型", "Sharing form", Kind.VOCAB, "sharing_method_type"),
    FieldSpec("open_type", "开放属性", "Open attribute", Kind.VOCAB, "open_type", required=True),
    FieldSpec("open_conditions", "开放条件", "Open conditions", Kind.LONG_TEXT),
    FieldSpec("update_frequency", "更新周期", "Update frequency", Kind.VOCAB, "update_frequency", required=True),
    FieldSpec("published", "发布日期", "Publication date", Kind.DATE, required=True),
    FieldSpec("related_codes", "关联资源代码", "Related resource codes", Kind.CODES),
    FieldSpec("status", "状态", "Status", Kind.VOCAB, "status"),
)

ITEM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("name", "信息项名称", "Data item name", Kind.TEXT, required=True),
    FieldSpec("data_type", "数据类型", "Data type", Kind.VOCAB, "data_type", required=True),
    FieldSpec("length", "数据长度", "Length", Kind.INT),
    FieldSpec("sharing_type", "共享类型", "Sharing type", Kind.VOCAB, "sharing_type"),
    FieldSpec("open_type", "开放属性", "Open attribute", Kind.VOCAB, "open_type"),
    FieldSpec("position", "序号", "Position", Kind.INT),
)

ENTRY_FIELD = {spec.key: spec for spec in ENTRY_FIELDS}
ITEM_FIELD = {spec.key: spec for spec in ITEM_FIELDS}


_RAND_B = (1 << 62) - 1


def new_id() -> str:
    """A UUID version 7 (RFC 9562): a millisecond timestamp, then 74 random bits.

    Time-ordered ids keep every index on them (entries, data items, operations, the exchange's
    tables) growing at its end: random version 4 ids sent each insert to a random page, which a
    first sync of 100,000 entries paid for in rewritten pages.
    """
    random = int.from_bytes(os.urandom(10), "big")
    value = ((time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (random >> 62 & 0xFFF) << 64
             | 0b10 << 62 | random & _RAND_B)
    return str(uuid.UUID(int=value))


@dataclass(slots=True)
class DataItem:
    """One data item (信息项): a column of the resource."""

    name: str = ""
    data_type: str | None = None
    length: int | None = None
    # None means "as the entry"; a value may only be as restrictive as the entry or more.
    sharing_type: str | None = None
    open_type: str | None = None
    position: int = 0
    id: str = field(default_factory=new_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "data_type": self.data_type,
            "length": self.length,
            "sharing_type": self.sharing_type,
            "open_type": self.open_type,
            "position": self.position,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataItem:
        # Spelled out: loading a catalogue makes this call for every data item (a million and more),
        # and this is several times faster than filtering the keys against dataclasses.fields().
        get = data.get
        return cls(get("name", ""), get("data_type"), get("length"), get("sharing_type"), get("open_type"),
                   get("position", 0), get("id") or new_id())


@dataclass(slots=True)
class Entry:
    """One catalogue entry (政务信息资源目录条目)."""

    id: str = field(default_factory=new_id)
    classification: str = ""
    name: str = ""
    code: str = ""
    provider: str = ""
    provider_code: str = ""
    abstract: str = ""
    format_category: str | None = None
    format_type: str = ""
    sharing_type: str | None = None
    sharing_conditions: str = ""
    sharing_method_category: str | None = None
    sharing_method_type: str | None = None
    open_type: str | None = None
    open_conditions: str = ""
    update_frequency: str | None = None
    published: str = ""  # kept as typed (YYYY-MM-DD when valid) so work in progress is never refused
    related_codes: list[str] = field(default_factory=list)
    status: str = Status.ACTIVE.value
    items: list[DataItem] = field(default_factory=list)
    # The exchange's version this copy is based on (0: never synced) and the local edit counter.
    version: int = 0
    revision: int = 0

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than dataclasses.asdict, which deep-copies and is slow on bulk imports.
        data = self.content()
        data["related_codes"] = list(self.related_codes)
        data.update(id=self.id, version=self.version, revision=self.revision)
        data["items"] = [item.to_dict() for item in self.items]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        values = {k: v for k, v in data.items() if k in _ENTRY_NAMES and k != "items"}
        values["related_codes"] = list(values.get("related_codes") or [])
        entry = cls(**values)
        entry.items = [DataItem.from_dict(item) for item in data.get("items", [])]
        return entry

    def content(self) -> dict[str, Any]:
        """The entry's catalogue fields (no id, version or items): what a create or update carries."""
        return {spec.key: getattr(self, spec.key) for spec in ENTRY_FIELDS}

    def item(self, item_id: str) -> DataItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    def copy(self) -> Entry:
        # Field by field rather than dataclasses.replace: bulk edits copy thousands of entries.
        clone = replace(self, related_codes=list(self.related_codes), items=[])
        clone.items = [
            DataItem(i.name, i.data_type, i.length, i.sharing_type, i.open_type, i.position, i.id) for i in self.items
        ]
        return clone


_ENTRY_NAMES = frozenset(f.name for f in fields(Entry))


def item_order(item: DataItem) -> tuple[int, str]:
    """The order of an entry's data items: by position, and by id where two share one.

    Two stewards may each add an item at the same position; every copy must still list them alike.
    """
    return item.position, item.id
