"""Imports that hold the catalog's write lock for a moment, not for minutes.

An import (cover checks, hundreds of thousands of ratings) runs against a private copy of
the catalog, ``<home>/staging/import-<pid>-<n>.sqlite``, whose triggers note every row the
import adds, changes or removes. The merge then applies exactly those rows to the catalog
in one transaction, which is all the time the write lock is held. Meanwhile readers keep
writing (chat turns, feedback); the merge keeps their rows. A crash or Ctrl-C before the
merge's COMMIT leaves the catalog as it was; the stale copy is removed by the next import.

Ids: books, users and events the import creates are given fresh ids in the catalog (the
same ones as in the copy unless someone else added rows meanwhile); users are matched by
``external_id``. Only imports write books, so a book the import changed takes the copy's
values. Tables the merge does not know (OCR text, profiles, sessions) cannot be written
during an import: the copy refuses it, loudly.

One import at a time per data home: :func:`import_lock` (a file lock, released by the
operating system if the process dies).
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from coverstory.catalog.store import Catalog

# table -> key columns; rows the merge knows how to carry over
TRACKED: dict[str, tuple[str, ...]] = {
    "books": ("id",),
    "users": ("id",),
    "book_sources": ("source", "source_id"),
    "book_tags": ("book_id", "kind", "tag"),
    "ratings": ("user_id", "book_id"),
    "events": ("id",),
}
NEW_IDS = ("books", "users", "events")          # tables whose new rows get fresh ids
IGNORED_CHANGES = {"books": {"updated_at"}}     # a change of these alone is no change
STAGING_DIR = "staging"
LOCK_NAME = "import.lock"
_counter = itertools.count()


class StagedCatalog(Catalog):
    """A Catalog over a private copy: fast (no WAL, no fsync); thrown away after the merge."""

    journal_mode = "MEMORY"

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = super().conn
            conn.execute("PRAGMA synchronous=OFF")
        return conn


# ---- one import at a time -------------------------------------------------------------------
@contextmanager
def import_lock(home: Path, on_wait: Callable[[str], None] | None = None,
                timeout: float | None = None) -> Iterator[None]:
    """Hold the data home's import lock. When another import holds it, ``on_wait`` is told
    who (once) and this waits for it (at most ``timeout`` seconds, then TimeoutError)."""
    import fcntl

    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            msg = (f"another import is running in {home} ({holder}); waiting for it to finish"
                   + (f" (at most {timeout:.0f} s)" if timeout is not None else ""))
            if on_wait is not None:
                on_wait(msg)
            _wait_for_lock(fd, timeout, holder, home)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%H:%M:%S')}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _wait_for_lock(fd: int, timeout: float | None, holder: str, home: Path) -> None:
    import fcntl

    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"another import is still running in {home} ({holder}) "
                                   f"after {timeout:.0f} s; try again when it has finished"
                                   ) from None
            time.sleep(0.1)


# ---- the staged copy ----------------------------------------------------------------------
@contextmanager
def staged_copy(catalog: Catalog) -> Iterator[StagedCatalog]:
    """A private copy of ``catalog`` that records what is written to it; removed on exit.
    Call :func:`merge` inside the block to carry the changes over."""
    folder = catalog.home / STAGING_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("import-*.sqlite*"):   # left by a killed import (we hold the lock)
        stale.unlink(missing_ok=True)
    path = folder / f"import-{os.getpid()}-{next(_counter)}.sqlite"
    src = sqlite3.connect(catalog.path, timeout=30)
    try:
        dst = sqlite3.connect(path)
        try:
            src.backup(dst)                # a consistent snapshot; readers and writers go on
            _instrument(dst)
        finally:
            dst.close()
    finally:
        src.close()
    staged = StagedCatalog(catalog.home, path=path)
    try:
        yield staged
    finally:
        staged.close()
        for p in folder.glob(path.name + "*"):
            p.unlink(missing_ok=True)


def _columns(conn, table: str, schema: str = "main") -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA {schema}.table_info({table})")]


def _instrument(conn: sqlite3.Connection) -> None:
    """Change-log tables and triggers in the copy, and the id high-water marks."""
    conn.isolation_level = None
    conn.execute("PRAGMA journal_mode=MEMORY")
    conn.execute("BEGIN")
    conn.execute("CREATE TABLE _stage_meta(tbl TEXT PRIMARY KEY, max_id INTEGER NOT NULL)")
    for t in NEW_IDS:
        conn.execute(f"INSERT INTO _stage_meta VALUES (?, (SELECT COALESCE(MAX(id), 0) FROM {t}))",
                     (t,))
    for table, key in TRACKED.items():
        keys = ", ".join(key)
        conn.execute(f"CREATE TABLE _chg_{table} ({keys}, PRIMARY KEY ({keys})) WITHOUT ROWID")
        cols = [c for c in _columns(conn, table) if c not in IGNORED_CHANGES.get(table, ())]
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in cols)
        moved = " OR ".join(f"OLD.{k} IS NOT NEW.{k}" for k in key)

        def log(row: str, table=table, key=key) -> str:
            # not "INSERT OR IGNORE": an UPSERT's own conflict policy would override it
            vals = ", ".join(f"{row}.{k}" for k in key)
            seen = " AND ".join(f"{k} = {row}.{k}" for k in key)
            return (f"INSERT INTO _chg_{table} SELECT {vals} "
                    f"WHERE NOT EXISTS (SELECT 1 FROM _chg_{table} WHERE {seen});")

        conn.execute(f"CREATE TRIGGER _stg_{table}_ins AFTER INSERT ON {table} "
                     f"BEGIN {log('NEW')} END")
        conn.execute(f"CREATE TRIGGER _stg_{table}_upd AFTER UPDATE ON {table} WHEN {changed} "
                     f"BEGIN {log('NEW')} END")
        conn.execute(f"CREATE TRIGGER _stg_{table}_mov AFTER UPDATE ON {table} WHEN {moved} "
                     f"BEGIN {log('OLD')} END")
        conn.execute(f"CREATE TRIGGER _stg_{table}_del AFTER DELETE ON {table} "
                     f"BEGIN {log('OLD')} END")
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE '\\_%' ESCAPE '\\' "
        "AND name NOT LIKE 'sqlite%'")]
    for table in tables:
        if table in TRACKED:
            continue
        for op in ("INSERT", "UPDATE", "DELETE"):
            conn.execute(f"CREATE TRIGGER _stg_{table}_{op.lower()} BEFORE {op} ON {table} "
                         f"BEGIN SELECT RAISE(ABORT, 'an import may not write table {table} "
                         f"(the merge into the catalog does not carry it)'); END")
    conn.execute("COMMIT")


# ---- the merge ----------------------------------------------------------------------------
def merge(staged: StagedCatalog, catalog: Catalog) -> dict[str, int]:
    """Apply the rows the import changed in ``staged`` to ``catalog``, in one transaction.
    Returns the number of changed rows per table."""
    conn = catalog.conn
    if conn.in_transaction:
        raise RuntimeError("merge() must not run inside an open catalog transaction")
    staged.close()
    conn.execute("ATTACH DATABASE ? AS stg", (str(staged.path),))
    try:
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM stg._chg_{t}").fetchone()[0]
                  for t in TRACKED}
        if not any(counts.values()):
            return counts
        with catalog.transaction():
            _merge(conn)
        return counts
    finally:
        conn.execute("DETACH DATABASE stg")


def _merge(conn: sqlite3.Connection) -> None:
    mx = dict(conn.execute("SELECT tbl, max_id FROM stg._stage_meta").fetchall())
    now = {t: conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM main.{t}").fetchone()[0]
           for t in NEW_IDS}
    # new ids are shifted past whatever the catalog gained since the copy was taken
    off = {t: max(0, now[t] - mx[t]) for t in NEW_IDS}

    def bmap(x: str) -> str:
        return f"(CASE WHEN {x} > {mx['books']} THEN {x} + {off['books']} ELSE {x} END)"

    def umap(x: str) -> str:
        return (f"(CASE WHEN {x} > {mx['users']} THEN COALESCE((SELECT mid FROM temp._stg_umap "
                f"WHERE sid = {x}), {x} + {off['users']}) ELSE {x} END)")

    def present(t: str, alias: str = "s") -> str:   # changed rows the copy still holds
        on = " AND ".join(f"{alias}.{k} = c.{k}" for k in TRACKED[t])
        return f"stg.{t} {alias} JOIN stg._chg_{t} c ON {on}"

    def gone(t: str) -> str:                        # changed keys the copy no longer holds
        on = " AND ".join(f"s.{k} = c.{k}" for k in TRACKED[t])
        return f"stg._chg_{t} c WHERE NOT EXISTS (SELECT 1 FROM stg.{t} s WHERE {on})"

    # books: removed, changed, new (with their ids shifted if the catalog gained books)
    bcols = [c for c in _columns(conn, "books", "stg") if c != "id"]
    conn.execute(f"DELETE FROM main.books WHERE id IN (SELECT c.id FROM {gone('books')} "
                 f"AND c.id <= {mx['books']})")
    sets = ", ".join(f"{c} = s.{c}" for c in bcols)
    conn.execute(f"UPDATE main.books SET {sets} FROM (SELECT s.* FROM {present('books')} "
                 f"WHERE s.id <= {mx['books']}) AS s WHERE main.books.id = s.id")
    cols = ", ".join(bcols)
    conn.execute(f"INSERT INTO main.books (id, {cols}) SELECT {bmap('s.id')}, "
                 f"{', '.join('s.' + c for c in bcols)} FROM {present('books')} "
                 f"WHERE s.id > {mx['books']} ORDER BY s.id")

    # users: new ones matched by external_id (one may exist by now), else added
    ucols = [c for c in _columns(conn, "users", "stg") if c != "id"]
    conn.execute(f"DELETE FROM main.users WHERE id IN (SELECT c.id FROM {gone('users')} "
                 f"AND c.id <= {mx['users']})")
    sets = ", ".join(f"{c} = s.{c}" for c in ucols if c != "external_id")
    if sets:
        conn.execute(f"UPDATE main.users SET {sets} FROM (SELECT s.* FROM {present('users')} "
                     f"WHERE s.id <= {mx['users']}) AS s WHERE main.users.id = s.id")
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS _stg_umap (sid INTEGER PRIMARY KEY, mid INTEGER)")
    conn.execute("DELETE FROM temp._stg_umap")
    conn.execute(f"INSERT INTO main.users (id, {', '.join(ucols)}) SELECT s.id + {off['users']}, "
                 f"{', '.join('s.' + c for c in ucols)} FROM {present('users')} "
                 f"WHERE s.id > {mx['users']} ORDER BY s.id "
                 f"ON CONFLICT (external_id) DO NOTHING")
    conn.execute(f"INSERT INTO temp._stg_umap SELECT s.id, m.id FROM {present('users')} "
                 f"JOIN main.users m ON m.external_id = s.external_id WHERE s.id > {mx['users']}")

    # book_sources, book_tags
    conn.execute(f"DELETE FROM main.book_sources WHERE (source, source_id) IN "
                 f"(SELECT c.source, c.source_id FROM {gone('book_sources')})")
    conn.execute(f"INSERT INTO main.book_sources (source, source_id, book_id) "
                 f"SELECT s.source, s.source_id, {bmap('s.book_id')} "
                 f"FROM {present('book_sources')} WHERE true "
                 f"ON CONFLICT (source, source_id) DO UPDATE SET book_id = excluded.book_id")
    conn.execute(f"DELETE FROM main.book_tags WHERE (book_id, kind, tag) IN "
                 f"(SELECT {bmap('c.book_id')}, c.kind, c.tag FROM {gone('book_tags')})")
    conn.execute(f"INSERT OR IGNORE INTO main.book_tags (book_id, kind, tag) "
                 f"SELECT {bmap('s.book_id')}, s.kind, s.tag FROM {present('book_tags')} "
                 f"ORDER BY s.rowid")

    # ratings: the import's value wins over one a reader set meanwhile
    rcols = [c for c in _columns(conn, "ratings", "stg") if c not in ("user_id", "book_id")]
    conn.execute(f"DELETE FROM main.ratings WHERE (user_id, book_id) IN "
                 f"(SELECT {umap('c.user_id')}, {bmap('c.book_id')} FROM {gone('ratings')})")
    conn.execute(f"INSERT INTO main.ratings (user_id, book_id, {', '.join(rcols)}) "
                 f"SELECT {umap('s.user_id')}, {bmap('s.book_id')}, "
                 f"{', '.join('s.' + c for c in rcols)} FROM {present('ratings')} WHERE true "
                 f"ON CONFLICT (user_id, book_id) DO UPDATE SET "
                 + ", ".join(f"{c} = excluded.{c}" for c in rcols))

    # events: removed and changed ones by id; new ones appended with fresh ids
    ecols = [c for c in _columns(conn, "events", "stg") if c != "id"]
    conn.execute(f"DELETE FROM main.events WHERE id IN (SELECT c.id FROM {gone('events')} "
                 f"AND c.id <= {mx['events']})")

    def emap(c: str) -> str:
        return umap("s.user_id") if c == "user_id" else bmap("s.book_id") if c == "book_id" \
            else f"s.{c}"

    sets = ", ".join(f"{c} = {emap(c)}" for c in ecols)
    conn.execute(f"UPDATE main.events SET {sets} FROM (SELECT s.* FROM {present('events')} "
                 f"WHERE s.id <= {mx['events']}) AS s WHERE main.events.id = s.id")
    conn.execute(f"INSERT INTO main.events ({', '.join(ecols)}) "
                 f"SELECT {', '.join(emap(c) for c in ecols)} FROM {present('events')} "
                 f"WHERE s.id > {mx['events']} ORDER BY s.id")
    conn.execute("DROP TABLE temp._stg_umap")
