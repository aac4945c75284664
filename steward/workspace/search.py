"""Chinese substring search: what is indexed for an entry, and how a query is matched.

Two FTS5 tables hold each entry's searchable text (name, code, abstract, data item names):
`search_tri` with the trigram tokenizer answers substrings of three or more characters;
`search_bi` holds every single character and every pair of adjacent characters as tokens
(the CJK-bigram idea of Lucene's CJKAnalyzer), so one- and two-character queries are index
lookups too. A short term with characters the token index cannot hold (punctuation) falls
back to a scan, which is correct and rare.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection

# Bumped whenever what is indexed changes; a workspace with another value rebuilds its index.
INDEX_VERSION = "1"

SEPARATOR = "\n"


def fold(text: str) -> str:
    """The form both index and query use: full-width folded (NFKC) and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def document(name: str, code: str, abstract: str, item_names: Iterable[str]) -> str:
    """The searchable text of one entry."""
    return fold(SEPARATOR.join((name, code, abstract, *item_names)))


def short_tokens(doc: str) -> str:
    """Every character and adjacent pair of word characters of `doc`, space-separated, once each."""
    tokens: set[str] = set()
    for part in doc.split(SEPARATOR):
        previous = ""
        for char in part:
            if char.isalnum():
                tokens.add(char)
                if previous:
                    tokens.add(previous + char)
                previous = char
            else:
                previous = ""
    return " ".join(tokens)


def index_rows(conn: Connection, rows: list[tuple[int, str]]) -> None:
    """Add (entry pk, document) pairs to both indexes."""
    if not rows:
        return
    dbapi = conn.connection.driver_connection
    dbapi.executemany("INSERT INTO search_tri(rowid, text) VALUES (?, ?)", rows)
    dbapi.executemany(
        "INSERT INTO search_bi(rowid, tokens) VALUES (?, ?)", [(pk, short_tokens(doc)) for pk, doc in rows]
    )


def unindex(conn: Connection, pks: list[int]) -> None:
    """Remove entries from both indexes (the contentless one needs the tokens it was given)."""
    dbapi = conn.connection.driver_connection
    for start in range(0, len(pks), 500):
        chunk = pks[start : start + 500]
        marks = ",".join("?" * len(chunk))
        old = dbapi.execute(f"SELECT rowid, text FROM search_tri WHERE rowid IN ({marks})", chunk).fetchall()
        dbapi.executemany(
            "INSERT INTO search_bi(search_bi, rowid, tokens) VALUES ('delete', ?, ?)",
            [(pk, short_tokens(doc)) for pk, doc in old],
        )
        dbapi.execute(f"DELETE FROM search_tri WHERE rowid IN ({marks})", chunk)


def rebuild(conn: Connection) -> None:
    """Index every entry afresh (after a migration or a change of INDEX_VERSION)."""
    dbapi = conn.connection.driver_connection
    dbapi.execute("DELETE FROM search_tri")
    dbapi.execute("INSERT INTO search_bi(search_bi) VALUES ('delete-all')")
    names: dict[int, list[str]] = {}
    for entry_pk, name in dbapi.execute("SELECT entry_pk, name FROM items ORDER BY entry_pk, position, id"):
        names.setdefault(entry_pk, []).append(name)
    rows = [
        (pk, document(name, code, abstract, names.get(pk, ())))
        for pk, name, code, abstract in dbapi.execute("SELECT pk, name, code, abstract FROM entries")
    ]
    index_rows(conn, rows)


@dataclass(frozen=True)
class TextMatch:
    """Queries each yielding the pks of entries that contain some of the terms; an entry must be in all.

    Callers combine them as `e.pk IN (...)` clauses: SQLite evaluates each once. Joining FTS
    tables to each other or to filtered entries directly lets the planner re-run a MATCH per
    row, which is thousands of times slower.
    """

    sources: tuple[str, ...]
    params: dict[str, str]


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def match(text: str) -> TextMatch | None:
    """How to find entries containing every whitespace-separated term of `text`; None when it is blank."""
    terms = fold(text).split()
    if not terms:
        return None
    long_terms = [t for t in terms if len(t) >= 3]
    short_terms = [t for t in terms if len(t) < 3 and all(c.isalnum() for c in t)]
    odd_terms = [t for t in terms if len(t) < 3 and not all(c.isalnum() for c in t)]
    sources: list[str] = []
    params: dict[str, str] = {}
    if long_terms:
        sources.append("SELECT rowid FROM search_tri WHERE search_tri MATCH :tri")
        params["tri"] = " AND ".join(_quote(t) for t in long_terms)
    if short_terms:
        sources.append("SELECT rowid FROM search_bi WHERE search_bi MATCH :bi")
        params["bi"] = " AND ".join(_quote(t) for t in short_terms)
    for n, term in enumerate(odd_terms):
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sources.append(f"SELECT rowid FROM search_tri WHERE text LIKE :odd{n} ESCAPE '\\'")
        params[f"odd{n}"] = f"%{escaped}%"
    return TextMatch(tuple(sources), params)
