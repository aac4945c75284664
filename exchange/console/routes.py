"""The console's pages at /console: log in, overview, departments and keys, catalogue, reviews, log.

Server-rendered (Jinja2 with autoescaping: everything shown is escaped) and plain HTML forms;
every asset is served from here (intranets have no CDN). Each page needs a live session, else it
redirects to the login page; each form carries the session's CSRF token and is refused (403)
without it; changes need the admin role. The session cookie is HttpOnly and SameSite=Strict, and
Secure when the request came over TLS, which is taken from the proxy's X-Forwarded-Proto only
with `serve --trust-proxy`.
"""

from __future__ import annotations

import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine
from starlette.datastructures import FormData, UploadFile

from exchange import accounts, admin_log, enrollment_requests, ledger, sharing
from exchange import administration as actions  # the changes, each with its record (shared with the shell)
from exchange.client_address import client_address
from exchange.console import figures, reviews
from exchange.console.sessions import Session
from exchange.console.sessions import current as current_session
from exchange.console.sessions import end as end_session
from exchange.console.sessions import start as start_session
from exchange.console.texts import LANGUAGES, Words
from exchange.db import reading
from exchange.ledger import Refused
from steward.catalogue.messages import render
from steward.catalogue.vocabulary import label, vocabulary
from steward.sync.keys import PUBLIC_KEY_FORMAT, KeyRefused, PublicKey, SigningKey, spaced
from steward.sync.profile import SUFFIX, profile_bytes, sign_profile

PREFIX = "/console"
SESSION_COOKIE = "steward_console"
LOGIN_COOKIE = "steward_console_login"  # the login form's CSRF token (double submit: no session yet)
LANGUAGE_COOKIE = "steward_console_lang"
MAX_KEY_FILE = 16 * 1024
HERE = Path(__file__).parent


@dataclass(frozen=True)
class ConsoleConfig:
    trust_proxy: bool = False  # honour X-Forwarded-Proto and X-Forwarded-For (the exchange sits behind a TLS proxy)
    public_url: str | None = None  # the exchange's URL for stewards (profiles); else the URL the request came to
    profile_ca: str | None = None  # PEM of the intranet CA that profiles tell clients to trust


class _LoginNeeded(Exception):
    pass


