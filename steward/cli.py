"""The `steward` command line: scripted work on a workspace, and the entry point of the app.

Exit codes: 0 success, 1 the catalogue has rule errors (validate) or rows were refused (import),
2 unusable input (a missing, damaged or newer workspace, a bad argument, a file that cannot be
imported or written), 3 an internal error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy

from steward import STARTED, __version__, sample
from steward.catalogue import rules
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import ARGPARSE_ZH, Phrase, language, os_reason, render
from steward.catalogue.model import ENTRY_FIELD, ITEM_FIELD
from steward.catalogue.operations import OpKind
from steward.catalogue.vocabulary import label, vocabulary
from steward.sync import conflicts, identity, joining, pending, publish_preview, refusals, syncer
from steward.sync.exchange_client import Connection, ExchangeClient, ExchangeRefused
from steward.sync.keys import spaced
from steward.sync.profile import read_profile
from steward.sync.requests import inbox
from steward.sync.requests.documents import Step
from steward.workspace import journal, query, store
from steward.workspace.assignments import changes_for, parse_value
from steward.workspace.workspace import Workspace, default_path

EXIT_OK, EXIT_RULE_ERRORS, EXIT_UNUSABLE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class _Parser(argparse.ArgumentParser):
    """Argument errors exit with 2 like every other unusable input (argparse's own code, too)."""


def _say(message: str, /, **params: object) -> None:
    print(render(message, params))


def _json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, indent=2, sort_keys=True)
    sys.stdout.write("\n")


def _progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        width = 30
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


# Commands ---------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    with Workspace.create(args.dir, args.department_code, args.department_name) as ws:
        _say("cli.created", path=str(ws.folder), department=f"{ws.department_name} {ws.department_code}")
    return EXIT_OK


def cmd_sample(args: argparse.Namespace) -> int:
    if args.entries <= 0:
        raise StewardError("sample.count")
    with Workspace.open(args.dir, for_writing=True) as ws:
        count = sample.add_sample(ws, args.entries, args.seed, progress=_progress)
    _say("cli.sampled", count=count)
    return EXIT_OK


def _problem_rows(ws: Workspace) -> list[dict[str, Any]]:
    """Every entry checked now, in code order; the stored problems kept in step where the workspace may be written."""
    with ws.reading() if ws.read_only else ws.writing() as conn:
        checked = store.check_all(conn, ws.department_code)
        if not ws.read_only:
            store.write_problems(conn, checked)
        entries = store.load_entries(conn, pks=[pk for pk, found in checked if found])
    return [
        {"entry_id": entry.id, "entry_code": entry.code, "entry_name": entry.name, "item_id": p.item_id,
         "field": p.field, "rule": p.code, "severity": str(p.severity), "params": p.params, "message": p.message()}
        for _code, _pk, entry, found in sorted((entries[pk].code, pk, entries[pk], found)
                                               for pk, found in checked if found)
        for p in found
    ]


