"""The SQLite catalog store (WAL mode): books, users, ratings, events, profiles, sessions."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from coverstory.catalog.lookups import BookLookups
from coverstory.catalog.models import Book
from coverstory.catalog.normalize import norm_key
from coverstory.catalog.records import ReaderRecords
from coverstory.catalog.schema import migrate
from coverstory.config import home_dir

DB_NAME = "catalog.sqlite"
BUSY_TIMEOUT = 30.0   # seconds a write waits for another writer before "database is locked"

# A shorter wait for the code running under it (the HTTP layer's request handlers), so a
# reader's write that cannot get the lock is refused quickly (and retried) instead of hanging.
_write_wait: ContextVar[float | None] = ContextVar("coverstory_write_wait", default=None)


@contextmanager
def write_wait(seconds: float | None) -> Iterator[None]:
    """Writes made by this thread or task wait at most ``seconds`` for the write lock (then
    ``sqlite3.OperationalError: database is locked``); None: the default wait."""
    token = _write_wait.set(seconds)
    try:
        yield
    finally:
        _write_wait.reset(token)


def is_busy_error(e: BaseException) -> bool:
    """True for SQLite's "database is locked" / "busy": another writer holds the lock."""
    msg = str(e).lower()
    return isinstance(e, sqlite3.OperationalError) and ("locked" in msg or "busy" in msg)


