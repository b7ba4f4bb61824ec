"""Book cards: the few fields a chat bubble or result list shows, fetched in one query."""

from __future__ import annotations

import functools
import json
import math
import os

CARD_COLUMNS = ("title", "authors", "year", "cover_path")


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
    rows = catalog.book_fields(ids, CARD_COLUMNS)
    out = []
    for h, bid in zip(hits, ids, strict=True):
        r = rows.get(bid)
        if r is None:
            continue
        out.append({"id": bid, "title": r["title"], "authors": json.loads(r["authors"] or "[]"),
                    "year": r["year"], "cover_url": cover_url(bid, r["cover_path"]),
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
        rows = catalog.book_fields([b["id"] for b in books], ["cover_path"])
        for b in books:
            r = rows.get(b["id"])
            b["cover_url"] = cover_url(b["id"], r["cover_path"] if r is not None else None)
    return {"session_id": session_id, "text": str(d.get("text") or ""),
            "intent": d.get("intent"), "question": d.get("question"), "books": books}


def _get(h, name):
    return h.get(name) if isinstance(h, dict) else getattr(h, name, None)


def book_detail(catalog, book_id: int) -> dict | None:
    """One book's page: the fields of ``Book.to_dict()`` the API shows, with its cover_url."""
    b = catalog.book(book_id)
    if b is None:
        return None
    return {"id": b.id, "title": b.title, "authors": b.authors, "year": b.year,
            "isbn13": b.isbn13, "language": b.language, "description": b.description,
            "cover_url": cover_url(b.id, b.cover_path), "tags": b.tags,
            "categories": b.categories, "sources": b.sources,
            "average_rating": b.average_rating, "ratings_count": b.ratings_count}
