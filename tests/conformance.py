"""The official checks published datasets must pass: DCAT-AP 3 SHACL shapes and the POD v1.1 data.json schema.

Both are read from ../shared (beside the repository; `STEWARD_SHARED` elsewhere); where it is absent the tests
using them skip saying so, and CI turns such a skip into a failure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from jsonschema import Draft4Validator, FormatChecker
from pyshacl import validate
from rdflib import Graph
from rdflib.namespace import SH
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.helpers import require

SHARED = Path(os.environ.get("STEWARD_SHARED") or Path(__file__).resolve().parents[1] / ".." / "shared")
SHAPES = SHARED / "dcat-ap"
POD = SHARED / "pod-v1.1" / "non-federal"


def _shapes(*names: str) -> Graph:
    require(SHAPES.is_dir(), f"the DCAT-AP SHACL shapes are not at {SHAPES} (../shared beside the repository, "
                             "or STEWARD_SHARED)")
    graph = Graph()
    for name in names:
        graph.parse(SHAPES / name, format="turtle")
    return graph


def shacl_results(data: Graph, *shape_files: str) -> list[tuple[str, str, str]]:
    """(severity, path, focus) of every top-level validation result (nested details are part of their result)."""
    conforms, report, _text = validate(data, shacl_graph=_shapes(*shape_files), inference="none")
    found = []
    for result in report.objects(None, SH.result):
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        found.append((severity, str(report.value(result, SH.resultPath)), str(report.value(result, SH.focusNode))))
    assert conforms == (not found)
    return found


def pod_validator() -> Draft4Validator:
    """The POD v1.1 non-federal catalogue schema, with the dataset schema it refers to."""
    require(POD.is_dir(), f"the data.json JSON Schemas are not at {POD} (../shared beside the repository, "
                          "or STEWARD_SHARED)")
    catalog = json.loads((POD / "catalog.json").read_text(encoding="utf-8"))
    dataset = Resource.from_contents(json.loads((POD / "dataset-non-federal.json").read_text(encoding="utf-8")),
                                     default_specification=DRAFT4)
    # catalog.json refers to the dataset schema by a relative $ref, resolved against its own id.
    registry = Registry().with_resource("https://project-open-data.cio.gov/v1.1/schema/dataset-non-federal.json",
                                        dataset)
    return Draft4Validator(catalog, registry=registry, format_checker=FormatChecker())
