"""DCAT-AP 3.0 and data.json exports, checked with the official SHACL shapes (pySHACL) and JSON Schema (jsonschema).

The shapes and schemas are in ../shared beside the repository: a clone without it skips these
tests with the reason; CI, where nothing may be quietly missing, fails them.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS

from steward.catalogue import publication, rules
from steward.catalogue.model import DataItem
from steward.files import dcat, exporter
from steward.files.dcat import DcatOptions
from steward.workspace import journal
from tests.conformance import pod_validator, shacl_results

EU = "http://publications.europa.eu/resource/authority/"
CC_BY = f"{EU}licence/CC_BY_4_0"
PORTAL = "https://data.example.gov.cn/catalogue/"
DCATAP = Namespace("http://data.europa.eu/r5r/")
DCAT = Namespace("http://www.w3.org/ns/dcat#")  # rdflib's DCAT object confuses pytest's introspection


@pytest.fixture
def open_catalogue(workspace, clean_entry):
    """Open entries of every kind, and entries that must stay out of an open data export."""
    entries = [
        clean_entry(code="319001/000001", related_codes=["319001/000002", "319001/000003"]),
        clean_entry(code="319001/000002", open_type="conditional", open_conditions="实名注册后申请使用",
                    update_frequency="irregular", format_category="spreadsheet", format_type="xlsx",
                    items=[DataItem(name="机构名称", data_type="C", length=200, position=1),
                           DataItem(name="法定代表人身份证号", data_type="C", length=18, open_type="not_open",
                                    position=2)]),
        clean_entry(code="319001/000003", sharing_type="conditional", sharing_conditions="经审批",
                    open_type="not_open"),
        clean_entry(code="319001/000004", status="retired"),
        clean_entry(code="319001/000005", open_type=None),
        clean_entry(code="302001/000006", classification="302001", update_frequency="semiannual",
                    format_category="document", format_type="OFD"),
        # Open, but breaking a rule: nothing with a rule error is published.
        clean_entry(code="319001/000007", open_type="conditional", open_conditions=""),
        clean_entry(code="319001/000008", sharing_type=None, sharing_method_category=None,
                    sharing_method_type=None),
        clean_entry(code="319001/000009", abstract="", published="2023-02-30"),
    ]
    journal.apply(workspace, [journal.CreateEntry(e) for e in entries])
    return workspace


def _export_dcat(workspace, path: Path, options: DcatOptions | None = None) -> Graph:
    exporter.export(workspace, path, "dcat", options=options)
    graph = Graph()
    graph.parse(path, format="turtle" if path.suffix == ".ttl" else "json-ld")
    return graph


def test_dcat_export_meets_the_mandatory_and_range_shapes(open_catalogue, tmp_path):
    graph = _export_dcat(open_catalogue, tmp_path / "catalogue.jsonld")
    assert shacl_results(graph, "shapes.ttl") == []
    assert shacl_results(graph, "range.ttl") == []


def test_dcat_export_meets_the_recommended_shapes_given_the_portal_and_licence(open_catalogue, tmp_path):
    graph = _export_dcat(open_catalogue, tmp_path / "catalogue.jsonld", DcatOptions(PORTAL, CC_BY))
    assert shacl_results(graph, "shapes.ttl", "shapes_recommended.ttl", "range.ttl") == []
    # Of the EU vocabularies, only the publisher cannot be met: a Chinese department is no EU corporate body.
    assert {(s, p) for s, p, _ in shacl_results(graph, "mdr-vocabularies.shape.ttl")} == {
        ("Warning", str(DCTERMS.publisher))}


def test_without_portal_and_licence_only_those_two_recommendations_are_missed(open_catalogue, tmp_path):
    graph = _export_dcat(open_catalogue, tmp_path / "catalogue.jsonld")
    missed = {(s, p) for s, p, _ in shacl_results(graph, "shapes_recommended.ttl")}
    assert missed == {("Warning", str(DCTERMS.license)), ("Warning", "http://xmlns.com/foaf/0.1/homepage")}


def test_the_shapes_do_catch_a_broken_export(open_catalogue, tmp_path):
    graph = _export_dcat(open_catalogue, tmp_path / "catalogue.jsonld")
    dataset = next(graph.subjects(RDF.type, DCAT.Dataset))
    graph.remove((dataset, DCTERMS.title, None))
    graph.add((dataset, DCTERMS.accessRights, URIRef(f"{EU}access-right/NON_PUBLIC")))  # now two
    found = {(s, p) for s, p, _ in shacl_results(graph, "shapes.ttl")}
    assert found == {("Violation", str(DCTERMS.title)), ("Violation", str(DCTERMS.accessRights))}


def test_turtle_says_the_same_as_json_ld(open_catalogue, tmp_path):
    options = DcatOptions(PORTAL, CC_BY)
    from_jsonld = _export_dcat(open_catalogue, tmp_path / "c.jsonld", options)
    from_turtle = _export_dcat(open_catalogue, tmp_path / "c.ttl", options)
    assert shacl_results(from_turtle, "shapes.ttl", "range.ttl") == []
    # The catalogue's dct:modified is the time of each export: set both aside before comparing.
    catalogue_modified = [(c, DCTERMS.modified, None) for c in from_jsonld.subjects(RDF.type, DCAT.Catalog)]
    for graph in (from_jsonld, from_turtle):
        for pattern in catalogue_modified:
            graph.remove(pattern)
    assert len(from_turtle) > 200
    assert isomorphic(from_jsonld, from_turtle)


def test_dcat_maps_the_catalogue_fields_as_docs_formats_says(open_catalogue, tmp_path):
    graph = _export_dcat(open_catalogue, tmp_path / "c.jsonld", DcatOptions(PORTAL, CC_BY))
    datasets = {str(graph.value(d, DCTERMS.identifier)): d for d in graph.subjects(RDF.type, DCAT.Dataset)}
    assert set(datasets) == {"319001/000001", "319001/000002", "302001/000006"}  # open, active, decided
    first, second, third = (datasets[c] for c in ("319001/000001", "319001/000002", "302001/000006"))
    assert first == URIRef(f"{PORTAL}dataset/319001%2F000001")
    assert graph.value(first, DCTERMS.accessRights) == URIRef(f"{EU}access-right/PUBLIC")
    assert graph.value(second, DCTERMS.accessRights) == URIRef(f"{EU}access-right/RESTRICTED")
    assert graph.value(first, DCTERMS.accrualPeriodicity) == URIRef(f"{EU}frequency/DAILY")
    assert graph.value(second, DCTERMS.accrualPeriodicity) == URIRef(f"{EU}frequency/IRREG")
    assert graph.value(third, DCTERMS.accrualPeriodicity) == URIRef(f"{EU}frequency/ANNUAL_2")
    assert graph.value(first, DCTERMS.issued).toPython().isoformat() == "2020-01-01"
    assert set(graph.objects(first, DCTERMS.relation)) == {second}  # 000003 is not open: no pointer to it
    assert graph.value(first, DCAT.theme) == URIRef(f"{EU}data-theme/ECON")  # 319 市场监管
    assert graph.value(third, DCAT.theme) == URIRef(f"{EU}data-theme/EDUC")  # 302 教育
    keywords = {str(k) for k in graph.objects(second, DCAT.keyword)}
    assert {"市场监管", "机构名称"} <= keywords and "法定代表人身份证号" not in keywords  # an item that is not open
    publisher = graph.value(first, DCTERMS.publisher)
    assert str(graph.value(publisher, URIRef("http://xmlns.com/foaf/0.1/name"))) == "上海市市场监督管理局"
    distribution = graph.value(second, DCAT.distribution)
    assert graph.value(distribution, DCTERMS.format) == URIRef(f"{EU}file-type/XLSX")
    assert graph.value(graph.value(third, DCAT.distribution), DCTERMS.format) == URIRef(f"{EU}file-type/OCTET")
    assert graph.value(distribution, DCTERMS.license) == URIRef(CC_BY)
    rights = graph.value(distribution, DCTERMS.rights)
    assert "实名注册" in str(graph.value(rights, URIRef("http://www.w3.org/2000/01/rdf-schema#label")))
    assert graph.value(distribution, DCATAP.availability) == URIRef(f"{EU}planned-availability/STABLE")


# data.json --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("options", [DcatOptions(), DcatOptions(PORTAL, CC_BY)], ids=["bare", "portal"])
def test_data_json_is_valid_against_the_non_federal_schema(open_catalogue, tmp_path, options):
    path = tmp_path / "data.json"
    result = exporter.export(open_catalogue, path, "datajson", options=options)
    assert (result.written, result.left_out_closed, result.left_out_errors) == (3, 3, 3)
    data = json.loads(path.read_text(encoding="utf-8"))
    errors = [f"{list(e.path)}: {e.message}" for e in pod_validator().iter_errors(data)]
    assert errors == []


def test_the_schema_does_catch_a_broken_data_json(open_catalogue, tmp_path):
    path = tmp_path / "data.json"
    exporter.export(open_catalogue, path, "datajson", options=DcatOptions(PORTAL, CC_BY))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["dataset"][0]["accessLevel"] = "open"
    data["dataset"][1]["landingPage"] = "not a web address"
    del data["dataset"][2]["contactPoint"]
    errors = list(pod_validator().iter_errors(data))
    messages = " ".join(e.message for error in errors for e in [error, *error.context])
    assert "'open' is not one of" in messages
    assert "'not a web address' is not a 'uri'" in messages
    assert "'contactPoint' is a required property" in messages


def test_data_json_fills_what_the_catalogue_lacks(open_catalogue, tmp_path):
    path = tmp_path / "data.json"
    exporter.export(open_catalogue, path, "datajson")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    by_code = {d["identifier"]: d for d in data["dataset"]}
    first, second = by_code["319001/000001"], by_code["319001/000002"]
    assert (first["accessLevel"], second["accessLevel"]) == ("public", "restricted public")
    assert second["rights"] == "实名注册后申请使用"
    assert (first["accrualPeriodicity"], second["accrualPeriodicity"]) == ("R/P1D", "irregular")
    assert first["contactPoint"] == {"@type": "vcard:Contact", "fn": "上海市市场监督管理局"}
    assert "统一社会信用代码" in first["keyword"] and first["keyword"][0] == "市场监管"
    assert first["modified"].endswith("Z") and first["issued"] == "2020-01-01"


# What is published ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["dcat", "datajson"])
def test_nothing_with_a_rule_error_is_published(open_catalogue, tmp_path, fmt):
    path = tmp_path / ("c.jsonld" if fmt == "dcat" else "data.json")
    result = exporter.export(open_catalogue, path, fmt, options=DcatOptions(PORTAL, CC_BY))
    if fmt == "dcat":
        graph = Graph().parse(path, format="json-ld")
        published = {str(graph.value(d, DCTERMS.identifier)) for d in graph.subjects(RDF.type, DCAT.Dataset)}
    else:
        published = {d["identifier"] for d in json.loads(path.read_text(encoding="utf-8"))["dataset"]}
    assert published == {"319001/000001", "319001/000002", "302001/000006"}
    assert (result.written, result.left_out_closed, result.left_out_errors) == (3, 3, 3)
    # Said by code, so the steward can find and fix them.
    assert result.left_out_for_errors == ["319001/000007", "319001/000008", "319001/000009"]


def test_opening_to_the_public_with_the_sharing_type_undecided_is_a_rule_error(clean_entry):
    entry = clean_entry(sharing_type=None, sharing_method_category=None, sharing_method_type=None)
    errors = [p for p in rules.check(entry) if p.severity is rules.Severity.ERROR]
    assert [(p.field, p.code) for p in errors] == [("sharing_type", "required")]
    assert publication.withheld(entry) is publication.Withheld.RULE_ERRORS


@pytest.mark.parametrize(("overrides", "verdict"), [
    ({}, None),
    ({"open_type": "conditional", "open_conditions": "实名注册"}, None),
    ({"open_type": "conditional", "open_conditions": ""}, publication.Withheld.RULE_ERRORS),
    ({"open_type": "not_open"}, publication.Withheld.CLOSED),
    ({"open_type": None}, publication.Withheld.CLOSED),
    ({"status": "retired"}, publication.Withheld.CLOSED),
    ({"sharing_type": "not_shared", "sharing_conditions": "依据《某条例》"}, publication.Withheld.CLOSED),
    ({"published": "2023-02-30"}, publication.Withheld.RULE_ERRORS),
], ids=["open", "open-on-conditions", "conditions-missing", "not-open", "undecided", "retired", "not-shared",
        "bad-date"])
def test_one_decision_says_what_may_be_published(clean_entry, overrides, verdict):
    assert publication.withheld(clean_entry(**overrides)) is verdict


def test_a_duplicate_code_in_the_workspace_keeps_both_entries_out(workspace, clean_entry, tmp_path):
    first = clean_entry()
    journal.apply(workspace, [journal.CreateEntry(first), journal.CreateEntry(clean_entry(code=first.code)),
                              journal.CreateEntry(clean_entry())])
    result = exporter.export(workspace, tmp_path / "data.json", "datajson")
    assert (result.written, result.left_out_errors) == (1, 2)


def test_the_dcat_builder_fills_a_blank_abstract_and_leaves_out_a_date_that_is_none(clean_entry):
    entry = clean_entry(abstract="", published="2023-02-30")
    graph = Graph().parse(data=_turtle(dcat.build([(entry, "2024-05-01T08:00:00.000+00:00")], DcatOptions(),
                                                  department_code=entry.provider_code,
                                                  department_name=entry.provider)), format="turtle")
    dataset = next(graph.subjects(RDF.type, DCAT.Dataset))
    assert graph.value(dataset, DCTERMS.description) == Literal(entry.name, lang="zh")
    assert graph.value(dataset, DCTERMS.issued) is None


def _turtle(graph) -> str:
    out = io.StringIO()
    dcat.write(graph, out, turtle=True)
    return out.getvalue()
