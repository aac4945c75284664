"""The CKAN channel's search index over the open view, and each open entry as a CKAN package dict.

Tables (migration 0007):

- `ckan_packages`: one narrow row per dataset of the open view (exchange/opendata/view.py): its CKAN `name`,
  department, title, resource format, `modified` (the view's), `created` (when this index first saw it
  published) and `search`, the casefolded text a free-text query looks in. Indexed for every filter and
  sort `package_search` offers, so a search is SQL over these rows, never Python over 60,000 of them.
- `ckan_tags`: (tag, seq), the package's tags, for `fq=tags:...`; `seq` is the package row's number, its key
  (SQLite's rowid): a new one each time a dataset's row is written again.
- The pairs of neighbouring characters of each row's `search` text (`grams`), for free text: Chinese has no
  spaces, so a query is a substring, and a substring of two characters or more is first looked up by its
  pairs, then checked with LIKE on those rows only (reading 60,000 rows' text took 100-200 ms). SQLite keeps
  them in a contentless FTS5 table `ckan_grams` (rowid = `ckan_packages.seq`, each pair as a hex token);
  PostgreSQL in `ckan_packages.grams`, a text[] with a GIN index.
- `ckan_documents`: each row's package dict as JSON (by `seq`), for the serve options it names; written by
  the Follower thread after the rows (`write_documents`), built at the request where missing.
- `exchange_meta["ckan_indexed"]`: the view's `version` the index reflects; `["ckan_seq"]` the last `seq`.

The view is kept in each push's transaction; this index follows it afterwards (`catch_up`): the rows the
view changed after the index's version (`open_datasets.position`) and its tombstones (`open_removed`)
since. Every request first makes sure the index is at the view's version, so a dataset made 不予开放 is
gone at the next request; a background thread catches up soon after each push so that requests rarely
have to. Catching up writes under the exchange's write lock and checks the version again there: several
server processes may race to it, and only one writes.

The package dict is built from the version's published document (不予开放 items already left out) with the
DCAT export's own mappings (steward/files/dcat.py: keywords, file_type, theme), so CKAN, DCAT and
data.json say the same of a dataset.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, text

from exchange.db import reading, writing
from exchange.opendata import view
from steward.catalogue.model import Entry
from steward.catalogue.vocabulary import OpenType, label, vocabulary
from steward.files import dcat
from steward.sync.changeset import entry_from_document

log = logging.getLogger("steward.exchange.ckan")

INDEXED_KEY = "ckan_indexed"
SEQ_KEY = "ckan_seq"  # the last number given to a ckan_packages row
FORM = 1  # bump when the package dict changes: the JSON written of every package is then written again
CHUNK = 500
_NAMESPACE = uuid.UUID("3f0f4f0e-8c55-4c3e-9a0b-6a9c3c1e0d17")  # stable ids of what CKAN gives an id and we do not
_NAME_RE = re.compile(r"^[a-z0-9_-]{2,100}$")
_TAG_BAD = re.compile(r"[^\w \-.]")  # CKAN's tag names: letters and digits (any script), space, - _ .
# The EU licences dcat.py knows, as CKAN's own licence register names them.
CKAN_LICENCES = {
    f"{dcat.EU}licence/CC_BY_4_0": ("cc-by", "Creative Commons Attribution"),
    f"{dcat.EU}licence/CC_BY_SA_4_0": ("cc-by-sa", "Creative Commons Attribution Share-Alike"),
    f"{dcat.EU}licence/CC0": ("cc-zero", "Creative Commons CCZero"),
    f"{dcat.EU}licence/ODC_BY": ("odc-by", "Open Data Commons Attribution License"),
    f"{dcat.EU}licence/ODC_PDDL": ("odc-pddl", "Open Data Commons Public Domain Dedication and License (PDDL)"),
}
NOT_SPECIFIED = ("notspecified", "License not specified")


# Names and ids ----------------------------------------------------------------------------------------------


def package_name(code: str, entry_id: str = "") -> str:
    """The CKAN name of a dataset: its resource code, lowercase, "/" as "-" (319001/000001 -> 319001-000001).

    A resource code is digits, one "/" and digits (the exchange refuses others), so names never collide; a
    code that would not make a CKAN name ([a-z0-9_-], 2 to 100 characters) gives "e-" and the entry id."""
    name = code.strip().lower().replace("/", "-")
    if _NAME_RE.match(name):
        return name
    return f"e-{entry_id}" if entry_id else name


def organization_name(department_code: str) -> str:
    """A department's CKAN organization name: its 统一社会信用代码 in lowercase."""
    return department_code.strip().lower()


