"""goodbooks-10k folder: books.csv, book_genres.csv, descriptions.csv, descriptions_more.csv,
pages.csv, covers.csv, ratings_sample.csv (or ratings.csv). Every file but books.csv is
optional. A book's description comes from descriptions.csv first, else descriptions_more.csv.
Covers are paths under ``<folder>/../covers``."""

from __future__ import annotations

from pathlib import Path

from coverstory.catalog.importers.base import (
    PAGES, YEARS, ImportContext, ImportError_, check_cover, read_csv, to_float, to_int,
)
from coverstory.catalog.normalize import isbn10_to_13, isbn13, split_authors

SOURCE = "goodbooks"


def _key(book_id: str) -> str:
    """The goodbooks id as books.csv's rows are keyed ('12', not ' 12' or '12.0')."""
    try:
        return str(to_int(book_id, "book_id"))
    except ValueError:
        return book_id.strip()


def import_path(ctx: ImportContext, folder: Path) -> None:
    if not (folder / "books.csv").is_file():
        raise ImportError_(f"{folder}: not a goodbooks-10k folder (no books.csv)")
    rep, cat = ctx.report, ctx.catalog
    extras: dict[str, dict] = {}      # goodbooks book_id -> extra fields
    tags: dict[str, list[str]] = {}
    f = folder / "book_genres.csv"
    if f.is_file():
        for row in read_csv(f, rep, required=["book_id", "genres"]):
            tags[_key(row.data["book_id"])] = [t.strip() for t in row.data["genres"].split(",")
                                               if t.strip()]
    for name in ("descriptions.csv", "descriptions_more.csv"):   # the first file wins
        f = folder / name
        if f.is_file():
            for row in read_csv(f, rep, required=["book_id", "description"]):
                text = row.data["description"].strip()
                if text:
                    extras.setdefault(_key(row.data["book_id"]), {}).setdefault("description", text)
    f = folder / "pages.csv"
    if f.is_file():
        for row in read_csv(f, rep, required=["book_id", "pages"]):
            try:
                pages = to_int(row.data["pages"], "pages", low=PAGES[0], high=PAGES[1])
            except ValueError as e:
                rep.problem(f, row.line, str(e))
                continue
            if pages is not None:
                extras.setdefault(_key(row.data["book_id"]), {})["pages"] = pages
    f = folder / "covers.csv"
    if f.is_file():
        rows = list(read_csv(f, rep, required=["book_id", "cover_file"]))
        for row in _progress(ctx, rows, "goodbooks covers"):
            path = (folder.parent / "covers" / row.data["cover_file"])
            cover, sha = check_cover(ctx, path, f, row.line)
            if cover:
                extras.setdefault(_key(row.data["book_id"]), {}).update(cover_path=cover,
                                                                        cover_sha256=sha)

    books_csv = folder / "books.csv"
    for row in read_csv(books_csv, rep, required=["book_id", "title", "authors"],
                        progress=ctx.progress, desc="goodbooks books"):
        d = row.data
        rep.read += 1
        try:
            bid = str(to_int(d["book_id"], "book_id"))
            if not d["title"].strip():
                raise ValueError("empty title")
            fields = {
                "title": d["title"].strip(),
                "authors": split_authors(d["authors"]),
                "year": to_int(d.get("original_publication_year", ""), "original_publication_year",
                               low=YEARS[0], high=YEARS[1]),
                "isbn13": isbn13(d.get("isbn13")) or isbn10_to_13(d.get("isbn")),
                "language": (d.get("language_code") or "").strip() or None,
                "average_rating": to_float(d.get("average_rating", ""), "average_rating"),
                "ratings_count": to_int(d.get("ratings_count", ""), "ratings_count", low=0),
                **extras.get(bid, {}),
            }
        except ValueError as e:
            rep.problem(books_csv, row.line, str(e))
            continue
        _, outcome = cat.upsert_book(SOURCE, bid, fields, tags=tags.get(bid, ()))
        rep.count(outcome)

    ratings = folder / "ratings_sample.csv"
    if not ratings.is_file():
        ratings = folder / "ratings.csv"
    if ratings.is_file():
        import_ratings(ctx, ratings)


def import_ratings(ctx: ImportContext, path: Path) -> None:
    rep, cat = ctx.report, ctx.catalog
    conn = cat.conn
    book_of = {sid: bid for sid, bid in conn.execute(
        "SELECT source_id, book_id FROM book_sources WHERE source=?", (SOURCE,))}
    users: dict[str, int] = {}
    batch = []
    for row in read_csv(path, rep, required=["user_id", "book_id", "rating"],
                        progress=ctx.progress, desc="goodbooks ratings"):
        d = row.data
        try:
            user = str(to_int(d["user_id"], "user_id"))
            book = str(to_int(d["book_id"], "book_id"))
            rating = to_float(d["rating"], "rating")
            if rating is None or not 1 <= rating <= 5:
                raise ValueError(f"rating must be 1-5, got {d['rating']!r}")
        except ValueError as e:
            rep.problem(path, row.line, str(e))
            continue
        if book not in book_of:
            rep.problem(path, row.line, f"unknown book_id {book}")
            continue
        if user not in users:
            users[user] = cat.ensure_user(f"{SOURCE}:{user}")
        batch.append((users[user], book_of[book], rating, SOURCE))
    conn.executemany(
        "INSERT INTO ratings(user_id, book_id, rating, source) VALUES (?,?,?,?) "
        "ON CONFLICT(user_id, book_id) DO UPDATE SET rating=excluded.rating", batch)
    rep.ratings += len(batch)
    rep.users += len(users)


def _progress(ctx, rows, desc):
    from coverstory.catalog.importers.base import progress

    return progress(rows, len(rows), desc, ctx.progress)
