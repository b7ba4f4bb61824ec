"""The catalog schema, versioned: each migration runs once, in order, under one write lock.

Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _refold_norm_keys(conn: sqlite3.Connection) -> None:
    """3: recompute books.norm_key after fold() learned letters with no decomposition (ø, æ,
    ł, ß, ...), so a re-import of "Jo Nesbø" still finds the record stored as "...|nesb"."""
    import json

    from coverstory.catalog.normalize import norm_key

    rows = conn.execute("SELECT id, title, authors FROM books").fetchall()
    changed = []
    for book_id, title, authors in rows:
        if (title + authors).isascii():
            continue
        try:
            names = json.loads(authors or "[]")
        except ValueError:
            names = []
        changed.append((norm_key(title, names if isinstance(names, list) else []), book_id))
    conn.executemany("UPDATE books SET norm_key=? WHERE id=?", changed)


MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [
    # 1: books, sources, tags, users, ratings, events
    """
    CREATE TABLE books (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        norm_key TEXT NOT NULL,            -- normalised title + first author surname
        authors TEXT NOT NULL DEFAULT '[]', -- JSON list
        year INTEGER,
        isbn13 TEXT UNIQUE,
        language TEXT,
        description TEXT,
        cover_path TEXT,
        cover_sha256 TEXT,
        average_rating REAL,
        ratings_count INTEGER,
        pages INTEGER,
        updated_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    CREATE INDEX books_norm_key ON books(norm_key);
    CREATE TABLE book_sources (
        source TEXT NOT NULL,
        source_id TEXT NOT NULL,
        book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
        PRIMARY KEY (source, source_id)
    );
    CREATE INDEX book_sources_book ON book_sources(book_id);
    CREATE TABLE book_tags (
        book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,                -- 'tag' (reader shelves) or 'category' (shop)
        tag TEXT NOT NULL,
        PRIMARY KEY (book_id, kind, tag)
    );
    CREATE INDEX book_tags_tag ON book_tags(tag);
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        external_id TEXT UNIQUE NOT NULL,  -- e.g. 'goodbooks:58', 'web:<cookie>', 'goodreads:alice'
        name TEXT,
        created_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    CREATE TABLE ratings (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
        rating REAL NOT NULL,
        source TEXT NOT NULL,
        shelf TEXT,
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (user_id, book_id)
    );
    CREATE INDEX ratings_book ON ratings(book_id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
        user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        session_id TEXT,
        kind TEXT NOT NULL,                -- 'like', 'dislike', 'read', 'shown', 'accept', 'turn', ...
        book_id INTEGER REFERENCES books(id) ON DELETE SET NULL,
        payload TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_session ON events(session_id);
    CREATE INDEX events_user ON events(user_id);
    """,
    # 2: per-book OCR text, reader profiles, chat sessions
    """
    CREATE TABLE ocr_text (
        book_id INTEGER NOT NULL REFERENCES books(id) ON DELETE CASCADE,
        cover_sha256 TEXT NOT NULL,
        engine TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (book_id, engine)
    );
    CREATE TABLE profiles (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        model TEXT NOT NULL,               -- which recommender the vector belongs to
        vector BLOB NOT NULL,              -- float32 little-endian
        meta TEXT NOT NULL DEFAULT '{}',
        updated_at TEXT NOT NULL DEFAULT (datetime('now')),
        PRIMARY KEY (user_id, model)
    );
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
        policy TEXT NOT NULL DEFAULT 'default',
        state TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL DEFAULT (datetime('now')),
        updated_at TEXT NOT NULL DEFAULT (datetime('now'))
    );
    """,
    _refold_norm_keys,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version it was at.

    The version is read and every pending migration applied under one write lock (BEGIN
    IMMEDIATE), so two processes opening a fresh home at once never both create the tables:
    the second waits for the first, then finds nothing left to do.
    """
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    _check(version)
    if version == SCHEMA_VERSION:
        return version
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()   # again, under the lock
        _check(version)
        for i in range(version, SCHEMA_VERSION):
            step = MIGRATIONS[i]
            if callable(step):
                step(conn)
            else:
                for stmt in _split(step):
                    conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {i + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return version


def _check(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise RuntimeError(
            f"catalog schema version {version} is newer than this coverstory ({SCHEMA_VERSION}); "
            "upgrade coverstory"
        )


def _split(script: str) -> list[str]:
    out, buf = [], []
    for line in script.splitlines():
        line = line.split("--", 1)[0].rstrip()
        if not line:
            continue
        buf.append(line)
        if line.endswith(";"):
            out.append("\n".join(buf))
            buf = []
    if buf:
        out.append("\n".join(buf))
    return out
