"""The CKAN-compatible Action API (exchange/opendata/ckan.py) read by `ckanapi`, the real client library, and by
plain HTTP where CKAN's exact shapes matter, against a real exchange on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import time

import ckanapi
import pytest
import requests
from sqlalchemy import text

from exchange.db import reading
from exchange.opendata import view
from steward.catalogue.model import DataItem
from steward.sync import changeset

ODD = '引号"双"\'单\' <b>标签</b> & 与\n第二行 𠀀 罕用字'


def _push(steward, *operations) -> int:
    status, receipt = steward.client.push(steward.changeset(list(operations)))
    assert status == 201, receipt
    return receipt["position"]


@pytest.fixture(scope="module")
def published(server):
    """One department's entries: open ones (CSV and JSON, one about 交通, one with odd text), and withheld ones."""
    steward = server.steward()
    csv = [steward.entry(format_category="spreadsheet", format_type="csv") for _ in range(3)]
    traffic = steward.entry(name="城市道路交通流量统计", abstract="各路段每小时车流量。",
                            format_category="self_describing", format_type="json")
    odd = steward.entry(name=f"特殊字符{ODD}", abstract=ODD, open_type="conditional", open_conditions=f"条件：{ODD}",
                        items=[DataItem(name="车牌号码", data_type="C", length=10, position=1),
                               DataItem(name="车主身份证号", data_type="C", length=18, position=2,
                                        open_type="not_open")])
    closed = steward.entry(open_type="not_open")
    retired = steward.entry()
    _push(steward, *(changeset.op_create(e) for e in [*csv, traffic, odd, closed, retired]))
    _push(steward, changeset.op_retire(retired.id, 1))
    other = server.steward()
    elsewhere = [other.entry() for _ in range(2)]
    _push(other, *(changeset.op_create(e) for e in elsewhere))
    return {"steward": steward, "csv": csv, "traffic": traffic, "odd": odd, "closed": closed, "retired": retired,
            "other": other, "elsewhere": elsewhere}


def _ckan(server) -> ckanapi.RemoteCKAN:
    return ckanapi.RemoteCKAN(server.url)


def _open_count(server) -> int:
    with reading(server.engine) as conn:
        return view.count(conn)


def _name(entry) -> str:
    return entry.code.replace("/", "-")


def test_package_search_paging_returns_every_open_dataset_exactly_once(server, published):
    ckan = _ckan(server)
    seen, start = [], 0
    while True:
        page = ckan.action.package_search(rows=3, start=start, sort="name asc")
        if not page["results"]:
            break
        seen.extend(p["id"] for p in page["results"])
        start += 3
    assert len(seen) == len(set(seen)) == page["count"] == _open_count(server)
    opened = [*published["csv"], published["traffic"], published["odd"], *published["elsewhere"]]
    assert {e.id for e in opened} <= set(seen)
    assert not {published["closed"].id, published["retired"].id} & set(seen)
    # The harvester's own order (id asc) pages alike.
    by_id = ckan.action.package_search(rows=1000, sort="id asc")["results"]
    assert [p["id"] for p in by_id] == sorted(seen)


def test_package_show_gives_the_dataset_as_ckan_does_by_id_and_by_name(server, published):
    traffic = published["traffic"]
    steward = published["steward"]
    by_id = _ckan(server).action.package_show(id=traffic.id)
    assert _ckan(server).action.package_show(id=_name(traffic)) == by_id
    assert (by_id["id"], by_id["name"], by_id["title"], by_id["notes"], by_id["state"]) == (
        traffic.id, _name(traffic), traffic.name, traffic.abstract, "active")
    assert by_id["organization"]["name"] == steward.department.lower()
    assert by_id["organization"]["title"] == steward.department_name
    assert by_id["owner_org"] == by_id["organization"]["id"]
    assert [r["format"] for r in by_id["resources"]] == ["JSON"]
    assert by_id["resources"][0]["url"].endswith(f"/open/dataset/{traffic.code.replace('/', '%2F')}")
    assert by_id["metadata_modified"] and not by_id["metadata_modified"].endswith("Z")
    extras = {e["key"]: e["value"] for e in by_id["extras"]}
    assert (extras["open_type"], extras["identifier"]) == ("无条件开放", traffic.code)
    assert "统一社会信用代码" in {t["name"] for t in by_id["tags"]}  # a data item, as DCAT's keywords


