"""A changeset the exchange refuses for some of its entries: those are held back, the rest lands in the same sync.

The client's rules foresee what the exchange refuses, but not always: a workspace edited before a
rule existed holds values its stored problems never marked. Such values are written here behind
the rules' back, as that older Steward did, so only the exchange can refuse them.
"""

from __future__ import annotations

import json

from steward.catalogue.rules import MAX_TEXT
from steward.sync import syncer
from steward.workspace import journal
from steward.workspace.journal import CreateEntry, SetField
from tests.helpers import make_clean_entry, run_cli


def _create(steward, count):
    ws = steward.ws
    entries = [make_clean_entry(provider=ws.department_name, provider_code=ws.department_code) for _ in range(count)]
    journal.apply(ws, [CreateEntry(e) for e in entries])
    return entries


def _unmarked(steward, entry_id: str, **columns) -> None:
    """Store values as a Steward without today's rules did: the entry's stored problems stay as they were."""
    with steward.ws.writing() as conn:
        for column, value in columns.items():
            conn.exec_driver_sql(f"UPDATE entries SET {column} = ? WHERE id = ?", (value, entry_id))
        conn.exec_driver_sql("UPDATE entries SET error_count = 0 WHERE id = ?", (entry_id,))


def _refusals_sent(steward) -> int:
    with steward.ws.reading() as conn:
        return conn.exec_driver_sql("SELECT COUNT(*) FROM outbox WHERE state = 'refused'").scalar()


def test_entries_the_exchange_refuses_are_held_back_with_its_reason_and_the_rest_lands(make_steward):
    alice = make_steward()
    too_long, breaking, fine = _create(alice, 3)
    alice.sync()
    journal.apply(alice.ws, [SetField(too_long.id, "abstract", "新的摘要"), SetField(fine.id, "name", "新名称"),
                             SetField(breaking.id, "update_frequency", "weekly")])
    _unmarked(alice, too_long.id, abstract="长" * (MAX_TEXT + 1))
    _unmarked(alice, breaking.id, sharing_type="conditional", sharing_conditions="")

    report = alice.sync()

    assert (report.pushed, report.operations, report.refused) == (1, 1, [])
    assert alice.entry(fine.id).version == 2
    assert (alice.entry(too_long.id).version, alice.entry(breaking.id).version) == (1, 1)
    held = {h.entry_id: (h.code, h.reason, h.message) for h in report.held_back}
    assert held == {
        too_long.id: (too_long.code, "refused", f"abstract: longer than {MAX_TEXT} characters"),
        breaking.id: (breaking.code, "refused", "Sharing on conditions needs the conditions"),
    }
    assert _refusals_sent(alice) == 2  # one changeset of the three, then one of two; the third landed

    # Kept: the next sync holds them back without asking the exchange again.
    again = alice.sync()
    assert (again.pushed, _refusals_sent(alice)) == (0, 2)
    assert {h.entry_id: h.reason for h in again.held_back} == {too_long.id: "refused", breaking.id: "refused"}
    status = syncer.status(alice.ws)
    assert {r["entry_id"]: r["reason"] for r in status.refused} == {
        too_long.id: f"abstract: longer than {MAX_TEXT} characters",
        breaking.id: "Sharing on conditions needs the conditions"}

    # Edited again, an entry is sent again; the other stays held back.
    journal.apply(alice.ws, [SetField(too_long.id, "abstract", "改短的摘要")])
    after_edit = alice.sync()
    assert after_edit.pushed == 1 and alice.entry(too_long.id).version == 2
    assert [(h.entry_id, h.reason) for h in after_edit.held_back] == [(breaking.id, "refused")]


def test_the_command_line_says_which_entries_the_exchange_refused_and_why(make_steward):
    alice = make_steward()
    [entry] = _create(alice, 1)
    alice.sync()
    journal.apply(alice.ws, [SetField(entry.id, "name", "新名称")])
    _unmarked(alice, entry.id, name="名称\x85")
    alice.sync()
    folder = alice.ws.folder
    why = "name: contains the refused character U+0085"
    status = run_cli("status", folder)
    assert f"{entry.code}: refused by the exchange: {why}" in status.stdout, status.stderr
    assert json.loads(run_cli("status", folder, "--json").stdout)["refused"] == [
        {"entry_id": entry.id, "code": entry.code, "reason": why, "changeset_id": _refused_changeset(alice),
         "refused_at": json.loads(run_cli("status", folder, "--json").stdout)["refused"][0]["refused_at"]}]
    pending = run_cli("pending", folder)
    assert f"[refused by the exchange: {why}]" in pending.stdout
    [change] = json.loads(run_cli("pending", folder, "--json").stdout)
    assert change["refused"] == why


def _refused_changeset(steward) -> str:
    with steward.ws.reading() as conn:
        return conn.exec_driver_sql("SELECT id FROM outbox WHERE state = 'refused'").scalar()
