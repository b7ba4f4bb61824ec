"""A reader's Goodreads "library export" CSV: their shelves and ratings.

Books are matched to the catalog by ISBN-13 / ISBN, then by normalised title + author,
and added when missing. ``My Rating`` 1-5 becomes a rating; read-but-unrated books and
other shelves (to-read, currently-reading) become events of kind 'shelf'.
Option ``user`` names the reader (default: the file's stem).
"""

from __future__ import annotations

import json
from pathlib import Path

from coverstory.catalog.importers.base import PAGES, YEARS, ImportContext, read_csv, to_int
from coverstory.catalog.normalize import isbn10_to_13, isbn13, split_authors

SOURCE = "goodreads"


def _clean(v: str) -> str:
    v = (v or "").strip()
    if v.startswith('="') and v.endswith('"'):
        v = v[2:-1]
    return v.strip()


def _optional(ctx: ImportContext, path: Path, line: int, value: str, what: str,
              bounds: tuple[int, int]) -> int | None:
    """A book detail that is not worth losing the reader's rating for: a bad value is
    reported and left empty, the row is kept."""
    try:
        return to_int(value, what, low=bounds[0], high=bounds[1])
    except ValueError as e:
        ctx.report.problem(path, line, f"{e}; left empty, the row is kept", skipped=False)
        return None


def import_path(ctx: ImportContext, path: Path) -> None:
    rep, cat = ctx.report, ctx.catalog
    user_name = ctx.options.get("user") or path.stem
    user_id = cat.ensure_user(f"goodreads:{user_name}", user_name)
    rep.users += 1
    for row in read_csv(path, rep, required=["Book Id", "Title", "Author", "My Rating"],
                        progress=ctx.progress):
        d = row.data
        rep.read += 1
        try:
            rating = to_int(d["My Rating"], "My Rating") or 0
            if not 0 <= rating <= 5:
                raise ValueError(f"My Rating must be 0-5, got {d['My Rating']!r}")
            isbn = isbn13(_clean(d.get("ISBN13", ""))) or isbn10_to_13(_clean(d.get("ISBN", "")))
            authors = split_authors(d["Author"]) + split_authors(d.get("Additional Authors", ""))
            year = _optional(ctx, path, row.line, d.get("Original Publication Year")
                             or d.get("Year Published", ""), "Year Published", YEARS)
            pages = _optional(ctx, path, row.line, d.get("Number of Pages", ""),
                              "Number of Pages", PAGES)
            if not d["Title"].strip():
                raise ValueError("empty Title")
        except ValueError as e:
            rep.problem(path, row.line, str(e))
            continue
        book_id, outcome = cat.upsert_book(SOURCE, d["Book Id"].strip(), {
            "title": d["Title"].strip(), "authors": authors, "isbn13": isbn,
            "year": year, "pages": pages})
        rep.count(outcome)
        shelf = (d.get("Exclusive Shelf") or "").strip() or None
        if rating:
            cat.conn.execute(
                "INSERT INTO ratings(user_id, book_id, rating, source, shelf) VALUES (?,?,?,?,?) "
                "ON CONFLICT(user_id, book_id) DO UPDATE SET rating=excluded.rating, "
                "shelf=excluded.shelf", (user_id, book_id, float(rating), SOURCE, shelf))
            rep.ratings += 1
        elif shelf:
            payload = json.dumps({"shelf": shelf, "source": SOURCE})
            cat.conn.execute("DELETE FROM events WHERE user_id=? AND book_id=? AND kind='shelf'",
                             (user_id, book_id))
            cat.conn.execute("INSERT INTO events(user_id, kind, book_id, payload) VALUES (?,?,?,?)",
                             (user_id, "shelf", book_id, payload))
