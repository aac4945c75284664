"""The exchange's HTTP API (FastAPI). docs/protocol.md specifies it; /openapi.json describes it.

Handlers are thin: they authenticate the request, read and bound the body, and hand over to
the ledger on a worker thread (database work is synchronous). Every refusal has the same body:
{"error": {"code", "message", "details"}}, is logged (logger "exchange", not the signed log) and,
when a key authenticated the request, spends one unit of that key's refusal budget (budget.py).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi import Path as PathParameter
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from exchange import enrollment_requests, ledger, server_key, sharing
from exchange.budget import DEFAULT_BUDGET, DEFAULT_WINDOW_S, BudgetGate, RefusalBudget
from exchange.console.routes import ConsoleConfig, mount_console
from exchange.db import default_db_url, default_key_file, make_engine, migrate
from exchange.ledger import KeyRecord, Refused
from exchange.opendata.ckan import mount_ckan
from exchange.opendata.config import OpenConfig
from exchange.opendata.http_caching import RateLimit
from exchange.opendata.routes import mount_open_data
from steward import __version__
from steward.sync.changeset import MAX_OPERATIONS, MAX_SEQ, UUID_PATTERN, changeset_schema, strict_json
from steward.sync.keys import SigningKey
from steward.sync.protocol import API, HEADER_KEY, HEADER_SIGNATURE, HEADER_TIME, verify_request

PROTOCOL = "steward-exchange/1"
MAX_BODY_BYTES = 16 * 1024 * 1024
DRAIN_BYTES = 64 * 1024 * 1024  # read (and drop) this much of an oversized body so the client sees our answer
FEED_LIMIT = 1000
MAX_POSITION = MAX_SEQ  # positions travel as JSON numbers, which stay below 2**53 (docs/protocol.md § 2)

BUDGET_ENV, WINDOW_ENV = "STEWARD_EXCHANGE_REFUSAL_BUDGET", "STEWARD_EXCHANGE_REFUSAL_WINDOW"
TRUST_PROXY_ENV, PUBLIC_URL_ENV, PROFILE_CA_ENV = (
    "STEWARD_EXCHANGE_TRUST_PROXY", "STEWARD_EXCHANGE_PUBLIC_URL", "STEWARD_EXCHANGE_PROFILE_CA")  # for workers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exchange:
    engine: Engine
    key: SigningKey
    id: str
    deadlines: sharing.Deadlines  # as `serve` recorded them before starting this process, which publishes them


# Documentation shapes (the handlers build their JSON directly; these describe it in /openapi.json) --


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[Any]


class ErrorBody(BaseModel):
    error: ErrorDetail


class ServerInfo(BaseModel):
    protocol: str
    exchange_id: str
    public_key: str
    key_id: str
    fingerprint: str
    version: str
    limits: dict[str, int]
    key_rotations: list[dict[str, str]]  # statements, each signed by the key it leaves (docs/protocol.md § 1)
    deadline_policy: dict[str, Any]  # working days for each answer to a sharing request (docs/protocol.md § 9)
    calendar_override: dict[str, Any] | None  # the exchange's holiday arrangements beyond the library's


class Receipt(BaseModel):
    exchange_id: str
    changeset_id: str
    changeset_sha256: str
    position: int
    hash: str
    versions: dict[str, int]
    accepted_at: str
    signature: str


class Checkpoint(BaseModel):
    exchange_id: str
    position: int
    hash: str
    issued_at: str
    signature: str


class FeedRecord(BaseModel):
    position: int
    changeset_json: str  # the signed changeset exactly as signed: canonical JSON text
    changeset_sha256: str
    versions: dict[str, int]
    prev_hash: str
    hash: str
    accepted_at: str


class StepFeedRecord(BaseModel):
    position: int
    step: dict[str, Any]  # the sharing request's step: whole for its parties, redacted for other departments
    step_digest: str
    due: str | None
    prev_hash: str
    hash: str
    accepted_at: str


class StepRecorded(BaseModel):
    request_id: str
    seq: int
    step_digest: str
    position: int
    hash: str
    due: str | None
    accepted_at: str
    status: str


class FeedPage(BaseModel):
    records: list[FeedRecord | StepFeedRecord]
    checkpoint: Checkpoint
    more: bool


class ChangesetStatus(BaseModel):
    status: str
    receipt: Receipt | None = None


ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 413, 422, 429)}

# The three headers of § 4 as API-key schemes, for /openapi.json: one requirement naming all three (each is
# needed). They only describe; _authenticate checks the signature, which covers the body as well.
SECURITY_SCHEMES = {name.replace("-", ""): {"type": "apiKey", "in": "header", "name": name, "description": what}
                    for name, what in ((HEADER_KEY, "the key id (32 lowercase hex)"),
                                       (HEADER_TIME, "the current time, RFC 3339 with a zone"),
                                       (HEADER_SIGNATURE, "base64 Ed25519 signature of the request description"))}
SIGNED: dict[str, Any] = {"security": [{scheme: [] for scheme in SECURITY_SCHEMES}]}


def _refusal(error: Refused) -> JSONResponse:
    headers = {"WWW-Authenticate": "Steward-Ed25519"} if error.status == 401 else None
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def _log_refusal(scope: Scope, error: Refused, key_id: str | None, size: int) -> None:
    """One line per refusal, for the exchange's administrator: who, why, and how big the request was."""
    headers = dict(scope.get("headers") or [])
    # As sent, so nothing a client chose can break the line: the raw path keeps %0A encoded, and
    # header values cannot hold a line break; a long claimed key id is cut.
    claimed = headers.get(HEADER_KEY.lower().encode(), b"-")[:64].decode("latin-1")
    who = f"key={key_id}" if key_id else f"key=- claimed={claimed}"
    path = (scope.get("raw_path") or b"-").decode("latin-1")
    log.log(logging.WARNING if error.status == 429 else logging.INFO, "refused %s %s: %d %s %s size=%d",
            scope.get("method", "-"), path, error.status, error.code, who, size)


