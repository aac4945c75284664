"""DCAT-AP 3.0 of the open part of the catalogue: each entry a dcat:Dataset, mapped as docs/formats.md sets out.

Only entries a portal may show are described: those `steward.catalogue.publication` lets through
(open to the public, and breaking no catalogue rule). What the Chinese catalogue does not hold is filled from
what it does, and said so in docs/formats.md: keywords from the classification and the open data
items, the contact point from the provider, `dct:modified` from the last local change, the spatial
coverage from the country. Two things cannot be inferred: the licence and the portal's address
(`base_uri`); without them the recommended shapes report `dct:license` and `foaf:homepage`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO
from urllib.parse import quote

from steward.catalogue.messages import render
from steward.catalogue.model import Entry
from steward.catalogue.rules import DATE_RE
from steward.catalogue.vocabulary import OpenType, label, vocabulary
from steward.files.rdf import Graph, Iri, Literal, Node

PREFIXES = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatap": "http://data.europa.eu/r5r/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "gsp": "http://www.opengis.net/ont/geosparql#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
EU = "http://publications.europa.eu/resource/authority/"
ADMS_PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
ADMS_LICENCE_TYPE = "http://purl.org/adms/licencetype/"
DCAT_AP_3 = "https://semiceu.github.io/DCAT-AP/releases/3.0.0/"
_NAMESPACE = uuid.UUID("6f5c1e8e-52b7-4d38-9a57-0d8a7c1f4e21")  # for stable urn:uuid names of what has no id

# The EU data themes (https://op.europa.eu/web/eu-vocabularies/concept-scheme/-/resource?uri=
# http://publications.europa.eu/resource/authority/data-theme) with their English labels.
THEMES = {
    "AGRI": "Agriculture, fisheries, forestry and food", "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport", "ENER": "Energy", "ENVI": "Environment",
    "GOVE": "Government and public sector", "HEAL": "Health", "INTR": "International issues",
    "JUST": "Justice, legal system and public safety", "REGI": "Regions and cities",
    "SOCI": "Population and society", "TECH": "Science and technology", "TRAN": "Transport",
}
DEFAULT_THEME = "GOVE"  # every entry is a government body's data; used where the classification has no theme
# Format types of the national guide -> the EU file-type authority table; other types fall back by category.
FILE_TYPES = {
    "xml": "XML", "txt": "TXT", "doc": "DOC", "docx": "DOCX", "html": "HTML", "pdf": "PDF", "ppt": "PPT",
    "xls": "XLS", "xlsx": "XLSX", "jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "bmp": "BMP",
    "tif": "TIFF", "tiff": "TIFF", "svg": "SVG", "mp4": "MPEG4", "mp3": "MP3", "wav": "WAV", "json": "JSON",
    "csv": "CSV", "wms": "WMS_SRVC", "wfs": "WFS_SRVC", "rest": "MSG_HTTP", "webservice": "MSG_HTTP",
}
CATEGORY_FILE_TYPES = {"database": "SQL", "service": "MSG_HTTP"}
FALLBACK_FILE_TYPE = "OCTET"  # OFD, wps, et, flv …: no entry in the EU table
# Licences a steward may name by their EU licence IRI, with their ADMS licence type.
LICENCE_TYPES = {
    f"{EU}licence/CC_BY_4_0": "Attribution",
    f"{EU}licence/CC_BY_SA_4_0": "ShareAlike",
    f"{EU}licence/CC0": "PublicDomain",
    f"{EU}licence/ODC_BY": "Attribution",
    f"{EU}licence/ODC_PDDL": "PublicDomain",
}
# China's extent (WGS 84) for dct:spatial: the recommended Location shape asks for a bounding box and centroid.
CHINA_BBOX = "POLYGON((73.5 18.1,135.1 18.1,135.1 53.6,73.5 53.6,73.5 18.1))"
CHINA_CENTROID = "POINT(104.2 35.9)"


@dataclass(frozen=True)
class DcatOptions:
    """What the catalogue does not hold: the portal's address (for resolvable IRIs) and the licence."""

    base_uri: str | None = None  # e.g. https://data.example.gov.cn/catalogue/ ; dataset IRIs are base + code
    license: str | None = None  # an IRI, e.g. the EU licence IRI of CC BY 4.0


def stable_urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(parts))}"


def theme_code(classification: str) -> str:
    try:
        return str(vocabulary("classification_item").term(classification[:3]).extra.get("eu_theme", DEFAULT_THEME))
    except KeyError:
        return DEFAULT_THEME


