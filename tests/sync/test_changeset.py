"""Changesets: the canonical form, signatures, strict parsing, and applying operations to entries."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steward.sync import changeset
from steward.sync.changeset import ChangesetInvalid, apply_operations, canonical, parse, verify
from steward.sync.keys import SigningKey
from tests.helpers import DEPARTMENT_CODE, make_clean_entry

KEY = SigningKey.generate()


def _signed(*operations, seq: int = 1) -> changeset.Changeset:
    return changeset.new_changeset(DEPARTMENT_CODE, KEY, seq, "2026-11-25T08:00:00.000Z", "张三", operations)


def test_the_canonical_form_is_rfc_8785_not_json_dumps():
    value = {"b": "登记", "a": [1, {"d": None, "c": True}]}
    assert canonical(value) == '{"a":[1,{"c":true,"d":null}],"b":"登记"}'.encode()
    assert canonical(value) != json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def test_a_signed_changeset_verifies_and_survives_the_wire():
    cs = _signed(changeset.op_create(make_clean_entry()))
    assert verify(cs, KEY.public)
    again = parse(json.loads(json.dumps(cs.to_dict(), indent=3)))  # any JSON spelling of the same values
    assert again == cs and verify(again, KEY.public)
    assert not verify(cs, SigningKey.generate().public)


text_values = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


@settings(max_examples=60, deadline=None)
@given(name=text_values, other=text_values)
def test_changing_any_signed_text_breaks_the_signature(name, other):
    entry = make_clean_entry(name=name)
    cs = _signed(changeset.op_create(entry))
    document = cs.to_dict()
    document["operations"][0]["entry"]["name"] = other
    assert verify(parse(document), KEY.public) == (other == name)


@settings(max_examples=40, deadline=None)
@given(author=text_values, name=text_values)
def test_the_spliced_signed_form_is_the_canonical_form(author, name):
    cs = changeset.new_changeset(DEPARTMENT_CODE, KEY, 1, "2026-11-25T08:00:00.000Z", author,
                                 [changeset.op_create(make_clean_entry(name=name))])
    assert cs.canonical_bytes == canonical(cs.to_dict())


@pytest.mark.parametrize("member", ["id", "department", "seq", "created_at", "author", "key_id"])
def test_changing_any_header_member_breaks_the_signature(member):
    cs = _signed(changeset.op_create(make_clean_entry()))
    document = cs.to_dict()
    document[member] = {"id": "00000000-0000-4000-8000-000000000000", "department": "11310000002424837D",
                        "seq": 2, "created_at": "2026-11-25T08:00:01Z", "author": "李四", "key_id": "f" * 32}[member]
    assert not verify(parse(document), KEY.public)


@pytest.mark.parametrize(("mutate", "path"), [
    (lambda d: d.pop("signature"), "signature"),
    (lambda d: d.update(format="other/1"), "format"),
    (lambda d: d.update(department="123"), "department"),
    (lambda d: d.update(seq=0), "seq"),
    (lambda d: d.update(seq=True), "seq"),
    (lambda d: d.update(seq=2**60), "seq"),
    (lambda d: d.update(created_at="yesterday"), "created_at"),
    (lambda d: d.update(operations=[]), "operations"),
    (lambda d: d["operations"][0].update(kind="drop"), "operations[0].kind"),
    (lambda d: d["operations"][0].update(entry_id="ABC"), "operations[0].entry_id"),
    (lambda d: d["operations"][0]["entry"].update(name=1.5), "operations[0].entry.name"),
    (lambda d: d["operations"][0]["entry"].update(status="deleted"), "operations[0].entry.status"),
    (lambda d: d["operations"][0]["entry"]["items"][0].update(length="10"), "operations[0].entry.items[0].length"),
    (lambda d: d["operations"][0]["entry"].update(extra=1), "operations[0].entry.extra"),
    (lambda d: d["operations"][0]["entry"]["items"][1].update(id=d["operations"][0]["entry"]["items"][0]["id"]),
     "operations[0].entry.items[1].id"),
])
def test_parse_names_the_problem(mutate, path):
    document = _signed(changeset.op_create(make_clean_entry())).to_dict()
    mutate(document)
    with pytest.raises(ChangesetInvalid) as caught:
        parse(document)
    assert path in [p.path for p in caught.value.problems]


def test_status_cannot_be_set_directly():
    entry = make_clean_entry()
    with pytest.raises(ChangesetInvalid):
        parse(_signed(changeset.op_set(entry.id, 1, "status", "active", "retired")).to_dict())


# Applying ---------------------------------------------------------------------------------


def _applied(entry, version, *operations):
    entries = {entry.id: entry.copy()}
    return entries, apply_operations(entries, {entry.id: version}, operations)


def test_operations_apply_in_order():
    entry = make_clean_entry()
    new_item = make_clean_entry().items[0]
    entries, conflicts = _applied(
        entry, 3,
        changeset.op_set(entry.id, 3, "name", entry.name, "甲"),
        changeset.op_set(entry.id, 3, "name", "甲", "乙"),
        changeset.op_item_add(entry.id, 3, new_item),
        changeset.op_item_set(entry.id, 3, entry.items[1].id, "name", entry.items[1].name, "机构全称"),
        changeset.op_item_remove(entry.id, 3, entry.items[0]),
        changeset.op_retire(entry.id, 3),
    )
    assert conflicts == []
    result = entries[entry.id]
    assert (result.name, result.status) == ("乙", "retired")
    assert [i.name for i in result.items] == [new_item.name, "机构全称", entry.items[2].name]


def test_each_kind_of_conflict_is_named():
    entry = make_clean_entry()
    ghost = make_clean_entry()
    _, conflicts = _applied(
        entry, 2,
        changeset.op_set(entry.id, 1, "name", entry.name, "甲"),  # an old version
        changeset.op_set(entry.id, 2, "name", "别的名称", "甲"),  # another base value
        changeset.op_item_set(entry.id, 2, ghost.items[0].id, "name", "x", "y"),  # an item that is not there
        changeset.op_item_add(entry.id, 2, entry.items[0]),  # an item that is there
        changeset.op_create(entry),  # an entry that exists
        changeset.op_set(ghost.id, 2, "name", "x", "y"),  # an entry that does not
    )
    assert [c.reason for c in conflicts] == ["version", "value", "item_missing", "item_exists", "exists", "missing"]
    assert conflicts[0].to_dict() == {
        "entry_id": entry.id, "reason": "version", "field": "name", "item_id": None, "base": entry.name,
        "server": entry.name, "yours": "甲", "base_version": 1, "server_version": 2}


def test_an_entry_created_in_the_same_changeset_is_at_version_0():
    entry = make_clean_entry()
    entries: dict = {}
    conflicts = apply_operations(entries, {}, [changeset.op_create(entry),
                                               changeset.op_set(entry.id, 0, "name", entry.name, "新")])
    assert conflicts == [] and entries[entry.id].name == "新"
    assert entries[entry.id].items == entry.items


def test_operations_on_one_entry_with_different_base_versions_are_named_without_the_entry():
    entry, other, created = make_clean_entry(), make_clean_entry(), make_clean_entry()
    operations = [
        changeset.op_set(entry.id, 3, "name", entry.name, "甲"),
        changeset.op_set(other.id, 5, "name", other.name, "乙"),  # another entry may be at another version
        changeset.op_retire(entry.id, 2),
        changeset.op_item_set(entry.id, 4, entry.items[0].id, "name", entry.items[0].name, "丙"),
        changeset.op_create(created),
        changeset.op_set(created.id, 1, "name", created.name, "丁"),  # created here: version 0
    ]
    mixed = changeset.mixed_base_versions(operations)
    assert [(c.entry_id, c.reason, c.base_version) for c in mixed] == [
        (entry.id, "mixed_versions", 2), (entry.id, "mixed_versions", 4), (created.id, "mixed_versions", 1)]
    assert mixed[0].to_dict() == {"entry_id": entry.id, "reason": "mixed_versions", "field": None, "item_id": None,
                                  "base": None, "server": None, "yours": "retired", "base_version": 2,
                                  "server_version": None}
    assert mixed[1].item_id == entry.items[0].id
    assert changeset.mixed_base_versions(operations[:2] + operations[4:5]) == []


@pytest.mark.parametrize(("text", "fits"), [("𠀀" * 20_000, True), ("😀" * 20_000, True), ("张" * 20_000, True),
                                            ("a" * 20_001, False), ("😀" * 20_001, False)])
def test_text_length_counts_code_points_not_utf16_units_or_bytes(text, fits):
    """docs/protocol.md § 3: 20,000 characters outside the BMP fit, though they are 40,000 UTF-16 units."""
    document = _signed(changeset.op_create(make_clean_entry(abstract=text))).to_dict()
    if fits:
        parse(document)
    else:
        with pytest.raises(ChangesetInvalid, match="longer than 20000 characters"):
            parse(document)
