"""A small RDF graph of nodes and its written forms, JSON-LD, Turtle and RDF/XML (what the DCAT-AP exports need).

The graph is built once and written any way, so the forms always say the same. Each node can also be
written alone (`node_turtle`, `node_jsonld`, `node_rdfxml`): the exchange keeps each dataset's nodes written
and puts pages together from them. No RDF library is needed at run time; the tests read every form back
with rdflib (through pySHACL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


@dataclass(frozen=True)
class Iri:
    value: str  # a full IRI, or a compact one whose prefix is in the graph's prefixes


@dataclass(frozen=True)
class Literal:
    value: str
    lang: str | None = None
    datatype: str | None = None  # compact, e.g. "xsd:date"


Term = Iri | Literal


@dataclass
class Node:
    """A subject with its types and (predicate, object) pairs; `id` is an IRI, or empty for a blank node that is
    written in place as the value of the one property that holds it."""

    id: str
    types: list[str] = field(default_factory=list)
    properties: list[tuple[str, Term | Node]] = field(default_factory=list)

    def add(self, predicate: str, value: Term | Node | None) -> Node:
        if value is not None:
            self.properties.append((predicate, value))
        return self

    def add_all(self, predicate: str, values: Iterable[Term | Node]) -> Node:
        for value in values:
            self.properties.append((predicate, value))
        return self


@dataclass
class Graph:
    prefixes: dict[str, str]
    nodes: list[Node] = field(default_factory=list)
    _by_id: dict[str, Node] = field(default_factory=dict)

    def node(self, node_id: str, *types: str) -> Node:
        """The node with this id, made (with `types`) the first time; later calls add any new types to it."""
        node = self._by_id.get(node_id)
        if node is None:
            node = self._by_id[node_id] = Node(node_id, list(types))
            self.nodes.append(node)
        else:
            node.types.extend(t for t in types if t not in node.types)
        return node

    def has(self, node_id: str) -> bool:
        return node_id in self._by_id

    # JSON-LD ------------------------------------------------------------------------------------------------

    def write_jsonld(self, out: IO[str]) -> None:
        """Compact JSON-LD with a local @context (no remote context to fetch), one object per node in @graph."""
        out.write(jsonld_head(self.prefixes))
        out.write(",\n".join(node_jsonld(node) for node in self.nodes))
        out.write(JSONLD_TAIL)

    # Turtle -------------------------------------------------------------------------------------------------

    def write_turtle(self, out: IO[str]) -> None:
        out.write(turtle_head(self.prefixes))
        for node in self.nodes:
            out.write(node_turtle(node))

    # RDF/XML ------------------------------------------------------------------------------------------------

    def write_rdfxml(self, out: IO[str]) -> None:
        out.write(rdfxml_head(self.prefixes))
        for node in self.nodes:
            out.write(node_rdfxml(node, self.prefixes))
        out.write(RDFXML_TAIL)


# Each form's head and tail around nodes written alone ----------------------------------------------------------

JSONLD_TAIL = "\n]\n}\n"
RDFXML_TAIL = "</rdf:RDF>\n"


def jsonld_head(prefixes: dict[str, str]) -> str:
    return '{\n"@context": ' + json.dumps(prefixes, ensure_ascii=False, sort_keys=True) + ',\n"@graph": [\n'


def turtle_head(prefixes: dict[str, str]) -> str:
    return "".join(f"@prefix {prefix}: <{iri}> .\n" for prefix, iri in sorted(prefixes.items()))


def rdfxml_head(prefixes: dict[str, str]) -> str:
    names = "".join(f'\n    xmlns:{prefix}="{_xml_attribute(iri)}"' for prefix, iri in sorted(prefixes.items())
                    if prefix != "rdf")
    return f'<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF xmlns:rdf="{RDF_NS}"{names}>\n'


def node_jsonld(node: Node) -> str:
    """The node as one compact JSON-LD object (an element of @graph)."""
    return json.dumps(_jsonld_node(node), ensure_ascii=False, separators=(",", ":"))


def node_turtle(node: Node) -> str:
    """The node as Turtle statements (with the prefixes of its graph), preceded by a blank line."""
    lines = []
    if node.types:
        lines.append("a " + ", ".join(node.types))
    for predicate, values in _grouped(node.properties):
        lines.append(f"{predicate} " + ", ".join(_turtle_term(v, 1) for v in values))
    return "\n" + _turtle_id(node.id) + "\n    " + " ;\n    ".join(lines) + " .\n"


def node_rdfxml(node: Node, prefixes: dict[str, str]) -> str:
    """The node as one rdf:Description element (compact names must use `prefixes`, declared on rdf:RDF)."""
    subject = f' rdf:about="{_xml_attribute(node.id)}"' if node.id else ""
    return f"<rdf:Description{subject}>\n{_rdfxml_body(node, prefixes, 1)}</rdf:Description>\n"


def _grouped(properties: list[tuple[str, Term | Node]]) -> list[tuple[str, list[Term | Node]]]:
    order: dict[str, list[Term | Node]] = {}
    for predicate, value in properties:
        order.setdefault(predicate, []).append(value)
    return list(order.items())


def _jsonld_value(value: Term | Node) -> Any:
    if isinstance(value, Node):
        return _jsonld_node(value)
    if isinstance(value, Iri):
        return {"@id": value.value}
    result: dict[str, str] = {"@value": value.value}
    if value.lang:
        result["@language"] = value.lang
    if value.datatype:
        result["@type"] = value.datatype
    return result


def _jsonld_node(node: Node) -> dict[str, Any]:
    data: dict[str, Any] = {"@id": node.id} if node.id else {}  # no id: a blank node written in place
    if node.types:
        data["@type"] = node.types if len(node.types) > 1 else node.types[0]
    for predicate, values in _grouped(node.properties):
        converted = [_jsonld_value(v) for v in values]
        data[predicate] = converted if len(converted) > 1 else converted[0]
    return data


def _turtle_id(node_id: str) -> str:
    if node_id.startswith("_:"):
        return node_id
    return f"<{_escape_iri(node_id)}>"


_IRI_SPECIAL = re.compile('[<>"{}|^`\\\\ \x00-\x20]')


def _escape_iri(iri: str) -> str:
    if not _IRI_SPECIAL.search(iri):  # nearly every IRI: checked at C speed, not character by character
        return iri
    return "".join(ch if ch not in '<>"{}|^`\\ ' and ord(ch) > 0x20 else f"%{ord(ch):02X}" for ch in iri)


def _turtle_term(value: Term | Node, depth: int) -> str:
    if isinstance(value, Node):
        # Nested nodes (blank nodes that belong to one subject) are written inline.
        indent = "    " * (depth + 1)
        parts = []
        if value.types:
            parts.append("a " + ", ".join(value.types))
        for predicate, values in _grouped(value.properties):
            parts.append(f"{predicate} " + ", ".join(_turtle_term(v, depth + 1) for v in values))
        return "[\n" + indent + (" ;\n" + indent).join(parts) + "\n" + "    " * depth + "]"
    if isinstance(value, Iri):
        return value.value if _is_compact(value.value) else f"<{_escape_iri(value.value)}>"
    text = (value.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
            .replace("\t", "\\t"))
    suffix = f"@{value.lang}" if value.lang else (f"^^{value.datatype}" if value.datatype else "")
    return f'"{text}"{suffix}'


# RDF/XML ----------------------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, even as references: written as U+FFFD (said so in docs/open-data.md).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_text(value: str) -> str:
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return _NOT_XML.sub("\ufffd", value)


def _xml_attribute(value: str) -> str:
    # Quotes, and the whitespace an XML parser would otherwise normalise to spaces in an attribute.
    return (_xml_text(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;"))


def _expand(value: str, prefixes: dict[str, str]) -> str:
    if _is_compact(value):
        prefix, _, rest = value.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + rest
    return value


def _rdfxml_body(node: Node, prefixes: dict[str, str], depth: int) -> str:
    indent = "  " * depth
    parts = [f'{indent}<rdf:type rdf:resource="{_xml_attribute(_expand(t, prefixes))}"/>\n' for t in node.types]
    for predicate, value in node.properties:
        if isinstance(value, Node):  # a blank node of this subject: written in place
            parts.append(f'{indent}<{predicate} rdf:parseType="Resource">\n'
                         f"{_rdfxml_body(value, prefixes, depth + 1)}{indent}</{predicate}>\n")
        elif isinstance(value, Iri):
            parts.append(f'{indent}<{predicate} rdf:resource="{_xml_attribute(_expand(value.value, prefixes))}"/>\n')
        else:
            if value.lang:
                attribute = f' xml:lang="{_xml_attribute(value.lang)}"'
            elif value.datatype:
                attribute = f' rdf:datatype="{_xml_attribute(_expand(value.datatype, prefixes))}"'
            else:
                attribute = ""
            parts.append(f"{indent}<{predicate}{attribute}>{_xml_text(value.value)}</{predicate}>\n")
    return "".join(parts)


def _is_compact(value: str) -> bool:
    prefix, sep, rest = value.partition(":")
    return bool(sep) and prefix.isalnum() and not rest.startswith("//") and "/" not in prefix and prefix != "urn"