def file_type(entry: Entry) -> str:
    key = entry.format_type.strip().casefold().replace(" ", "")
    if key in FILE_TYPES:
        return FILE_TYPES[key]
    return CATEGORY_FILE_TYPES.get(entry.format_category or "", FALLBACK_FILE_TYPE)


def publisher_type(provider_code: str) -> str:
    """From the administrative division in the unified social credit code (its characters 3–8)."""
    division = provider_code[2:8]
    if division == "100000":
        return "NationalAuthority"
    if len(division) == 6 and division.endswith("0000"):
        return "RegionalAuthority"  # a province, or a municipality directly under the central government
    return "LocalAuthority"


def keywords(entry: Entry) -> list[str]:
    """What discovery needs and the catalogue has: the classification's names, the format and open data items."""
    words: list[str] = []
    for name in ("classification_item", "classification_top"):
        prefix = entry.classification[: 3 if name == "classification_item" else 1]
        word = label(name, prefix, "zh") if prefix else ""
        if word and word != prefix:
            words.append(word)
    if entry.format_category:
        words.append(label("format_category", entry.format_category, "zh"))
    entry_open = entry.open_type
    for item in entry.items:
        if (item.open_type or entry_open) != OpenType.NOT_OPEN and item.name.strip():
            words.append(item.name.strip())
    return list(dict.fromkeys(words)) or [entry.name or entry.code]


def valid_date(text: str) -> str | None:
    if not DATE_RE.match(text or ""):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
    except ValueError:
        return None


