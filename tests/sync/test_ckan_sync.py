"""What a steward's sync does to the CKAN channel of a real exchange (SQLite and PostgreSQL): an entry made
不予开放 in a workspace and synced is gone from package_show, package_search and package_list at the next
request, as ckanapi, the real client library, sees it."""

from __future__ import annotations

import ckanapi
import pytest

from steward.workspace import journal
from steward.workspace.journal import CreateEntry, SetField
from tests.helpers import make_clean_entry


def test_an_entry_made_not_open_and_synced_is_not_found_at_the_next_request(exchange, make_steward):
    local, _engine = exchange
    steward = make_steward()
    ws = steward.ws
    entry = make_clean_entry(provider=ws.department_name, provider_code=ws.department_code)
    journal.apply(ws, [CreateEntry(entry)])
    steward.sync()
    ckan = ckanapi.RemoteCKAN(local.url)
    name = entry.code.replace("/", "-")
    assert ckan.action.package_show(id=name)["id"] == entry.id
    assert ckan.action.package_search(fq=f"name:{name}")["count"] == 1

    journal.apply(ws, [SetField(entry.id, "open_type", "not_open")], reason="含个人信息，经审查不予开放")
    assert steward.sync().pushed == 1
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id=name)
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id=entry.id)
    assert ckan.action.package_search(fq=f"name:{name}")["count"] == 0
    assert name not in ckan.action.package_list()
