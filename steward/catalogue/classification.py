"""The four-level classification (类/项/目/细目) and the resource code built on it.

A resource code is 分类码 + "/" + 顺序码, and 分类码 = 类 (1 digit: 1 基础, 2 主题, 3 部门)
+ 项 (2 digits) + 目 (3 digits) + 细目 (optional, variable length), as the 2017 national guide
sets out.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from steward.catalogue.vocabulary import vocabulary

CLASSIFICATION_RE = re.compile(r"^[1-3]\d{5}\d*$")
RESOURCE_CODE_RE = re.compile(r"^(?P<classification>[1-3]\d{5}\d*)/(?P<sequence>\d{1,12})$")

# Lengths of the 类, 项 and 目 prefixes of a classification code.
LEVEL_LENGTHS = (1, 3, 6)


@dataclass(frozen=True)
class ResourceCode:
    classification: str
    sequence: str

    def __str__(self) -> str:
        return f"{self.classification}/{self.sequence}"


def clean_code(text: str) -> str:
    """Fold full-width digits and slashes and drop spaces, as pasted codes often carry them."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def parse_resource_code(text: str) -> ResourceCode | None:
    match = RESOURCE_CODE_RE.match(text)
    if not match:
        return None
    return ResourceCode(match["classification"], match["sequence"])


def is_valid_classification(text: str) -> bool:
    return bool(CLASSIFICATION_RE.match(text))


def levels(classification: str) -> list[str]:
    """The prefixes naming each level: ['2', '202', '202003', '2020031'] for '2020031'."""
    prefixes = [classification[:n] for n in LEVEL_LENGTHS if len(classification) >= n]
    if len(classification) > LEVEL_LENGTHS[-1]:
        prefixes.append(classification)
    return prefixes


def level_label(prefix: str, lang: str = "zh") -> str:
    """A readable name for a classification prefix: the vocabulary's name where one exists."""
    if len(prefix) == 1:
        try:
            return vocabulary("classification_top").term(prefix).label(lang)
        except KeyError:
            return prefix
    if len(prefix) == 3:
        try:
            return f"{prefix[1:]} {vocabulary('classification_item').term(prefix).label(lang)}"
        except KeyError:
            return prefix[1:]
    if len(prefix) == 6:
        return ("目 " if lang == "zh" else "Group ") + prefix[3:]
    return ("细目 " if lang == "zh" else "Sub-group ") + prefix[6:]
