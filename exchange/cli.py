"""`steward-exchange`: serve the exchange, and administer departments, keys and the log.

Exit codes: 0 success, 1 verify-log found the log unsound, 2 unusable input (a bad argument,
an unknown department or key, a database that cannot be opened).
"""

from __future__ import annotations

import argparse
import copy
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from exchange import accounts, ledger, server_key, sharing
from exchange.budget import DEFAULT_BUDGET, DEFAULT_WINDOW_S, RefusalBudget
from exchange.db import DB_ENV, KEY_ENV, default_db_url, default_key_file, make_engine, migrate
from exchange.ledger import Refused
from exchange.opendata.config import DEFAULT_BURST, DEFAULT_RATE, OpenConfig
from steward import __version__
from steward.catalogue.errors import StewardError
from steward.catalogue.messages import Phrase, render
from steward.sync.keys import read_public_key_file, spaced
from steward.sync.requests.documents import Outcome, OutcomeVerdict, Review, ReviewVerdict
from steward.sync.working_days import MAX_POLICY_DAYS, CalendarOverride, DeadlinePolicy

EXIT_OK, EXIT_UNSOUND, EXIT_UNUSABLE = 0, 1, 2
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8700


def _say(code: str, /, **params: object) -> None:
    print(render(code, params))


def _engine(args: argparse.Namespace) -> Engine:
    engine = make_engine(args.db or default_db_url())
    migrate(engine)
    return engine


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # only the server needs it

    db_url = args.db or default_db_url()
    key_file = Path(args.key_file) if args.key_file else default_key_file()
    engine = make_engine(db_url)
    migrate(engine)
    key = server_key.for_database(engine, key_file)  # the database's own key, or refuse before serving anything
    override = CalendarOverride.loads(Path(args.calendar_override).read_bytes()) if args.calendar_override else None
    # Recorded in the database: every server process, and the admin commands' reviews, count with it.
    sharing.record_deadlines(engine, sharing.Deadlines(DeadlinePolicy(args.review_days, args.decision_days), override))
    engine.dispose()
    budget = RefusalBudget(args.refusal_budget, args.refusal_window)
    _say("exchange.serving", url=f"http://{args.host}:{args.port}", db=_safe_url(db_url),
         fingerprint=spaced(key.public.fingerprint))
    # uvicorn would take X-Forwarded-* from any local peer; the console honours them itself, with --trust-proxy only.
    options = {"host": args.host, "port": args.port, "access_log": args.access_log, "log_level": args.log_level,
               "log_config": _log_config(args.log_level), "proxy_headers": False}
    profile_ca = Path(args.profile_ca).read_text(encoding="utf-8") if args.profile_ca else None
    open_data = OpenConfig(args.public_base_uri or f"http://{args.host}:{args.port}/", args.licence,
                           args.open_publisher, args.open_publisher_code, args.open_rate, args.open_burst)
    if args.workers > 1:
        from exchange.app import BUDGET_ENV, PROFILE_CA_ENV, PUBLIC_URL_ENV, TRUST_PROXY_ENV, WINDOW_ENV

        # Worker processes build their own app; they learn the database, key and budget through the environment.
        os.environ[DB_ENV], os.environ[KEY_ENV] = db_url, str(key_file)
        os.environ[BUDGET_ENV], os.environ[WINDOW_ENV] = str(budget.budget), str(budget.window_s)
        os.environ[TRUST_PROXY_ENV] = "1" if args.trust_proxy else "0"
        os.environ[PUBLIC_URL_ENV] = args.public_url or ""
        os.environ[PROFILE_CA_ENV] = str(Path(args.profile_ca).resolve()) if args.profile_ca else ""
        open_data.to_environment(os.environ)
        uvicorn.run("exchange.app:app_from_environment", factory=True, workers=args.workers, **options)
    else:
        from exchange.app import create_app
        from exchange.console.routes import ConsoleConfig

        uvicorn.run(create_app(db_url, key_file, budget, ConsoleConfig(args.trust_proxy, args.public_url, profile_ca),
                               open_data), **options)
    return EXIT_OK


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, plus the exchange's own log (refusals), with the time, at the same level."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["exchange"] = {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    config["handlers"]["exchange"] = {"formatter": "exchange", "class": "logging.StreamHandler",
                                      "stream": "ext://sys.stderr"}
    config["loggers"]["exchange"] = {"handlers": ["exchange"], "level": level.upper(), "propagate": False}
    return config


