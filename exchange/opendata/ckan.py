"""`/api/3/action/...` (and `/api/action/...`): a read-only subset of CKAN's Action API over the open view.

A CKAN harvester (ckanext-harvest's `ckan` source type) or the `ckanapi` client library reads the exchange as
it reads a CKAN portal (docs/open-data.md): `status_show`, `package_list`, `package_show`, `package_search`
(`q`, `fq` on organization / tags / res_format / metadata_modified, `rows` ≤ 1000, `start`, `sort`,
`facet.field`), `organization_list`, `organization_show`. GET with query parameters, or POST with a JSON
object (ckanapi posts), without authentication.

Answers have CKAN's envelope: `{"help": URL, "success": true, "result": ...}`; refusals CKAN's shapes and
statuses: 404 `Not Found Error`, 409 `Validation Error` (`{"rows": ["Invalid integer"]}`), 409 `Search Error`
(an fq this subset cannot read), 400 `Search Query Error` (a bad sort), 400 and a JSON string for an unknown
action, and 429 with Retry-After beyond the per-client rate limit. A GET answer has an ETag and Last-Modified
from the open view's version, is answered 304 when the client has it, and is gzipped when accepted.

Only what the open view holds is here (无条件开放 and 有条件开放, active, no rule error, 不予开放 items left
out); a dataset made 不予开放, retired or removed is a 404 at the next request. Searches run as SQL on the
index of exchange/opendata/ckan_index.py (ckan_query.py reads the Solr syntax).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import Connection, Engine, text

from exchange.client_address import client_address
from exchange.db import reading
from exchange.opendata import ckan_index, ckan_query, view
from exchange.opendata.ckan_index import Options, Organization
from exchange.opendata.config import OpenConfig
from exchange.opendata.http_caching import RateLimit, accepts_gzip, client_is_current, gzip_tag, http_date
from steward import __version__

MAX_ROWS = 1000  # CKAN's ckan.search.rows_max: more is silently cut to it, as CKAN does
DEFAULT_ROWS = 10
MAX_LIST = 1000
MAX_NATURAL = 10**12
ORG_LIST_ALL_FIELDS = 25  # CKAN's ckan.group_and_organization_list_all_fields_max
CKAN_VERSION = "2.10.0"  # the Action API this subset answers like (clients check it to pick features)
FORM = 1  # bump when what an answer says changes for the same view: old ETags then no longer match
GZIP_LEVEL = 5
MAX_BODY_BYTES = 64 * 1024  # a POSTed action's parameters
ACTIONS = ("status_show", "package_list", "package_show", "package_search", "organization_list",
           "organization_show")
_TRUE = {"true", "yes", "on", "y", "t", "1"}


class Raw:
    """JSON text put into an answer as it is: a package's JSON, written once (ckan_index.write_documents)."""

    __slots__ = ("text",)

    def __init__(self, text_: str) -> None:
        self.text = text_


def dumps(body: Any) -> str:
    """`body` as compact JSON, with each `Raw` in it spliced in as its text."""
    raws: list[str] = []
    nonce = secrets.token_hex(8)  # a request's text cannot forge a mark it cannot guess

    def mark(value: Any) -> str:
        if not isinstance(value, Raw):
            raise TypeError(f"{type(value).__name__} is not JSON")
        raws.append(value.text)
        return f"\x00{nonce}{len(raws) - 1}\x00"

    text_ = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=mark)
    if not raws:
        return text_
    # json.dumps wrote each mark as "\u0000<nonce>N\u0000": all replaced in one pass.
    return re.sub(f'"\\\\u0000{nonce}(\\d+)\\\\u0000"', lambda m: raws[int(m.group(1))], text_)


class ActionError(Exception):
    """A refusal as CKAN answers it: an HTTP status and the `error` object (or a bare message for a 400)."""

    def __init__(self, status: int, error: dict[str, Any] | str) -> None:
        super().__init__(str(error))
        self.status = status
        self.error = error


def not_found(what: str = "") -> ActionError:
    return ActionError(404, {"__type": "Not Found Error", "message": f"Not found: {what}" if what else "Not found"})


