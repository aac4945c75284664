"""The `steward` command line: scripted work on a workspace, and the entry point of the app.

Exit codes: 0 success, 1 the catalogue has rule errors (validate) or rows were refused (import),
2 unusable input (a missing, damaged or newer workspace, a bad argument, a file that cannot be
imported), 3 an internal error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import text

from steward import STARTED, __version__, sample
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import language, render
from steward.catalogue.model import ENTRY_FIELD
from steward.catalogue.vocabulary import label, vocabulary
from steward.sync import conflicts, identity, pending, syncer
from steward.sync.exchange_client import Connection, ExchangeClient, ExchangeRefused
from steward.sync.keys import spaced
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
    with Workspace.open(args.dir) as ws:
        count = sample.add_sample(ws, args.entries, args.seed, progress=_progress)
    _say("cli.sampled", count=count)
    return EXIT_OK


def _problem_rows(ws: Workspace) -> list[dict[str, Any]]:
    with ws.reading() as conn:
        rows = conn.execute(
            text(
                "SELECT e.id, e.code, e.name, p.item_id, p.field, p.code, p.severity, p.params FROM problems p "
                "JOIN entries e ON e.pk = p.entry_pk ORDER BY e.code, e.pk, p.rowid"
            )
        ).all()
    result = []
    for entry_id, entry_code, name, item_id, field, rule, severity, params in rows:
        decoded = json.loads(params)
        result.append({
            "entry_id": entry_id, "entry_code": entry_code, "entry_name": name, "item_id": item_id, "field": field,
            "rule": rule, "severity": severity, "params": decoded, "message": render(rule, decoded),
        })
    return result


def cmd_validate(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        with ws.writing() as conn:
            store.revalidate_all(conn, ws.department_code)
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
    print(f"id: {entry_data['id']}  version: {entry_data['version']}  revision: {entry_data['revision']}")
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


def cmd_set(args: argparse.Namespace) -> int:
    if args.reason is not None and not args.reason.strip():
        raise StewardError("reason.blank")  # a reason given must say something, needed or not
    with Workspace.open(args.dir) as ws:
        entry = query.find_entry(ws, args.key)
        result = journal.apply(ws, changes_for(entry, args.assignments), reason=args.reason)
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
    if args.json:
        _json([
            {"entry_id": c.entry_id, "kind": str(c.kind), "field": c.field, "item_id": c.item_id,
             "before": c.before, "after": c.after, "base_version": c.base_version}
            for c in changes
        ])
        return EXIT_OK
    if not changes:
        _say("cli.no_pending")
    for c in changes:
        what = c.field or ""
        print(f"{c.entry_id}  {c.kind}  {what}  {_short(c.before)} → {_short(c.after)}")
    return EXIT_OK


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
             "created_at": op.created_at, "author": op.author, "reason": op.reason, "state": str(op.state)}
            for op in operations
        ])
        return EXIT_OK
    for op in operations:
        reason = f"  ({op.reason})" if op.reason else ""
        print(f"r{op.revision} {op.created_at} {op.author} {op.kind} {op.field or ''} "
              f"{_short(op.old)} → {_short(op.new)}{reason}")
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
    with Workspace.open(args.dir) as ws:
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
    with Workspace.open(args.dir) as ws:
        info = identity.delete_key(ws)
    _say("cli.key_deleted", key_id=info.key_id)
    return EXIT_OK


# Catalogue files: the template, import, export. Their modules load openpyxl, which every other
# command (and the window's start) can do without: they are imported when one of these runs.


def cmd_template(args: argparse.Namespace) -> int:
    from steward.files import template

    template.write_template(Path(args.file))
    _say("cli.template_written", path=args.file)
    return EXIT_OK


def _print_problems(problems: Iterable[Any]) -> None:
    for p in problems:
        marker = "✗" if p.severity == "error" else "!"
        print(marker, render("import.at", {"where": p.location(), "message": p.message()}))


def cmd_import(args: argparse.Namespace) -> int:
    from steward.files import importer

    paths = [Path(f) for f in args.files]
    with Workspace.open(args.dir) as ws:
        try:
            plan = importer.plan(ws, paths, progress=_progress)
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
            result = importer.apply(ws, plan, skip_invalid=args.skip_invalid, progress=_progress)
            if plan.rejected:
                rejected_file = Path(args.rejected) if args.rejected else importer.rejected_path(paths[0])
                importer.write_rejected(plan, rejected_file)
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
               "files": [str(p) for p in (result.path, *result.extra_paths)]})
        return EXIT_OK
    for extra in (result.path, *result.extra_paths):
        _say("cli.exported", count=result.written, path=str(extra))
    if result.left_out_uncoded:
        _say("cli.export_skipped_uncoded", count=result.left_out_uncoded)
    if result.left_out_closed:
        _say("cli.export_skipped_closed", count=result.left_out_closed)
    return EXIT_OK


def _trust_prompt(expected: str | None) -> Callable[[str], bool]:
    """Confirming the exchange's fingerprint on first contact: --trust-server-key, or `yes` typed or piped in."""
    def trust(fingerprint: str) -> bool:
        if expected is not None:
            return expected.replace(" ", "").lower() == fingerprint
        print(render("sync.server_untrusted", {"url": "", "fingerprint": spaced(fingerprint)}), file=sys.stderr)
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


