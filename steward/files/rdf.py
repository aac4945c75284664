"""A small RDF graph of nodes and its two written forms, JSON-LD and Turtle (what the DCAT-AP export needs).

The graph is built once and written either way, so the two forms always say the same. No RDF
library is needed at run time; the tests read both forms back with rdflib (through pySHACL).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

XSD = "http://www.w3.org/2001/XMLSchema#"


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
        out.write('{\n"@context": ')
        out.write(json.dumps(self.prefixes, ensure_ascii=False, sort_keys=True))
        out.write(',\n"@graph": [\n')
        for n, node in enumerate(self.nodes):
            if n:
                out.write(",\n")
            out.write(json.dumps(_jsonld_node(node), ensure_ascii=False, separators=(",", ":")))
        out.write("\n]\n}\n")

    # Turtle -------------------------------------------------------------------------------------------------

    def write_turtle(self, out: IO[str]) -> None:
        for prefix, iri in sorted(self.prefixes.items()):
            out.write(f"@prefix {prefix}: <{iri}> .\n")
        for node in self.nodes:
            out.write("\n")
            out.write(_turtle_id(node.id))
            lines = []
            if node.types:
                lines.append("a " + ", ".join(node.types))
            for predicate, values in _grouped(node.properties):
                lines.append(f"{predicate} " + ", ".join(_turtle_term(v, 1) for v in values))
            out.write("\n    " + " ;\n    ".join(lines) + " .\n")


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


def _escape_iri(iri: str) -> str:
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


def _is_compact(value: str) -> bool:
    prefix, sep, rest = value.partition(":")
    return bool(sep) and prefix.isalnum() and not rest.startswith("//") and "/" not in prefix and prefix != "urn"