def invalid(errors: dict[str, list[str]]) -> ActionError:
    return ActionError(409, {"__type": "Validation Error", **errors})


# Parameters -----------------------------------------------------------------------------------------------------


class Params:
    """An action's parameters (query string or JSON body), read as CKAN's validators read them."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.errors: dict[str, list[str]] = {}

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        return str(value)

    def natural(self, key: str, default: int) -> int:
        """A natural number (CKAN's natural_number_validator and its messages)."""
        value = self.values.get(key)
        if value is None or value == "":
            return default
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
        except (TypeError, ValueError):
            number = None
        if number is None or isinstance(value, bool):
            self.errors.setdefault(key, []).append("Invalid integer")
            return default
        if number < 0:
            self.errors.setdefault(key, []).append("Must be a natural number")
            return default
        return min(number, MAX_NATURAL)  # beyond any count here; the databases' integers stop at 2**63

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in _TRUE

    def strings(self, key: str) -> list[str] | None:
        """A list of strings, given as a list or as a JSON list in a string (CKAN's convert_to_json_if_string)."""
        value = self.values.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip().startswith("[") else [value]
            except ValueError:
                self.errors.setdefault(key, []).append("Could not parse as valid JSON")
                return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.errors.setdefault(key, []).append("Not a list of strings")
            return None
        return value

    def required(self, key: str) -> str:
        value = self.text(key)
        if value is None or not value.strip():
            self.errors.setdefault(key, []).append("Missing value")
            return ""
        return value.strip()

    def check(self) -> None:
        if self.errors:
            raise invalid(self.errors)


# Actions --------------------------------------------------------------------------------------------------------


class Actions:
    """The actions, each reading one consistent state of the index (one read transaction)."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.licence_id = ckan_index.licence(options.licence)[0]

    def run(self, conn: Connection, action: str, params: Params) -> Any:
        return getattr(self, action)(conn, params)

    def status_show(self, _conn: Connection, params: Params) -> dict[str, Any]:
        params.check()
        return {"site_title": "Steward exchange: open data", "site_description": "The open part of the government "
                "data resource catalogue (政务数据资源目录), as a read-only CKAN Action API subset.",
                "site_url": self.options.base_uri.rstrip("/"), "ckan_version": CKAN_VERSION,
                "steward_version": __version__, "error_emails_to": None, "locale_default": "zh_Hans_CN",
                "extensions": [], "actions": list(ACTIONS)}

    def package_list(self, conn: Connection, params: Params) -> list[str]:
        limit = params.natural("limit", MAX_LIST * 1000)
        offset = params.natural("offset", 0)
        params.check()
        rows = conn.execute(text("SELECT name FROM ckan_packages ORDER BY name, entry_id LIMIT :n OFFSET :o"),
                            {"n": limit, "o": offset})
        return [name for (name,) in rows]

    def _orgs(self, conn: Connection) -> dict[str, Organization]:
        return {org.code: org for org in ckan_index.departments(conn)}

    def _find(self, conn: Connection, key: str) -> str | None:
        """The entry id of the dataset named by id, CKAN name or resource code."""
        name = ckan_index.package_name(key) if "/" in key else key.lower()
        row = conn.execute(text("SELECT entry_id FROM ckan_packages WHERE entry_id = :i OR name = :n "
                                "ORDER BY entry_id LIMIT 1"), {"i": key.lower(), "n": name}).first()
        return row[0] if row else None

    def package_show(self, conn: Connection, params: Params) -> dict[str, Any]:
        key = params.text("id") or params.text("name_or_id") or ""
        if not key.strip():
            params.required("id")
        params.check()
        entry_id = self._find(conn, key.strip())
        found = ckan_index.packages(conn, [entry_id], self._orgs(conn), self.options) if entry_id else []
        if not found:
            raise not_found()
        return Raw(found[0])

    def package_search(self, conn: Connection, params: Params) -> dict[str, Any]:
        rows = min(params.natural("rows", DEFAULT_ROWS), MAX_ROWS)
        start = params.natural("start", 0)
        facet_limit = params.natural("facet.limit", 50)
        facet_mincount = params.natural("facet.mincount", 1)
        facet_fields = params.strings("facet.field") or []
        fq_list = params.strings("fq_list") or []
        sort = params.text("sort") or ckan_query.DEFAULT_SORT
        fields = params.text("fl")
        params.check()
        orgs = self._orgs(conn)
        try:
            where = ckan_query.parse(params.text("q"), params.text("fq"), *fq_list,
                                     organizations=ckan_index.organization_keys(orgs.values()),
                                     license_id=self.licence_id, sqlite=conn.dialect.name == "sqlite")
        except ckan_query.QueryError as error:
            raise ActionError(409, {"__type": "Search Error", "message": f"Search error: {error}"}) from error
        try:
            order = ckan_query.order_by(sort)
        except ckan_query.SortError as error:
            raise ActionError(400, {"__type": "Search Query Error",
                                    "message": f"Search Query is invalid: 'Invalid \"sort\" parameter: {error}'"}
                              ) from error
        count = int(conn.execute(text(where.count_sql or f"SELECT count(*) FROM ckan_packages p WHERE {where.sql}"),
                                 where.params).scalar_one())
        page = f"SELECT p.entry_id FROM ckan_packages p WHERE {where.sql} ORDER BY {order} LIMIT :rows OFFSET :start"
        ids = [row[0] for row in conn.execute(text(page), {**where.params, "rows": rows, "start": start})
               ] if rows and start < count else []
        results: list[Any] = [Raw(p) for p in ckan_index.packages(conn, ids, orgs, self.options)]
        if fields:
            wanted = [f.strip() for f in fields.replace(",", " ").split() if f.strip()]
            results = [{key: package.get(key) for key in wanted}
                       for package in (json.loads(r.text) for r in results)]
        facets = {name: self._facet(conn, name, where, facet_limit, facet_mincount, orgs)
                  for name in facet_fields}
        search_facets = {name: {"title": name, "items": sorted(
            ({"name": value, "display_name": self._display(name, value, orgs), "count": n}
             for value, n in counts.items()), key=lambda item: item["display_name"], reverse=True)}
            for name, counts in facets.items()}
        return {"count": count, "sort": sort, "facets": facets, "results": results, "search_facets": search_facets}

    def _display(self, field: str, value: str, orgs: dict[str, Organization]) -> str:
        if field == "organization":
            org = next((o for o in orgs.values() if o.name == value), None)
            return org.title if org else value
        if field == "license_id":
            return ckan_index.licence(self.options.licence)[1]
        return value

    def _facet(self, conn: Connection, field: str, where: ckan_query.Where, limit: int, mincount: int,
               orgs: dict[str, Organization]) -> dict[str, int]:
        """Counts of each value of `field` among the matches (organization, tags, res_format, license_id)."""
        params = {**where.params, "n": limit if limit >= 0 else 1_000_000, "m": max(mincount, 1)}
        if field == "organization":
            sql = ("SELECT p.department_code, count(*) FROM ckan_packages p WHERE {w} GROUP BY p.department_code "
                   "HAVING count(*) >= :m ORDER BY count(*) DESC, p.department_code LIMIT :n")
        elif field == "tags":
            sql = ("SELECT t.tag, count(*) FROM ckan_tags t JOIN ckan_packages p ON p.seq = t.seq "
                   "WHERE {w} GROUP BY t.tag HAVING count(*) >= :m ORDER BY count(*) DESC, t.tag LIMIT :n")
        elif field == "res_format":
            sql = ("SELECT p.res_format, count(*) FROM ckan_packages p WHERE {w} GROUP BY p.res_format "
                   "HAVING count(*) >= :m ORDER BY count(*) DESC, p.res_format LIMIT :n")
        elif field == "license_id":
            total = conn.execute(text(f"SELECT count(*) FROM ckan_packages p WHERE {where.sql}"),
                                 where.params).scalar_one()
            return {self.licence_id: int(total)} if total >= max(mincount, 1) else {}
        else:
            return {}
        rows = conn.execute(text(sql.format(w=where.sql)), params).all()
        if field == "organization":
            return {ckan_index.organization_name(code): int(n) for code, n in rows}
        return {value: int(n) for value, n in rows}

    def organization_list(self, conn: Connection, params: Params) -> list[Any]:
        all_fields = params.flag("all_fields", False)
        limit = params.natural("limit", ORG_LIST_ALL_FIELDS if all_fields else MAX_LIST)
        offset = params.natural("offset", 0)
        wanted = params.strings("organizations")
        sort = (params.text("sort") or "title asc").strip()
        params.check()
        orgs = ckan_index.organizations(conn)
        if wanted is not None:
            names = {w.casefold() for w in wanted}
            orgs = [o for o in orgs if o.name in names or o.code.casefold() in names or o.id in names]
        field, _, direction = sort.partition(" ")
        keys: dict[str, Callable[[Organization], Any]] = {
            "name": lambda o: o.name, "title": lambda o: (o.title, o.name),
            "package_count": lambda o: (o.package_count, o.name)}
        if field not in keys or direction.strip().lower() not in ("", "asc", "desc"):
            raise invalid({"sort": [f"Cannot sort by field `{field}`"]})
        orgs.sort(key=keys[field], reverse=direction.strip().lower() == "desc")
        page = orgs[offset : offset + limit]
        return [org.full() for org in page] if all_fields else [org.name for org in page]

    def organization_show(self, conn: Connection, params: Params) -> dict[str, Any]:
        key = params.required("id")
        include = params.flag("include_datasets", False)
        params.check()
        orgs = ckan_index.organizations(conn)
        code = ckan_index.organization_keys(orgs).get(key.casefold())
        org = next((o for o in orgs if o.code == code), None)
        if org is None:
            raise not_found()
        shown = org.full()
        if include:
            ids = [r[0] for r in conn.execute(text(
                "SELECT entry_id FROM ckan_packages WHERE department_code = :d ORDER BY modified DESC, entry_id "
                "LIMIT :n"), {"d": org.code, "n": MAX_ROWS})]
            found = ckan_index.packages(conn, ids, {o.code: o for o in orgs}, self.options)
            shown["packages"] = [Raw(p) for p in found]
        return shown


# HTTP ---------------------------------------------------------------------------------------------------------


def _query_values(request: Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in values:
            values[key] = [*values[key], value] if isinstance(values[key], list) else [values[key], value]
        else:
            values[key] = value
    values.pop("callback", None)  # no JSONP
    values.pop("_", None)  # jQuery's cache buster
    return values


def mount_ckan(app: FastAPI, engine: Engine, config: OpenConfig, limiter: RateLimit, trust_proxy: bool = False,
               follow: bool = True) -> ckan_index.Follower | None:
    """Add the CKAN Action API routes to `app`; start the thread that keeps the index current (`follow`).

    The public base URI, licence and rate limit are the open catalogue's (`serve --public-base-uri --licence
    --open-rate --open-burst`); `limiter` is the one the /open routes count with, so a client has one allowance
    for both channels; `trust_proxy` as for them."""
    options = Options(config.options().base_uri, config.licence)
    actions = Actions(options)
    options_key = hashlib.sha256(json.dumps([options.base_uri, options.licence]).encode()).hexdigest()[:12]

    def help_url(action: str) -> str:
        return f"{options.base_uri}api/3/action/help_show?name={action}"

    def envelope(action: str, status: int, body: Any, request: Request, headers: dict[str, str] | None = None,
                 cacheable: bool = False) -> Response:
        data = dumps(body).encode("utf-8")
        headers = dict(headers or {})
        headers["Vary"] = "Accept-Encoding"
        if cacheable:
            headers["Cache-Control"] = "public, max-age=0, must-revalidate"
        if accepts_gzip(request) and len(data) > 512:
            data = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
            if "ETag" in headers:
                headers["ETag"] = gzip_tag(headers["ETag"])
        return Response(data, status_code=status, media_type="application/json; charset=utf-8", headers=headers)

    def tag_for(action: str, values: dict[str, Any], version: int) -> str:
        digest = hashlib.sha256(json.dumps([FORM, options_key, action, sorted(values.items(), key=str)],
                                           ensure_ascii=False, default=str).encode()).hexdigest()[:16]
        return f'"ckan-{version}-{digest}"'

    def run(request: Request, action: str, values: dict[str, Any], cacheable: bool) -> Response:
        """The action on one read transaction that first checks the index is at the view's version: when it is
        not, the index is caught up and the action runs on a new transaction (one transaction a request, as a
        rule: a second one cost a few ms on a busy machine)."""
        for attempt in range(2):
            with reading(engine, snapshot=True) as conn:
                version, done = view.version(conn), ckan_index.indexed(conn)
                # Caught up once for this request, the index holds every change made before it came: a push
                # landing meanwhile is not waited for again (the answer and its tag are the index's state).
                behind = done < version and attempt == 0
                if not behind:
                    version = min(version, done)
                    headers: dict[str, str] = {}
                    if cacheable:
                        stamp = conn.execute(text("SELECT accepted_at FROM changesets WHERE position = :p"),
                                             {"p": version}).scalar() if version else None
                        etag = headers["ETag"] = tag_for(action, values, version)
                        modified = http_date(stamp)
                        if modified:
                            headers["Last-Modified"] = modified
                        if client_is_current(request, etag, modified):
                            if accepts_gzip(request):
                                headers["ETag"] = gzip_tag(etag)
                            return Response(status_code=304, headers={
                                **headers, "Vary": "Accept-Encoding",
                                "Cache-Control": "public, max-age=0, must-revalidate"})
                    result = actions.run(conn, action, Params(values))
            if not behind:
                return envelope(action, 200, {"help": help_url(action), "success": True, "result": result}, request,
                                headers, cacheable)
            ckan_index.catch_up(engine)
        raise AssertionError("unreachable: the second attempt always answers")

    def answer(request: Request, action: str, values: dict[str, Any], cacheable: bool) -> Response:
        waiting = limiter.wait(client_address(request, trust_proxy))
        if waiting:
            seconds = max(1, math.ceil(waiting))
            return envelope(action, 429, {"help": help_url(action), "success": False, "error": {
                "__type": "Rate Limit Error", "message": f"Too many requests: try again in {seconds} s"}},
                request, {"Retry-After": str(seconds)})
        if action not in ACTIONS:
            return envelope(action, 400, f"Bad request - Action name not known: {action}", request)
        try:
            return run(request, action, values, cacheable)
        except ActionError as error:
            if isinstance(error.error, str):
                return envelope(action, error.status, error.error, request)
            return envelope(action, error.status, {"help": help_url(action), "success": False, "error": error.error},
                            request)

    async def endpoint(request: Request, action: str) -> Response:
        if request.method == "POST":
            chunks, size = [], 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:  # parameters of a read are small: the rest is not read
                    return envelope(action, 413, f"Bad request - the body exceeds {MAX_BODY_BYTES} bytes", request)
                chunks.append(chunk)
            body = b"".join(chunks)
            if body.strip():
                try:
                    values = json.loads(body)
                except (ValueError, RecursionError) as error:  # nested a thousand deep: refused like bad JSON
                    return envelope(action, 400, f"Bad request - JSON Error: {error}", request)
                if not isinstance(values, dict):
                    return envelope(action, 400, "Bad request - Bad request data: Request data JSON decoded to "
                                                 f"{type(values).__name__} but it needs to be a dictionary.", request)
            else:
                values = _query_values(request)
            return await run_in_threadpool(answer, request, action, values, False)
        return await run_in_threadpool(answer, request, action, _query_values(request), True)

    for prefix in ("/api/3/action", "/api/action"):
        app.add_api_route(f"{prefix}/{{action}}", endpoint, methods=["GET", "POST"], tags=["open data (CKAN)"],
                          name=f"ckan_action{prefix.replace('/', '_')}", include_in_schema=prefix == "/api/3/action",
                          summary="CKAN Action API (read-only subset): " + ", ".join(ACTIONS))

    @app.get("/api/3", tags=["open data (CKAN)"], include_in_schema=False)
    def api_version() -> dict[str, int]:
        return {"version": 3}

    if not follow:
        return None
    follower = ckan_index.Follower(engine, options)
    follower.start()
    app.state.ckan_follower = follower
    return follower