def cmd_sync(args: argparse.Namespace) -> int:
    with Workspace.open(args.dir) as ws:
        url = args.exchange or ws.facts().get("exchange_url")
        if not url:
            raise StewardError("sync.no_exchange")
        # The network settings are checked (a CA bundle that is no certificate) before the passphrase is asked.
        client = ExchangeClient(Connection(url, ca_bundle=args.ca_bundle, proxy=args.proxy,
                                           connect_timeout=args.connect_timeout, read_timeout=args.read_timeout,
                                           deadline=args.deadline))
        client.waiting = _still_waiting(client.base)
        try:
            key = client.key = identity.signing_key(ws, identity.passphrase_prompt)
            report = syncer.sync(ws, client, key, trust=_trust_prompt(args.trust_server_key), progress=_sync_progress)
        except ExchangeRefused as refusal:
            if refusal.status == 401:
                raise StewardError("sync.not_enrolled", key_id=key.key_id) from refusal
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
    with Workspace.open(args.dir) as ws:
        entry = query.find_entry(ws, args.key)
        conflicts.resolve_all(ws, entry.id, conflicts.Take(args.take))
    _say("cli.resolved", code=entry.code or entry.id)
    return EXIT_OK


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="steward", description="Steward: keep a department's entries in the data catalogue.")
    parser.add_argument("--version", action="version", version=f"steward {__version__}")
    sub = parser.add_subparsers(dest="command")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    p = command("init", cmd_init, "Create a workspace for a department.")
    p.add_argument("dir")
    p.add_argument("--department-code", required=True, help="the department's 统一社会信用代码")
    p.add_argument("--department-name", required=True)

    p = command("sample", cmd_sample, "Add generated sample entries to a workspace.")
    p.add_argument("dir")
    p.add_argument("--entries", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)

    p = command("validate", cmd_validate, "Check every entry against the catalogue rules.")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")

    p = command("search", cmd_search, "Find entries by text (Chinese substrings) and filters.")
    p.add_argument("dir")
    p.add_argument("text", nargs="?", default="")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--sharing", action="append", help="sharing type (repeatable)")
    p.add_argument("--open", action="append", help="open attribute (repeatable)")
    p.add_argument("--frequency", action="append", help="update frequency (repeatable)")
    p.add_argument("--classification", help="classification prefix, e.g. 2 or 202")
    p.add_argument("--problems", action="store_true", help="only entries with problems")
    p.add_argument("--json", action="store_true")

    p = command("show", cmd_show, "Show one entry by resource code or id.")
    p.add_argument("dir")
    p.add_argument("key", metavar="CODE_OR_ID")
    p.add_argument("--json", action="store_true")

    p = command("set", cmd_set, "Change fields of one entry (recorded like edits in the window).")
    p.add_argument("dir")
    p.add_argument("key", metavar="CODE_OR_ID")
    p.add_argument("assignments", nargs="+", metavar="FIELD=VALUE")
    p.add_argument("--reason", help="why (recorded with the change)")
    p.add_argument("--json", action="store_true")

    p = command("pending", cmd_pending, "List changes not yet synced.")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")

    p = command("history", cmd_history, "List the recorded changes of one entry.")
    p.add_argument("dir")
    p.add_argument("key", metavar="CODE_OR_ID")
    p.add_argument("--json", action="store_true")

    keys = command("keys", lambda _args: keys.print_help() or EXIT_UNUSABLE,  # type: ignore[func-returns-value]
                   "The steward's signing key: new, show, export, delete.")
    key_commands = keys.add_subparsers(dest="keys_command")
    for name, handler, help_text in (
        ("new", cmd_keys_new, "Create the workspace's Ed25519 signing key (secret in the OS keyring)."),
        ("show", cmd_keys_show, "Print the key id and fingerprint."),
        ("export", cmd_keys_export, "Write the public key file for enrollment at the exchange."),
        ("delete", cmd_keys_delete, "Delete the workspace's signing key."),
    ):
        p = key_commands.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        p.add_argument("dir")
        if name == "export":
            p.add_argument("file")
        if name in ("new", "show"):
            p.add_argument("--json", action="store_true")
        if name == "new":
            p.add_argument("--steward", help="the steward's name, recorded with the key (default: the login name)")

    p = command("template", cmd_template, "Write a blank catalogue template (编目模板) to fill in Excel or WPS.")
    p.add_argument("file", metavar="FILE.xlsx")

    p = command("import", cmd_import, "Import entries from an xlsx in the template layout, or CSV files.")
    p.add_argument("dir")
    p.add_argument("files", nargs="+", metavar="FILE", help="an .xlsx; or a CSV of entries and one of data items")
    p.add_argument("--dry-run", action="store_true", help="check and report, change nothing")
    p.add_argument("--skip-invalid", action="store_true",
                   help="import the valid entries; write the rejected rows with their reasons to a new workbook")
    p.add_argument("--rejected", metavar="FILE.xlsx", help="where --skip-invalid writes the rejected rows")
    p.add_argument("--json", action="store_true")

    p = command("export", cmd_export, "Export the catalogue: xlsx or CSV (template layout), DCAT-AP, data.json.")
    p.add_argument("dir")
    p.add_argument("file")
    p.add_argument("--format", choices=("xlsx", "csv", "dcat", "datajson"),
                   help="default: from the file name (.xlsx, .csv, .jsonld or .ttl for dcat, .json for datajson)")
    p.add_argument("--base-uri", help="the open data portal's address: dataset IRIs and landing pages start with it")
    p.add_argument("--license", help="the licence's IRI, e.g. "
                   "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0")
    p.add_argument("--json", action="store_true")

    p = command("sync", cmd_sync, "Sync with the exchange: confirm, pull and merge, then push signed changesets.")
    p.add_argument("dir")
    p.add_argument("--exchange", metavar="URL", help="the exchange's address (remembered after the first sync)")
    p.add_argument("--trust-server-key", metavar="FINGERPRINT", help="confirm the exchange's key on first contact")
    p.add_argument("--ca-bundle", metavar="FILE", help="an extra CA certificate file (an office's own authority)")
    p.add_argument("--proxy", metavar="URL", help="HTTP(S) proxy, http://[user:password@]host:port "
                   "(default: HTTP_PROXY / HTTPS_PROXY)")
    network = Connection("")
    p.add_argument("--connect-timeout", type=_positive_seconds, default=network.connect_timeout, metavar="SECONDS",
                   help=f"give up connecting after this long (default {network.connect_timeout:g})")
    p.add_argument("--read-timeout", type=_positive_seconds, default=network.read_timeout, metavar="SECONDS",
                   help=f"give up waiting for one answer after this long (default {network.read_timeout:g})")
    p.add_argument("--deadline", type=_positive_seconds, default=network.deadline, metavar="SECONDS",
                   help=f"stop the whole sync after this long, keeping what was done (default {network.deadline:g})")
    p.add_argument("--json", action="store_true")

    p = command("status", cmd_status, "Unsynced changes, conflicts, last sync, the exchange and the keys.")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")

    p = command("conflicts", cmd_conflicts, "List the unresolved conflicts with other stewards' changes.")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")

    p = command("resolve", cmd_resolve, "Resolve an entry's conflicts by taking mine or theirs for each.")
    p.add_argument("dir")
    p.add_argument("key", metavar="CODE_OR_ID")
    p.add_argument("--take", choices=[t.value for t in conflicts.Take], required=True)

    p = command("info", cmd_info, "Summarise a workspace.")
    p.add_argument("dir")
    p.add_argument("--json", action="store_true")

    p = command("gui", cmd_gui, "Open the desktop window (on DIR, or the last or default workspace).")
    p.add_argument("dir", nargs="?")
    p.add_argument("--smoke", action="store_true", help="open, wait for the table's first paint, print timings")
    p.add_argument("--demo", action="store_true",
                   help="open the demo: sample data and a local exchange of its own, apart from real work")

    p = command("demo", cmd_default, "Open (or create, with sample data) the default workspace and summarise it.")
    p.add_argument("dir", nargs="?")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
        print(render("cli.internal", {"error": f"{type(error).__name__}: {error}"}), file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