def _budget(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 (no budget) or more")
    return value


def _window(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return value


def _days(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_POLICY_DAYS:
        raise argparse.ArgumentTypeError(f"must be a whole number of working days from 1 to {MAX_POLICY_DAYS}")
    return value


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    return make_url(url).render_as_string(hide_password=True)


def cmd_department_add(args: argparse.Namespace) -> int:
    ledger.add_department(_engine(args), args.code, args.name)
    _say("exchange.department_added", code=args.code.strip().upper(), name=args.name.strip())
    return EXIT_OK


def cmd_department_list(args: argparse.Namespace) -> int:
    for department in ledger.departments(_engine(args)):
        print(f"{department['code']}  {department['name']}")
    return EXIT_OK


def cmd_department_profile(args: argparse.Namespace) -> int:
    from exchange.app import PUBLIC_URL_ENV
    from steward.sync.profile import SUFFIX, profile_bytes, sign_profile

    engine = _engine(args)
    code = args.code.strip().upper()
    found = [d for d in ledger.departments(engine) if d["code"] == code]
    if not found:
        raise Refused(404, "department_unknown", f"department {code} is not registered")
    key = server_key.for_database(engine, Path(args.key_file) if args.key_file else default_key_file())
    url = args.url or os.environ.get(PUBLIC_URL_ENV) or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    ca = Path(args.ca_certificate).read_text(encoding="utf-8") if args.ca_certificate else None
    document = sign_profile(key, url, ledger.exchange_id(engine), code, found[0]["name"], ca)
    out = Path(args.out) if args.out else Path(f"{code}{SUFFIX}")
    out.write_bytes(profile_bytes(document))
    _say("exchange.profile_written", path=str(out), code=code, url=document["exchange_url"])
    return EXIT_OK


def cmd_enroll(args: argparse.Namespace) -> int:
    public, document = read_public_key_file(Path(args.public_key_file))
    declared = str(document.get("department_code", "")).upper()
    department = args.department.strip().upper()
    if declared and declared != department:
        raise Refused(422, "department_mismatch", render("exchange.department_mismatch",
                                                          {"declared": declared, "department": department}))
    key_id = ledger.enroll(_engine(args), department, public, str(document.get("steward", "")))
    print(key_id)
    _say("exchange.enrolled", key_id=key_id, department=department, fingerprint=spaced(public.fingerprint))
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace) -> int:
    ledger.revoke(_engine(args), args.key_id)
    _say("exchange.revoked", key_id=args.key_id)
    return EXIT_OK


def cmd_rotate_key(args: argparse.Namespace) -> int:
    engine = _engine(args)
    old = server_key.for_database(engine, Path(args.key_file) if args.key_file else default_key_file())
    new_file = Path(args.new_key_file)
    new = server_key.load_or_create(new_file)
    ledger.rotate_exchange_key(engine, old, new, ledger.exchange_id(engine))
    _say("exchange.key_rotated", old=spaced(old.public.fingerprint), new=spaced(new.public.fingerprint),
         path=str(new_file))
    return EXIT_OK


def cmd_verify_log(args: argparse.Namespace) -> int:
    key_file = Path(args.key_file) if args.key_file else default_key_file()
    public = server_key.load(key_file).public
    problems = ledger.verify_log(_engine(args), public)
    for problem in problems:
        print(problem)
    if problems:
        _say("exchange.log_unsound", count=len(problems))
        return EXIT_UNSOUND
    _say("exchange.log_sound")
    return EXIT_OK


def cmd_review_list(args: argparse.Namespace) -> int:
    rows = sharing.requests(_engine(args), everything=args.all)
    if args.json:
        print(json.dumps([row.to_dict() for row in rows], ensure_ascii=False, indent=2))
        return EXIT_OK
    for row in rows:
        _say("exchange.review_row", request_id=row.request_id, status=Phrase(f"request.status.{row.status}"),
             requester=row.requester, provider=row.provider, entry_code=row.entry_code, due=row.due or "-",
             purpose=row.purpose)
    if not rows:
        _say("exchange.review_none")
    return EXIT_OK


def _authority_step(args: argparse.Namespace, body: Review | Outcome) -> int:
    engine = _engine(args)
    key = server_key.for_database(engine, Path(args.key_file) if args.key_file else default_key_file())
    answer = sharing.authority_step(engine, key, args.request_id, body)
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
    else:
        _say("exchange.review_recorded", request_id=args.request_id, position=answer["position"],
             status=Phrase(f"request.status.{answer['status']}"), due=answer["due"] or "-")
    return EXIT_OK


def cmd_review_pass(args: argparse.Namespace) -> int:
    return _authority_step(args, Review(verdict=ReviewVerdict.PASS, reason=args.reason, reviewer=args.reviewer))


def cmd_review_reject(args: argparse.Namespace) -> int:
    return _authority_step(args, Review(verdict=ReviewVerdict.REJECT, reason=args.reason, reviewer=args.reviewer))


def cmd_review_settle(args: argparse.Namespace) -> int:
    verdict = OutcomeVerdict.GRANT if args.grant else OutcomeVerdict.DENY
    return _authority_step(args, Outcome(verdict=verdict, conditions=args.conditions, reason=args.reason,
                                         reviewer=args.reviewer))


def _password(args: argparse.Namespace, name: str) -> str:
    """The new password: one line of standard input with --password-stdin, else typed twice on the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise accounts.AccountError("account.password_missing")
    first = getpass.getpass(render("account.password_prompt", {"name": name}) + " ")
    if getpass.getpass(render("account.password_again") + " ") != first:
        raise accounts.AccountError("account.password_mismatch")
    return first


def cmd_admin_add(args: argparse.Namespace) -> int:
    engine = _engine(args)
    account = accounts.add(engine, args.name, accounts.Role(args.role), _password(args, args.name))
    _say("account.added", name=account.name, role=render(f"account.role.{account.role}"))
    return EXIT_OK


def cmd_admin_passwd(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if accounts.get(engine, args.name) is None:  # before asking for a password
        raise accounts.AccountError("account.unknown", name=args.name)
    accounts.set_password(engine, args.name, _password(args, args.name))
    _say("account.password_set", name=args.name)
    return EXIT_OK


def cmd_admin_disable(args: argparse.Namespace) -> int:
    accounts.disable(_engine(args), args.name)
    _say("account.disabled", name=args.name)
    return EXIT_OK


def cmd_admin_totp(args: argparse.Namespace) -> int:
    uri = accounts.enable_totp(_engine(args), args.name)
    _say("account.totp_on", name=args.name, uri=uri)
    return EXIT_OK


def cmd_admin_list(args: argparse.Namespace) -> int:
    for account in accounts.accounts(_engine(args)):
        flags = [f for f, on in (("totp", account.totp), ("disabled", account.disabled),
                                 (f"locked until {account.locked_until}", account.locked_until)) if on]
        print(f"{account.name}  {account.role}  {' '.join(flags)}".rstrip())
    return EXIT_OK


def _key_file_help() -> str:
    """Where the key file is when --key-file is not given, as it is on this machine now."""
    where = f"${KEY_ENV}, now {default_key_file()}" if os.environ.get(KEY_ENV) else \
        f"{default_key_file()}, or ${KEY_ENV} where set"
    return f"the exchange's signing key file (default: {where}); the database records its key and refuses another"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="steward-exchange",
                                     description="The central exchange of the data resource catalogue.")
    parser.add_argument("--version", action="version", version=f"steward-exchange {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(parent: argparse._SubParsersAction, name: str, handler: object, help_text: str,
                key_file: bool = False) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        p.add_argument("--db", help=f"database URL (default: ${DB_ENV} or a SQLite file in the user data folder)")
        if key_file:
            p.add_argument("--key-file", help=_key_file_help())
        return p

    p = command(sub, "serve", cmd_serve, "Serve the exchange over HTTP.", key_file=True)
    p.add_argument("--host", default=DEFAULT_HOST)
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.add_argument("--workers", type=int, default=1, help="server processes (use with PostgreSQL)")
    p.add_argument("--no-access-log", dest="access_log", action="store_false")
    p.add_argument("--log-level", default="info", help="also of the exchange's log of refused requests (info)")
    p.add_argument("--refusal-budget", type=_budget, default=DEFAULT_BUDGET, metavar="N",
                   help=f"refused requests a steward key may have before it is answered 429 for a while "
                        f"(default {DEFAULT_BUDGET}; 0: no budget)")
    p.add_argument("--refusal-window", type=_window, default=DEFAULT_WINDOW_S, metavar="SECONDS",
                   help=f"a spent refusal budget refills evenly over this many seconds (default {DEFAULT_WINDOW_S:g})")
    default = DeadlinePolicy()
    p.add_argument("--review-days", type=_days, default=default.review_days, metavar="N",
                   help=f"working days for the data authority's compliance review of a sharing request "
                        f"(default {default.review_days})")
    p.add_argument("--decision-days", type=_days, default=default.decision_days, metavar="N",
                   help=f"working days for the providing department's decision on a 有条件共享 request "
                        f"(default {default.decision_days})")
    p.add_argument("--calendar-override", metavar="FILE",
                   help="the State Council's holiday arrangements for years the calendar library does not know "
                        "(steward.calendar-override/1, docs/protocol.md § 9); published to clients")
    p.add_argument("--trust-proxy", action="store_true",
                   help="the exchange sits behind a TLS proxy: take the scheme and the client's address from its "
                        "X-Forwarded-Proto and X-Forwarded-For (console cookies are then Secure)")
    p.add_argument("--public-url", metavar="URL",
                   help="the exchange's URL as stewards reach it, written into profiles (default: the URL the "
                        "console is reached at)")
    p.add_argument("--profile-ca", metavar="PEM_FILE",
                   help="the intranet CA certificate that profiles tell clients to trust")
    p.add_argument("--public-base-uri", metavar="URL",
                   help="the exchange's address as the public reaches it: the open catalogue's page links and "
                        "dataset IRIs start with it (default: http://HOST:PORT/; docs/open-data.md)")
    p.add_argument("--licence", metavar="IRI",
                   help="the licence of the open data, e.g. "
                        "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0")
    p.add_argument("--open-publisher", default="", metavar="NAME",
                   help="who publishes the open catalogue (the city's data authority)")
    p.add_argument("--open-publisher-code", default="", metavar="USCC",
                   help="the publisher's 统一社会信用代码 (tells portals what kind of authority it is)")
    p.add_argument("--open-rate", type=float, default=DEFAULT_RATE, metavar="PER_SECOND",
                   help=f"requests a second each client may make of /open on average (default {DEFAULT_RATE:g}; "
                        "0: no limit); beyond it 429 with Retry-After")
    p.add_argument("--open-burst", type=int, default=DEFAULT_BURST, metavar="N",
                   help=f"requests a client may make of /open at once before the rate counts (default {DEFAULT_BURST})")

    department = sub.add_parser("department", help="Register and list departments.")
    department_sub = department.add_subparsers(dest="department_command", required=True)
    p = command(department_sub, "add", cmd_department_add, "Register a department.")
    p.add_argument("code", help="the department's 统一社会信用代码")
    p.add_argument("name")
    command(department_sub, "list", cmd_department_list, "List the registered departments.")
    p = command(department_sub, "profile", cmd_department_profile,
                "Write a department's profile, signed by the exchange: the file its steward opens to join.",
                key_file=True)
    p.add_argument("code", help="the department's 统一社会信用代码")
    p.add_argument("--out", metavar="FILE", help="where to write it (default: CODE.steward-profile here)")
    p.add_argument("--url", help=f"the exchange's URL as stewards reach it (default: $STEWARD_EXCHANGE_PUBLIC_URL, "
                                 f"else http://{DEFAULT_HOST}:{DEFAULT_PORT})")
    p.add_argument("--ca-certificate", metavar="PEM_FILE", help="the intranet CA certificate clients should trust")

    p = command(sub, "enroll", cmd_enroll, "Enroll a steward's public key for a department; prints the key id.")
    p.add_argument("--department", required=True)
    p.add_argument("public_key_file")
    p = command(sub, "revoke", cmd_revoke, "Revoke a steward key: its later changesets are refused.")
    p.add_argument("key_id")
    p = command(sub, "rotate-key", cmd_rotate_key,
                "Move the exchange to a new key: the current key signs a statement naming the new one, which "
                "clients follow. Stop the exchange first, then serve with --key-file NEW_KEY_FILE.", key_file=True)
    p.add_argument("--new-key-file", required=True, help="the new key's file (made if it does not exist)")
    command(sub, "verify-log", cmd_verify_log, "Check signatures, the hash chain and the catalogue.", key_file=True)

    review = sub.add_parser("review", help="The data authority's compliance reviews and outcomes of sharing requests.")
    review_sub = review.add_subparsers(dest="review_command", required=True)
    p = command(review_sub, "list", cmd_review_list,
                "List the sharing requests waiting for a review or an outcome, the most urgent first.")
    p.add_argument("--all", action="store_true", help="every request, whatever its status")
    p.add_argument("--json", action="store_true")

    def authority(name: str, handler: object, help_text: str, reason_required: bool) -> argparse.ArgumentParser:
        p = command(review_sub, name, handler, help_text, key_file=True)
        p.add_argument("request_id")
        p.add_argument("--reviewer", required=True, help="who decides: the authority's person, named in the step")
        p.add_argument("--reason", required=reason_required, default="")
        p.add_argument("--json", action="store_true")
        return p

    authority("pass", cmd_review_pass, "Pass a request's compliance review (符合性审查).", reason_required=False)
    authority("reject", cmd_review_reject, "Reject a request at its compliance review, with the reason.",
              reason_required=True)
    p = authority("settle", cmd_review_settle,
                  "Record the outcome of an escalated request (协调结果), with the reason.", reason_required=True)
    verdict = p.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--grant", action="store_true")
    verdict.add_argument("--deny", action="store_true")
    p.add_argument("--conditions", default="", help="the conditions of a grant")

    admin = sub.add_parser("admin", help="The console's accounts: add, passwd, disable, totp, list.")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    p = command(admin_sub, "add", cmd_admin_add, "Add a console account (the password is asked twice).")
    p.add_argument("name")
    p.add_argument("--role", choices=[r.value for r in accounts.Role], required=True,
                   help="admin: everything; reviewer: reads and verifies, no department or key changes")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p = command(admin_sub, "passwd", cmd_admin_passwd, "Set an account's password (and lift its lock).")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p = command(admin_sub, "disable", cmd_admin_disable, "Disable an account: it cannot log in, its sessions end.")
    p.add_argument("name")
    p = command(admin_sub, "totp", cmd_admin_totp,
                "Turn on one-time codes (TOTP) for an account; prints the otpauth URI for its authenticator app.")
    p.add_argument("name")
    command(admin_sub, "list", cmd_admin_list, "List the console's accounts.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except Refused as error:
        print(error.message, file=sys.stderr)
        return EXIT_UNUSABLE
    except accounts.AccountError as error:
        print(render(error.code, error.params), file=sys.stderr)
        return EXIT_UNUSABLE
    except (StewardError, server_key.ServerKeyError) as error:
        print(error.message() if isinstance(error, StewardError) else str(error), file=sys.stderr)
        return EXIT_UNUSABLE
    except SQLAlchemyError as error:
        print(render("exchange.database_failed", {"reason": str(error.__cause__ or error).splitlines()[0]}),
              file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