def test_a_dataset_not_open_or_retired_is_not_found(server, published):
    ckan = _ckan(server)
    for entry in (published["closed"], published["retired"]):
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id=entry.id)
        with pytest.raises(ckanapi.NotFound):
            ckan.action.package_show(id=_name(entry))
    answer = requests.get(f"{server.url}/api/3/action/package_show", params={"id": published["closed"].id},
                          timeout=30)
    assert answer.status_code == 404
    body = answer.json()
    assert body["success"] is False and body["error"]["__type"] == "Not Found Error"
    assert body["help"].endswith("/api/3/action/help_show?name=package_show")


def test_fq_filters_on_organization_tags_and_format(server, published):
    ckan = _ckan(server)
    steward, other = published["steward"], published["other"]
    mine = ckan.action.package_search(fq=f"organization:{steward.department.lower()}", rows=1000)
    mine_ids = {p["id"] for p in mine["results"]}
    assert {e.id for e in [*published["csv"], published["traffic"], published["odd"]]} <= mine_ids
    assert not {e.id for e in published["elsewhere"]} & mine_ids
    assert all(p["organization"]["name"] == steward.department.lower() for p in mine["results"])
    # As the CKAN harvester sends organizations_filter_include / _exclude.
    both = ckan.action.package_search(
        fq=f"organization:{steward.department.lower()} OR organization:{other.department.lower()}", rows=1000)
    assert both["count"] == mine["count"] + ckan.action.package_search(
        fq=f"organization:{other.department.lower()}")["count"]
    not_mine = ckan.action.package_search(fq=f"-organization:{steward.department.lower()}", rows=1000)
    assert not_mine["count"] == _open_count(server) - mine["count"]
    csv = ckan.action.package_search(fq=f"res_format:CSV organization:{steward.department.lower()}", rows=1000)
    assert {p["id"] for p in csv["results"]} == {e.id for e in published["csv"]}
    assert all(p["resources"][0]["format"] == "CSV" for p in csv["results"])
    tagged = ckan.action.package_search(fq='tags:"车牌号码"', rows=1000)
    assert [p["id"] for p in tagged["results"]] == [published["odd"].id]
    assert ckan.action.package_search(fq='tags:"车主身份证号"')["count"] == 0  # a 不予开放 item is no tag
    since = ckan.action.package_search(fq="metadata_modified:[2000-01-01T00:00:00Z TO *]")["count"]
    assert since == _open_count(server)
    assert ckan.action.package_search(fq="metadata_modified:[2999-01-01T00:00:00Z TO *]")["count"] == 0


def test_q_finds_a_chinese_substring(server, published):
    found = _ckan(server).action.package_search(q="交通流")
    assert [p["id"] for p in found["results"]] == [published["traffic"].id]
    assert _ckan(server).action.package_search(q="车流量")["count"] == 1  # in the description
    assert _ckan(server).action.package_search(q="没有这种数据资源")["count"] == 0


def test_search_facets_count_the_matches(server, published):
    steward = published["steward"]
    found = _ckan(server).action.package_search(fq=f"organization:{steward.department.lower()}",
                                                **{"facet.field": '["res_format", "organization"]'})
    assert found["facets"]["res_format"]["CSV"] == 3
    assert found["facets"]["organization"] == {steward.department.lower(): found["count"]}
    items = found["search_facets"]["organization"]["items"]
    assert items == [{"name": steward.department.lower(), "display_name": steward.department_name,
                      "count": found["count"]}]