def organization_id(department_code: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"organization/{department_code}"))


def ckan_time(stamp: str | None) -> str | None:
    """The log's stamp (…Z, UTC) as CKAN writes its times: ISO 8601 in UTC without a zone."""
    return stamp[:-1] if stamp and stamp.endswith("Z") else stamp


@functools.lru_cache(maxsize=65536)
def _tag_id(tag: str) -> str:
    """A tag's stable id (uuid5 took a third of building a package's dict; tags repeat across datasets)."""
    return str(uuid.uuid5(_NAMESPACE, f"tag/{tag}"))


def ckan_tags(entry: Entry) -> list[str]:
    """The DCAT keywords as CKAN tags: characters CKAN refuses in a tag become "-", tags under 2 characters go."""
    tags = []
    for word in dcat.keywords(entry):
        tag = _TAG_BAD.sub("-", word).strip()[:100]
        if len(tag) >= 2 and tag not in tags:
            tags.append(tag)
    return tags


def licence(iri: str | None) -> tuple[str, str, str | None]:
    """(license_id, license_title, license_url) of the exchange's licence option."""
    if not iri:
        return NOT_SPECIFIED[0], NOT_SPECIFIED[1], None
    known = CKAN_LICENCES.get(iri)
    return (known[0], known[1], iri) if known else (iri, iri, iri)


# Organizations ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Organization:
    code: str
    title: str
    created: str
    package_count: int = 0

    @property
    def name(self) -> str:
        return organization_name(self.code)

    @property
    def id(self) -> str:
        return organization_id(self.code)

    def brief(self) -> dict[str, Any]:
        """As a package dict names its organization."""
        return {"id": self.id, "name": self.name, "title": self.title, "type": "organization",
                "description": "", "image_url": "", "created": ckan_time(self.created), "is_organization": True,
                "approval_status": "approved", "state": "active"}

    def full(self) -> dict[str, Any]:
        """As organization_show and organization_list(all_fields) give it."""
        return {**self.brief(), "display_name": self.title, "image_display_url": "", "num_followers": 0,
                "package_count": self.package_count, "extras": [], "groups": [], "tags": [], "users": []}


def departments(conn: Connection) -> list[Organization]:
    """Every department as an organization (without its count), in code order."""
    rows = conn.execute(text("SELECT code, name, created_at FROM departments ORDER BY code")).all()
    return [Organization(code, name, created) for code, name, created in rows]


def organizations(conn: Connection) -> list[Organization]:
    """Every department, with how many datasets the index holds of it, in code order."""
    counts = dict(conn.execute(text("SELECT department_code, count(*) FROM ckan_packages "
                                    "GROUP BY department_code")).all())
    return [replace(org, package_count=int(counts.get(org.code, 0))) for org in departments(conn)]


def package_json(package_dict: dict[str, Any]) -> str:
    return json.dumps(package_dict, ensure_ascii=False, separators=(",", ":"))


_ROWS = ("SELECT c.seq, c.entry_id, c.department_code, c.modified, c.created, d.document, j.package "
         "FROM ckan_packages c JOIN open_documents d ON d.entry_id = c.entry_id AND d.position = c.position "
         "LEFT JOIN ckan_documents j ON j.seq = c.seq AND j.options = :k ")


def packages(conn: Connection, entry_ids: Sequence[str], orgs: dict[str, Organization],
             options: Options) -> list[str]:
    """The package dicts of `entry_ids` (indexed datasets) as JSON, in that order: as written for these options
    (by `write_documents`), or made now."""
    found: dict[str, str] = {}
    for chunk in _chunks(list(entry_ids)):
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        rows = conn.execute(text(f"{_ROWS} WHERE c.entry_id IN ({marks})"),
                            {"k": options.key(), **{f"i{n}": value for n, value in enumerate(chunk)}})
        for _seq, entry_id, department, modified, created, document, written in rows:
            if written is None:
                org = orgs.get(department) or Organization(department, department, modified)
                written = package_json(package(entry_id, document, org, modified, created, options))
            found[entry_id] = written
    return [found[i] for i in entry_ids if i in found]