class _Denied(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def mount_console(app: FastAPI, engine: Engine, key: SigningKey, exchange_id: str, config: ConsoleConfig) -> None:
    """Add the console's routes, its static files and its error pages to the exchange's app."""
    templates = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    app.mount(f"{PREFIX}/static", StaticFiles(directory=HERE / "static"), name="console-static")

    def lang_of(request: Request) -> str:
        chosen = request.cookies.get(LANGUAGE_COOKIE, "")
        return chosen if chosen in LANGUAGES else LANGUAGES[0]

    def https(request: Request) -> bool:
        if config.trust_proxy:
            forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            if forwarded:
                return forwarded == "https"
        return request.url.scheme == "https"

    def address(request: Request) -> str:
        return client_address(request, config.trust_proxy)

    def page(request: Request, template: str, session: Session | None, status: int = 200,
             **context: Any) -> HTMLResponse:
        lang = lang_of(request)
        words = Words(lang)
        html = templates.get_template(template).render(
            w=words, lang=lang, session=session, csrf=session.csrf if session else "", path=request.url.path,
            here=quote(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""), safe=""),
            vocab=lambda name, value: label(name, value, lang) if value else "—",
            vocab_title=lambda name: vocabulary(name).label(lang),
            rate=lambda value: "—" if value is None else f"{value:.1%}",
            phrase=lambda code: render(code, None, lang),  # the client's own words (request statuses, step kinds)
            spaced=spaced, **context)
        return HTMLResponse(html, status_code=status, headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})

    async def session_of(request: Request) -> Session:
        found = await run_in_threadpool(current_session, engine, request.cookies.get(SESSION_COOKIE))
        if found is None:
            raise _LoginNeeded()
        return found

    async def form_of(request: Request, session: Session) -> FormData:
        """The posted form, if it carries the session's CSRF token."""
        form = await request.form(max_files=1, max_fields=20)
        sent = form.get("csrf")
        if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise _Denied("denied.csrf")
        return form

    def admin_only(session: Session) -> None:
        if not session.account.is_admin:
            raise _Denied("denied.role")

    def text_field(form: FormData, name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    @app.exception_handler(_LoginNeeded)
    async def login_needed(request: Request, _error: _LoginNeeded) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = f"{PREFIX}/overview"
        return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(_Denied)
    async def denied(request: Request, error: _Denied) -> Response:
        return page(request, "denied.html", None, status=403, reason=error.reason)

    # Logging in and out ------------------------------------------------------------------------

    def safe_next(target: str) -> str:
        # Only a console path of this site: no scheme, no //host, no backslash tricks.
        if target.startswith(f"{PREFIX}/") and not target.startswith("//") and "\\" not in target:
            return target
        return f"{PREFIX}/overview"

    @app.get(PREFIX, include_in_schema=False)
    @app.get(f"{PREFIX}/", include_in_schema=False)
    async def console_root() -> Response:
        return RedirectResponse(f"{PREFIX}/overview", status_code=303)

    def login_page(request: Request, status: int = 200, problem: str | None = None,
                   until: str | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(32)
        response = page(request, "login.html", None, status=status, login_csrf=token, problem=problem,
                        until=until, next=safe_next(request.query_params.get("next", "")))
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=https(request),
                            path=PREFIX)
        return response

    @app.get(f"{PREFIX}/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return login_page(request)

    @app.post(f"{PREFIX}/login", include_in_schema=False)
    async def log_in(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        sent, expected = text_field(form, "csrf"), request.cookies.get(LOGIN_COOKIE, "")
        if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise _Denied("denied.csrf")
        try:
            account = await run_in_threadpool(accounts.log_in, engine, text_field(form, "account").strip(),
                                              text_field(form, "password"), text_field(form, "code"),
                                              address(request))
        except accounts.LoginRefused as refused:
            return login_page(request, 401, refused.reason, refused.until)
        token = await run_in_threadpool(start_session, engine, account)
        response = RedirectResponse(safe_next(text_field(form, "next")), status_code=303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=https(request),
                            path=PREFIX)
        response.delete_cookie(LOGIN_COOKIE, path=PREFIX)
        return response

    @app.post(f"{PREFIX}/logout", include_in_schema=False)
    async def log_out(request: Request) -> Response:
        session = await session_of(request)
        await form_of(request, session)
        await run_in_threadpool(end_session, engine, request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=PREFIX)
        return response

    @app.get(f"{PREFIX}/language/{{lang}}", include_in_schema=False)
    async def choose_language(request: Request, lang: str) -> Response:
        response = RedirectResponse(safe_next(request.query_params.get("next", "")), status_code=303)
        if lang in LANGUAGES:
            response.set_cookie(LANGUAGE_COOKIE, lang, samesite="strict", secure=https(request), path=PREFIX,
                                max_age=365 * 24 * 3600)
        return response

    # Overview ----------------------------------------------------------------------------------

    def read(work: Any, *args: Any) -> Any:
        with reading(engine, snapshot=True) as conn:
            return work(conn, *args)

    @app.get(f"{PREFIX}/overview", include_in_schema=False)
    async def overview(request: Request) -> Response:
        session = await session_of(request)

        def both(conn: Any) -> tuple[figures.Overview, tuple[int, int]]:
            return figures.overview(conn), reviews.counts(conn, datetime.now(UTC))

        figures_now, (waiting, late) = await run_in_threadpool(read, both)
        return page(request, "overview.html", session, o=figures_now, reviews_waiting=waiting, reviews_overdue=late)

    # Departments and keys ----------------------------------------------------------------------

    @app.get(f"{PREFIX}/departments", include_in_schema=False)
    async def departments(request: Request) -> Response:
        session = await session_of(request)
        return page(request, "departments.html", session, o=await run_in_threadpool(read, figures.overview))

    @app.post(f"{PREFIX}/departments", include_in_schema=False)
    async def add_department(request: Request) -> Response:
        session = await session_of(request)
        form = await form_of(request, session)
        admin_only(session)
        code, name = text_field(form, "code"), text_field(form, "name")
        try:
            code, name = await run_in_threadpool(actions.add_department, engine, key, session.account.name, code,
                                                 name)
        except Refused as refused:
            return page(request, "departments.html", session, status=422, o=await run_in_threadpool(
                read, figures.overview), problem=refused_words(refused, code=code.strip().upper()), code=code,
                name=name)
        return RedirectResponse(f"{PREFIX}/departments/{quote(code)}", status_code=303)

    def refused_words(refused: Refused, **params: Any) -> tuple[str, dict[str, Any]]:
        known = {"department_code_invalid", "department_name_required", "department_exists", "reason_required"}
        if refused.code in known:
            return f"error.{refused.code}", params
        return "error.other", {"message": refused.message}

    async def department_page(request: Request, session: Session, code: str, status: int = 200,
                              **context: Any) -> Response:
        found = await run_in_threadpool(read, figures.department, code)
        if found is None:
            return page(request, "denied.html", session, status=404, reason="error.other",
                        reason_params={"message": code})
        notice = request.query_params.get("done", "")
        notice_key = request.query_params.get("key", "")
        return page(request, "department.html", session, status=status, d=found,
                    notice=notice if notice in ("key.approved", "key.declined", "key.revoked_done",
                                                "key.enrolled_done") else "", notice_key=notice_key, **context)

    @app.get(f"{PREFIX}/departments/{{code}}", include_in_schema=False)
    async def department(request: Request, code: str) -> Response:
        session = await session_of(request)
        return await department_page(request, session, code)

    def after(code: str, done: str, key_id: str) -> Response:
        return RedirectResponse(f"{PREFIX}/departments/{quote(code)}?done={done}&key={quote(key_id)}",
                                status_code=303)

    @app.post(f"{PREFIX}/departments/{{code}}/enroll", include_in_schema=False)
    async def enroll(request: Request, code: str) -> Response:
        session = await session_of(request)
        form = await form_of(request, session)
        admin_only(session)
        upload = form.get("key_file")
        try:
            data = await upload.read(MAX_KEY_FILE + 1) if isinstance(upload, UploadFile) else b""
            public, steward = _public_key(data, code)
            key_id = await run_in_threadpool(actions.enroll, engine, key, session.account.name, code, public, steward)
        except (Refused, ValueError) as error:
            message = error.message if isinstance(error, Refused) else str(error)
            return await department_page(request, session, code, status=422,
                                         problem=("error.other", {"message": message}))
        return after(code, "key.enrolled_done", key_id)

    @app.post(f"{PREFIX}/keys/{{key_id}}/{{decision}}", include_in_schema=False)
    async def decide(request: Request, key_id: str, decision: str) -> Response:
        session = await session_of(request)
        form = await form_of(request, session)
        admin_only(session)
        code = text_field(form, "department")
        try:
            if decision == "approve":
                await run_in_threadpool(enrollment_requests.approve, engine, key, key_id, session.account.name)
                return after(code, "key.approved", key_id)
            if decision == "decline":
                await run_in_threadpool(enrollment_requests.decline, engine, key, key_id, session.account.name)
                return after(code, "key.declined", key_id)
            if decision == "revoke":
                await run_in_threadpool(actions.revoke, engine, key, session.account.name, key_id,
                                        text_field(form, "reason"))
                return after(code, "key.revoked_done", key_id)
        except Refused as refused:
            return await department_page(request, session, code, status=422, problem=refused_words(refused))
        return page(request, "denied.html", session, status=404, reason="error.other",
                    reason_params={"message": decision})

    @app.get(f"{PREFIX}/departments/{{code}}/profile", include_in_schema=False)
    async def profile(request: Request, code: str) -> Response:
        session = await session_of(request)
        admin_only(session)
        found = await run_in_threadpool(read, figures.department, code)
        if found is None:
            return page(request, "denied.html", session, status=404, reason="error.other",
                        reason_params={"message": code})
        url = config.public_url or f"{'https' if https(request) else request.url.scheme}://{request.url.netloc}"
        document = sign_profile(key, url, exchange_id, found.code, found.name, config.profile_ca)
        return Response(profile_bytes(document), media_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="{found.code}{SUFFIX}"', "Cache-Control": "no-store"})

    # The catalogue -----------------------------------------------------------------------------

    @app.get(f"{PREFIX}/catalogue", include_in_schema=False)
    async def catalogue(request: Request) -> Response:
        session = await session_of(request)
        term = request.query_params.get("q", "")[:200]
        chosen = request.query_params.get("department", "")[:32]
        number = request.query_params.get("page", "0")
        page_number = int(number) if number.isdigit() and len(number) < 7 else 0
        rows, total = await run_in_threadpool(read, figures.search, term, chosen, page_number)
        known = await run_in_threadpool(ledger.departments, engine)  # for the filter: codes and names only
        return page(request, "catalogue.html", session, rows=rows, total=total, q=term, department=chosen,
                    page_number=page_number, departments=known, more=(page_number + 1) * figures.PAGE < total)

    @app.get(f"{PREFIX}/entries/{{entry_id}}", include_in_schema=False)
    async def entry(request: Request, entry_id: str) -> Response:
        session = await session_of(request)
        found = await run_in_threadpool(read, figures.entry, entry_id)
        if found is None:
            return page(request, "denied.html", session, status=404, reason="error.other",
                        reason_params={"message": entry_id})
        row, document, changes = found
        return page(request, "entry.html", session, e=row, document=document, changes=changes,
                    as_json=lambda value: json.dumps(value, ensure_ascii=False))

    # Reviews of sharing requests: both roles may review (it is the reviewer's job) ----------------

    def page_number_of(request: Request) -> int:
        number = request.query_params.get("page", "0")
        return int(number) if number.isdigit() and len(number) < 7 else 0

    @app.get(f"{PREFIX}/reviews", include_in_schema=False)
    async def review_queue(request: Request) -> Response:
        session = await session_of(request)
        page_number = page_number_of(request)

        def work() -> reviews.Queue:
            calendar = sharing.deadlines(engine).calendar()  # the policy and calendar `serve` recorded
            return read(reviews.queue, calendar, datetime.now(UTC), page_number)

        return page(request, "reviews.html", session, q=await run_in_threadpool(work))

    async def review_page(request: Request, session: Session, request_id: str, status: int = 200,
                          **context: Any) -> Response:
        def work() -> Any:
            calendar = sharing.deadlines(engine).calendar()
            return read(reviews.request, calendar, datetime.now(UTC), request_id)

        found = await run_in_threadpool(work) if figures.UUID.match(request_id) else None
        if found is None:
            return page(request, "denied.html", session, status=404, reason="error.other",
                        reason_params={"message": request_id})
        row, trail = found
        done = request.query_params.get("done", "")
        return page(request, "review.html", session, status=status, r=row, trail=trail,
                    done=done if done in tuple(reviews.Verdict) else "", **context)

    @app.get(f"{PREFIX}/reviews/{{request_id}}", include_in_schema=False)
    async def review(request: Request, request_id: str) -> Response:
        session = await session_of(request)
        return await review_page(request, session, request_id)

    @app.post(f"{PREFIX}/reviews/{{request_id}}", include_in_schema=False)
    async def decide_request(request: Request, request_id: str) -> Response:
        session = await session_of(request)
        form = await form_of(request, session)
        reason, conditions = text_field(form, "reason"), text_field(form, "conditions")
        try:
            verdict = reviews.Verdict(text_field(form, "verdict"))
            await run_in_threadpool(reviews.decide, engine, key, request_id, session.account.name, verdict, reason,
                                    conditions)
        except ValueError:  # no such verdict: a form the console does not make
            return page(request, "denied.html", session, status=422, reason="error.other",
                        reason_params={"message": text_field(form, "verdict")[:40]})
        except Refused as refused:
            return await review_page(request, session, request_id, status=refused.status,
                                     problem=review_refused(refused), reason=reason, conditions=conditions)
        return RedirectResponse(f"{PREFIX}/reviews/{quote(request_id)}?done={verdict}", status_code=303)

    def review_refused(refused: Refused) -> tuple[str, dict[str, Any]]:
        """A refused review in the page's words: nothing was recorded."""
        if refused.code in ("reason_required", "request.blank"):
            return "review.reason_required", {}
        if refused.code in ("conditions_without_grant", "request.conditions_without_grant"):
            return "review.conditions_without_grant", {}
        if refused.code == "too_long":
            return "review.too_long", {"limit": reviews.MAX_REASON}
        if refused.status == sharing.CONFLICT:  # someone decided first, or the requester withdrew
            return "review.conflict", {}
        return "error.other", {"message": refused.message}

    # The log -----------------------------------------------------------------------------------

    @app.get(f"{PREFIX}/log", include_in_schema=False)
    async def log(request: Request, verified: str | None = None) -> Response:
        session = await session_of(request)
        before_text = request.query_params.get("before", "")
        before = int(before_text) if before_text.isdigit() and len(before_text) < 17 else None

        def both(conn: Any) -> tuple[Any, Any, Any]:
            return (figures.changeset_log(conn, before), admin_log.records(conn, figures.PAGE),
                    figures.last_verification(conn))

        changesets, records, last = await run_in_threadpool(read, both)
        return page(request, "log.html", session, changesets=changesets, records=records, last=last,
                    as_json=lambda value: json.dumps(value, ensure_ascii=False))

    @app.post(f"{PREFIX}/log/verify", include_in_schema=False)
    async def verify(request: Request) -> Response:
        session = await session_of(request)
        await form_of(request, session)
        await run_in_threadpool(actions.verify, engine, key, session.account.name)
        return RedirectResponse(f"{PREFIX}/log", status_code=303)


def _public_key(data: bytes, department: str) -> tuple[PublicKey, str]:
    """The key of an uploaded `steward keys export` file, checked as `steward-exchange enroll` checks it."""
    if len(data) > MAX_KEY_FILE:
        raise ValueError("the file is too large for a public key file")
    try:
        document = json.loads(data.decode("utf-8"))
        if not isinstance(document, dict) or document.get("format") != PUBLIC_KEY_FORMAT:
            raise ValueError("not a Steward public key file")
        public = PublicKey.from_b64(str(document.get("public_key", "")))
    except KeyRefused as error:
        raise ValueError(f"the key is refused: {error}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a Steward public key file: {error}") from error
    for member, actual in (("key_id", public.key_id), ("fingerprint", public.fingerprint)):
        if document.get(member) != actual:
            raise ValueError(f"the file's {member} is not its key's ({actual})")
    declared = str(document.get("department_code") or "").upper()
    if declared and declared != department.upper():
        raise ValueError(f"the key file belongs to department {declared}, not {department}")
    return public, str(document.get("steward", ""))
