"""The acceptance counts of the foundation issue, on the real goodbooks folder."""

from __future__ import annotations

import pytest

from coverstory.catalog import Catalog
from coverstory.catalog.importers import run_import


@pytest.mark.slow
def test_goodbooks_counts_and_idempotence(shared_data, tmp_path):
    cat = Catalog.open(tmp_path / "home")
    rep = run_import(cat, "goodbooks", [shared_data / "goodbooks10k"], progress=False)
    assert rep.skipped == 0 and rep.added == 10_000
    s = cat.stats()
    assert (s["books"], s["books_with_description"], s["books_with_cover"]) == \
        (10_000, 4_695, 3_154)
    assert s["books_with_pages"] == 2_880
    assert (s["ratings"], s["users_with_ratings"]) == (298_176, 2_672)
    run_import(cat, "goodbooks", [shared_data / "goodbooks10k"], progress=False)
    assert cat.stats() == s
    hp = cat.books([cat.find_book(source=("goodbooks", "2"))])[0]
    assert hp.title.startswith("Harry Potter") and "J.K. Rowling" in hp.authors
    assert hp.isbn13 == "9780439554930" and "fantasy" in hp.tags and hp.year == 1997
    assert hp.pages == 309
    sb = cat.books([cat.find_book(source=("goodbooks", "156"))])[0]   # descriptions_more.csv
    assert sb.description.startswith("Something Borrowed tells the story of Rachel")


@pytest.mark.slow
def test_cover_sources_merge_with_goodbooks(shared_data, tmp_path):
    import csv

    gb = tmp_path / "gb"
    gb.mkdir()
    # a slice: goodbooks books that have a cover, plus the Book Depository rows of those covers
    src = shared_data / "goodbooks10k"
    covers = list(csv.DictReader(open(src / "covers.csv")))[:300]
    keep = {r["book_id"] for r in covers}
    for name in ("books.csv", "covers.csv", "descriptions.csv", "book_genres.csv"):
        rows = list(csv.DictReader(open(src / name, encoding="utf-8")))
        with open(gb / name, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(r for r in rows if r["book_id"] in keep)
    (tmp_path / "covers").symlink_to(shared_data / "covers", target_is_directory=True)
    files = {r["cover_file"] for r in covers}
    bd_rows = [r for r in csv.DictReader(open(shared_data / "covers" / "bookdepository.csv"))
               if r["file"] in files]
    with open(tmp_path / "covers_bd.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(bd_rows[0]))
        w.writeheader()
        w.writerows(bd_rows)
    (tmp_path / "bookdepository").symlink_to(shared_data / "covers" / "bookdepository")

    cat = Catalog.open(tmp_path / "home")
    run_import(cat, "goodbooks", [gb], progress=False)
    rep = run_import(cat, "bookdepository", [tmp_path / "covers_bd.csv"], progress=False)
    assert rep.read == len(bd_rows) and rep.skipped == 0
    assert rep.merged > 0.5 * rep.read           # most joined covers are the same book
    assert cat.stats()["books"] == 300 + rep.added