def _request_size(request: Request) -> int:
    size = getattr(request.state, "size", None)
    if size is None:
        declared = request.headers.get("content-length", "")
        size = int(declared) if declared.isdigit() else 0
    return size


def decode_json(body: bytes) -> Any:
    try:
        return strict_json(body)
    except ValueError as error:
        raise Refused(400, "malformed_json", f"the body is not valid JSON: {error}") from error


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        await _drain(request)
        raise Refused(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        request.state.size = size
        if size > MAX_BODY_BYTES:
            await _drain(request)
            raise Refused(413, "body_too_large", f"the body exceeds {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(request: Request) -> None:
    drained = 0
    try:
        async for chunk in request.stream():
            drained += len(chunk)
            if drained > DRAIN_BYTES:
                break
    except Exception:  # the stream may be consumed or cut already; the refusal stands either way
        return


def _target(request: Request) -> str:
    """The request target exactly as sent (path and query), which the signature covers."""
    path = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return (path + (b"?" + query if query else b"")).decode("latin-1")


def _authenticate(exchange: Exchange, request: Request, body: bytes, revoked_may_ask: bool = False) -> KeyRecord:
    """The request's key, if the request is signed by it; a revoked key only where `revoked_may_ask`."""
    key_id = request.headers.get(HEADER_KEY)
    timestamp = request.headers.get(HEADER_TIME)
    signature = request.headers.get(HEADER_SIGNATURE)
    if not (key_id and timestamp and signature):
        raise Refused(401, "unauthenticated",
                      f"sign the request: headers {HEADER_KEY}, {HEADER_TIME} and {HEADER_SIGNATURE} are required")
    key = ledger.lookup_key(exchange.engine, key_id)
    if key is None:
        raise Refused(401, "unauthenticated", f"key {key_id} is not enrolled at this exchange")
    why = verify_request(key.public, request.method, _target(request), body, timestamp, signature)
    if why is not None:
        raise Refused(401, "unauthenticated", f"the request signature is not valid: {why}")
    request.state.key_id = key.key_id  # from here on a refusal spends this key's budget
    if key.revoked_at is not None and not revoked_may_ask:
        raise Refused(403, "key_revoked", f"key {key_id} was revoked at {key.revoked_at}")
    return key


def _push(exchange: Exchange, request: Request, body: bytes) -> tuple[int, dict[str, Any]]:
    """Authenticate, decode, check and apply one push (on a worker thread: all of it is CPU or database work)."""
    key = _authenticate(exchange, request, body)
    document = decode_json(body)
    operations = document.get("operations") if isinstance(document, dict) else None
    if isinstance(operations, list) and len(operations) > MAX_OPERATIONS:
        raise Refused(413, "too_many_operations", f"a changeset may hold at most {MAX_OPERATIONS} operations")
    return ledger.push(exchange.engine, exchange.key, exchange.id, ledger.parse_changeset(document), key)


def _submit_step(exchange: Exchange, request: Request, body: bytes) -> dict[str, Any]:
    """Authenticate, decode, check and record one step of a sharing request (on a worker thread)."""
    key = _authenticate(exchange, request, body)
    return sharing.submit(exchange.engine, exchange.key, sharing.parse(decode_json(body)), key, exchange.deadlines)


def create_app(db_url: str | None = None, key_file: Path | None = None,
               budget: RefusalBudget | None = None, console: ConsoleConfig | None = None,
               open_data: OpenConfig | None = None) -> FastAPI:
    budget = RefusalBudget() if budget is None else budget
    engine = make_engine(db_url or default_db_url())
    migrate(engine)
    exchange = Exchange(engine, server_key.for_database(engine, key_file or default_key_file()),
                        ledger.exchange_id(engine), sharing.deadlines(engine))
    rotations = ledger.key_rotations(engine)  # only rotate-key adds one, and the exchange is restarted after it
    deadlines = exchange.deadlines
    app = FastAPI(title="Steward exchange", version=__version__,
                  description="The central exchange of the government data resource catalogue. See docs/protocol.md.")
    app.state.exchange = exchange
    app.add_middleware(BudgetGate, budget=budget,
                       on_turned_away=lambda scope, error, size: _log_refusal(scope, error, None, size))

    def refuse(request: Request, error: Refused) -> JSONResponse:
        key_id = getattr(request.state, "key_id", None)
        if key_id is not None:
            budget.spend(key_id)
        _log_refusal(request.scope, error, key_id, _request_size(request))
        return _refusal(error)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        return refuse(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        response = refuse(request, Refused(error.status_code, code, str(error.detail)))
        response.headers.update(error.headers or {})  # a 405 names the allowed methods in Allow
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, error: RequestValidationError) -> JSONResponse:
        details = [{"path": ".".join(str(p) for p in e.get("loc", ())), "reason": e.get("msg", "")}
                   for e in error.errors()]
        return refuse(request, Refused(400, "bad_parameters", "the request's parameters are not valid", details))

    @app.exception_handler(Exception)
    async def internal_error(_request: Request, _error: Exception) -> JSONResponse:
        # The last resort, for a bug: Starlette re-raises the exception after this answer, so the server's log
        # has its traceback. Odd input is refused with a 4xx well before it gets here.
        return _refusal(Refused(500, "internal_error", "the exchange failed on this request; its log says why"))

    @app.get(f"{API}/server", response_model=ServerInfo, tags=["exchange"])
    def server_info() -> dict[str, Any]:
        """Who this exchange is: its public key (pin it on first contact), its key rotations and its limits."""
        public = exchange.key.public
        return {"protocol": PROTOCOL, "exchange_id": exchange.id, "public_key": public.to_b64(),
                "key_id": public.key_id, "fingerprint": public.fingerprint, "version": __version__,
                "limits": {"max_body_bytes": MAX_BODY_BYTES, "max_operations": MAX_OPERATIONS,
                           "feed_limit": FEED_LIMIT},
                "key_rotations": rotations, "deadline_policy": deadlines.policy.to_json(),
                "calendar_override": deadlines.override.to_json() if deadlines.override else None}

    @app.post(f"{API}/changesets", status_code=201, response_model=Receipt,
              responses={200: {"model": Receipt}, **ERRORS}, tags=["changesets"],
              openapi_extra={**SIGNED, "requestBody": {
                  "required": True, "content": {"application/json": {"schema": changeset_schema()}}}})
    async def push(request: Request) -> JSONResponse:
        """Push one signed changeset: 201 with the receipt, 200 with the original receipt for a re-send."""
        body = await _read_body(request)
        status, receipt = await run_in_threadpool(_push, exchange, request, body)
        return JSONResponse(receipt, status_code=status)

    @app.post(f"{API}/steps", status_code=201, response_model=StepRecorded, responses=ERRORS, tags=["sharing"],
              openapi_extra={**SIGNED, "requestBody": {
                  "required": True, "content": {"application/json": {"schema": {"type": "object"}}}}})
    async def submit_step(request: Request) -> JSONResponse:
        """Record one signed step of a sharing request (docs/protocol.md § 3a): 201 with its place in the log."""
        body = await _read_body(request)
        return JSONResponse(await run_in_threadpool(_submit_step, exchange, request, body), status_code=201)

    @app.get(f"{API}/changesets/{{changeset_id}}", response_model=ChangesetStatus, openapi_extra=SIGNED,
             responses={**ERRORS, 404: {"model": ChangesetStatus}},
             tags=["changesets"])
    async def changeset_status(changeset_id: Annotated[str, PathParameter(pattern=UUID_PATTERN)],
                               request: Request) -> JSONResponse:
        """Whether a changeset landed: 200 with its receipt, or 404 with status "unknown".

        A revoked key may still ask about the changesets it signed itself (so a steward revoked mid-sync
        learns what landed), and about nothing else.
        """
        key = await run_in_threadpool(_authenticate, exchange, request, b"", True)
        own_only = key.key_id if key.revoked_at is not None else None
        receipt = await run_in_threadpool(ledger.changeset_receipt, exchange.engine, changeset_id, own_only)
        if receipt is None and own_only:
            raise Refused(403, "key_revoked", f"key {key.key_id} was revoked at {key.revoked_at}: it may ask only "
                                              "about changesets it signed")
        if receipt is None:
            return JSONResponse({"status": "unknown", "receipt": None}, status_code=404)
        return JSONResponse({"status": "accepted", "receipt": receipt})

    @app.get(f"{API}/feed", response_model=FeedPage, responses=ERRORS, tags=["feed"], openapi_extra=SIGNED)
    async def read_feed(request: Request, after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
                        limit: Annotated[int, Query(ge=1, le=FEED_LIMIT)] = 200) -> JSONResponse:
        """Accepted changesets after position `after`, in order, with the hash chain and a signed checkpoint."""
        key = await run_in_threadpool(_authenticate, exchange, request, b"")
        page = await run_in_threadpool(ledger.feed, exchange.engine, exchange.key, exchange.id, after, limit,
                                       key.department)
        return JSONResponse(page)

    @app.get(f"{API}/checkpoint", response_model=Checkpoint, responses=ERRORS, tags=["feed"], openapi_extra=SIGNED)
    async def read_checkpoint(request: Request) -> JSONResponse:
        """The head of the log (position and hash), signed by the exchange."""
        await run_in_threadpool(_authenticate, exchange, request, b"")
        return JSONResponse(await run_in_threadpool(ledger.checkpoint, exchange.engine, exchange.key, exchange.id))

    @app.get(f"{API}/keys", responses=ERRORS, tags=["exchange"], openapi_extra=SIGNED)
    async def read_keys(request: Request) -> JSONResponse:
        """Every enrolled steward key with its department, each enrollment signed by the exchange."""
        await run_in_threadpool(_authenticate, exchange, request, b"")
        return JSONResponse({"keys": await run_in_threadpool(ledger.signed_keys, exchange.engine, exchange.key)})

    @app.get(f"{API}/departments", responses=ERRORS, tags=["exchange"], openapi_extra=SIGNED)
    async def read_departments(request: Request) -> JSONResponse:
        """The registered departments (code and name), each signed by the exchange."""
        await run_in_threadpool(_authenticate, exchange, request, b"")
        return JSONResponse({"departments": await run_in_threadpool(ledger.signed_departments, exchange.engine,
                                                                    exchange.key)})

    @app.post(f"{API}/enrollment-requests", tags=["enrollment"], responses=ERRORS, status_code=201)
    async def request_enrollment(request: Request) -> JSONResponse:
        """A steward's new key asks to be enrolled (signed by that key); it waits for the administrator's approval."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > enrollment_requests.MAX_BODY_BYTES:
            raise Refused(413, "body_too_large", f"the body exceeds {enrollment_requests.MAX_BODY_BYTES} bytes")
        body = await request.body()
        if len(body) > enrollment_requests.MAX_BODY_BYTES:
            raise Refused(413, "body_too_large", f"the body exceeds {enrollment_requests.MAX_BODY_BYTES} bytes")
        status, state = await run_in_threadpool(enrollment_requests.receive, exchange.engine, exchange.id,
                                                decode_json(body))
        return JSONResponse({"status": state}, status_code=status)

    @app.get(f"{API}/enrollment-requests/{{key_id}}", tags=["enrollment"], responses=ERRORS)
    async def enrollment_status(key_id: Annotated[str, PathParameter(pattern="^[0-9a-f]{32}$")]) -> JSONResponse:
        """Where a key's enrollment stands: pending, enrolled, revoked, declined or unknown."""
        return JSONResponse({"status": await run_in_threadpool(enrollment_requests.status, exchange.engine, key_id)})

    mount_console(app, exchange.engine, exchange.key, exchange.id, console or ConsoleConfig())
    open_data = open_data or OpenConfig()
    trust_proxy = (console or ConsoleConfig()).trust_proxy
    limiter = RateLimit(open_data.rate, open_data.burst)  # one allowance per client for /open and /api alike
    mount_open_data(app, exchange.engine, open_data, limiter, trust_proxy)
    mount_ckan(app, exchange.engine, open_data, limiter, trust_proxy)
    _describe_security(app)
    return app


def _describe_security(app: FastAPI) -> None:
    """Add the authentication headers' schemes to the OpenAPI description the app makes (once, on first use)."""
    make = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            make().setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """The app for `uvicorn --factory` worker processes: configuration comes through the environment."""
    key = os.environ.get("STEWARD_EXCHANGE_KEY")
    budget = RefusalBudget(int(os.environ.get(BUDGET_ENV, DEFAULT_BUDGET)),
                           float(os.environ.get(WINDOW_ENV, DEFAULT_WINDOW_S)))
    ca = os.environ.get(PROFILE_CA_ENV)
    console = ConsoleConfig(os.environ.get(TRUST_PROXY_ENV) == "1", os.environ.get(PUBLIC_URL_ENV) or None,
                            Path(ca).read_text(encoding="utf-8") if ca else None)
    return create_app(os.environ.get("STEWARD_EXCHANGE_DB"), Path(key) if key else None, budget, console,
                      OpenConfig.from_environment(os.environ))