def test_organization_list_and_show(server, published):
    ckan = _ckan(server)
    steward = published["steward"]
    names = ckan.action.organization_list()
    assert steward.department.lower() in names
    full = {o["name"]: o for o in ckan.action.organization_list(all_fields=True, limit=100)}
    assert full[steward.department.lower()]["title"] == steward.department_name
    shown = ckan.action.organization_show(id=steward.department.lower())
    assert ckan.action.organization_show(id=shown["id"]) == shown  # by id, as the harvester asks
    assert shown["package_count"] == ckan.action.package_search(
        fq=f"organization:{steward.department.lower()}")["count"] == full[shown["name"]]["package_count"]
    with pytest.raises(ckanapi.NotFound):
        ckan.action.organization_show(id="no-such-organization")


def test_status_show_and_package_list(server, published):
    ckan = _ckan(server)
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.") and "package_search" in status["actions"]
    names = ckan.action.package_list()
    assert names == sorted(names) and len(names) == _open_count(server)
    assert _name(published["traffic"]) in names and _name(published["closed"]) not in names


def test_refusals_have_ckans_shapes_and_statuses(server, published):
    base = f"{server.url}/api/3/action"
    bad_rows = requests.get(f"{base}/package_search", params={"rows": "many"}, timeout=30)
    assert bad_rows.status_code == 409
    assert bad_rows.json()["success"] is False
    assert bad_rows.json()["error"] == {"__type": "Validation Error", "rows": ["Invalid integer"]}
    with pytest.raises(ckanapi.ValidationError):
        _ckan(server).action.package_search(start=-1)
    bad_sort = requests.get(f"{base}/package_search", params={"sort": "colour desc"}, timeout=30)
    assert bad_sort.status_code == 400 and bad_sort.json()["error"]["__type"] == "Search Query Error"
    bad_fq = requests.get(f"{base}/package_search", params={"fq": "nosuchfield:x"}, timeout=30)
    assert bad_fq.status_code == 409 and bad_fq.json()["error"]["__type"] == "Search Error"
    no_id = requests.get(f"{base}/package_show", timeout=30)
    assert no_id.status_code == 409 and no_id.json()["error"] == {"__type": "Validation Error",
                                                                  "id": ["Missing value"]}
    unknown = requests.get(f"{base}/package_create", timeout=30)
    assert unknown.status_code == 400 and unknown.json() == "Bad request - Action name not known: package_create"
    assert requests.get(f"{server.url}/api/action/package_search", timeout=30).json()["success"] is True


def test_rows_above_a_thousand_are_cut_to_a_thousand(server, published):
    found = requests.get(f"{server.url}/api/3/action/package_search", params={"rows": "5000"}, timeout=30).json()
    assert found["success"] is True and len(found["result"]["results"]) == min(1000, found["result"]["count"])


def test_steward_text_round_trips_in_json(server, published):
    odd = published["odd"]
    answer = requests.get(f"{server.url}/api/3/action/package_show", params={"id": odd.id}, timeout=30)
    assert answer.headers["content-type"].startswith("application/json")
    shown = json.loads(answer.content.decode("utf-8"))["result"]
    assert shown["title"] == odd.name and shown["notes"] == ODD
    extras = {e["key"]: e["value"] for e in shown["extras"]}
    assert extras["open_conditions"] == f"条件：{ODD}"
    assert _ckan(server).action.package_show(id=odd.id)["notes"] == ODD  # and through the client's POST
    assert [p["id"] for p in _ckan(server).action.package_search(q="𠀀 罕用字")["results"]] == [odd.id]


