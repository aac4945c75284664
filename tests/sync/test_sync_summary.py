"""A sync's outcome counted in entries, as a steward thinks of it, against a real exchange."""

from __future__ import annotations

from steward.sync import summary
from steward.sync.syncer import SyncReport
from steward.workspace import journal
from steward.workspace.journal import CreateEntry, SetField
from tests.helpers import make_clean_entry
from tests.sync.proxy import Proxy


def _create(steward, count=1, **overrides):
    entries = [make_clean_entry(provider=steward.ws.department_name, provider_code=steward.ws.department_code,
                                **overrides) for _ in range(count)]
    journal.apply(steward.ws, [CreateEntry(e) for e in entries])
    return entries


def _sync(steward, **options) -> tuple[SyncReport, summary.SyncSummary]:
    before = summary.mark(steward.ws)
    report = steward.sync(**options)
    return report, summary.summarise(steward.ws, before, report)


def test_entries_sent_and_received_are_counted_once_each(make_steward):
    alice, bob = make_steward(), make_steward()
    alice.sync()  # what other tests left at the exchange is here before counting starts
    bob.sync()
    first, second, third = _create(alice, 3)
    _report, sent = _sync(alice)
    assert (sent.received, sent.sent, sent.not_sent) == (0, 3, [])
    _report, pulled = _sync(bob)
    assert (pulled.received, pulled.sent) == (3, 0)
    # Three changes to one entry and one to another: two entries changed, whatever the operations.
    journal.apply(alice.ws, [SetField(first.id, "name", "改名一"), SetField(first.id, "update_frequency", "weekly")])
    journal.apply(alice.ws, [SetField(first.id, "abstract", "新的摘要"), SetField(second.id, "name", "改名二")])
    _report, sent = _sync(alice)
    assert (sent.received, sent.sent) == (0, 2)
    journal.apply(bob.ws, [SetField(third.id, "update_frequency", "monthly")])
    _report, both = _sync(bob)
    assert (both.received, both.sent) == (2, 1)
    _report, nothing = _sync(bob)
    assert (nothing.received, nothing.sent) == (0, 0)


def test_entries_not_sent_say_why(make_steward):
    alice = make_steward()
    [bad] = _create(alice, sharing_type="conditional", sharing_conditions="")
    [good] = _create(alice)
    _report, result = _sync(alice)
    assert result.sent == 1
    assert [(n.entry_id, n.code, n.name, n.reason) for n in result.not_sent] == [(bad.id, bad.code, bad.name,
                                                                                   "errors")]
    assert good.id not in {n.entry_id for n in result.not_sent}


def test_entries_the_exchange_refused_are_not_sent_with_its_words(make_steward):
    alice = make_steward()
    proxy = Proxy(alice.url)
    try:
        proxy.on_request = lambda method, path, _body: 422 if method == "POST" else "forward"
        [entry] = _create(alice)
        alice.url = proxy.url
        report, result = _sync(alice)
    finally:
        proxy.close()
    assert report.refused and result.sent == 0
    assert [(n.entry_id, n.reason, n.message) for n in result.not_sent] == [(entry.id, "refused", "injected")]