def write_documents(engine: Engine, options: Options, batch: int = CHUNK) -> int:
    """Write the JSON of every package that has none for `options`; how many (the Follower does it after pushes)."""
    key, done = options.key(), 0
    while True:
        with reading(engine) as conn:
            orgs = {org.code: org for org in departments(conn)}
            rows = conn.execute(text(f"{_ROWS} WHERE j.seq IS NULL LIMIT :n"), {"k": key, "n": batch}).all()
        if not rows:
            return done
        made = [{"s": seq, "k": key, "p": package_json(package(
                    entry_id, document, orgs.get(department) or Organization(department, department, modified),
                    modified, created, options))}
                for seq, entry_id, department, modified, created, document, _written in rows]
        with writing(engine) as conn:
            # A row rewritten meanwhile has a new seq: JSON under its old one is deleted with it, or never read.
            conn.execute(text("DELETE FROM ckan_documents WHERE seq = :s"), made)
            conn.execute(text("INSERT INTO ckan_documents(seq, options, package) "
                              "SELECT :s, :k, :p WHERE EXISTS (SELECT 1 FROM ckan_packages WHERE seq = :s)"), made)
        done += len(made)


def organization_keys(orgs: Iterable[Organization]) -> dict[str, str]:
    """An organization's id, name or code (casefolded) -> its department code: what a request may name it by."""
    keys = {}
    for org in orgs:
        for key in (org.id, org.name, org.code):
            keys[key.casefold()] = org.code
    return keys


# Package dicts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What the exchange publishes with (serve --public-base-uri, --licence)."""

    base_uri: str  # ends in "/": dataset IRIs are base + "open/dataset/" + code, as the DCAT pages name them
    licence: str | None = None

    def key(self) -> str:
        """Names these options in `ckan_documents.options`: JSON written for other options is written again."""
        return hashlib.sha256(json.dumps([self.base_uri, self.licence, FORM]).encode()).hexdigest()[:16]


def dataset_iri(entry: Entry, entry_id: str, options: Options) -> str:
    """The dataset's IRI as the DCAT pages name it (dcat.py with base_uri + "open/")."""
    if entry.code:
        return f"{options.base_uri}open/dataset/{quote(entry.code, safe='')}"
    return f"urn:uuid:{entry_id}"


def _extras(entry: Entry) -> list[dict[str, str]]:
    open_term = vocabulary("open_type").term(entry.open_type or "")
    values = {
        "identifier": entry.code,
        "access_rights": f"{dcat.EU}access-right/{open_term.extra['eu']}",
        "open_type": open_term.zh,  # 开放属性
        "open_conditions": entry.open_conditions.strip() if entry.open_type == OpenType.CONDITIONAL else "",
        "sharing_type": label("sharing_type", entry.sharing_type, "zh") if entry.sharing_type else "",  # 共享属性
        "sharing_conditions": entry.sharing_conditions.strip(),
        "theme": f"{dcat.EU}data-theme/{dcat.theme_code(entry.classification)}",
        "classification": entry.classification,
        "publisher_name": entry.provider,
        "publisher_identifier": entry.provider_code,
        "issued": dcat.valid_date(entry.published) or "",
    }
    if entry.update_frequency:
        term = vocabulary("update_frequency").term(entry.update_frequency)
        values["frequency"] = f"{dcat.EU}frequency/{term.extra['eu']}"
        values["update_frequency"] = term.zh
    return [{"key": key, "value": value} for key, value in sorted(values.items()) if value]