class Catalog(ReaderRecords, BookLookups):
    """The catalog of one data home (books here; sessions, profiles and chat events in
    records.py; small read-only book lookups in lookups.py).

    >>> cat = Catalog.open("/tmp/example-home")          # doctest: +SKIP
    >>> cat.stats()["books"]                               # doctest: +SKIP
    """

    journal_mode = "WAL"

    def __init__(self, home: Path, *, path: Path | None = None):
        self.home = Path(home)
        self.path = Path(path) if path is not None else self.home / DB_NAME
        self._local = threading.local()
        self._cache_version = 0
        migrate(self.conn)
        # the books table's columns, for book_fields (read once: cards ask on every request)
        self._book_columns = frozenset(
            r[1] for r in self.conn.execute("PRAGMA table_info(books)"))

    @classmethod
    def open(cls, home: str | Path | None = None) -> "Catalog":
        return cls(home_dir(home))

    # ---- connections -------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            _set_journal_mode(conn, self.journal_mode)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            self._local.wait = BUSY_TIMEOUT
        wait = _write_wait.get()
        wait = BUSY_TIMEOUT if wait is None else wait
        if self._local.wait != wait:
            conn.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            self._local.wait = wait
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: on any exception (or Ctrl-C) the catalog is left as it was."""
        conn = self.conn
        if conn.in_transaction:  # nested: join the outer transaction
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
            self._cache_version += 1

    # ---- books ---------------------------------------------------------------------------
    def book_ids(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM books ORDER BY id")]

    def book(self, book_id: int) -> Book | None:
        got = self.books([book_id])
        return got[0] if got else None

    def books(self, ids: Iterable[int] | None = None) -> list[Book]:
        """Books by id (in the order given), or every book ordered by id."""
        conn = self.conn
        if ids is None:
            rows = conn.execute("SELECT * FROM books ORDER BY id").fetchall()
            id_list = None
        else:
            id_list = [int(i) for i in ids]
            rows = []
            for chunk in _chunks(id_list, 900):
                q = ",".join("?" * len(chunk))
                rows += conn.execute(f"SELECT * FROM books WHERE id IN ({q})", chunk).fetchall()
        tags: dict[int, tuple[list[str], list[str]]] = {}
        sources: dict[int, list[str]] = {}
        if id_list is None:
            tag_rows = conn.execute("SELECT book_id, kind, tag FROM book_tags ORDER BY rowid")
            src_rows = conn.execute("SELECT book_id, source, source_id FROM book_sources")
        else:
            tag_rows, src_rows = [], []
            for chunk in _chunks(id_list, 900):
                q = ",".join("?" * len(chunk))
                tag_rows += conn.execute(f"SELECT book_id, kind, tag FROM book_tags "
                                         f"WHERE book_id IN ({q}) ORDER BY rowid", chunk).fetchall()
                src_rows += conn.execute(f"SELECT book_id, source, source_id FROM book_sources "
                                         f"WHERE book_id IN ({q})", chunk).fetchall()
        for r in tag_rows:
            t, c = tags.setdefault(r[0], ([], []))
            (t if r[1] == "tag" else c).append(r[2])
        for r in src_rows:
            sources.setdefault(r[0], []).append(f"{r[1]}:{r[2]}")
        out = {}
        for r in rows:
            t, c = tags.get(r["id"], ([], []))
            out[r["id"]] = Book(
                id=r["id"], title=r["title"], authors=json.loads(r["authors"]), year=r["year"],
                isbn13=r["isbn13"], language=r["language"], description=r["description"],
                cover_path=r["cover_path"], cover_sha256=r["cover_sha256"], tags=t,
                categories=c, sources=sorted(sources.get(r["id"], [])),
                average_rating=r["average_rating"], ratings_count=r["ratings_count"],
                pages=r["pages"],
            )
        if id_list is None:
            return list(out.values())
        return [out[i] for i in id_list if i in out]

    def cover(self, book_id: int) -> tuple[str | None, str | None] | None:
        """(cover path, sha256) of a book (None, None without a cover); None: no such book."""
        r = self.conn.execute("SELECT cover_path, cover_sha256 FROM books WHERE id=?",
                              (int(book_id),)).fetchone()
        return None if r is None else (r[0], r[1])

    def book_fields(self, ids: Iterable[int], columns: Iterable[str]) -> dict[int, sqlite3.Row]:
        """Some columns of the ``books`` rows of ``ids`` (cheaper than :meth:`books` when a
        card needs no tags): book id -> row, unknown ids left out."""
        cols = list(dict.fromkeys(["id", *columns]))
        known = self._book_columns
        if set(cols) - known:
            raise ValueError(f"unknown book columns {sorted(set(cols) - known)}; "
                             f"known: {sorted(known)}")
        out: dict[int, sqlite3.Row] = {}
        for chunk in _chunks([int(i) for i in ids], 900):
            q = ",".join("?" * len(chunk))
            for r in self.conn.execute(f"SELECT {', '.join(cols)} FROM books WHERE id IN ({q})",
                                       chunk):
                out[r["id"]] = r
        return out

    def find_book(self, *, isbn13: str | None = None, title: str | None = None,
                  authors: list[str] | None = None, source: tuple[str, str] | None = None
                  ) -> int | None:
        """The id of a book already in the catalog: by source id, ISBN-13, or title + author."""
        conn = self.conn
        if source is not None:
            r = conn.execute("SELECT book_id FROM book_sources WHERE source=? AND source_id=?",
                             source).fetchone()
            if r:
                return r[0]
        if isbn13:
            r = conn.execute("SELECT id FROM books WHERE isbn13=?", (isbn13,)).fetchone()
            if r:
                return r[0]
        if title:
            key = norm_key(title, authors or [])
            if key.split("|")[0]:
                r = conn.execute("SELECT id FROM books WHERE norm_key=? ORDER BY id LIMIT 1",
                                 (key,)).fetchone()
                if r:
                    return r[0]
        return None

    def upsert_book(self, source: str, source_id: str, fields: dict, *,
                    tags: Iterable[str] = (), categories: Iterable[str] = ()
                    ) -> tuple[int, str]:
        """Insert or merge one book; returns (book_id, outcome) with outcome one of
        'added', 'updated' (same source record seen again) or 'merged' (same book from
        another source: same ISBN-13, or same normalised title + first author surname).

        Re-imports replace the record's values; merges only fill in missing values.
        Empty values never erase; tags are added.
        """
        conn = self.conn
        title = fields.get("title") or ""
        authors = fields.get("authors") or []
        book_id = self.find_book(source=(source, source_id))
        same_record = book_id is not None
        if book_id is None:
            book_id = self.find_book(isbn13=fields.get("isbn13"), title=title, authors=authors)
            if book_id is not None and conn.execute(
                    "SELECT 1 FROM book_sources WHERE book_id=? AND source=?",
                    (book_id, source)).fetchone():
                book_id = None  # one source never merges two of its own records
        cols = ["title", "authors", "year", "isbn13", "language", "description", "cover_path",
                "cover_sha256", "average_rating", "ratings_count", "pages"]
        values = {k: fields.get(k) for k in cols if fields.get(k) not in (None, "", [])}
        if "authors" in values:
            values["authors"] = json.dumps(values["authors"], ensure_ascii=False)
        if values.get("isbn13"):
            other = conn.execute("SELECT id FROM books WHERE isbn13=?",
                                 (values["isbn13"],)).fetchone()
            if other and other[0] != book_id:
                values.pop("isbn13")  # another record holds it; keep both, do not steal
        created = book_id is None
        if created:
            values.setdefault("authors", "[]")
            values.setdefault("title", title)
            values["norm_key"] = norm_key(title, authors)
            keys = list(values)
            cur = conn.execute(
                f"INSERT INTO books ({','.join(keys)}) VALUES ({','.join('?' * len(keys))})",
                [values[k] for k in keys])
            book_id = cur.lastrowid
        elif values:
            if same_record:   # re-import of the same record: its values replace the old ones
                sets = ",".join(f"{k}=?" for k in values)
            else:             # merge from another source: only fill in what is missing
                sets = ",".join(f"{k}=COALESCE({k}, ?)" for k in values)
            conn.execute(f"UPDATE books SET {sets}, updated_at=datetime('now') WHERE id=?",
                         [*values.values(), book_id])
        conn.execute("INSERT OR IGNORE INTO book_sources(source, source_id, book_id) VALUES (?,?,?)",
                     (source, source_id, book_id))
        conn.executemany("INSERT OR IGNORE INTO book_tags(book_id, kind, tag) VALUES (?,?,?)",
                         [(book_id, "tag", t) for t in tags])
        conn.executemany("INSERT OR IGNORE INTO book_tags(book_id, kind, tag) VALUES (?,?,?)",
                         [(book_id, "category", c) for c in categories])
        return book_id, "added" if created else ("updated" if same_record else "merged")

    # ---- users, ratings, events --------------------------------------------------------
    def ensure_user(self, external_id: str, name: str | None = None) -> int:
        conn = self.conn
        r = conn.execute("SELECT id FROM users WHERE external_id=?", (external_id,)).fetchone()
        if r:
            return r[0]
        return conn.execute("INSERT INTO users(external_id, name) VALUES (?,?)",
                            (external_id, name)).lastrowid

    def user_id(self, external_id: str) -> int | None:
        r = self.conn.execute("SELECT id FROM users WHERE external_id=?", (external_id,)).fetchone()
        return r[0] if r else None

    def set_rating(self, user_id: int, book_id: int, rating: float, source: str = "app",
                   shelf: str | None = None) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO ratings(user_id, book_id, rating, source, shelf) VALUES (?,?,?,?,?) "
                "ON CONFLICT(user_id, book_id) DO UPDATE SET rating=excluded.rating, "
                "source=excluded.source, shelf=COALESCE(excluded.shelf, shelf)",
                (user_id, book_id, rating, source, shelf))

    def user_ratings(self, user_id: int) -> list[tuple[int, float]]:
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT book_id, rating FROM ratings WHERE user_id=? ORDER BY rowid", (user_id,))]

    def ratings_arrays(self):
        """All ratings as numpy arrays (user_ids, book_ids, ratings), ordered by user then book."""
        import itertools

        import numpy as np

        cur = self.conn.cursor()
        cur.row_factory = None      # plain tuples, streamed into one array: ~3x faster than Rows
        cur.execute("SELECT user_id, book_id, rating FROM ratings ORDER BY user_id, book_id")
        arr = np.fromiter(itertools.chain.from_iterable(cur), dtype=np.float64).reshape(-1, 3)
        return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2].astype(np.float32)

    def has_ratings(self) -> bool:
        return self.conn.execute("SELECT 1 FROM ratings LIMIT 1").fetchone() is not None

    def rating_counts(self, min_rating: float | None = None) -> dict[int, int]:
        """book id -> how many readers rated it (at least ``min_rating``, when given)."""
        sql = "SELECT book_id, COUNT(*) FROM ratings"
        args: tuple = ()
        if min_rating is not None:
            sql, args = sql + " WHERE rating >= ?", (float(min_rating),)
        return dict(self.conn.execute(sql + " GROUP BY book_id", args).fetchall())

    def log_event(self, kind: str, *, user_id: int | None = None, session_id: str | None = None,
                  book_id: int | None = None, payload: dict | None = None) -> int:
        with self.transaction() as conn:
            return conn.execute(
                "INSERT INTO events(user_id, session_id, kind, book_id, payload) VALUES (?,?,?,?,?)",
                (user_id, session_id, kind, book_id, json.dumps(payload or {}))).lastrowid

    def events(self, *, session_id: str | None = None, user_id: int | None = None,
               kind: str | None = None) -> list[dict]:
        where, args = [], []
        for col, val in (("session_id", session_id), ("user_id", user_id), ("kind", kind)):
            if val is not None:
                where.append(f"{col}=?")
                args.append(val)
        sql = "SELECT * FROM events" + (" WHERE " + " AND ".join(where) if where else "")
        return [dict(r, payload=json.loads(r["payload"]))
                for r in self.conn.execute(sql + " ORDER BY id", args)]

    # ---- OCR text --------------------------------------------------------------------------
    def ocr_texts(self, engine: str) -> dict[int, tuple[str, str]]:
        """book_id -> (cover_sha256 the text was read from, text)."""
        return {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT book_id, cover_sha256, text FROM ocr_text WHERE engine=?", (engine,))}

    def set_ocr_texts(self, engine: str, rows: Iterable[tuple[int, str, str]]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO ocr_text(book_id, cover_sha256, engine, text) "
                "VALUES (?,?,?,?)", [(b, sha, engine, t) for b, sha, t in rows])

    # ---- summary -------------------------------------------------------------------------
    def stats(self) -> dict:
        q = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
        by_source = {r[0]: r[1] for r in self.conn.execute(
            "SELECT source, COUNT(DISTINCT book_id) FROM book_sources GROUP BY source")}
        return {
            "books": q("SELECT COUNT(*) FROM books"),
            "books_with_description": q(
                "SELECT COUNT(*) FROM books WHERE description IS NOT NULL AND description != ''"),
            "books_with_cover": q("SELECT COUNT(*) FROM books WHERE cover_path IS NOT NULL"),
            "books_with_pages": q("SELECT COUNT(*) FROM books WHERE pages IS NOT NULL"),
            "books_by_source": by_source,
            "users": q("SELECT COUNT(*) FROM users"),
            "users_with_ratings": q("SELECT COUNT(DISTINCT user_id) FROM ratings"),
            "ratings": q("SELECT COUNT(*) FROM ratings"),
            "events": q("SELECT COUNT(*) FROM events"),
            "tags": q("SELECT COUNT(DISTINCT tag) FROM book_tags WHERE kind='tag'"),
            "categories": q("SELECT COUNT(DISTINCT tag) FROM book_tags WHERE kind='category'"),
            "ocr_texts": q("SELECT COUNT(*) FROM ocr_text"),
            "sessions": q("SELECT COUNT(*) FROM sessions"),
            "schema_version": q("PRAGMA user_version"),
        }


def _set_journal_mode(conn: sqlite3.Connection, mode: str) -> None:
    """PRAGMA journal_mode, retried: switching a fresh file to WAL while another process
    does the same fails at once with "database is locked" (no busy wait applies)."""
    import time

    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            conn.execute(f"PRAGMA journal_mode={mode}")
            return
        except sqlite3.OperationalError as e:
            if not is_busy_error(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def _chunks(seq: list, n: int):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]
