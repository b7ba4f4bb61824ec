"""A small data home made from a slice of the real goodbooks data (descriptions + shelves)."""

from __future__ import annotations

import csv
from pathlib import Path


def goodbooks_text_home(shared_data: Path, home: Path, n: int = 150) -> Path:
    """A catalog of the first ``n`` goodbooks books that have a description (no covers)."""
    from coverstory.catalog import Catalog

    gb = shared_data / "goodbooks10k"
    with open(gb / "descriptions.csv", newline="") as f:
        desc = {r["book_id"]: r["description"] for r in csv.DictReader(f)}
    with open(gb / "book_genres.csv", newline="") as f:
        genres = {r["book_id"]: r["genres"].split(",") for r in csv.DictReader(f)}
    cat = Catalog.open(home)
    added = 0
    with open(gb / "books.csv", newline="") as f, cat.transaction():
        for r in csv.DictReader(f):
            if r["book_id"] not in desc:
                continue
            cat.upsert_book("goodbooks", r["book_id"], {
                "title": r["title"], "authors": r["authors"].split(", "),
                "description": desc[r["book_id"]]}, tags=genres.get(r["book_id"], []))
            added += 1
            if added >= n:
                break
    cat.close()
    return home