def utc_datetime(stamp: str) -> str | None:
    """An ISO timestamp as UTC with seconds (xsd:dateTime and data.json's `modified` both read that)."""
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Builder:
    def __init__(self, options: DcatOptions, department_code: str, department_name: str) -> None:
        self.options = options
        self.graph = Graph(dict(PREFIXES))
        self.department_code = department_code
        self.department_name = department_name
        self.schemes: set[str] = set()

    # IRIs -----------------------------------------------------------------------------------------------------

    def dataset_iri(self, code: str, entry_id: str) -> str:
        if self.options.base_uri and code:
            return f"{self.options.base_uri}dataset/{quote(code, safe='')}"
        return f"urn:uuid:{entry_id}"

    def agent_iri(self, provider_code: str, provider: str) -> str:
        key = provider_code or provider
        if self.options.base_uri:
            return f"{self.options.base_uri}agent/{quote(key, safe='')}"
        return stable_urn("agent", key)

    # Concepts of the EU tables --------------------------------------------------------------------------------

    def scheme(self, iri: str, title: str) -> Iri:
        if iri not in self.schemes:
            self.schemes.add(iri)
            self.graph.node(iri, "skos:ConceptScheme").add("dct:title", Literal(title, "en"))
        return Iri(iri)

    def concept(self, iri: str, scheme: str, scheme_title: str, labels: dict[str, str], *types: str) -> Iri:
        """A concept of a controlled vocabulary, described once (typed, labelled and placed in its scheme)."""
        if not self.graph.has(iri):
            node = self.graph.node(iri, "skos:Concept", *types)
            node.add("skos:inScheme", self.scheme(scheme, scheme_title))
            for lang, text in labels.items():
                node.add("skos:prefLabel", Literal(text, lang))
            if iri == f"{EU}country/CHN":
                # The recommended Location shape asks every dct:Location for its extent.
                node.add("dcat:bbox", Literal(CHINA_BBOX, datatype="gsp:wktLiteral"))
                node.add("dcat:centroid", Literal(CHINA_CENTROID, datatype="gsp:wktLiteral"))
        return Iri(iri)

    def eu(self, table: str, code: str, title: str, labels: dict[str, str], *types: str) -> Iri:
        return self.concept(f"{EU}{table}/{code}", f"{EU}{table}", title, labels, *types)

    def country(self) -> Iri:
        return self.eu("country", "CHN", "Countries and territories", {"en": "China", "zh": "中国"}, "dct:Location")

    def language(self) -> Iri:
        return self.eu("language", "ZHO", "Languages", {"en": "Chinese", "zh": "中文"}, "dct:LinguisticSystem")

    def licence(self) -> Iri | None:
        iri = self.options.license
        if not iri:
            return None
        if not self.graph.has(iri):
            node = self.graph.node(iri, "dct:LicenseDocument")
            kind = LICENCE_TYPES.get(iri)
            if kind:
                node.add("dct:type", self.concept(f"{ADMS_LICENCE_TYPE}{kind}", f"{ADMS_LICENCE_TYPE}1.0",
                                                  "Licence type", {"en": kind}))
        return Iri(iri)

    def agent(self, provider_code: str, provider: str) -> Iri:
        iri = self.agent_iri(provider_code, provider)
        if not self.graph.has(iri):
            node = self.graph.node(iri, "foaf:Agent")
            node.add("foaf:name", Literal(provider or provider_code, "zh"))
            if provider_code:
                node.add("dct:identifier", Literal(provider_code))
                kind = publisher_type(provider_code)
                node.add("dct:type", self.concept(f"{ADMS_PUBLISHER_TYPE}{kind}", f"{ADMS_PUBLISHER_TYPE}1.0",
                                                  "Publisher type", {"en": kind}))
        return Iri(iri)

    # Datasets ---------------------------------------------------------------------------------------------------

    def dataset(self, entry: Entry, modified: str | None, iri_of_code: dict[str, str]) -> str:
        iri = self.dataset_iri(entry.code, entry.id)
        node = self.graph.node(iri, "dcat:Dataset")
        node.add("dct:title", Literal(entry.name or entry.code, "zh"))
        node.add("dct:description", Literal(entry.abstract.strip() or entry.name or entry.code, "zh"))
        if entry.code:
            node.add("dct:identifier", Literal(entry.code))
        open_term = vocabulary("open_type").term(entry.open_type or "")
        node.add("dct:accessRights", self.eu("access-right", str(open_term.extra["eu"]), "Access right",
                                             {"en": str(open_term.extra["eu"]).replace("_", "-").lower(),
                                              "zh": open_term.zh}, "dct:RightsStatement"))
        if entry.update_frequency:
            term = vocabulary("update_frequency").term(entry.update_frequency)
            node.add("dct:accrualPeriodicity", self.eu("frequency", str(term.extra["eu"]), "Frequency",
                                                       {"en": term.en, "zh": term.zh}, "dct:Frequency"))
        issued = valid_date(entry.published)
        if issued:
            node.add("dct:issued", Literal(issued, datatype="xsd:date"))
            # The catalogue records no time coverage; the data held runs from its publication to its last update.
            end = max(issued, (modified or issued)[:10])
            node.add("dct:temporal", Node("", ["dct:PeriodOfTime"])
                     .add("dcat:startDate", Literal(issued, datatype="xsd:date"))
                     .add("dcat:endDate", Literal(end, datatype="xsd:date")))
        if modified:
            node.add("dct:modified", Literal(modified, datatype="xsd:dateTime"))
        node.add("dct:publisher", self.agent(entry.provider_code, entry.provider))
        node.add("dcat:contactPoint", Node("", ["vcard:Kind", "vcard:Organization"])
                 .add("vcard:fn", Literal(entry.provider or entry.provider_code, "zh")))
        theme = theme_code(entry.classification)
        node.add("dcat:theme", self.eu("data-theme", theme, "Data theme", {"en": THEMES[theme]}))
        node.add_all("dcat:keyword", (Literal(word, "zh") for word in keywords(entry)))
        node.add("dct:spatial", self.country())
        node.add("dct:language", self.language())
        # Relations only to datasets of the same export: the portal gets no pointer to a resource that is not open.
        for code in entry.related_codes:
            related = iri_of_code.get(code)
            if related:
                node.add("dct:relation", Iri(related))
        node.add("dcat:distribution", Iri(self.distribution(entry, iri)))
        return iri

    def distribution(self, entry: Entry, dataset_iri: str) -> str:
        iri = (f"{dataset_iri}#distribution" if self.options.base_uri and entry.code
               else stable_urn("distribution", entry.id))
        node = self.graph.node(iri, "dcat:Distribution")
        node.add("dcat:accessURL", Iri(dataset_iri))
        kind = file_type(entry)
        node.add("dct:format", self.eu("file-type", kind, "File type", {"en": kind}, "dct:MediaTypeOrExtent"))
        node.add("dcatap:availability", self.eu("planned-availability", "STABLE", "Planned availability",
                                                {"en": "stable"}))
        node.add("dct:description", Literal(_distribution_text(entry), "zh"))
        licence = self.licence()
        if licence:
            node.add("dct:license", licence)
        if entry.open_type == OpenType.CONDITIONAL and entry.open_conditions.strip():
            node.add("dct:rights", Node("", ["dct:RightsStatement"])
                     .add("rdfs:label", Literal(entry.open_conditions.strip(), "zh")))
        return iri

    def catalogue(self, dataset_iris: Sequence[str], issued: str | None, now: str) -> None:
        base = self.options.base_uri
        iri = f"{base}catalogue" if base else stable_urn("catalogue", self.department_code)
        node = self.graph.node(iri, "dcat:Catalog")
        for lang in ("zh", "en"):
            node.add("dct:title", Literal(render("dcat.catalogue_title", {"department": self.department_name},
                                                 lang), lang))
            node.add("dct:description", Literal(render("dcat.catalogue_description",
                                                       {"department": self.department_name}, lang), lang))
        node.add("dct:publisher", self.agent(self.department_code, self.department_name))
        node.add("dct:language", self.language())
        node.add("dct:spatial", self.country())
        node.add("dcat:themeTaxonomy", self.scheme(f"{EU}data-theme", "Data theme"))
        if issued:
            node.add("dct:issued", Literal(issued, datatype="xsd:date"))
        node.add("dct:modified", Literal(now, datatype="xsd:dateTime"))
        node.add("dct:conformsTo", Iri(DCAT_AP_3))
        if base:
            self.graph.node(base, "foaf:Document")
            node.add("foaf:homepage", Iri(base))
        licence = self.licence()
        if licence:
            node.add("dct:license", licence)
        node.add_all("dcat:dataset", (Iri(i) for i in dataset_iris))
        # The catalogue first: a reader sees what the file is before the datasets.
        self.graph.nodes.remove(node)
        self.graph.nodes.insert(0, node)


