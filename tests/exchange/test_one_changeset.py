"""What one changeset may hold, as docs/protocol.md § 3 states it, against a real exchange (SQLite and PostgreSQL).

Operations apply in order, so a second `set` of a field is based on the first one's value; all
operations on one entry name one base version; an entry's item ids are unique; a vocabulary
value that is not a key is a rule error (422 `rules`), a value of the wrong type a format error.
Each refusal leaves the catalogue and the log as they were.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor, wait

import pytest

from exchange.db import writing
from steward.catalogue import rules
from steward.catalogue.model import DataItem
from steward.sync import changeset
from steward.sync.exchange_client import ExchangeRefused


def _created(steward, **overrides):
    """An entry the exchange has accepted (version 1)."""
    entry = steward.entry(**overrides)
    status, _ = steward.client.push(steward.changeset([changeset.op_create(entry)]))
    assert status == 201
    return entry


def _refused(server, steward, operations) -> ExchangeRefused:
    with server.unchanged(), pytest.raises(ExchangeRefused) as caught:
        steward.client.push(steward.changeset(operations))
    return caught.value


def _stored(server, entry_id):
    [(_, version, document)] = [row for row in server.catalogue() if row[0] == entry_id]
    return version, json.loads(document)


# A field set twice ------------------------------------------------------------------------


def test_a_second_set_of_a_field_takes_the_first_ones_value_as_its_base(server):
    steward = server.steward()
    entry = _created(steward)
    status, receipt = steward.client.push(steward.changeset([
        changeset.op_set(entry.id, 1, "name", entry.name, "企业登记信息甲"),
        changeset.op_set(entry.id, 1, "name", "企业登记信息甲", "企业登记信息乙"),
    ]))
    assert (status, receipt["versions"]) == (201, {entry.id: 2})
    assert _stored(server, entry.id)[1]["name"] == "企业登记信息乙"


def test_a_second_set_based_on_the_value_before_the_changeset_is_a_conflict(server):
    steward = server.steward()
    entry = _created(steward)
    error = _refused(server, steward, [
        changeset.op_set(entry.id, 1, "name", entry.name, "企业登记信息甲"),
        changeset.op_set(entry.id, 1, "name", entry.name, "企业登记信息乙"),
    ])
    assert (error.status, error.code) == (409, "conflict")
    assert error.details == [{"entry_id": entry.id, "reason": "value", "field": "name", "item_id": None,
                              "base": entry.name, "server": "企业登记信息甲", "yours": "企业登记信息乙",
                              "base_version": 1, "server_version": 1}]


# One base version per entry ---------------------------------------------------------------


def test_operations_on_one_entry_with_different_base_versions_are_a_conflict(server):
    steward = server.steward()
    entry = _created(steward)
    steward.client.push(steward.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "企业登记信息甲")]))
    error = _refused(server, steward, [
        changeset.op_set(entry.id, 2, "update_frequency", "daily", "weekly"),
        changeset.op_set(entry.id, 1, "abstract", entry.abstract, "新的摘要"),
    ])
    assert (error.status, error.code) == (409, "conflict")
    assert error.details == [{"entry_id": entry.id, "reason": "mixed_versions", "field": "abstract", "item_id": None,
                              "base": entry.abstract, "server": None, "yours": "新的摘要", "base_version": 1,
                              "server_version": None}]


def test_different_base_versions_are_refused_while_another_push_holds_the_write_lock(server):
    steward, other = server.steward(), server.steward()
    entry, others_entry = _created(steward), _created(other)
    mixed = steward.changeset([changeset.op_set(entry.id, 1, "name", entry.name, "企业登记信息甲"),
                               changeset.op_retire(entry.id, 2)])
    waiting = other.changeset([changeset.op_retire(others_entry.id, 1)])

    def answer(cs):
        try:
            return steward.client.push(cs)[0], None
        except ExchangeRefused as error:
            return error.status, [d["reason"] for d in error.details]

    with ThreadPoolExecutor(2) as pool:
        with writing(server.engine):  # the exchange's own write lock, as a long push would hold it
            blocked = pool.submit(other.client.push, waiting)
            refused = pool.submit(answer, mixed)
            wait([refused], timeout=20)  # a generous bound: the answer needs no lock
            answered_under_lock, blocked_under_lock = refused.done(), not blocked.done()
        assert answered_under_lock and blocked_under_lock
        assert refused.result() == (409, ["mixed_versions"])
        assert blocked.result()[0] == 201


def test_an_entry_created_in_the_changeset_is_changed_at_version_0_only(server):
    steward = server.steward()
    entry = steward.entry()
    error = _refused(server, steward, [changeset.op_create(entry),
                                       changeset.op_set(entry.id, 1, "name", entry.name, "企业登记信息甲")])
    assert (error.status, error.code, error.details[0]["reason"]) == (409, "conflict", "mixed_versions")
    status, receipt = steward.client.push(steward.changeset([
        changeset.op_create(entry), changeset.op_set(entry.id, 0, "name", entry.name, "企业登记信息甲")]))
    assert (status, receipt["versions"]) == (201, {entry.id: 1})


# Item ids ---------------------------------------------------------------------------------


def test_a_created_entry_with_an_item_id_twice_is_outside_the_format(server):
    steward = server.steward()
    first = DataItem(name="统一社会信用代码", data_type="C", length=18, position=1)
    twin = DataItem(name="机构名称", data_type="C", length=200, position=2, id=first.id)
    error = _refused(server, steward, [changeset.op_create(steward.entry(items=[first, twin]))])
    assert (error.status, error.code) == (422, "invalid_changeset")
    assert error.details == [{"path": "operations[0].entry.items[1].id", "reason": "appears twice in this entry"}]


def test_adding_an_item_id_the_entry_holds_is_a_conflict(server):
    steward = server.steward()
    entry = _created(steward)
    again = DataItem(name="另一个信息项", data_type="C", length=10, position=9, id=entry.items[0].id)
    error = _refused(server, steward, [changeset.op_item_add(entry.id, 1, again)])
    assert (error.status, error.code) == (409, "conflict")
    assert [(d["reason"], d["item_id"]) for d in error.details] == [("item_exists", entry.items[0].id)]


def test_adding_one_item_id_twice_in_a_changeset_is_a_conflict(server):
    steward = server.steward()
    entry = _created(steward)
    new = DataItem(name="注册资本", data_type="N", length=20, position=4)
    error = _refused(server, steward, [changeset.op_item_add(entry.id, 1, new),
                                       changeset.op_item_add(entry.id, 1, new)])
    assert [(d["reason"], d["item_id"]) for d in error.details] == [("item_exists", new.id)]


def test_an_item_removed_and_added_again_in_one_changeset_keeps_its_id(server):
    steward = server.steward()
    entry = _created(steward)
    item = entry.items[1]
    renamed = DataItem(name="机构全称", data_type=item.data_type, length=item.length, position=item.position,
                       id=item.id)
    status, _ = steward.client.push(steward.changeset([changeset.op_item_remove(entry.id, 1, item),
                                                       changeset.op_item_add(entry.id, 1, renamed)]))
    assert status == 201
    items = _stored(server, entry.id)[1]["items"]
    assert [i["id"] for i in items].count(item.id) == 1
    assert next(i["name"] for i in items if i["id"] == item.id) == "机构全称"


def test_one_item_id_may_appear_in_two_entries(server):
    steward = server.steward()
    first = _created(steward)
    shared = first.items[0]
    copy = DataItem(name=shared.name, data_type=shared.data_type, length=shared.length, position=1, id=shared.id)
    second = _created(steward, items=[copy])
    assert _stored(server, second.id)[1]["items"][0]["id"] == shared.id


# Vocabulary values ------------------------------------------------------------------------


def _bad_item_vocabulary(steward):
    """Operations putting a string that is not a vocabulary key into a data item, each way one can."""
    entry = _created(steward)
    item = entry.items[0]
    return {
        "create": ([changeset.op_create(steward.entry(items=[
            DataItem(name="统一社会信用代码", data_type="Q", length=18, position=1)]))], "data_type", "Q"),
        "item_add": ([changeset.op_item_add(entry.id, 1, DataItem(name="注册资本", data_type="N", position=4,
                                                                  sharing_type="sometimes"))],
                     "sharing_type", "sometimes"),
        "item_set": ([changeset.op_item_set(entry.id, 1, item.id, "open_type", None, "open_to_all")],
                     "open_type", "open_to_all"),
    }


@pytest.mark.parametrize("way", ["create", "item_add", "item_set"])
def test_a_data_item_value_outside_its_vocabulary_is_a_rule_error(server, way):
    steward = server.steward()
    operations, field, value = _bad_item_vocabulary(steward)[way]
    error = _refused(server, steward, operations)
    assert (error.status, error.code) == (422, "rules")
    [detail] = error.details
    assert (detail["rule"], detail["severity"], detail["field"], detail["params"]["value"]) == (
        "item.vocab.unknown", "error", field, value)
    assert detail["item_id"] is not None and detail["message"]


def test_an_entry_value_outside_its_vocabulary_is_a_rule_error(server):
    steward = server.steward()
    entry = _created(steward)
    error = _refused(server, steward, [changeset.op_set(entry.id, 1, "update_frequency", "daily", "hourly")])
    assert (error.status, error.code) == (422, "rules")
    assert [(d["rule"], d["field"], d["item_id"]) for d in error.details] == [
        ("vocab.unknown", "update_frequency", None)]


def test_a_vocabulary_value_of_the_wrong_type_is_outside_the_format(server):
    steward = server.steward()
    entry = _created(steward)
    error = _refused(server, steward, [changeset.op_item_set(entry.id, 1, entry.items[0].id, "data_type", "C", 5)])
    assert (error.status, error.code) == (422, "invalid_changeset")
    assert error.details == [{"path": "operations[0].value", "reason": "must be a string"}]


# Warnings ---------------------------------------------------------------------------------


def test_an_entry_with_only_warnings_is_accepted(server):
    steward = server.steward()
    entry = steward.entry(code="202003/000123", published="2999-01-01", items=[
        DataItem(name="名称", data_type="C", length=10, position=1),
        DataItem(name="名称", data_type="C", length=20, position=2)])
    problems = rules.check(entry, rules.Context(department_code=steward.department))
    assert {(p.code, p.severity) for p in problems} == {
        ("code.classification_mismatch", "warning"), ("published.future", "warning"),
        ("item.name.duplicate", "warning")}
    status, _ = steward.client.push(steward.changeset([changeset.op_create(entry)]))
    assert status == 201
