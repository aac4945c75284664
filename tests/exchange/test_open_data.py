"""The open catalogue a real exchange serves to portals (SQLite and PostgreSQL): DCAT-AP 3.0 pages, data.json.

Pages are read as a harvester reads them: rdflib parses each (ckanext-dcat's own parser is not installed
here: it needs CKAN itself), and the harvest follows hydra:next from the first page to the last. The
served DCAT is checked with the official DCAT-AP 3 SHACL shapes, data.json with the POD v1.1 non-federal
JSON Schema; both are in ../shared beside the repository (or where STEWARD_SHARED says): where they are
absent those tests skip and say so.

The exchange is configured with a public base URI that is not the address the tests reach it at, as
behind a proxy: every link must start with the configured base, and the tests follow them by swapping
the base for the address they reach.
"""

from __future__ import annotations

import gzip

import pytest
import requests
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS

from steward.catalogue.model import DataItem
from steward.sync import changeset
from tests.conformance import pod_validator, shacl_results

BASE = "https://data.example.gov.cn/exchange/"
CC_BY = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
SERVE_ARGS = ("--public-base-uri", BASE, "--licence", CC_BY, "--open-publisher", "某市大数据中心", "--open-rate", "0")
DCAT = Namespace("http://www.w3.org/ns/dcat#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
FORMATS = {"ttl": "turtle", "jsonld": "json-ld", "rdf": "xml"}
ODD = '引号"双"与\'单\'，<标签> & 符号\n第二行\t制表 𠀀 结尾\\'


def _push(steward, *operations) -> int:
    status, receipt = steward.client.push(steward.changeset(list(operations)))
    assert status == 201
    return receipt["position"]


def _local(server, url: str) -> str:
    assert url.startswith(BASE), f"{url} does not start with the configured base URI"
    return server.url + "/" + url[len(BASE):]


def _get(server, url: str, **headers) -> requests.Response:
    return requests.get(_local(server, url) if url.startswith(BASE) else url, headers=headers, timeout=60)


def _harvest(server, fmt: str, first: str | None = None, on_page=None) -> tuple[Graph, list[str]]:
    """Follow hydra:next from the first page: the union of every page, and the pages' URLs."""
    url = first or f"{server.url}/open/catalog.{fmt}?limit=3"
    whole, pages = Graph(), []
    while url:
        pages.append(url)
        assert len(pages) < 1000, "the harvest does not end"
        answer = _get(server, url)
        assert answer.status_code == 200, answer.text
        page = Graph().parse(data=answer.content, format=FORMATS[fmt])
        whole += page
        [collection] = list(page.subjects(RDF.type, HYDRA.PagedCollection))
        url = page.value(collection, HYDRA.next)
        url = str(url) if url is not None else None
        if on_page is not None:
            on_page(len(pages))
    return whole, pages


def _titles(graph: Graph) -> dict[str, str]:
    """Each dataset's identifier (its resource code) and title."""
    return {str(graph.value(d, DCTERMS.identifier)): str(graph.value(d, DCTERMS.title))
            for d in graph.subjects(RDF.type, DCAT.Dataset)}


@pytest.fixture(scope="module")
def published(server):
    """Open entries of several kinds, and entries that must stay out, pushed by one steward."""
    steward = server.steward()
    shown = [
        steward.entry(),
        steward.entry(open_type="conditional", open_conditions="实名注册后申请使用",
                      items=[DataItem(name="机构名称", data_type="C", length=200, position=1),
                             DataItem(name="法定代表人身份证号", data_type="C", length=18, open_type="not_open",
                                      position=2)]),
        steward.entry(update_frequency="semiannual", format_category="document", format_type="OFD"),
        steward.entry(name=f"名称{ODD}", abstract=f"摘要{ODD}"),
        *[steward.entry() for _ in range(4)],
    ]
    hidden = [steward.entry(sharing_type="conditional", sharing_conditions="经审批", open_type="not_open"),
              steward.entry(status="retired")]
    _push(steward, *[changeset.op_create(e) for e in shown + hidden])
    return steward, shown, hidden


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_harvest_following_hydra_next_gets_every_open_dataset_once_and_no_other(server, published, fmt):
    _steward, shown, hidden = published
    graph, pages = _harvest(server, fmt)
    titles = _titles(graph)
    assert {e.code for e in shown} <= set(titles)
    assert not {e.code for e in hidden} & set(titles)
    assert len(pages) >= 3  # pages of 3: the paging is exercised
    # Every link starts with the configured base URI, whatever address the request came to.
    assert all(p.startswith(BASE) for p in pages[1:])
    datasets = list(graph.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == len(titles)  # no dataset twice (one IRI each)
    assert all(str(d).startswith(f"{BASE}open/dataset/") for d in datasets)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_page_conforms_to_the_dcat_ap_3_shapes(server, published, fmt):
    graph, _pages = _harvest(server, fmt)
    assert shacl_results(graph, "shapes.ttl", "range.ttl") == []
    assert shacl_results(graph, "shapes_recommended.ttl") == []


def test_steward_text_survives_every_form(server, published):
    _steward, shown, _hidden = published
    odd = shown[3]
    for fmt in FORMATS:
        graph, _ = _harvest(server, fmt)
        [dataset] = [d for d in graph.subjects(RDF.type, DCAT.Dataset)
                     if str(graph.value(d, DCTERMS.identifier)) == odd.code]
        assert graph.value(dataset, DCTERMS.title) == Literal(f"名称{ODD}", lang="zh"), fmt
        assert graph.value(dataset, DCTERMS.description) == Literal(f"摘要{ODD}", lang="zh"), fmt
    document = requests.get(f"{server.url}/open/data.json", timeout=60).json()
    [found] = [d for d in document["dataset"] if d["identifier"] == odd.code]
    assert (found["title"], found["description"]) == (f"名称{ODD}", f"摘要{ODD}")


def test_data_items_not_open_are_left_out_of_every_form(server, published):
    for fmt in FORMATS:
        page = requests.get(f"{server.url}/open/catalog.{fmt}", timeout=60)
        assert "机构名称" in page.text and "法定代表人身份证号" not in page.text
    data = requests.get(f"{server.url}/open/data.json", timeout=60).text
    assert "机构名称" in data and "法定代表人身份证号" not in data


def test_data_json_is_one_document_valid_against_the_non_federal_schema(server, published):
    _steward, shown, hidden = published
    answer = requests.get(f"{server.url}/open/data.json", timeout=60)
    assert answer.headers["Content-Type"].startswith("application/json")
    document = answer.json()
    errors = sorted(pod_validator().iter_errors(document), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []
    identifiers = [d["identifier"] for d in document["dataset"]]
    assert len(identifiers) == len(set(identifiers))
    assert {e.code for e in shown} <= set(identifiers)
    assert not {e.code for e in hidden} & set(identifiers)
    assert all(d["landingPage"].startswith(f"{BASE}open/dataset/") for d in document["dataset"])
    assert all(d["license"] == CC_BY for d in document["dataset"])


def test_a_harvest_reads_one_snapshot_whatever_is_pushed_meanwhile(server, published):
    steward, shown, _hidden = published
    renamed, closed = shown[0], shown[2]
    added = steward.entry()
    before = _titles(_harvest(server, "ttl")[0])
    changes = []

    def push_during_the_harvest(page: int) -> None:
        if page == 1:  # after the first page: the rest of the harvest must not see these
            changes.append(_push(steward, changeset.op_set(renamed.id, 1, "name", renamed.name, "改过的名称"),
                                 changeset.op_set(closed.id, 1, "open_type", "unconditional", "not_open"),
                                 changeset.op_create(added)))

    during = _titles(_harvest(server, "ttl", on_page=push_during_the_harvest)[0])
    assert changes and during == before
    after = _titles(_harvest(server, "ttl")[0])
    assert after[renamed.code] == "改过的名称"
    assert closed.code not in after and added.code in after


def test_a_snapshot_that_cannot_be_served_is_gone(server, published):
    answer = requests.get(f"{server.url}/open/catalog.ttl?snapshot=999999999", timeout=60)
    assert answer.status_code == 410
    assert answer.json()["error"]["code"] == "snapshot_expired"


def test_the_catalog_answers_in_the_form_the_client_accepts(server, published):
    cases = {"text/turtle": "text/turtle", "application/ld+json": "application/ld+json",
             "application/rdf+xml": "application/rdf+xml", "*/*": "text/turtle",
             "text/html;q=0.9, application/rdf+xml;q=0.8, text/turtle;q=0.5": "application/rdf+xml"}
    for accept, media in cases.items():
        answer = requests.get(f"{server.url}/open/catalog?limit=2", headers={"Accept": accept}, timeout=60)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].split(";")[0] == media, accept
        assert "Accept" in answer.headers["Vary"]
        Graph().parse(data=answer.content, format={"text/turtle": "turtle", "application/ld+json": "json-ld",
                                                   "application/rdf+xml": "xml"}[media])


@pytest.mark.parametrize("path", ["/open/catalog.ttl", "/open/catalog.jsonld", "/open/catalog.rdf",
                                  "/open/catalog", "/open/data.json"])
def test_nothing_changed_is_answered_304(server, published, path):
    first = requests.get(f"{server.url}{path}", timeout=60)
    assert first.status_code == 200 and first.headers["ETag"] and first.headers["Last-Modified"]
    again = requests.get(f"{server.url}{path}", headers={"If-None-Match": first.headers["ETag"]}, timeout=60)
    assert (again.status_code, again.content) == (304, b"")
    assert again.headers["ETag"] == first.headers["ETag"]
    since = requests.get(f"{server.url}{path}", headers={"If-Modified-Since": first.headers["Last-Modified"]},
                         timeout=60)
    assert since.status_code == 304


def test_a_push_that_changes_nothing_public_keeps_the_etag_and_one_that_does_changes_it(server, published):
    steward, _shown, _hidden = published
    first = requests.get(f"{server.url}/open/data.json", timeout=60)
    _push(steward, changeset.op_create(steward.entry(open_type="not_open")))
    same = requests.get(f"{server.url}/open/data.json", headers={"If-None-Match": first.headers["ETag"]}, timeout=60)
    assert same.status_code == 304
    _push(steward, changeset.op_create(steward.entry()))
    changed = requests.get(f"{server.url}/open/data.json", headers={"If-None-Match": first.headers["ETag"]},
                           timeout=60)
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


def test_answers_are_gzipped_for_clients_that_accept_it(server, published):
    for path in ("/open/catalog.ttl", "/open/data.json"):
        raw = requests.get(f"{server.url}{path}", headers={"Accept-Encoding": "gzip"}, stream=True, timeout=60)
        assert raw.headers["Content-Encoding"] == "gzip"
        body = gzip.decompress(raw.raw.read())
        plain = requests.get(f"{server.url}{path}", headers={"Accept-Encoding": "identity"}, timeout=60)
        assert "Content-Encoding" not in plain.headers
        assert body == plain.content


def test_the_open_routes_are_read_only(server, published):
    for path in ("/open/catalog.ttl", "/open/data.json"):
        assert requests.post(f"{server.url}{path}", data=b"{}", timeout=60).status_code == 405


def test_the_pages_link_by_uri_from_the_configuration_not_from_the_request(server, published):
    answer = requests.get(f"{server.url}/open/catalog.ttl?limit=2", headers={"Host": "evil.example.com",
                                                                           "X-Forwarded-Host": "evil.example.com"},
                          timeout=60)
    assert answer.status_code == 200
    assert "evil.example.com" not in answer.text
    page = Graph().parse(data=answer.content, format="turtle")
    [collection] = list(page.subjects(RDF.type, HYDRA.PagedCollection))
    assert str(collection).startswith(f"{BASE}open/catalog.ttl?snapshot=")
    assert str(page.value(collection, HYDRA.next)).startswith(f"{BASE}open/catalog.ttl?snapshot=")
    assert isinstance(page.value(collection, HYDRA.next), URIRef)