def _distribution_text(entry: Entry) -> str:
    fmt = " ".join(x for x in (label("format_category", entry.format_category, "zh"), entry.format_type) if x)
    method = "".join(label(v, getattr(entry, v), "zh") for v in ("sharing_method_category", "sharing_method_type"))
    fmt = fmt or "-"
    if method:
        return render("dcat.distribution", {"method": method, "format": fmt}, "zh")
    return render("dcat.distribution_unknown", {"format": fmt}, "zh")


def build(entries: Iterable[tuple[Entry, str]], options: DcatOptions, *, department_code: str,
          department_name: str, catalogue_issued: str | None = None) -> Graph:
    """The DCAT-AP graph of `entries`: (entry, time of its last change) pairs fit to publish."""
    builder = _Builder(options, department_code, department_name)
    listed = list(entries)
    codes: dict[str, str] = {}
    for entry, _ in listed:
        if entry.code:
            codes.setdefault(entry.code, builder.dataset_iri(entry.code, entry.id))
    iris = [builder.dataset(entry, utc_datetime(stamp), codes) for entry, stamp in listed]
    now = utc_datetime(datetime.now(UTC).isoformat()) or ""
    builder.catalogue(iris, valid_date(catalogue_issued or ""), now)
    return builder.graph


def dataset_graph(entry: Entry, modified: str | None, options: DcatOptions) -> tuple[Graph, list[str]]:
    """One dataset fit to publish, alone: its graph (its own nodes, then the concepts and agents they name) and
    the ids of its own nodes (the dataset's and its distribution's). No dct:relation: those need the rest of
    the catalogue. The exchange writes each dataset's nodes once and puts pages together from them."""
    builder = _Builder(options, "", "")
    iri = builder.dataset(entry, utc_datetime(modified or ""), {})
    own = [node.id for node in builder.graph.nodes if node.types[:1] in (["dcat:Dataset"], ["dcat:Distribution"])]
    return builder.graph, [iri, *(i for i in own if i != iri)]


def catalogue_graph(dataset_iris: Sequence[str], options: DcatOptions, *, publisher_code: str, publisher_name: str,
                    issued: str | None, modified: str | None, prefixes: dict[str, str] | None = None) -> Graph:
    """The catalogue's node (listing `dataset_iris`) and the nodes it names, as of `modified` (an ISO time).

    Its publisher's kind comes from `publisher_code` (a 统一社会信用代码) as a provider's does; without one it
    is a local authority (a city's data authority)."""
    builder = _Builder(options, publisher_code, publisher_name)
    if prefixes:
        builder.graph.prefixes.update(prefixes)
    builder.catalogue(dataset_iris, issued, utc_datetime(modified or "") or "1970-01-01T00:00:00Z")
    if not publisher_code:
        kind = "LocalAuthority"
        builder.graph.node(builder.agent_iri("", publisher_name)).add(
            "dct:type", builder.concept(f"{ADMS_PUBLISHER_TYPE}{kind}", f"{ADMS_PUBLISHER_TYPE}1.0", "Publisher type",
                                        {"en": kind}))
    return builder.graph


def write(graph: Graph, out: IO[str], turtle: bool = False) -> None:
    if turtle:
        graph.write_turtle(out)
    else:
        graph.write_jsonld(out)
