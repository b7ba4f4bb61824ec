"""Book Depository covers: bookdepository.csv (isbn13, title, author, categories, file...)."""

from __future__ import annotations

from pathlib import Path

from coverstory.catalog.importers.base import ImportContext, to_float
from coverstory.catalog.importers.covers_common import import_cover_csv
from coverstory.catalog.normalize import isbn13, split_authors


def _fields(d: dict):
    isbn = isbn13(d["isbn13"])
    if not isbn:
        raise ValueError(f"invalid ISBN-13 {d['isbn13']!r}")
    if not d["title"].strip():
        raise ValueError("empty title")
    to_float(d.get("stars", ""), "stars")
    cats = [c.strip() for c in d.get("categories", "").split("|") if c.strip()]
    return isbn, {"title": d["title"].strip(), "authors": split_authors(d.get("author", "")),
                  "isbn13": isbn}, cats


def import_path(ctx: ImportContext, path: Path) -> None:
    import_cover_csv(ctx, path, "bookdepository", ["isbn13", "title", "categories", "file"], _fields)