def test_an_unchanged_answer_is_304_and_answers_are_gzipped(server, published):
    url = f"{server.url}/api/3/action/package_search"
    first = requests.get(url, params={"rows": 50}, headers={"Accept-Encoding": "identity"}, timeout=30)
    assert first.status_code == 200 and first.headers.get("ETag") and first.headers.get("Last-Modified")
    again = requests.get(url, params={"rows": 50}, headers={"If-None-Match": first.headers["ETag"],
                                                             "Accept-Encoding": "identity"}, timeout=30)
    assert again.status_code == 304 and again.content == b""
    other = requests.get(url, params={"rows": 51}, headers={"If-None-Match": first.headers["ETag"]}, timeout=30)
    assert other.status_code == 200  # another question, another tag
    raw = requests.get(url, params={"rows": 50}, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=30)
    assert raw.headers["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(raw.raw.read())) == first.json()


def test_a_push_that_changes_the_view_changes_the_etag(server, published):
    url = f"{server.url}/api/3/action/package_list"
    before = requests.get(url, timeout=30).headers["ETag"]
    steward = published["steward"]
    entry = steward.entry()
    _push(steward, changeset.op_create(entry))
    after = requests.get(url, headers={"If-None-Match": before}, timeout=30)
    assert after.status_code == 200 and after.headers["ETag"] != before
    assert _name(entry) in after.json()["result"]  # at the very next request


@pytest.mark.parametrize("query", ["package_list?offset=99999999999999999999999&limit=99999999999999999999999",
                                   "package_search?start=99999999999999999999999&rows=99999999999999999999",
                                   "package_search?facet.field=%5B%22tags%22%5D&facet.limit=999999999999999999999",
                                   "package_search?fq=" + "(" * 2000 + "x",
                                   "package_search?q=%22unclosed"])
def test_odd_parameters_are_answered_never_with_a_5xx(server, published, query):
    answer = requests.get(f"{server.url}/api/3/action/{query}", timeout=30)
    assert answer.status_code < 500, answer.text
    assert answer.json()["success"] is (answer.status_code == 200)


def test_free_text_follows_a_changed_title_by_two_characters_or_more(server, published):
    steward = published["steward"]
    entry = steward.entry(name="河道水闸运行记录")
    _push(steward, changeset.op_create(entry))
    ckan = _ckan(server)
    assert entry.id in {p["id"] for p in ckan.action.package_search(q="水闸", rows=1000)["results"]}
    _push(steward, changeset.op_set(entry.id, 1, "name", entry.name, "公园绿地养护台账"))
    for gone in ("水闸", "河道水闸"):
        assert entry.id not in {p["id"] for p in ckan.action.package_search(q=gone, rows=1000)["results"]}
    for found in ("绿地", "园绿地养", "绿地 台账"):
        assert entry.id in {p["id"] for p in ckan.action.package_search(q=found, rows=1000)["results"]}
    assert ckan.action.package_search(q="绿地台账")["count"] == 0  # words are substrings, not pairs anywhere


def test_a_changed_dataset_is_never_answered_with_the_json_written_of_its_old_version(server, published):
    steward = published["steward"]
    entry = steward.entry(name="旧名称数据集")
    _push(steward, changeset.op_create(entry))
    deadline = time.monotonic() + 60
    while True:  # the server's thread writes each package's JSON soon after the push
        with reading(server.engine) as conn:
            written = conn.execute(text("SELECT count(*) FROM ckan_documents j JOIN ckan_packages c ON c.seq = j.seq "
                                        "WHERE c.entry_id = :i"), {"i": entry.id}).scalar_one()
        if written or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert written == 1
    assert _ckan(server).action.package_show(id=entry.id)["title"] == "旧名称数据集"
    _push(steward, changeset.op_set(entry.id, 1, "name", entry.name, "新名称数据集"))
    assert _ckan(server).action.package_show(id=entry.id)["title"] == "新名称数据集"
    found = _ckan(server).action.package_search(fq=f"id:{entry.id}")["results"]
    assert [p["title"] for p in found] == ["新名称数据集"]
