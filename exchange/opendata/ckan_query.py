"""The part of Solr's query syntax that CKAN clients send in `package_search`'s `q` and `fq`, turned into SQL.

What ckanapi users, CKAN's own web pages and the CKAN harvester (ckanext-harvest) send:
`organization:xyz`, `tags:"交通"`, `res_format:CSV`, `-organization:xyz`, `organization:a OR organization:b`,
`metadata_modified:[2026-01-01T00:00:00Z TO *]`, `name:...`, `id:...`, parentheses, `+`/`-`/`NOT`, quoted
phrases, `*:*`, and bare words (a case-insensitive substring of the title, description, tags, code, name or
organization: Chinese has no spaces, so a substring is what a reader expects of 交通).

Precedence: terms side by side (or joined by AND) must all hold; OR joins the terms on either side of it
first. So `organization:a OR organization:b metadata_modified:[X TO *]`, as the harvester sends it, means
(a or b) and modified since X, which is what it means to ask.

The result is a WHERE clause over `ckan_packages p` (exchange/opendata/ckan_index.py) with its parameters:
every filter is a column comparison or an indexed sub-select, never Python over the rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from exchange.opendata.ckan_index import gram_token, grams, package_name

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # the view's `modified` (exchange/opendata/view.py)
# Fields whose every value is what every dataset here has: CKAN adds them to its own queries.
ALWAYS = {"dataset_type": {"dataset"}, "type": {"dataset"}, "state": {"active"}, "capacity": {"public"},
          "entity_type": {"package"}}
TEXT_FIELDS = {"text", "title", "notes", "title_ngram", "name_ngram"}
DATE_FIELDS = {"metadata_modified": "p.modified", "metadata_created": "p.created"}
FIELDS = sorted({"organization", "owner_org", "tags", "res_format", "name", "id", "license_id", "groups",
                 *ALWAYS, *TEXT_FIELDS, *DATE_FIELDS})
_DATE_MATH = re.compile(r"^NOW(?:([+-])(\d+)(SECONDS?|MINUTES?|HOURS?|DAYS?))?(?:/DAYS?)?$")
_UNITS = {"SECOND": "seconds", "MINUTE": "minutes", "HOUR": "hours", "DAY": "days"}


class QueryError(ValueError):
    """The query is not in the syntax understood here (answered as CKAN answers Solr's refusal: Search Error)."""


@dataclass
class Where:
    """SQL conditions joined by AND, and their parameters."""

    sql: str = "1 = 1"
    params: dict[str, Any] = field(default_factory=dict)
    # How to count the matches more cheaply than over ckan_packages, where the query allows: a lone tag is
    # counted in ckan_tags, whose every row has its package (a tag on half the catalogue: ~1 ms, not ~20).
    count_sql: str | None = None


# Tokens ---------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"""
    \s+
  | (?P<open>\()
  | (?P<close>\))
  | (?P<range>[\[{][^\]}]*[\]}])
  | (?P<phrase>"(?:[^"\\]|\\.)*")
  | (?P<word>(?:[^\s()"\\\[\]{}]|\\.)+)
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, at = [], 0
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None:
            raise QueryError(f"cannot read the query from character {at + 1}: {text[at:at + 20]!r}")
        at = match.end()
        kind = match.lastgroup
        if kind is None:
            continue
        value = match.group(kind)
        if kind == "word" and value.endswith(":"):
            # field:"phrase", field:(a OR b), field:[a TO b]: the field goes with what follows
            tokens.append(("field", value[:-1]))
            continue
        tokens.append((kind, value))
    return tokens


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


# Parsing --------------------------------------------------------------------------------------------------


@dataclass
class _Builder:
    organizations: dict[str, str]  # an organization's id, name or code (casefolded) -> its department code
    sqlite: bool  # where the pairs of characters are (SQLite: an FTS5 table; PostgreSQL: an array column)
    tag_counts: dict[str, str] = field(default_factory=dict)  # a tag condition's SQL -> the SQL that counts it
    params: dict[str, Any] = field(default_factory=dict)
    tokens: list[tuple[str, str]] = field(default_factory=list)
    at: int = 0

    def param(self, value: Any) -> str:
        name = f"q{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError("the query ends too early")
        self.at += 1
        return token

    # expression := clause+ (all must hold); clause := unary (OR unary)*
    def expression(self, field_name: str | None, closing: bool) -> str:
        parts = []
        while True:
            token = self.peek()
            if token is None:
                if closing:
                    raise QueryError("a parenthesis is not closed")
                break
            if token[0] == "close":
                if not closing:
                    raise QueryError("a closing parenthesis has no opening one")
                self.at += 1
                break
            if token == ("word", "AND") or token == ("word", "&&"):
                self.at += 1
                continue
            parts.append(self.clause(field_name))
        if not parts:
            return "1 = 1"
        return " AND ".join(f"({part})" for part in parts)

    def clause(self, field_name: str | None) -> str:
        options = [self.unary(field_name)]
        while self.peek() in (("word", "OR"), ("word", "||")):
            self.at += 1
            options.append(self.unary(field_name))
        return options[0] if len(options) == 1 else " OR ".join(f"({o})" for o in options)

    def unary(self, field_name: str | None) -> str:
        kind, value = self.take()
        if kind == "word" and value in ("NOT", "!"):
            return f"NOT ({self.unary(field_name)})"
        if kind == "word" and value.startswith("-") and len(value) > 1:
            self.tokens.insert(self.at, ("word", value[1:]))
            return f"NOT ({self.unary(field_name)})"
        if kind == "field" and value.startswith("-"):
            self.tokens.insert(self.at, ("field", value[1:]))
            return f"NOT ({self.unary(field_name)})"
        if kind in ("word", "field") and value.startswith("+") and len(value) > 1:
            self.tokens.insert(self.at, (kind, value[1:]))
            return self.unary(field_name)
        if kind == "open":
            return self.expression(field_name, closing=True)
        if kind == "field":
            if field_name is not None:
                raise QueryError(f"field {value} inside the values of {field_name}")
            nxt = self.peek()
            if nxt is None:
                raise QueryError(f"field {value} has no value")
            if nxt[0] == "open":
                self.at += 1
                return self.expression(self.known(value), closing=True)
            return self.unary(self.known(value))
        if kind == "word" and field_name is None and ":" in value and not value.startswith(":"):
            name, _, rest = value.partition(":")
            if name == "*" and rest == "*":
                return "1 = 1"
            return self.term(self.known(name), rest, quoted=False)
        if kind == "range":
            if field_name is None:
                raise QueryError(f"a range {value} needs a field")
            return self.range(field_name, value)
        if kind == "phrase":
            return self.term(field_name, _unescape(value[1:-1]), quoted=True)
        if kind == "close":
            raise QueryError("a closing parenthesis has no opening one")
        return self.term(field_name, value, quoted=False)

    @staticmethod
    def known(name: str) -> str:
        if name not in FIELDS:
            raise QueryError(f"undefined field {name}")
        return name

    def term(self, field_name: str | None, raw: str, quoted: bool) -> str:
        value = raw if quoted else _unescape(raw)
        if field_name is None or field_name in TEXT_FIELDS:
            if value in ("*", ""):
                return "1 = 1"
            return self.text(value)
        if value == "*" and not quoted:
            return "1 = 1" if field_name not in ("groups", "license_id") else self.any(field_name)
        if field_name in ALWAYS:
            return "1 = 1" if value.casefold() in ALWAYS[field_name] else "1 = 0"
        if field_name in ("organization", "owner_org"):
            code = self.organizations.get(value.casefold(), value)
            return f"p.department_code = {self.param(code)}"
        if field_name == "tags":
            # EXISTS, not IN: a page sorted by an indexed column then reads that index and stops at its rows
            # (IN sorted every match of a tag on half the catalogue: ~25 ms).
            mark = self.param(value)
            condition = f"EXISTS (SELECT 1 FROM ckan_tags t WHERE t.tag = {mark} AND t.seq = p.seq)"
            self.tag_counts[condition] = f"SELECT count(*) FROM ckan_tags t WHERE t.tag = {mark}"
            return condition
        if field_name == "res_format":
            return f"p.res_format = {self.param(value.upper())}"
        if field_name == "name":
            return f"p.name = {self.param(package_name(value) if '/' in value else value.lower())}"
        if field_name == "id":
            return f"p.entry_id = {self.param(value.lower())}"
        if field_name == "license_id":
            return f"{self.param(value)} = :license_id"
        if field_name == "groups":
            return "1 = 0"  # datasets here belong to organizations (departments), never to groups
        if field_name in DATE_FIELDS:
            stamp = _stamp(value)
            return f"{DATE_FIELDS[field_name]} = {self.param(stamp)}"
        raise QueryError(f"undefined field {field_name}")

    def any(self, field_name: str) -> str:
        return ":license_id <> ''" if field_name == "license_id" else "1 = 0"

    def text(self, value: str) -> str:
        """Each word a substring of the row's text: looked up by its pairs of characters first (ckan_index.grams),
        then checked with LIKE where the pairs alone do not say it (more than two characters)."""
        words = value.casefold().split() or [value.casefold()]
        parts = []
        for word in words:
            pairs = grams(word)
            if pairs and self.sqlite:
                match = " AND ".join(f'"{gram_token(g)}"' for g in pairs)
                parts.append(f"p.seq IN (SELECT rowid FROM ckan_grams WHERE ckan_grams MATCH {self.param(match)})")
            elif pairs:
                parts.append(f"p.grams @> {self.param(pairs)}")
            if len(word) != 2 or not pairs:
                escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                parts.append(f"p.search LIKE {self.param(f'%{escaped}%')} ESCAPE '\\'")
        return " AND ".join(parts)

    def range(self, field_name: str, text: str) -> str:
        inner = text[1:-1].strip()
        low, sep, high = inner.partition(" TO ")
        if not sep:
            raise QueryError(f"a range needs TO: {text}")
        column = DATE_FIELDS.get(field_name)
        if column is None:
            raise QueryError(f"ranges are understood on {', '.join(DATE_FIELDS)} only, not {field_name}")
        parts = []
        low, high = low.strip(), high.strip()
        if low != "*":
            parts.append(f"{column} {'>=' if text[0] == '[' else '>'} {self.param(_stamp(low))}")
        if high != "*":
            parts.append(f"{column} {'<=' if text[-1] == ']' else '<'} {self.param(_stamp(high))}")
        return " AND ".join(parts) or "1 = 1"


def _stamp(text: str) -> str:
    """A Solr date (ISO 8601 with Z, or NOW with simple date math) in the view's stamp format."""
    value = _unescape(text.strip().strip('"'))
    match = _DATE_MATH.match(value)
    if match:
        moment = datetime.now(UTC)
        if match.group(1):
            unit = _UNITS[match.group(3).rstrip("S")]
            delta = timedelta(**{unit: int(match.group(2))})
            moment = moment + delta if match.group(1) == "+" else moment - delta
        if value.endswith(("/DAY", "/DAYS")):
            moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return moment.strftime(STAMP_FORMAT)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise QueryError(f"not a date: {value}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse(*queries: str | None, organizations: dict[str, str], license_id: str, sqlite: bool = True) -> Where:
    """The conditions of every query given (q, fq): all must hold.

    `organizations` maps each organization's id, name and code (casefolded) to its department's code;
    `license_id` is the one licence every dataset here has."""
    builder = _Builder(organizations, sqlite, params={"license_id": license_id})
    parts = []
    for query in queries:
        if query is None or not query.strip():
            continue
        builder.tokens, builder.at = _tokens(query), 0
        try:
            parts.append(builder.expression(None, closing=False))
        except RecursionError as error:  # parentheses or NOTs nested hundreds deep
            raise QueryError("the query is nested too deep") from error
    if not parts:
        return Where("1 = 1", builder.params)
    # An expression of one term is "(term)": a lone tag, whatever q or fq it came in, is counted in ckan_tags.
    alone = [part for part in parts if part not in ("1 = 1", "(1 = 1)")]
    count_sql = builder.tag_counts.get(alone[0][1:-1]) if len(alone) == 1 else None
    return Where(" AND ".join(f"({part})" for part in parts), builder.params, count_sql)


# Sorting --------------------------------------------------------------------------------------------------

SORT_COLUMNS = {"metadata_modified": "p.modified", "metadata_created": "p.created", "name": "p.name",
                "title_string": "p.title", "title": "p.title", "id": "p.entry_id"}
DEFAULT_SORT = "score desc, metadata_modified desc"


class SortError(ValueError):
    """An unknown sort field or direction (CKAN answers it as Solr's: 'Invalid "sort" parameter')."""


def order_by(sort: str) -> str:
    """ORDER BY for a CKAN sort string; entry id last, so that paging with start/rows is stable.

    `score` orders nothing here: every match is as good as another (there is no ranking). The entry id goes
    the way of the column before it, so that one index (column, entry_id) read forwards or backwards serves
    the whole order."""
    columns: list[str] = []
    direction = "asc"
    for part in sort.split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise SortError(part.strip())
        name, direction = words[0], (words[1].lower() if len(words) == 2 else "asc")
        if name == "score":
            continue
        column = SORT_COLUMNS.get(name)
        if column is None:
            raise SortError(name)
        columns.append(f"{column} {direction.upper()}")
        if column == "p.entry_id":
            return ", ".join(columns)
    columns.append(f"p.entry_id {direction.upper()}")
    return ", ".join(columns)
