"""`GET /open/...`: the open catalogue for portals, read-only and without authentication (docs/open-data.md).

- `/open/catalog.ttl`, `.jsonld`, `.rdf`: DCAT-AP 3.0 in pages of at most `PAGE_SIZE` datasets, each a
  Hydra PagedCollection whose `hydra:next` leads on. A first page (no `snapshot`) is the view as of its
  newest change; its links carry that `snapshot` and the last entry id, so a harvest reads one state
  and never sees a page twice. `/open/catalog` answers in the form the Accept header asks for.
- `/open/data.json`: the whole open catalogue as one POD v1.1 document (data.json harvesters do not page).

Every answer has an ETag and Last-Modified and is answered 304 when the client has it already, is
gzipped when the client accepts it, and counts against its client's rate limit (429 with Retry-After).
Links start with the configured public base URI, never with what the request says its host is.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine, text

from exchange.client_address import client_address
from exchange.db import reading, writing
from exchange.opendata import view
from exchange.opendata.config import OpenConfig
from exchange.opendata.http_caching import RateLimit, accepts_gzip, client_is_current, gzip_tag, http_date
from exchange.opendata.render import (
    OpenOptions,
    Page,
    SharedNodes,
    catalogue_page,
    data_json,
    pieces_of,
    render,
)

log = logging.getLogger("steward.exchange.opendata")

PAGE_SIZE = 1000  # ckanext-dcat's own pages hold 100; harvesters cope with 1,000 (the bound)
MEDIA = {"ttl": "text/turtle; charset=utf-8", "jsonld": "application/ld+json; charset=utf-8",
         "rdf": "application/rdf+xml; charset=utf-8"}
ACCEPTED = {"text/turtle": "ttl", "application/x-turtle": "ttl", "application/ld+json": "jsonld",
            "application/json": "jsonld", "application/rdf+xml": "rdf", "application/xml": "rdf", "text/xml": "rdf"}
GZIP_LEVEL = 1  # a page of 1,000 datasets shrinks ~10 times at 1, ~15 times at 5 in half as long again
RENDER_BATCH = 200
WARM_INTERVAL_S = 1.0
# A thread that only computes keeps the GIL for the switch interval (5 ms) whenever another asks for it, and a
# request's thread asks again after each database call: behind a busy warm-up a console page took seconds.
# Sleeping this long after each dataset (~0.5 ms of work) hands the GIL over at once.
YIELD_S = 0.001
FORM = 1  # bump when what a page says changes for the same view: old ETags then no longer match


class Warmer(threading.Thread):
    """Writes the pieces of versions the view gained, soon after each push, so that harvests find them written.

    A page whose pieces are not written yet writes them itself; this only spares the harvest that time.
    """

    def __init__(self, engine: Engine, options: OpenOptions, shared: SharedNodes) -> None:
        super().__init__(name="open-view-warmer", daemon=True)
        self.engine, self.options, self.shared = engine, options, shared
        self.stopping = threading.Event()

    def run(self) -> None:
        warmed, since = -1, None
        while not self.stopping.wait(WARM_INTERVAL_S):
            try:
                with reading(self.engine) as conn:
                    newest = view.version(conn)
                if newest != warmed:
                    self.warm(since)
                    warmed, since = newest, newest
            except Exception:  # a bug or a database gone away: said in the log, tried again
                log.exception("writing the open view's pieces failed")

    def warm(self, since: int | None) -> int:
        """Write every missing piece of versions after `since` (None: all); how many."""
        key, done, failed = self.options.key(), 0, set()
        while not self.stopping.is_set():
            with reading(self.engine) as conn:
                rows = [r for r in view.unrendered(conn, key, RENDER_BATCH + len(failed), since)
                        if r.entry_id not in failed]
            if not rows:
                return done
            made = []
            for row in rows[:RENDER_BATCH]:
                try:
                    made.extend(render(row, self.options, self.shared).rows())
                except Exception:
                    log.exception("dataset %s could not be written", row.entry_id)
                    failed.add(row.entry_id)
                time.sleep(YIELD_S)  # hand the GIL to request threads between datasets (see YIELD_S)
            with writing(self.engine) as conn:
                view.store_rendered(conn, key, made)
            done += len(made)
        return done


def _negotiate(accept: str | None) -> str:
    """The form an Accept header asks for: the first of the highest quality; Turtle for anything else."""
    best, best_q = "ttl", 0.0
    for part in (accept or "").split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        fmt = ACCEPTED.get(media.lower())
        if fmt and q > best_q:
            best, best_q = fmt, q
    return best


def mount_open_data(app: FastAPI, engine: Engine, config: OpenConfig, limiter: RateLimit,
                    trust_proxy: bool = False) -> Warmer:
    """Add the /open routes to `app`, and start the thread that keeps the view's pieces written.

    `limiter` counts each client's requests (shared with the CKAN routes); `trust_proxy`: a client is the address
    our TLS proxy forwarded (exchange/client_address.py)."""
    options = config.options()
    key = options.key()
    shared = SharedNodes()
    warmer = Warmer(engine, options, shared)
    warmer.start()
    cache_lock = threading.Lock()
    data_json_cache: dict[str, dict[str, Any]] = {}
    counts: dict[int, int] = {}  # datasets as of a snapshot
    counts_lock = threading.Lock()

    def document_of(row: view.OpenDataset) -> str:
        with reading(engine) as conn:
            return view.document(conn, row.entry_id, row.position) or ""

    def answer(request: Request, body: bytes | Callable[[bool], bytes], media: str, etag: str,
               last_modified: str | None, extra_vary: str = "") -> Response:
        """`body`, or a function of whether to gzip that gives it (gzipped or not)."""
        headers = {"ETag": etag, "Cache-Control": "public, max-age=0, must-revalidate",
                   "Vary": "Accept-Encoding" + extra_vary}
        if last_modified:
            headers["Last-Modified"] = last_modified
        zipped = accepts_gzip(request)
        if zipped:
            headers["Content-Encoding"] = "gzip"
            headers["ETag"] = gzip_tag(etag)
        if callable(body):
            body = body(zipped)
        elif zipped:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        return Response(body, media_type=media, headers=headers)

    def not_modified(etag: str, last_modified: str | None, extra_vary: str = "") -> Response:
        headers = {"ETag": etag, "Cache-Control": "public, max-age=0, must-revalidate",
                   "Vary": "Accept-Encoding" + extra_vary}
        if last_modified:
            headers["Last-Modified"] = last_modified
        return Response(status_code=304, headers=headers)

    def limited(request: Request) -> Response | None:
        waiting = limiter.wait(client_address(request, trust_proxy))
        if not waiting:
            return None
        seconds = max(1, math.ceil(waiting))
        return JSONResponse({"error": {"code": "rate_limited", "message": f"too many requests: try again in "
                                       f"{seconds} s", "details": [{"retry_after": seconds}]}},
                            status_code=429, headers={"Retry-After": str(seconds)})

    def page_url(fmt: str, snapshot: int, after: str, limit: int) -> str:
        query: dict[str, Any] = {"snapshot": snapshot}
        if after:
            query["after"] = after
        if limit != PAGE_SIZE:
            query["limit"] = limit
        return f"{options.base_uri}open/catalog.{fmt}?{urlencode(query, quote_via=quote)}"

    def catalogue(request: Request, fmt: str, snapshot: int | None, after: str, limit: int,
                  negotiated: bool) -> Response:
        refused = limited(request)
        if refused is not None:
            return refused
        vary = ", Accept" if negotiated else ""
        try:
            with reading(engine, snapshot=True) as conn:
                as_of = view.version(conn) if snapshot is None else snapshot
                if snapshot is not None:
                    view.datasets(conn, "", 1, as_of)  # refuses a snapshot whose history is gone, before any ETag
                # By the log's order (its primary key), not by a scan of every changeset's stamp.
                stamp = conn.execute(text("SELECT accepted_at FROM changesets WHERE position <= :p "
                                          "ORDER BY position DESC LIMIT 1"), {"p": as_of}).scalar()
                began = conn.execute(text("SELECT accepted_at FROM changesets ORDER BY position LIMIT 1")).scalar()
                last_modified = http_date(stamp)
                digest = hashlib.sha256(f"{FORM}|{options.key()}|{after}|{limit}".encode()).hexdigest()[:16]
                etag = f'"{fmt}-{as_of}-{digest}"'
                if client_is_current(request, etag, last_modified):
                    return not_modified(gzip_tag(etag) if accepts_gzip(request) else etag, last_modified, vary)
                rows = view.datasets(conn, after, limit + 1, as_of, form=fmt, options_key=key)
                total = counts.get(as_of)
                if total is None:  # a snapshot's count never changes: counted once per harvest, not per page
                    total = view.count(conn, as_of)
                    with counts_lock:
                        counts[as_of] = total
                        while len(counts) > 64:
                            del counts[next(iter(counts))]
        except view.SnapshotExpired:
            first = f"{options.base_uri}open/catalog.{fmt}"
            return JSONResponse({"error": {"code": "snapshot_expired", "message": f"this harvest's snapshot is "
                                           f"gone: start again at {first}", "details": [{"first": first}]}},
                                status_code=410)
        more = len(rows) > limit
        rows = rows[:limit]
        pieces, _fresh = pieces_of(rows, fmt, options, shared, document_of)
        page = Page(page_url(fmt, as_of, after, limit), page_url(fmt, as_of, "", limit),
                    page_url(fmt, as_of, rows[-1].entry_id, limit) if more and rows else None, total, limit)
        body = catalogue_page(fmt, rows, pieces, page, options, shared, (began or "")[:10] or None,
                              stamp).encode("utf-8")
        return answer(request, body, MEDIA[fmt], etag, last_modified, vary)

    @app.get("/open/catalog", tags=["open data"])
    def catalog_negotiated(request: Request, snapshot: int | None = Query(None, ge=0), after: str = "",
                           limit: int = Query(PAGE_SIZE, ge=1, le=PAGE_SIZE)) -> Response:
        """The open catalogue in DCAT-AP 3.0, in the form the Accept header asks for (Turtle by default)."""
        return catalogue(request, _negotiate(request.headers.get("accept")), snapshot, after, limit, True)

    def fixed(fmt: str) -> Callable[..., Response]:
        def endpoint(request: Request, snapshot: int | None = Query(None, ge=0), after: str = "",
                     limit: int = Query(PAGE_SIZE, ge=1, le=PAGE_SIZE)) -> Response:
            return catalogue(request, fmt, snapshot, after, limit, False)

        endpoint.__doc__ = f"The open catalogue in DCAT-AP 3.0 as {MEDIA[fmt].split(';')[0]}, paged (Hydra)."
        return endpoint

    for fmt in MEDIA:
        app.add_api_route(f"/open/catalog.{fmt}", fixed(fmt), methods=["GET"], tags=["open data"],
                          name=f"open_catalog_{fmt}")

    @app.get("/open/data.json", tags=["open data"])
    def data_json_document(request: Request) -> Response:
        """The whole open catalogue as one Project Open Data v1.1 (non-federal) data.json document."""
        refused = limited(request)
        if refused is not None:
            return refused
        with reading(engine, snapshot=True) as conn:
            version = view.version(conn)
            last_modified = http_date(view.last_modified(conn))
        etag = f'"datajson-{version}-{options.key()}-{FORM}"'
        if client_is_current(request, etag, last_modified):
            return not_modified(gzip_tag(etag) if accepts_gzip(request) else etag, last_modified)
        with cache_lock:  # one document per version of the view, written once however many ask at once
            doc = data_json_cache.get("current")
            if doc is None or doc["etag"] != etag:
                doc = data_json_cache["current"] = {"etag": etag, "body": _whole_data_json(version)}

        def body(zipped: bool) -> bytes:
            if not zipped:
                return doc["body"]
            with cache_lock:  # gzipped once too: the document is the whole catalogue
                if "gzip" not in doc:
                    doc["gzip"] = gzip.compress(doc["body"], compresslevel=GZIP_LEVEL, mtime=0)
                return doc["gzip"]

        return answer(request, body, "application/json; charset=utf-8", etag, last_modified)

    def _whole_data_json(version: int) -> bytes:
        objects: list[str] = []
        after = ""
        while True:
            with reading(engine, snapshot=True) as conn:
                rows = view.datasets(conn, after, PAGE_SIZE, version, form="datajson", options_key=key)
            if not rows:
                break
            objects.extend(body for body, _ids in pieces_of(rows, "datajson", options, shared, document_of)[0])
            after = rows[-1].entry_id
        return data_json(objects).encode("utf-8")

    app.state.open_warmer = warmer
    return warmer
