"""Exporting only some entries (the steward's selection, or what a filter shows) in every format."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from steward.files import exporter
from steward.files.template import ENTRY_COLUMNS, ENTRY_SHEET
from steward.workspace import journal


@pytest.fixture
def five(workspace, clean_entry):
    entries = [clean_entry(code=f"319001/90000{n}", name=f"条目{n}") for n in range(1, 6)]
    journal.apply(workspace, [journal.CreateEntry(e) for e in entries])
    return workspace, entries


def test_only_the_entries_named_are_written_in_code_order(five, tmp_path):
    workspace, entries = five
    chosen = {entries[3].id, entries[0].id}
    result = exporter.export(workspace, tmp_path / "some.xlsx", "xlsx", entry_ids=chosen)
    assert result.written == 2
    sheet = load_workbook(tmp_path / "some.xlsx")[ENTRY_SHEET]
    code_column = next(n for n, c in enumerate(ENTRY_COLUMNS) if c.key == "code")
    codes = [row[code_column] for row in sheet.iter_rows(min_row=2, values_only=True) if row[code_column]]
    assert codes == ["319001/900001", "319001/900004"]


def test_open_data_formats_take_the_same_choice(five, tmp_path):
    workspace, entries = five
    result = exporter.export(workspace, tmp_path / "some.json", "datajson", entry_ids=[entries[1].id])
    assert result.written == 1
    data = json.loads((tmp_path / "some.json").read_text(encoding="utf-8"))
    assert [d["title"] for d in data["dataset"]] == ["条目2"]


def test_no_ids_means_every_entry_and_an_empty_choice_means_none(five, tmp_path):
    workspace, _entries = five
    assert exporter.export(workspace, tmp_path / "all.csv", "csv").written == 5
    assert exporter.export(workspace, tmp_path / "none.csv", "csv", entry_ids=set()).written == 0
    assert exporter.export(workspace, tmp_path / "gone.csv", "csv", entry_ids={"no-such-entry"}).written == 0
