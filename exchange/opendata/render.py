"""The open view's datasets written in the public formats, once per version, and pages put together from them.

Each dataset's own nodes (the dcat:Dataset and its dcat:Distribution) are written in Turtle, JSON-LD and
RDF/XML, and its data.json object, by the client's exporters (steward/files/dcat.py, datajson.py); these
pieces are kept in `open_documents`. The nodes they name and share with other datasets (EU concepts,
schemes, publishers, the licence) are written once per process (`SharedNodes`) and added to each page
that names them. A page is then text put together, not a graph built.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from exchange.opendata import view
from exchange.opendata.view import OpenDataset
from steward.files import datajson, dcat
from steward.files.rdf import (
    JSONLD_TAIL,
    RDFXML_TAIL,
    Graph,
    Iri,
    Literal,
    Node,
    jsonld_head,
    node_jsonld,
    node_rdfxml,
    node_turtle,
    rdfxml_head,
    turtle_head,
)

HYDRA = "http://www.w3.org/ns/hydra/core#"
PREFIXES = {**dcat.PREFIXES, "hydra": HYDRA}
FORMATS = ("ttl", "jsonld", "rdf")


@dataclass(frozen=True)
class OpenOptions:
    """What the exchange publishes with: its public address, the licence and the catalogue's publisher."""

    base_uri: str  # the exchange as the public reaches it, ending in "/": page links and dataset IRIs start here
    licence: str | None = None  # an IRI, e.g. the EU's for CC BY 4.0
    publisher: str = ""  # the catalogue's publisher (the city's data authority); empty: the base URI
    publisher_code: str = ""  # its 统一社会信用代码, if given

    def dcat(self) -> dcat.DcatOptions:
        return dcat.DcatOptions(f"{self.base_uri}open/", self.licence)

    def key(self) -> str:
        """Names these options in `open_documents.rendered_for`: pieces written for other options are written again."""
        text = json.dumps([self.base_uri, self.licence, 1], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Pieces:
    entry_id: str
    position: int
    ttl: str
    jsonld: str
    rdfxml: str
    datajson: str
    shared: str  # the ids of the shared nodes its own nodes name, space-separated

    def rows(self) -> list[dict[str, Any]]:
        """As `view.store_rendered` keeps them: one row per form."""
        return [{"entry_id": self.entry_id, "position": self.position, "form": form, "body": self.text(form),
                 "shared": "" if form == "datajson" else self.shared} for form in view.FORMS]

    def text(self, form: str) -> str:
        return {"ttl": self.ttl, "jsonld": self.jsonld, "rdf": self.rdfxml, "datajson": self.datajson}[form]


def _named(value: Any) -> Iterable[str]:
    """The IRIs a node's properties name (its blank nodes' too)."""
    for _predicate, item in value.properties:
        if isinstance(item, Iri):
            yield item.value
        elif isinstance(item, Node):
            yield from _named(item)


@dataclass
class SharedNodes:
    """The nodes datasets share, each written once in every form, with the shared nodes it names in turn."""

    written: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # id -> (ttl, jsonld, rdfxml)
    closure: dict[str, tuple[str, ...]] = field(default_factory=dict)  # id -> it and the shared nodes it needs

    def learn(self, graph: Graph, own: Sequence[str]) -> None:
        nodes = {node.id: node for node in graph.nodes if node.id not in own}
        for node_id, node in nodes.items():
            if node_id in self.written:
                continue
            self.written[node_id] = (node_turtle(node), node_jsonld(node), node_rdfxml(node, graph.prefixes))
            needed, todo = [node_id], [node_id]
            while todo:
                for named in _named(nodes[todo.pop()]):
                    if named in nodes and named not in needed:
                        needed.append(named)
                        todo.append(named)
            self.closure[node_id] = tuple(needed)

    def knows(self, node_id: str) -> bool:
        return node_id in self.closure

    def write(self, ids: Iterable[str], fmt: str) -> list[str]:
        index = FORMATS.index(fmt)
        wanted: dict[str, None] = {}
        for node_id in ids:
            for needed in self.closure.get(node_id, ()):
                wanted.setdefault(needed)
        return [self.written[node_id][index] for node_id in sorted(wanted)]


def render(row: OpenDataset, options: OpenOptions, shared: SharedNodes) -> Pieces:
    """Write one dataset's pieces (and learn the shared nodes it names)."""
    entry = row.entry()
    graph, own = dcat.dataset_graph(entry, row.modified, options.dcat())
    shared.learn(graph, own)
    mine = [node for node in graph.nodes if node.id in own]
    names = dict.fromkeys(named for node in mine for named in _named(node)
                          if graph.has(named) and named not in own)
    document = datajson.dataset(entry, row.modified, options.dcat())
    return Pieces(row.entry_id, row.position,
                  "".join(node_turtle(node) for node in mine),
                  ",\n".join(node_jsonld(node) for node in mine),
                  "".join(node_rdfxml(node, graph.prefixes) for node in mine),
                  json.dumps(document, ensure_ascii=False, separators=(",", ":")),
                  " ".join(names))


def pieces_of(rows: Sequence[OpenDataset], form: str, options: OpenOptions, shared: SharedNodes,
              document_of: Callable[[OpenDataset], str]) -> tuple[list[tuple[str, str]], list[Pieces]]:
    """Each row's (body, shared node ids) in `form`, rows read with that form's pieces (`view.datasets(form=)`);
    and the pieces that had to be written now (to keep). `document_of` reads a row's document when it was
    read without it (its piece is written, but this process has not met all the shared nodes it names)."""
    found: list[tuple[str, str]] = []
    fresh: list[Pieces] = []
    for row in rows:
        if row.piece is not None and all(shared.knows(i) for i in (row.shared or "").split()):
            found.append((row.piece, row.shared or ""))
            continue
        if row.document is None:  # written already, but this process has not met all its shared nodes yet
            row = replace(row, document=document_of(row))
        made = render(row, options, shared)
        if row.piece is None:
            fresh.append(made)
        found.append((made.text(form), "" if form == "datajson" else made.shared))
    return found, fresh


# Pages ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """Where a page of the catalogue sits in its harvest: the links are absolute, from the configured base."""

    url: str
    first: str
    next: str | None
    total: int
    per_page: int


def dataset_iri(row: OpenDataset, options: OpenOptions) -> str:
    """The dataset's IRI, as steward/files/dcat.py names it."""
    base = options.dcat().base_uri
    return f"{base}dataset/{quote(row.code, safe='')}" if row.code else f"urn:uuid:{row.entry_id}"


def catalogue_page(fmt: str, rows: Sequence[OpenDataset], pieces: Sequence[tuple[str, str]], page: Page,
                   options: OpenOptions, shared: SharedNodes, issued: str | None, modified: str | None) -> str:
    """The page in `fmt` (ttl, jsonld or rdf): the catalogue node, the Hydra paging node, the datasets and the
    shared nodes they name. `issued` is when the catalogue began (a date), `modified` when it last changed."""
    iris = [dataset_iri(row, options) for row in rows]
    publisher = options.publisher or options.base_uri
    head = dcat.catalogue_graph(iris, options.dcat(), publisher_code=options.publisher_code,
                                publisher_name=publisher, issued=issued, modified=modified, prefixes=PREFIXES)
    paging = Node(page.url, ["hydra:PagedCollection"])
    paging.add("hydra:totalItems", Literal(str(page.total), datatype="xsd:integer"))
    paging.add("hydra:itemsPerPage", Literal(str(page.per_page), datatype="xsd:integer"))
    paging.add("hydra:first", Iri(page.first)).add("hydra:firstPage", Iri(page.first))
    if page.next:  # ckanext-dcat reads hydra:next, and hydra:nextPage (deprecated) where next is missing
        paging.add("hydra:next", Iri(page.next)).add("hydra:nextPage", Iri(page.next))
    nodes = [*head.nodes, paging]
    names = dict.fromkeys(i for _body, ids in pieces for i in ids.split())
    bodies = [body for body, _ids in pieces]
    if fmt == "ttl":
        return "".join([turtle_head(PREFIXES), *(node_turtle(n) for n in nodes), *bodies, *shared.write(names, fmt)])
    if fmt == "jsonld":
        parts = [*(node_jsonld(n) for n in nodes), *bodies, *shared.write(names, fmt)]
        return jsonld_head(PREFIXES) + ",\n".join(parts) + JSONLD_TAIL
    return "".join([rdfxml_head(PREFIXES), *(node_rdfxml(n, PREFIXES) for n in nodes), *bodies,
                    *shared.write(names, fmt), RDFXML_TAIL])


def data_json(objects: Iterable[str]) -> str:
    """The whole open catalogue as one data.json document (POD v1.1, non-federal), from its datasets' objects."""
    head = {"@context": datajson.CONTEXT, "@type": "dcat:Catalog", "conformsTo": datajson.CONFORMS_TO,
            "describedBy": datajson.DESCRIBED_BY}
    opening = json.dumps(head, ensure_ascii=False)[:-1] + ',"dataset":[\n'
    return opening + ",\n".join(objects) + "\n]}\n"