def cmd_validate(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        problems = _problem_rows(ws)
        entries = query.summary(ws).entries
    errors = [p for p in problems if p["severity"] == "error"]
    warnings = len(problems) - len(errors)
    bad = len({p["entry_id"] for p in errors})
    if args.json:
        _json({"entries": entries, "entries_with_errors": bad, "errors": len(errors), "warnings": warnings,
               "problems": problems})
    else:
        for p in problems:
            marker = "✗" if p["severity"] == "error" else "!"
            print(f"{marker} {p['entry_code'] or p['entry_id']}  {p['entry_name']}: {p['message']}")
        if errors:
            _say("cli.invalid", entries=entries, bad=bad, errors=len(errors), warnings=warnings)
        else:
            _say("cli.valid", entries=entries, warnings=warnings)
    return EXIT_RULE_ERRORS if errors else EXIT_OK


def _row_dict(row: query.EntryRow) -> dict[str, Any]:
    return {
        "id": row.id, "code": row.code, "name": row.name, "classification": row.classification,
        "sharing_type": row.sharing_type, "open_type": row.open_type, "update_frequency": row.update_frequency,
        "status": row.status, "problems": row.problem_count, "errors": row.error_count, "changed": row.dirty,
    }


def _vocab_filter(name: str, values: Sequence[str] | None) -> frozenset[str]:
    return frozenset(parse_value(ENTRY_FIELD[name], v) for v in values or ())


def cmd_search(args: argparse.Namespace) -> int:
    flt = query.EntryFilter(
        sharing_types=_vocab_filter("sharing_type", args.sharing),
        open_types=_vocab_filter("open_type", args.open),
        update_frequencies=_vocab_filter("update_frequency", args.frequency),
        classification=args.classification or "",
        has_problems=True if args.problems else None,
    )
    with Workspace.open(args.dir) as ws:
        result = query.search_entries(ws, args.text, flt, limit=args.limit)
    if args.json:
        _json({"total": result.total, "results": [_row_dict(r) for r in result.rows]})
        return EXIT_OK
    lang = language()
    for row in result.rows:
        attrs = f"{label('sharing_type', row.sharing_type, lang)} / {label('open_type', row.open_type, lang)}"
        marker = " ✗" if row.error_count else ""
        print(f"{row.code}  {row.name}  [{attrs}]{marker}")
    _say("cli.found", total=result.total)
    return EXIT_OK


def _print_entry(entry_data: dict[str, Any], problems: Iterable[dict[str, Any]]) -> None:
    lang = language()
    for key, spec in ENTRY_FIELD.items():
        value = entry_data[key]
        if spec.vocabulary:
            value = label(spec.vocabulary, value, lang)
        elif isinstance(value, list):
            value = ", ".join(value)
        print(f"{spec.label(lang)}: {value}")
    _say("cli.entry_ids", id=entry_data["id"], version=entry_data["version"], revision=entry_data["revision"])
    for n, item in enumerate(entry_data["items"], start=1):
        extras = [label("sharing_type", item["sharing_type"], lang), label("open_type", item["open_type"], lang)]
        extra = " ".join(e for e in extras if e)
        print(f"  {n:>2}. {item['name']}  {label('data_type', item['data_type'], lang)}"
              f"({item['length'] if item['length'] is not None else '-'}) {extra}".rstrip())
    for p in problems:
        print(("✗ " if p["severity"] == "error" else "! ") + p["message"])


def cmd_show(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        entry = query.find_entry(ws, args.key)
        problems = [p.to_dict() for p in query.problems_of(ws, entry.id)]
    data = entry.to_dict()
    if args.json:
        _json({"entry": data, "problems": problems})
    else:
        _print_entry(data, problems)
    return EXIT_OK


def _refuse_what_the_exchange_would(conn: sqlalchemy.Connection, entry_id: str,
                                    operations: Sequence[journal.Operation]) -> None:
    """A value no exchange accepts (too long, a control character) is refused now, not at the next sync.

    The window takes such a value and marks it (it may be half typed); a command has nothing to finish later.
    Raised inside the transaction, so nothing is changed. Problems of values left alone do not refuse.
    """
    changed = {(op.field, op.item_id) for op in operations}
    added = {op.item_id for op in operations if op.kind is OpKind.ITEM_ADD}
    [entry] = store.load_entries(conn, ids=[entry_id]).values()
    for problem in rules.text_limits(entry, rules.Context()):
        if (problem.field, problem.item_id) in changed or problem.item_id in added:
            raise StewardError("set.refused", problem=problem.message())


def cmd_set(args: argparse.Namespace) -> int:
    if args.reason is not None and not args.reason.strip():
        raise StewardError("reason.blank")  # a reason given must say something, needed or not
    with Workspace.open(args.dir, for_writing=True) as ws:
        entry = query.find_entry(ws, args.key)
        with ws.writing() as conn:
            result = journal.apply_on(conn, ws.department_code, changes_for(entry, args.assignments),
                                      reason=args.reason)
            _refuse_what_the_exchange_would(conn, entry.id, result.operations)
        problems = [p.to_dict() for p in query.problems_of(ws, entry.id)]
    if args.json:
        _json({"group_id": result.group_id, "operations": len(result.operations), "problems": problems})
    elif result.operations:
        _say("cli.set", count=len(result.operations), code=entry.code or entry.id)
        for p in problems:
            print(("✗ " if p["severity"] == "error" else "! ") + p["message"])
    else:
        _say("cli.unchanged")
    return EXIT_OK


def cmd_pending(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        changes = pending.pending_changes(ws)
        with ws.reading() as conn:
            refused = {entry_id: r.reason for entry_id, r in refusals.standing(conn).items()}
    if args.json:
        _json([
            {"entry_id": c.entry_id, "kind": str(c.kind), "field": c.field, "item_id": c.item_id,
             "before": c.before, "after": c.after, "base_version": c.base_version, "refused": refused.get(c.entry_id)}
            for c in changes
        ])
        return EXIT_OK
    if not changes:
        _say("cli.no_pending")
    for c in changes:
        held = f"  [{render('held.refused_because', {'reason': refused[c.entry_id]})}]" if c.entry_id in refused else ""
        print(f"{c.entry_id}  {_what(c.kind, c.field)}  {_short(c.before)} → {_short(c.after)}{held}")
    return EXIT_OK


def cmd_publish_preview(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        preview = publish_preview.preview(ws, progress=_progress)
    if args.json:
        _json({"pending": preview.pending, "appearing": preview.appearing, "withdrawn": preview.withdrawn,
               "changed": preview.changed, "held": preview.held, "rows": [
                   {"entry_id": r.entry_id, "code": r.code, "name": r.name, "change": str(r.change),
                    "reason": r.reason and str(r.reason), "still_public": r.still_public,
                    "fields": [{"field": f.field, "item_id": f.item_id, "item_name": f.item_name,
                                "before": f.before, "after": f.after} for f in r.fields]}
                   for r in preview.rows]})
        return EXIT_OK
    lang = language()
    for row in preview.rows:
        print(f"{_PREVIEW_MARKS[row.change]} {row.code or row.entry_id}  {row.name}  {_preview_outcome(row)}")
        for change in row.fields:
            before, after = (publish_preview.shown_value(change, v, lang) for v in (change.before, change.after))
            line = _preview_field(change, lang)
            if change.field:  # a field's change, not a whole data item's
                line += f"{'：' if lang == 'zh' else ': '}{before} → {after}"
            print(f"    {line}")
    if preview.appearing or preview.withdrawn or preview.changed:
        _say("preview.summary", appearing=preview.appearing, withdrawn=preview.withdrawn, changed=preview.changed)
    else:
        _say("preview.nothing")
    if preview.held:
        _say("preview.held_summary", held=preview.held)
    return EXIT_OK


_PREVIEW_MARKS = {publish_preview.Change.APPEARS: "+", publish_preview.Change.WITHDRAWN: "-",
                  publish_preview.Change.CHANGED: "~", publish_preview.Change.HELD: "!"}


def _preview_outcome(row: publish_preview.PreviewRow) -> str:
    reason = Phrase(f"preview.reason.{row.reason}")
    if row.change is publish_preview.Change.WITHDRAWN:
        return render("preview.withdrawn", {"reason": reason})
    if row.change is publish_preview.Change.HELD:
        return render("preview.held_still_public" if row.still_public else "preview.held", {"reason": reason})
    return render(f"preview.{row.change}")


def _preview_field(change: publish_preview.FieldChange, lang: str) -> str:
    """A changed public field in the reader's words: the field's label, or the data item's."""
    if not change.item_id:
        return publish_preview.field_label(change, lang)
    if not change.field:
        added = change.before is None
        return render("preview.item_added" if added else "preview.item_removed", {"name": change.item_name})
    return render("preview.item_field", {"name": change.item_name,
                                         "label": publish_preview.field_label(change, lang)})


def _what(kind: str, field: str | None) -> str:
    """An operation's kind and field, in the reader's words."""
    lang = language()
    spec = ENTRY_FIELD.get(field or "") or ITEM_FIELD.get(field or "")
    return " ".join(x for x in (render(f"op.{kind}"), spec.label(lang) if spec else field) if x)


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return value.get("name") or value.get("code") or "{…}"
    return "" if value is None else str(value)


def cmd_history(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        entry = query.find_entry(ws, args.key)
        operations = journal.history(ws, entry.id)
    if args.json:
        _json([
            {"seq": op.seq, "group_id": op.group_id, "kind": str(op.kind), "field": op.field, "item_id": op.item_id,
             "old": op.old, "new": op.new, "base_version": op.base_version, "revision": op.revision,
             "created_at": op.created_at, "author": op.author, "reason": op.reason, "state": str(op.state),
             "settled_by": op.settled_by, "settled_value": op.settled_value}
            for op in operations
        ])
        return EXIT_OK
    for op in operations:
        reason = f"  ({op.reason})" if op.reason else ""
        state = render(f"history.{op.state}", {"value": _short(op.settled_value)})
        print(f"r{op.revision} {op.created_at} {op.author} {_what(op.kind, op.field)} "
              f"{_short(op.old)} → {_short(op.new)}  [{state}]{reason}")
    return EXIT_OK


def _key_json(ws: Workspace, info: identity.KeyInfo) -> dict[str, Any]:
    return {"key_id": info.key_id, "fingerprint": info.fingerprint, "public_key": info.public.to_b64(),
            "storage": str(info.storage), "steward": info.steward, "created_at": info.created_at,
            "department_code": ws.department_code}


def _show_key(ws: Workspace, info: identity.KeyInfo, message: str, as_json: bool) -> None:
    if as_json:
        _json(_key_json(ws, info))
    else:
        _say(message, key_id=info.key_id, fingerprint=spaced(info.fingerprint),
             storage=render(f"storage.{info.storage}"))


def cmd_keys_new(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir, for_writing=True) as ws:
        info = identity.create_key(ws, identity.passphrase_prompt, args.steward)
        _show_key(ws, info, "cli.key_created", args.json)
    return EXIT_OK


def cmd_keys_show(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        _show_key(ws, identity.require_key(ws), "cli.key_shown", args.json)
    return EXIT_OK


def cmd_keys_export(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        path = identity.export_public_key(ws, Path(args.file))
    _say("cli.key_exported", path=str(path))
    return EXIT_OK


def cmd_keys_delete(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir, for_writing=True) as ws:
        info = identity.delete_key(ws)
    _say("cli.key_deleted", key_id=info.key_id)
    return EXIT_OK


# Catalogue files: the template, import, export. Their modules load openpyxl, which every other
# command (and the window's start) can do without: they are imported when one of these runs.


def cmd_template(args: argparse.Namespace) -> int:
    from steward.files import template

    path = Path(args.file)
    if path.is_dir():
        raise StewardError("cli.template_folder", path=str(path), example=str(path / "编目模板.xlsx"))
    template.write_template(path)
    _say("cli.template_written", path=args.file)
    return EXIT_OK


def _print_problems(problems: Iterable[Any]) -> None:
    for p in problems:
        marker = "✗" if p.severity == "error" else "!"
        print(marker, render("import.at", {"where": p.location(), "message": p.message()}))


def cmd_import(args: argparse.Namespace) -> int:
    from steward.files import importer

    paths = [Path(f) for f in args.files]
    with Workspace.open(args.dir, for_writing=not args.dry_run) as ws:
        try:
            plan = importer.plan(ws, paths, progress=_progress, keep_errors=args.keep_errors)
        except importer.ImportUnusable as error:
            if args.json:
                _json({"usable": False, "problems": [p.to_dict() for p in error.problems]})
            else:
                _print_problems(error.problems)
            return EXIT_UNUSABLE
        refused = bool(plan.rejected) and not args.skip_invalid
        result = None
        rejected_file = None
        if not args.dry_run and not refused:
            if plan.rejected:
                # Written first: a place that cannot take it stops the import before anything changes.
                rejected_file = Path(args.rejected) if args.rejected else importer.rejected_path(paths[0])
                importer.write_rejected(plan, rejected_file)
            try:
                result = importer.apply(ws, plan, skip_invalid=args.skip_invalid, progress=_progress)
            except BaseException:
                if rejected_file:  # nothing was imported: rows "not imported" would be all of them
                    rejected_file.unlink(missing_ok=True)
                raise
    summary = plan.summary()
    if args.json:
        _json({
            "usable": True, "dry_run": args.dry_run, "applied": result is not None, **summary,
            "group_id": result.group_id if result else None,
            "operations": len(result.operations) if result else 0,
            "rejected_file": str(rejected_file) if rejected_file else None,
            "entries": [{"code": e.code, "name": e.name, "action": str(e.action), "sheet": e.sheet, "row": e.row}
                        for e in plan.entries],
            "problems": [p.to_dict() for p in plan.problems],
        })
    else:
        _print_problems(plan.problems)
        _say("cli.import_summary", entries=summary["entries_read"], items=summary["items_read"],
             created=summary["created"], updated=summary["updated"], unchanged=summary["unchanged"],
             rejected=plan.rejected_rows)
        _say("cli.import_problems", errors=len(plan.errors), warnings=len(plan.warnings))
        if args.dry_run:
            _say("cli.import_dry_run")
        elif refused:
            _say("cli.import_refused", rows=plan.rejected_rows)
        elif result is not None:
            _say("cli.import_done", operations=len(result.operations))
        else:
            _say("cli.import_nothing")
        if plan.refused_for_rules:
            _say("cli.import_refused_rules", count=plan.refused_for_rules)
        if plan.held_back and result is not None:
            _say("cli.import_held_back", count=plan.held_back)
        if rejected_file:
            _say("cli.import_rejected_file", rows=plan.rejected_rows, path=str(rejected_file))
    return EXIT_RULE_ERRORS if plan.rejected else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from steward.files import exporter
    from steward.files.dcat import DcatOptions

    path = Path(args.file)
    fmt = exporter.format_for(path, args.format)
    options = DcatOptions(args.base_uri, args.license)
    with Workspace.open(args.dir) as ws:
        result = exporter.export(ws, path, fmt, options=options, progress=_progress)
    if args.json:
        _json({"path": str(result.path), "format": str(result.format), "written": result.written,
               "left_out_uncoded": result.left_out_uncoded, "left_out_closed": result.left_out_closed,
               "left_out_errors": result.left_out_errors, "left_out_for_errors": result.left_out_for_errors,
               "files": [str(p) for p in (result.path, *result.extra_paths)]})
        return EXIT_OK
    for extra in (result.path, *result.extra_paths):
        _say("cli.exported", count=result.written, path=str(extra))
    if result.left_out_uncoded:
        _say("cli.export_skipped_uncoded", count=result.left_out_uncoded)
    if result.left_out_closed:
        _say("cli.export_skipped_closed", count=result.left_out_closed)
    if result.left_out_for_errors:
        shown = result.left_out_for_errors[:_CODES_SHOWN]
        more = ["…"] if len(result.left_out_for_errors) > len(shown) else []
        _say("cli.export_skipped_errors", count=result.left_out_errors,
             codes=("、" if language() == "zh" else ", ").join([*shown, *more]))
    return EXIT_OK


_CODES_SHOWN = 10  # the rest are in --json and in `steward validate`


def _trust_prompt(url: str, expected: str | None) -> Callable[[str], bool]:
    """Confirming the exchange's fingerprint on first contact: --trust-server-key, or `yes` typed or piped in."""
    def trust(fingerprint: str) -> bool:
        if expected is not None:
            return expected.replace(" ", "").lower() == fingerprint
        print(render("sync.server_untrusted", {"url": url, "fingerprint": spaced(fingerprint)}), file=sys.stderr)
        print(render("sync.trust_prompt"), end=" ", file=sys.stderr, flush=True)
        return sys.stdin.readline().strip().lower() in ("yes", "y", "是")
    return trust


def _sync_progress(stage: str, done: int, total: int) -> None:
    _progress(done, total)


def _still_waiting(url: str) -> Callable[[float, float], None]:
    """Tells the steward the sync is not stuck while an answer is slow in coming."""
    def say(waited: float, left: float) -> None:
        print(render("exchange.waiting", {"url": url, "waited": round(waited), "left": round(left)}),
              file=sys.stderr, flush=True)
    return say


def cmd_join(args: argparse.Namespace) -> int:
    profile = read_profile(Path(args.profile))
    joined = joining.join(Path(args.dir), profile, identity.passphrase_prompt, args.steward, args.ca_bundle)
    params = {"path": str(joined.folder), "url": profile.exchange_url, "key_id": joined.key_id}
    if joined.status == joining.PENDING:
        _say("join.sent", department=f"{profile.department_name} {profile.department_code}",
             fingerprint=spaced(joined.fingerprint), **params)
    elif joined.status == "enrolled":
        _say("join.enrolled", **params)
    else:
        raise StewardError("join.refused", status=joined.status, **params)
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir, for_writing=True) as ws:
        facts = ws.facts()
        url = args.exchange or facts.get("exchange_url")
        if not url:
            raise StewardError("sync.no_exchange")
        # The network settings are checked (a CA bundle that is no certificate) before the passphrase is asked.
        ca_bundle = args.ca_bundle or facts.get(joining.CA_FACT)
        client = ExchangeClient(Connection(url, ca_bundle=ca_bundle, proxy=args.proxy,
                                           connect_timeout=args.connect_timeout, read_timeout=args.read_timeout,
                                           deadline=args.deadline))
        client.waiting = _still_waiting(client.base)
        try:
            key = client.key = identity.signing_key(ws, identity.passphrase_prompt)
            report = syncer.sync(ws, client, key, trust=_trust_prompt(client.base, args.trust_server_key),
                                 progress=_sync_progress)
        except ExchangeRefused as refusal:
            if refusal.status == 401:
                waiting = joining.awaiting_approval(ws)
                raise StewardError("sync.awaiting_approval" if waiting else "sync.not_enrolled",
                                   key_id=key.key_id) from refusal
            raise StewardError("exchange.refused", url=url, status=refusal.status, answer=refusal.code,
                               reason=refusal.message) from refusal
        finally:
            client.close()
    if args.json:
        _json(report.to_dict())
    else:
        if report.exchange_key_moved:
            _say("sync.server_key_rotated", url=url, old=spaced(report.exchange_key_moved[0]),
                 new=spaced(report.exchange_key_moved[1]))
        _say("cli.synced", pulled=report.pulled, pushed=report.pushed, operations=report.operations,
             confirmed=report.confirmed, conflicts=report.conflicts)
        if report.held_back:
            reasons = sorted({h.reason for h in report.held_back})
            _say("cli.held_back", count=len(report.held_back), reasons=", ".join(render(f"held.{r}") for r in reasons))
        for held in report.held_back:
            if held.reason == "refused":
                _say("cli.refused_entry", code=held.code or held.entry_id, reason=held.message)
        for refused in report.refused:
            _say("cli.refused", changeset=refused["changeset"], message=refused["message"])
    return EXIT_RULE_ERRORS if report.refused else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        current = syncer.status(ws)
    if args.json:
        _json(current.to_dict())
        return EXIT_OK
    fingerprint = spaced(current.exchange_fingerprint) if current.exchange_fingerprint else "-"
    for name, value in (("unsynced", current.unsynced), ("conflicts", current.conflicts),
                        ("waiting", current.waiting), ("last_sync", current.last_sync or "-"),
                        ("exchange", current.exchange_url or "-"), ("exchange_key", fingerprint),
                        ("key_id", current.key_id or "-"), ("position", current.position)):
        print(f"{render('status.' + name)}: {value}")
    for refused in current.refused:
        _say("cli.refused_entry", code=refused["code"] or refused["entry_id"], reason=refused["reason"])
    return EXIT_OK


def cmd_conflicts(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        found = conflicts.unresolved(ws)
        with ws.reading() as conn:
            codes = {e.id: e.code for e in store.load_entries(conn, ids={c.entry_id for c in found}).values()}
    if args.json:
        _json([{**c.to_dict(), "entry_code": codes.get(c.entry_id, "")} for c in found])
        return EXIT_OK
    if not found:
        _say("cli.no_conflicts")
    for c in found:
        where = f"{c.field}[{c.item_id}]" if c.item_id else c.field
        print(f"{codes.get(c.entry_id, c.entry_id)}  {where}  {_short(c.base)} → "
              f"{render('conflict.mine')}: {_short(c.mine)} | {render('conflict.theirs')}: {_short(c.theirs)}")
    return EXIT_OK


def cmd_resolve(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir, for_writing=True) as ws:
        entry = query.find_entry(ws, args.key)
        conflicts.resolve_all(ws, entry.id, conflicts.Take(args.take))
    _say("cli.resolved", code=entry.code or entry.id)
    return EXIT_OK


def _signed(step: Step) -> None:
    _say("cli.request_signed", step=Phrase(f"request.kind.{step.kind}"), request_id=step.request_id)


def cmd_request_new(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir, for_writing=True) as ws:
        signer = inbox.steward_of(ws, identity.signing_key(ws, identity.passphrase_prompt))
        items = [name.strip() for name in args.items.split(",") if name.strip()] if args.items else None
        step = inbox.new_request(ws, signer, args.key, purpose=args.purpose, scenario=args.scenario, items=items,
                                 until=args.until)
    print(step.request_id)
    _signed(step)
    return EXIT_OK


def cmd_request_list(args: argparse.Namespace) -> int:
    box = inbox.Box.INBOX if args.inbox else inbox.Box.MINE if args.mine else inbox.Box.ALL
    with Workspace.open(args.dir) as ws:
        found = inbox.requests(ws, box, overdue_only=args.overdue)
    if args.json:
        _json([summary.to_dict() for summary in found])
        return EXIT_OK
    if not found:
        _say("cli.no_requests")
    for summary in found:
        _say("cli.request_row", due=_due(summary), status=Phrase(f"request.status.{summary.status}"),
             request_id=summary.request_id, entry_code=summary.entry_code,
             requester=_department(summary.requester, summary.requester_name),
             provider=_department(summary.provider, summary.provider_name), purpose=_short(summary.purpose))
    return EXIT_OK


def _department(code: str, name: str | None, inside: bool = False) -> Phrase | str:
    """A department by its name with its code beside it; its code alone where the exchange has not named it."""
    if not name or name == code:
        return code
    return Phrase("cli.department_inside" if inside else "cli.department", {"name": name, "code": code})


def _due(summary: inbox.RequestSummary) -> Phrase | str:
    if summary.due is None or summary.working_days_left is None:
        return "-"
    if summary.overdue:
        return Phrase("cli.request_overdue", {"due": summary.due, "days": -summary.working_days_left})
    return Phrase("cli.request_due", {"due": summary.due, "days": summary.working_days_left})


def cmd_request_show(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        detail = inbox.show(ws, args.request_id)
    if args.json:
        _json(detail.to_dict())
        return EXIT_OK
    summary = detail.summary
    _say("cli.request_header", request_id=summary.request_id, status=Phrase(f"request.status.{summary.status}"),
         entry_code=summary.entry_code, provider=_department(summary.provider, summary.provider_name),
         requester=_department(summary.requester, summary.requester_name),
         purpose=summary.purpose, scenario=summary.scenario, items=", ".join(detail.items), until=summary.until,
         due=_due(summary))
    _say("cli.request_trail")
    for step in detail.trail:
        said = {k: v for k, v in step.body.items() if k in ("verdict", "conditions", "reason") and v}
        state = Phrase("cli.trail_verified") if step.verified else \
            Phrase("cli.trail_refused", {"reason": (step.error or {}).get("message", "")}) \
            if step.outbox == "refused" else Phrase("cli.trail_unsent")
        _say("cli.trail_step", seq=step.seq, kind=Phrase(f"request.kind.{step.kind}"), signer=step.signer,
             who=_department(step.department, step.department_name, inside=True) if step.department
             else Phrase("cli.trail_authority"), when=step.accepted_at or "-", verified=state,
             details=("  " + json.dumps(said, ensure_ascii=False)) if said else "")
    return EXIT_OK


def _answer(args: argparse.Namespace, act: Callable[..., Step], **options: Any) -> int:
    with Workspace.open(args.dir, for_writing=True) as ws:
        signer = inbox.steward_of(ws, identity.signing_key(ws, identity.passphrase_prompt))
        step = act(ws, signer, args.request_id, **options)
    _signed(step)
    return EXIT_OK


def cmd_request_approve(args: argparse.Namespace) -> int:
    return _answer(args, inbox.approve, conditions=args.conditions)


def cmd_request_refuse(args: argparse.Namespace) -> int:
    return _answer(args, inbox.refuse, reason=args.reason)


def cmd_request_escalate(args: argparse.Namespace) -> int:
    return _answer(args, inbox.escalate, reason=args.reason)


def cmd_request_withdraw(args: argparse.Namespace) -> int:
    return _answer(args, inbox.withdraw, reason=args.reason)


def print_summary(ws: Workspace) -> None:
    info = query.summary(ws)
    lang = language()
    _say("summary.title", path=str(ws.folder))
    _say("summary.department", name=info.department_name, code=info.department_code)
    _say("summary.counts", entries=info.entries, retired=info.retired, items=info.items)
    _say("summary.problems", errors=info.with_errors, warnings=info.with_warnings_only, unsynced=info.unsynced)
    for name, counts in (("sharing_type", info.by_sharing), ("open_type", info.by_open),
                         ("update_frequency", info.by_frequency)):
        text_counts = ", ".join(f"{label(name, k, lang) or '-'} {v}" for k, v in counts.items())
        _say("summary.by", vocabulary=vocabulary(name).label(lang), counts=text_counts)


def cmd_info(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        if args.json:
            _json({"path": str(ws.folder), **query.summary(ws).to_dict()})
        else:
            print_summary(ws)
    return EXIT_OK


def open_default_workspace(folder: Path | None = None) -> Workspace:
    """The workspace the app starts on: created with sample data the first time."""
    folder = folder or default_path()
    if (folder / "workspace.sqlite").exists():
        return Workspace.open(folder)
    department = sample.DEPARTMENTS[0]
    ws = Workspace.create(folder, department.code, department.name)
    sample.add_sample(ws, sample.DEMO_ENTRIES, seed=1, progress=_progress)
    return ws


def cmd_default(args: argparse.Namespace) -> int:
    with open_default_workspace(Path(args.dir) if args.dir else None) as ws:
        print_summary(ws)
    return EXIT_OK


def has_display() -> bool:
    """Whether a window can open: on Linux and BSD it needs an X or Wayland display (or a chosen Qt platform)."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd")):
        return any(os.environ.get(n) for n in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))
    return True


def cmd_gui(args: argparse.Namespace) -> int:
    try:
        # By name, so that the core never imports the Qt client unless a window is asked for.
        app = importlib.import_module("ui.app")
    except ImportError as error:
        print(render("gui.unavailable", {"error": str(error)}), file=sys.stderr)
        return EXIT_UNUSABLE
    return app.run(args.dir, smoke=args.smoke, started=STARTED, demo=getattr(args, "demo", False))


def cmd_start(args: argparse.Namespace) -> int:
    """`steward` alone: the window where one can open, else the default workspace's summary."""
    if has_display():
        return cmd_gui(argparse.Namespace(dir=None, smoke=False))
    print(render("gui.no_display"), file=sys.stderr)
    return cmd_default(argparse.Namespace(dir=None))


# Parsing ----------------------------------------------------------------------------------


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(render("cli.bad_seconds", {"value": text}))
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(render("cli.bad_integer", {"value": text})) from None


def _help(code: str, **params: object) -> str:
    """A help text in the reader's language; argparse fills in %-placeholders, so a literal % is doubled."""
    return render(f"help.{code}", params).replace("%", "%%")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="steward", description=_help("steward"))
    parser.add_argument("--version", action="version", version=f"steward {__version__}", help=_help("version"))
    sub = parser.add_subparsers(dest="command", metavar=_help("command"))

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_code: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=_help(help_code), description=_help(help_code))
        p.set_defaults(handler=handler)
        return p

    def workspace_and_json(p: argparse.ArgumentParser, *, with_json: bool = True) -> None:
        p.add_argument("dir", help=_help("dir"))
        if with_json:
            p.add_argument("--json", action="store_true", help=_help("json"))

    p = command("init", cmd_init, "init")
    p.add_argument("dir", help=_help("dir"))
    p.add_argument("--department-code", required=True, help=_help("department_code"))
    p.add_argument("--department-name", required=True, help=_help("department_name"))

    p = command("sample", cmd_sample, "sample")
    p.add_argument("dir", help=_help("dir"))
    p.add_argument("--entries", type=_integer, default=100, help=_help("entries"))
    p.add_argument("--seed", type=_integer, default=0, help=_help("seed"))

    workspace_and_json(command("validate", cmd_validate, "validate"))

    p = command("search", cmd_search, "search")
    p.add_argument("dir", help=_help("dir"))
    p.add_argument("text", nargs="?", default="", help=_help("text"))
    p.add_argument("--limit", type=_integer, default=50, help=_help("limit"))
    p.add_argument("--sharing", action="append", help=_help("sharing"))
    p.add_argument("--open", action="append", help=_help("open"))
    p.add_argument("--frequency", action="append", help=_help("frequency"))
    p.add_argument("--classification", help=_help("classification"))
    p.add_argument("--problems", action="store_true", help=_help("problems"))
    p.add_argument("--json", action="store_true", help=_help("json"))

    p = command("show", cmd_show, "show")
    workspace_and_json(p)
    p.add_argument("key", metavar="CODE_OR_ID", help=_help("key"))

    p = command("set", cmd_set, "set")
    workspace_and_json(p)
    p.add_argument("key", metavar="CODE_OR_ID", help=_help("key"))
    p.add_argument("assignments", nargs="+", metavar="FIELD=VALUE", help=_help("assignments"))
    p.add_argument("--reason", help=_help("reason"))

    workspace_and_json(command("pending", cmd_pending, "pending"))
    workspace_and_json(command("publish-preview", cmd_publish_preview, "publish_preview"))

    p = command("history", cmd_history, "history")
    workspace_and_json(p)
    p.add_argument("key", metavar="CODE_OR_ID", help=_help("key"))

    keys = command("keys", lambda _args: keys.print_help() or EXIT_UNUSABLE,  # type: ignore[func-returns-value]
                   "keys")
    key_commands = keys.add_subparsers(dest="keys_command", metavar=_help("command"))
    for name, handler in (("new", cmd_keys_new), ("show", cmd_keys_show), ("export", cmd_keys_export),
                          ("delete", cmd_keys_delete)):
        p = key_commands.add_parser(name, help=_help(f"keys_{name}"), description=_help(f"keys_{name}"))
        p.set_defaults(handler=handler)
        workspace_and_json(p, with_json=name in ("new", "show"))
        if name == "export":
            p.add_argument("file", help=_help("key_file"))
        if name == "new":
            p.add_argument("--steward", help=_help("steward_name"))

    p = command("template", cmd_template, "template")
    p.add_argument("file", metavar="FILE.xlsx", help=_help("template_file"))

    p = command("import", cmd_import, "import")
    workspace_and_json(p)
    p.add_argument("files", nargs="+", metavar="FILE", help=_help("import_files"))
    p.add_argument("--dry-run", action="store_true", help=_help("dry_run"))
    p.add_argument("--skip-invalid", action="store_true", help=_help("skip_invalid"))
    p.add_argument("--rejected", metavar="FILE.xlsx", help=_help("rejected"))
    p.add_argument("--keep-errors", action="store_true", help=_help("keep_errors"))

    p = command("export", cmd_export, "export")
    workspace_and_json(p)
    p.add_argument("file", help=_help("export_file"))
    p.add_argument("--format", choices=("xlsx", "csv", "dcat", "datajson"), help=_help("format"))
    p.add_argument("--base-uri", help=_help("base_uri"))
    p.add_argument("--license", help=_help("license"))

    p = command("join", cmd_join, "join")
    p.add_argument("dir", help=_help("dir"))
    p.add_argument("profile", metavar="PROFILE", help=_help("profile"))
    p.add_argument("--steward", help=_help("steward_name"))
    p.add_argument("--ca-bundle", metavar="FILE", help=_help("ca_bundle"))

    p = command("sync", cmd_sync, "sync")
    workspace_and_json(p)
    p.add_argument("--exchange", metavar="URL", help=_help("exchange"))
    p.add_argument("--trust-server-key", metavar="FINGERPRINT", help=_help("trust_server_key"))
    p.add_argument("--ca-bundle", metavar="FILE", help=_help("ca_bundle"))
    p.add_argument("--proxy", metavar="URL", help=_help("proxy"))
    network = Connection("")
    for option, default in (("connect_timeout", network.connect_timeout), ("read_timeout", network.read_timeout),
                            ("deadline", network.deadline)):
        p.add_argument(f"--{option.replace('_', '-')}", type=_positive_seconds, default=default, metavar="SECONDS",
                       help=_help(option, default=f"{default:g}"))

    workspace_and_json(command("status", cmd_status, "status"))
    workspace_and_json(command("conflicts", cmd_conflicts, "conflicts"))

    p = command("resolve", cmd_resolve, "resolve")
    p.add_argument("dir", help=_help("dir"))
    p.add_argument("key", metavar="CODE_OR_ID", help=_help("key"))
    p.add_argument("--take", choices=[t.value for t in conflicts.Take], required=True, help=_help("take"))

    workspace_and_json(command("info", cmd_info, "info"))

    request = command("request", lambda _args: request.print_help() or EXIT_UNUSABLE,  # type: ignore[func-returns-value]
                      "request")
    request_commands = request.add_subparsers(dest="request_command", metavar=_help("command"))

    def request_command(name: str, handler: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        p = request_commands.add_parser(name, help=_help(f"request_{name}"), description=_help(f"request_{name}"))
        p.set_defaults(handler=handler)
        p.add_argument("dir", help=_help("dir"))
        return p

    p = request_command("new", cmd_request_new)
    p.add_argument("key", metavar="CODE_OR_ID", help=_help("key"))
    p.add_argument("--purpose", required=True, help=_help("purpose"))
    p.add_argument("--scenario", required=True, help=_help("scenario"))
    p.add_argument("--items", help=_help("items"))
    p.add_argument("--until", metavar="YYYY-MM-DD", help=_help("until"))
    p = request_command("list", cmd_request_list)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--inbox", action="store_true", help=_help("inbox"))
    which.add_argument("--mine", action="store_true", help=_help("mine"))
    p.add_argument("--overdue", action="store_true", help=_help("overdue"))
    p.add_argument("--json", action="store_true", help=_help("json"))
    p = request_command("show", cmd_request_show)
    p.add_argument("request_id", metavar="ID", help=_help("request_id"))
    p.add_argument("--json", action="store_true", help=_help("json"))
    p = request_command("approve", cmd_request_approve)
    p.add_argument("request_id", metavar="ID", help=_help("request_id"))
    p.add_argument("--conditions", default="", help=_help("conditions"))
    for name, handler, required in (("refuse", cmd_request_refuse, True), ("escalate", cmd_request_escalate, True),
                                    ("withdraw", cmd_request_withdraw, False)):
        p = request_command(name, handler)
        p.add_argument("request_id", metavar="ID", help=_help("request_id"))
        p.add_argument("--reason", required=required, default="", help=_help("request_reason"))

    p = command("gui", cmd_gui, "gui")
    p.add_argument("dir", nargs="?", help=_help("dir"))
    p.add_argument("--smoke", action="store_true", help=_help("smoke"))
    p.add_argument("--demo", action="store_true", help=_help("demo_window"))

    p = command("demo", cmd_default, "demo")
    p.add_argument("dir", nargs="?", help=_help("dir"))
    return parser


@contextmanager
def _argparse_in(lang: str) -> Iterator[None]:
    """argparse's own words (usage, headings, its errors) in the reader's language.

    argparse marks them for gettext and looks them up, when it uses them, through its module's `_` and
    `ngettext`; Python ships no Chinese for them, so the command line lends its own (messages.ARGPARSE_ZH).
    """
    if lang != "zh":
        yield
        return
    saved = argparse._, argparse.ngettext  # type: ignore[attr-defined]
    setattr(argparse, "_", lambda text: ARGPARSE_ZH.get(text, text))  # noqa: B010
    setattr(argparse, "ngettext",  # noqa: B010
            lambda singular, plural, n: ARGPARSE_ZH.get(singular if n == 1 else plural, singular if n == 1 else plural))
    try:
        yield
    finally:
        setattr(argparse, "_", saved[0])  # noqa: B010
        setattr(argparse, "ngettext", saved[1])  # noqa: B010


def main(argv: Sequence[str] | None = None) -> int:
    with _argparse_in(language()):
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        handler = cmd_start
    try:
        return handler(args)
    except StewardError as error:
        print(error.message(), file=sys.stderr)
        return EXIT_UNUSABLE
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped listening: not an error; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print(render("cli.interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if os.environ.get("STEWARD_DEBUG"):
            traceback.print_exc()
        if isinstance(error, OSError) and error.filename:
            # The system refused a file or folder (permissions, a full disk, a read-only medium): for the
            # person to set right, not an internal error.
            print(render("cli.os_error", {"path": error.filename, "reason": os_reason(error)}), file=sys.stderr)
            return EXIT_UNUSABLE
        print(render("cli.internal", {"error": f"{type(error).__name__}: {error}"}), file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