def package(entry_id: str, document: str, org: Organization, modified: str, created: str | None,
            options: Options) -> dict[str, Any]:
    """The dataset as CKAN's package_show gives a package."""
    entry = entry_from_document(entry_id, json.loads(document))
    iri = dataset_iri(entry, entry_id, options)
    licence_id, licence_title, licence_url = licence(options.licence)
    fmt = dcat.file_type(entry)
    tags = ckan_tags(entry)
    fmt_text = " ".join(x for x in (label("format_category", entry.format_category, "zh"), entry.format_type) if x)
    resource = {
        "id": str(uuid.uuid5(_NAMESPACE, f"resource/{entry_id}")), "package_id": entry_id, "url": iri,
        "name": entry.name or entry.code, "description": fmt_text, "format": fmt, "mimetype": None,
        "state": "active", "position": 0, "created": ckan_time(created or modified),
        "last_modified": ckan_time(modified), "metadata_modified": ckan_time(modified), "url_type": None,
        "resource_type": None, "size": None, "hash": "", "cache_url": None,
    }
    return {
        "id": entry_id, "name": package_name(entry.code, entry_id), "title": entry.name or entry.code,
        "notes": entry.abstract, "type": "dataset", "state": "active", "private": False,
        "owner_org": org.id, "organization": org.brief(),
        "author": entry.provider, "author_email": None, "maintainer": entry.provider, "maintainer_email": None,
        "license_id": licence_id, "license_title": licence_title, "license_url": licence_url,
        "isopen": licence_id in ("cc-by", "cc-by-sa", "cc-zero", "odc-by", "odc-pddl"),
        "url": iri, "version": None,
        "metadata_created": ckan_time(created or modified), "metadata_modified": ckan_time(modified),
        "creator_user_id": None,
        "tags": [{"id": _tag_id(tag), "name": tag, "display_name": tag,
                  "state": "active", "vocabulary_id": None} for tag in tags],
        "num_tags": len(tags), "groups": [], "resources": [resource], "num_resources": 1,
        "extras": _extras(entry), "relationships_as_object": [], "relationships_as_subject": [],
    }


# The index ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    entry_id: str
    position: int
    department_code: str
    name: str
    title: str
    res_format: str
    modified: str
    search: str
    tags: tuple[str, ...]


def _index_row(entry_id: str, position: int, department_code: str, department_name: str, modified: str,
               document: str) -> _Row:
    entry = entry_from_document(entry_id, json.loads(document))
    tags = tuple(ckan_tags(entry))
    name = package_name(entry.code, entry_id)
    title = entry.name or entry.code
    words = (title, entry.abstract, entry.code, name, department_name, department_code, *dcat.keywords(entry))
    return _Row(entry_id, position, department_code, name, title, dcat.file_type(entry), modified,
                "\n".join(words).casefold(), tags)


def indexed(conn: Connection) -> int:
    value = conn.execute(text("SELECT value FROM exchange_meta WHERE key = :k"), {"k": INDEXED_KEY}).scalar()
    return int(value) if value else 0


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _changes(conn: Connection, since: int) -> tuple[int, list[_Row], list[str]]:
    """(the view's version, index rows of the datasets it changed after `since`, ids of those it removed)."""
    version = view.version(conn)
    if version <= since:
        return version, [], []
    names = dict(conn.execute(text("SELECT code, name FROM departments")).all())
    rows = [_index_row(entry_id, position, department, names.get(department, department), modified, document)
            for entry_id, position, department, modified, document in conn.execute(text(
                "SELECT o.entry_id, o.position, o.department_code, o.modified, d.document FROM open_datasets o "
                "JOIN open_documents d ON d.entry_id = o.entry_id AND d.position = o.position "
                "WHERE o.position > :s"), {"s": since})]
    gone = [r[0] for r in conn.execute(text("SELECT entry_id FROM open_removed WHERE removed_at > :s"),
                                       {"s": since})]
    return version, rows, gone


def grams(text_: str) -> list[str]:
    """The distinct pairs of neighbouring characters in `text_` (none spanning a space or line break): a free-text
    query of two characters or more is looked up by its pairs before any row's text is read."""
    return sorted({text_[n : n + 2] for n in range(len(text_) - 1)
                   if not text_[n].isspace() and not text_[n + 1].isspace()})


def gram_token(gram: str) -> str:
    """A pair as SQLite's full-text index holds it: hex, so no tokenizer splits or folds it."""
    return gram.encode("utf-8").hex()


def _grams_text(search: str) -> str:
    return " ".join(gram_token(g) for g in grams(search))


