"""The catalog's small read-only book lookups (part of ``Catalog``): counts, existence,
source ids, tag frequencies, the change stamp, and the few filtered id lists the
benchmarks draw from. The catalog is the only owner of SQL (tests/test_architecture.py)."""

from __future__ import annotations

import sqlite3


class BookLookups:
    """Read-only queries over books, sources and tags; mixed into
    :class:`coverstory.catalog.store.Catalog`."""

    conn: sqlite3.Connection

    def count_books(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM books").fetchone()[0]

    def has_book(self, book_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM books WHERE id=?",
                                 (int(book_id),)).fetchone() is not None

    def has_user(self, user_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM users WHERE id=?",
                                 (int(user_id),)).fetchone() is not None

    def source_ids(self, source: str) -> dict[str, int]:
        """The source's own id -> catalog book id, for every book imported from ``source``."""
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT source_id, book_id FROM book_sources WHERE source=?", (source,))}

    def count_source_books(self, source: str) -> int:
        """How many catalog books have a record from ``source``."""
        return self.conn.execute("SELECT COUNT(DISTINCT book_id) FROM book_sources "
                                 "WHERE source=?", (source,)).fetchone()[0]

    def described_books(self, source: str, min_chars: int) -> list[int]:
        """Ids (ascending) of the books from ``source`` whose description has at least
        ``min_chars`` characters."""
        return [r[0] for r in self.conn.execute(
            "SELECT b.id FROM books b JOIN book_sources s ON s.book_id = b.id "
            "WHERE s.source = ? AND length(b.description) >= ? ORDER BY b.id",
            (source, int(min_chars)))]

    def titles_containing(self, text: str) -> list[tuple[int, str]]:
        """(id, title) of the books whose title contains ``text`` (SQL LIKE, so ASCII
        case-insensitive), the most rated first."""
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT id, title FROM books WHERE title LIKE ? "
            "ORDER BY COALESCE(ratings_count, 0) DESC", (f"%{text}%",))]

    def tag_frequencies(self, kind: str = "tag") -> tuple[dict[str, int], int]:
        """(tag -> number of books carrying it, number of books with any tag of ``kind``)."""
        df = {t: c for t, c in self.conn.execute(
            "SELECT tag, COUNT(*) FROM book_tags WHERE kind=? GROUP BY tag", (kind,))}
        n = self.conn.execute("SELECT COUNT(DISTINCT book_id) FROM book_tags WHERE kind=?",
                              (kind,)).fetchone()[0]
        return df, n

    def books_stamp(self) -> tuple[int, str | None, int]:
        """(books, last book update, book tags): changes whenever the books change."""
        n, upd = self.conn.execute("SELECT COUNT(*), MAX(updated_at) FROM books").fetchone()
        return n, upd, self.conn.execute("SELECT COUNT(*) FROM book_tags").fetchone()[0]
