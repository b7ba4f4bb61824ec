"""Book cards: the few fields a chat bubble or result list shows, fetched in one query."""

from __future__ import annotations

import functools
import json
import math
import os

BOOK_COLUMNS = "id, title, authors, year, cover_path"


def cover_url(book_id: int, cover_path) -> str | None:
    """The cover's URL when the book has a readable cover file, else None."""
    return f"/api/books/{book_id}/cover" if cover_path and _is_file(cover_path) else None


@functools.lru_cache(maxsize=65536)
def _is_file(path: str) -> bool:
    return os.path.isfile(path)


def _score(value) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return round(f, 6) if math.isfinite(f) else None


def cards(catalog, hits) -> list[dict]:
    """Cards for Hits (or dicts with book_id/score/reason), in order; unknown ids dropped."""
    hits = list(hits or [])
    ids = [int(_get(h, "book_id")) for h in hits]
    rows = {}
    for i in range(0, len(ids), 900):
        chunk = ids[i:i + 900]
        q = ",".join("?" * len(chunk))
        for r in catalog.conn.execute(f"SELECT {BOOK_COLUMNS} FROM books WHERE id IN ({q})",
                                      chunk):
            rows[r[0]] = r
    out = []
    for h, bid in zip(hits, ids, strict=True):
        r = rows.get(bid)
        if r is None:
            continue
        out.append({"id": bid, "title": r[1], "authors": json.loads(r[2] or "[]"),
                    "year": r[3], "cover_url": cover_url(bid, r[4]),
                    "score": _score(_get(h, "score")), "reason": str(_get(h, "reason") or "")})
    return out


def card_dict(d: dict) -> dict:
    """A card from a dialogue reply's book dict, with every field present and JSON-safe."""
    bid = int(d.get("id", d.get("book_id")))
    return {"id": bid, "title": str(d.get("title") or ""), "authors": list(d.get("authors") or []),
            "year": d.get("year"), "cover_url": d.get("cover_url"),
            "score": _score(d.get("score")), "reason": str(d.get("reason") or "")}


def reply_dict(reply, session_id: str, catalog=None) -> dict:
    """A dialogue Reply (or its dict) as the API's ChatReply; with the catalog, each book
    gets its cover URL when its cover file exists (the engine returns hits, not URLs)."""
    d = reply.to_dict() if hasattr(reply, "to_dict") else dict(reply)
    books = [card_dict(b) for b in d.get("books") or []]
    if catalog is not None and books:
        ids = [b["id"] for b in books]
        q = ",".join("?" * len(ids))
        paths = dict(catalog.conn.execute(
            f"SELECT id, cover_path FROM books WHERE id IN ({q})", ids).fetchall())
        for b in books:
            b["cover_url"] = cover_url(b["id"], paths.get(b["id"]))
    return {"session_id": session_id, "text": str(d.get("text") or ""),
            "intent": d.get("intent"), "question": d.get("question"), "books": books}


def _get(h, name):
    return h.get(name) if isinstance(h, dict) else getattr(h, name, None)


def book_detail(catalog, book_id: int) -> dict | None:
    """One book's page (the fields of ``Book.to_dict()`` + cover_url), by indexed lookups
    (``Catalog.book`` reads every tag row of the catalog, ~0.4 s on 31k books)."""
    conn = catalog.conn
    r = conn.execute("SELECT id, title, authors, year, isbn13, language, description, "
                     "cover_path, average_rating, ratings_count FROM books WHERE id=?",
                     (book_id,)).fetchone()
    if r is None:
        return None
    tags, categories = [], []
    for kind, tag in conn.execute("SELECT kind, tag FROM book_tags WHERE book_id=? ORDER BY rowid",
                                  (book_id,)):
        (tags if kind == "tag" else categories).append(tag)
    sources = sorted(f"{s}:{i}" for s, i in conn.execute(
        "SELECT source, source_id FROM book_sources WHERE book_id=?", (book_id,)))
    return {"id": r[0], "title": r[1], "authors": json.loads(r[2] or "[]"), "year": r[3],
            "isbn13": r[4], "language": r[5], "description": r[6],
            "cover_url": cover_url(r[0], r[7]), "tags": tags, "categories": categories,
            "sources": sources, "average_rating": r[8], "ratings_count": r[9]}
