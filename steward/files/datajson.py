"""Project Open Data v1.1 data.json (the non-federal variant, DCAT-US) for the open part of the catalogue.

The same entries as the DCAT-AP export (`steward.catalogue.publication`). Fields the Chinese catalogue lacks are
filled from what it has, as docs/formats.md sets out: `keyword` from the classification and the
open data items, `contactPoint` from the provider, `modified` from the last local change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any
from urllib.parse import quote

from steward.catalogue.model import Entry
from steward.catalogue.vocabulary import OpenType, label, vocabulary
from steward.files.dcat import DcatOptions, keywords, utc_datetime, valid_date

CONFORMS_TO = "https://project-open-data.cio.gov/v1.1/schema"
CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
DESCRIBED_BY = "https://project-open-data.cio.gov/v1.1/schema/catalog.json"
RIGHTS_LIMIT = 255  # the schema's maxLength for `rights`


def dataset(entry: Entry, modified: str, options: DcatOptions) -> dict[str, Any]:
    open_term = vocabulary("open_type").term(entry.open_type or "")
    provider = entry.provider or entry.provider_code
    data: dict[str, Any] = {
        "@type": "dcat:Dataset",
        "title": entry.name or entry.code,
        "description": entry.abstract.strip() or entry.name or entry.code,
        "keyword": keywords(entry),
        "publisher": {"@type": "org:Organization", "name": provider},
        "contactPoint": {"@type": "vcard:Contact", "fn": provider},
        "identifier": entry.code or entry.id,
        "accessLevel": open_term.extra["datajson"],
        "language": ["zh-CN"],
    }
    stamp = utc_datetime(modified)
    if stamp:
        data["modified"] = stamp
    issued = valid_date(entry.published)
    if issued:
        data["issued"] = issued
    if entry.update_frequency:
        data["accrualPeriodicity"] = vocabulary("update_frequency").term(entry.update_frequency).extra["iso8601"]
    if entry.classification[:3]:
        theme = label("classification_item", entry.classification[:3], "zh")
        if theme and theme != entry.classification[:3]:
            data["theme"] = [theme]
    if entry.open_type == OpenType.CONDITIONAL and entry.open_conditions.strip():
        rights = entry.open_conditions.strip()
        data["rights"] = rights if len(rights) <= RIGHTS_LIMIT else rights[: RIGHTS_LIMIT - 1] + "…"
    if options.license:
        data["license"] = options.license
    distribution: dict[str, Any] = {"@type": "dcat:Distribution"}
    fmt = entry.format_type or label("format_category", entry.format_category, "zh")
    if fmt:
        distribution["format"] = fmt
    if options.base_uri and entry.code:
        page = f"{options.base_uri}dataset/{quote(entry.code, safe='')}"
        data["landingPage"] = page
        distribution["accessURL"] = page
    if len(distribution) > 1:
        data["distribution"] = [distribution]
    return data


def catalogue(entries: Iterable[tuple[Entry, str]], options: DcatOptions) -> dict[str, Any]:
    """The data.json catalogue of `entries`: (entry, time of its last change) pairs fit to publish."""
    return {
        "@context": CONTEXT,
        "@type": "dcat:Catalog",
        "conformsTo": CONFORMS_TO,
        "describedBy": DESCRIBED_BY,
        "dataset": [dataset(entry, modified, options) for entry, modified in entries],
    }


def write(data: dict[str, Any], out: IO[str]) -> None:
    json.dump(data, out, ensure_ascii=False, indent=1)
    out.write("\n")