def _apply(conn: Connection, version: int, rows: Sequence[_Row], gone: Sequence[str]) -> None:
    """Write the changes (in the write transaction), keeping each dataset's `created`."""
    sqlite = conn.dialect.name == "sqlite"
    touched = [row.entry_id for row in rows] + list(gone)
    created: dict[str, str] = {}
    for chunk in _chunks(touched):
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        params = {f"i{n}": value for n, value in enumerate(chunk)}
        old = conn.execute(text(f"SELECT entry_id, created, seq, search FROM ckan_packages "
                                f"WHERE entry_id IN ({marks})"), params).all()
        created.update((entry_id, when) for entry_id, when, _seq, _search in old)
        if sqlite and old:
            # A contentless full-text table forgets a row only when told what it held.
            conn.execute(text("INSERT INTO ckan_grams(ckan_grams, rowid, g) VALUES ('delete', :s, :g)"),
                         [{"s": seq, "g": _grams_text(search)} for _id, _when, seq, search in old])
        if old:
            conn.execute(text("DELETE FROM ckan_tags WHERE seq = :s"), [{"s": row[2]} for row in old])
            conn.execute(text("DELETE FROM ckan_documents WHERE seq = :s"), [{"s": row[2]} for row in old])
        conn.execute(text(f"DELETE FROM ckan_packages WHERE entry_id IN ({marks})"), params)
    if rows:
        # Numbers are never given twice (not max + 1): JSON written for a row's number stays that row's.
        given = conn.execute(text("SELECT value FROM exchange_meta WHERE key = :k"), {"k": SEQ_KEY}).scalar()
        first = int(given or 0) + 1
        conn.execute(text("DELETE FROM exchange_meta WHERE key = :k"), {"k": SEQ_KEY})
        conn.execute(text("INSERT INTO exchange_meta(key, value) VALUES (:k, :v)"),
                     {"k": SEQ_KEY, "v": str(first + len(rows) - 1)})
        values = [{"entry_id": r.entry_id, "position": r.position, "department_code": r.department_code,
                   "name": r.name, "title": r.title, "res_format": r.res_format, "modified": r.modified,
                   "created": created.get(r.entry_id, r.modified), "search": r.search, "seq": first + n}
                  for n, r in enumerate(rows)]
        columns = "entry_id, position, department_code, name, title, res_format, modified, created, search, seq"
        if sqlite:
            conn.execute(text(f"INSERT INTO ckan_packages({columns}) VALUES (:{columns.replace(', ', ', :')})"),
                         values)
            conn.execute(text("INSERT INTO ckan_grams(rowid, g) VALUES (:s, :g)"),
                         [{"s": v["seq"], "g": _grams_text(v["search"])} for v in values])
        else:
            conn.execute(text(f"INSERT INTO ckan_packages({columns}, grams) "
                              f"VALUES (:{columns.replace(', ', ', :')}, :grams)"),
                         [{**v, "grams": grams(v["search"])} for v in values])
        tags = [{"t": tag, "s": first + n} for n, r in enumerate(rows) for tag in r.tags]
        if tags:
            conn.execute(text("INSERT INTO ckan_tags(tag, seq) VALUES (:t, :s)"), tags)
    conn.execute(text("DELETE FROM exchange_meta WHERE key = :k"), {"k": INDEXED_KEY})
    conn.execute(text("INSERT INTO exchange_meta(key, value) VALUES (:k, :v)"), {"k": INDEXED_KEY, "v": str(version)})


def fill(conn: Connection) -> int:
    """Index the whole view (in the migration's transaction); how many datasets."""
    version, rows, _gone = _changes(conn, 0)
    _apply(conn, version, rows, [])
    return len(rows)


_catching_up = threading.Lock()


def catch_up(engine: Engine) -> int:
    """Bring the index to the view's version; the version it is at now.

    The changes are read and worked out outside the write lock (pushes go on meanwhile) and written under
    it, if no other thread or process wrote them first."""
    with _catching_up:
        with reading(engine, snapshot=True) as conn:
            since = indexed(conn)
            version, rows, gone = _changes(conn, since)
        if version <= since:
            return since
        with writing(engine) as conn:
            now = indexed(conn)
            if now >= version:
                return now
            # Another process may have caught up part of the way: our changes since `since` include its own.
            _apply(conn, version, rows, gone)
        return version


class Follower(threading.Thread):
    """Catches the index up soon after each push, so that requests seldom wait for it."""

    INTERVAL_S = 1.0

    def __init__(self, engine: Engine, options: Options) -> None:
        super().__init__(name="ckan-index", daemon=True)
        self.engine, self.options = engine, options
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.INTERVAL_S):
            try:
                catch_up(self.engine)
                write_documents(self.engine, self.options)
            except Exception:  # a database gone away or a bug: said in the log, tried again
                log.exception("catching the CKAN index up failed")
