"""Google Books thumbnails: googlebooks.csv (id, title, author, bestseller, file)."""

from __future__ import annotations

from pathlib import Path

from coverstory.catalog.importers.base import ImportContext
from coverstory.catalog.importers.covers_common import import_cover_csv
from coverstory.catalog.normalize import split_authors


def _fields(d: dict):
    if not d["id"].strip() or not d["title"].strip():
        raise ValueError("empty id or title")
    cats = ["nyt-bestseller"] if d.get("bestseller", "").strip() == "1" else []
    return d["id"].strip(), {"title": d["title"].strip(),
                             "authors": split_authors(d.get("author", ""))}, cats


def import_path(ctx: ImportContext, path: Path) -> None:
    import_cover_csv(ctx, path, "googlebooks", ["id", "title", "file"], _fields)
