"""Copies of a home's catalog for scratch homes (the benchmarks that talk to the engine, the
load test's demo subset), and counts read without opening the catalog for writing.

The catalog stays the only owner of SQL (tests/test_architecture.py): the scratch-home code
in benchmarks/ and the server's start-up check call these instead of connecting to SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from coverstory.catalog.store import DB_NAME


def copy_catalog(home: str | Path, into: str | Path) -> Path:
    """A consistent copy of ``home``'s catalog as ``into``/catalog.sqlite (SQLite's online
    backup: safe while another process writes through the WAL). Returns the copy's path."""
    target = Path(into) / DB_NAME
    src = sqlite3.connect(Path(home) / DB_NAME)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target


def peek_counts(home: str | Path) -> dict[str, int]:
    """Books and books with a cover in ``home``'s catalog, read-only: nothing is created or
    migrated (both 0 when there is no catalog or no books table yet)."""
    path = Path(home) / DB_NAME
    if not path.exists():
        return {"books": 0, "covers": 0}
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            books, covers = con.execute(
                "SELECT COUNT(*), COUNT(cover_path) FROM books").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError:       # no books table yet (never imported into)
        return {"books": 0, "covers": 0}
    return {"books": books, "covers": covers}


def books_by_ratings(home: str | Path) -> list[int]:
    """Ids of the rated books of ``home``'s catalog, the most rated first (ties by id)."""
    con = sqlite3.connect(Path(home) / DB_NAME)
    try:
        return [r[0] for r in con.execute(
            "SELECT book_id FROM ratings GROUP BY book_id ORDER BY COUNT(*) DESC, book_id")]
    finally:
        con.close()


def keep_books(home: str | Path, keep: Iterable[int]) -> dict[str, int]:
    """Cut the catalog of ``home`` (a scratch copy: this deletes) down to the books ``keep``:
    their tags, sources and ratings go with the books removed (foreign keys), and readers
    left without ratings are removed too. Returns the counts of books, ratings and users."""
    dst = sqlite3.connect(Path(home) / DB_NAME)
    try:
        dst.execute("PRAGMA foreign_keys=ON")
        dst.execute("CREATE TEMP TABLE keep(id INTEGER PRIMARY KEY)")
        dst.executemany("INSERT INTO keep VALUES (?)", [(int(b),) for b in keep])
        with dst:
            dst.execute("DELETE FROM books WHERE id NOT IN (SELECT id FROM keep)")
            dst.execute("DELETE FROM users WHERE id NOT IN (SELECT DISTINCT user_id FROM ratings)")
        dst.execute("VACUUM")
        return {t: dst.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]    # noqa: S608
                for t in ("books", "ratings", "users")}
    finally:
        dst.close()
