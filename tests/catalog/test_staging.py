"""Imports stage into a private copy and merge in one short transaction (issue 15, 3-4):
readers keep writing during an import, the merge equals importing in place, a crash
leaves the catalog as it was, and imports into one home never race."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from coverstory.catalog import Catalog
from coverstory.catalog.importers import run_import
from coverstory.catalog.store import write_wait

HEADER = "id,title,authors,year,isbn13,tags,cover\n"
EXPORT = ("Book Id,Title,Author,ISBN13,My Rating,Number of Pages,Year Published,"
          "Exclusive Shelf\n")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def dump(cat: Catalog) -> dict:
    """The rows an import may touch, by their natural keys (ids may differ)."""
    c = cat.conn
    ext = dict(c.execute("SELECT id, external_id FROM users"))
    key = {r[0]: (r[1], r[2]) for r in c.execute("SELECT id, title, authors FROM books")}
    return {
        "books": sorted(tuple(r[1:]) for r in c.execute(
            "SELECT id, title, norm_key, authors, year, isbn13, language, description, pages "
            "FROM books")),
        "sources": sorted((s, i, key[b]) for s, i, b in c.execute("SELECT * FROM book_sources")),
        "tags": sorted((key[b], k, t) for b, k, t in c.execute("SELECT * FROM book_tags")),
        "users": sorted(ext.values()),
        "ratings": sorted((ext[u], key[b], r, s, sh) for u, b, r, s, sh in c.execute(
            "SELECT user_id, book_id, rating, source, shelf FROM ratings")),
        "events": sorted((ext.get(u), key.get(b), k, p) for u, b, k, p in c.execute(
            "SELECT user_id, book_id, kind, payload FROM events")),
    }


def _files(tmp_path: Path) -> list[tuple[str, Path, dict]]:
    a = write(tmp_path / "a.csv", HEADER + "1,The Hobbit,J.R.R. Tolkien,1937,,fantasy|classic,\n"
              "2,Dune,Frank Herbert,1965,9780441013593,sf,\n3,Emma,Jane Austen,1815,,,\n")
    b = write(tmp_path / "b.jsonl", "\n".join(json.dumps(o) for o in [
        {"id": "x1", "title": "Dune", "authors": ["Frank Herbert"], "pages": 412,
         "description": "Spice.", "tags": ["space"]},
        {"id": "x2", "title": "New One", "authors": ["Some Body"]}]))
    e1 = write(tmp_path / "e1.csv", EXPORT + "10,The Hobbit,J.R.R. Tolkien,,5,310,1937,read\n"
               "11,Emma,Jane Austen,,0,,,to-read\n12,Unknown Book,Ann Other,,3,,,read\n")
    e2 = write(tmp_path / "e2.csv", EXPORT + "10,The Hobbit,J.R.R. Tolkien,,4,310,1937,read\n"
               "11,Emma,Jane Austen,,0,,,currently-reading\n")
    a2 = write(tmp_path / "a2.csv", HEADER + "1,The Hobbit (2nd ed),J.R.R. Tolkien,1951,,maps,\n")
    return [("csv", a, {}), ("jsonl", b, {}), ("goodreads-export", e1, {"user": "alice"}),
            ("goodreads-export", e2, {"user": "alice"}), ("csv", a2, {}),
            ("goodreads-export", e1, {"user": "bob"})]


def test_staged_imports_equal_imports_in_place(tmp_path):
    """Known answer: the same imports run in place (inside the caller's transaction, the
    old way) and staged + merged leave the same rows: adds, updates, merges across
    sources, new users, changed ratings and a replaced shelf event."""
    staged, direct = Catalog.open(tmp_path / "s"), Catalog.open(tmp_path / "d")
    for source, path, opts in _files(tmp_path):
        rep = run_import(staged, source, [path], progress=False, **opts)
        with direct.transaction():
            ref = run_import(direct, source, [path], progress=False, **opts)
        assert (rep.added, rep.updated, rep.merged, rep.ratings) == \
            (ref.added, ref.updated, ref.merged, ref.ratings)
        assert dump(staged) == dump(direct)
    assert dump(staged)["events"] and len(dump(staged)["ratings"]) == 4
    assert not list((tmp_path / "s" / "staging").iterdir())     # the copy is gone


def test_readers_write_while_an_import_works_and_both_are_kept(tmp_path, monkeypatch):
    home = tmp_path / "home"
    cat = Catalog.open(home)
    run_import(cat, "csv", [write(tmp_path / "a.csv", HEADER + "1,Kept,A,,,,\n")], progress=False)
    rows = "".join(f"{i},Book {i},Writer {i},,4,,,read\n" for i in range(20))
    export = write(tmp_path / "e.csv", EXPORT + rows)
    started, real = threading.Event(), Catalog.upsert_book

    def slow(self, *a, **kw):
        started.set()
        time.sleep(0.05)
        return real(self, *a, **kw)

    monkeypatch.setattr(Catalog, "upsert_book", slow)
    result = {}
    t = threading.Thread(target=lambda: result.update(rep=run_import(
        Catalog.open(home), "goodreads-export", [export], progress=False, user="alice")))
    t.start()
    assert started.wait(10)
    reader = Catalog.open(home)
    t0 = time.perf_counter()
    with write_wait(0.3):                       # would raise "database is locked" before
        uid = reader.ensure_user("web:reader")  # likely the id the import gives alice too
        reader.set_rating(uid, 1, 5.0, source="app")
        reader.log_event("like", user_id=uid, book_id=1)
    waited = time.perf_counter() - t0
    assert t.is_alive(), "the import should still be running"
    t.join(30)
    assert result["rep"].added == 20 and result["rep"].ratings == 20
    assert waited < 0.3
    fresh = Catalog.open(home)
    assert fresh.user_ratings(fresh.user_id("web:reader")) == [(1, 5.0)]
    assert [e["kind"] for e in fresh.events(user_id=fresh.user_id("web:reader"))] == ["like"]
    alice = fresh.user_id("goodreads:alice")
    assert alice != fresh.user_id("web:reader") and len(fresh.user_ratings(alice)) == 20
    assert fresh.stats()["books"] == 21


def test_crash_during_staging_or_merge_leaves_the_catalog_and_no_copy(tmp_path, monkeypatch):
    import coverstory.catalog.staging as staging

    cat = Catalog.open(tmp_path / "home")
    run_import(cat, "csv", [write(tmp_path / "a.csv", HEADER + "1,Kept,A,,,,\n")], progress=False)
    before = dump(cat)
    f = write(tmp_path / "b.csv", HEADER + "".join(f"{i},B{i},W,,,,\n" for i in range(2, 30)))
    real = staging._merge

    def crash_late(conn):
        real(conn)                              # every row written, then the crash
        raise KeyboardInterrupt

    monkeypatch.setattr(staging, "_merge", crash_late)
    with pytest.raises(KeyboardInterrupt):
        run_import(cat, "csv", [f], progress=False)
    assert dump(cat) == before and dump(Catalog.open(tmp_path / "home")) == before
    assert not list((tmp_path / "home" / "staging").iterdir())
    monkeypatch.undo()
    assert run_import(cat, "csv", [f], progress=False).added == 28   # nothing left locked


def test_two_imports_into_a_fresh_home_do_not_race(tmp_path):
    home = tmp_path / "fresh"
    files = [write(tmp_path / f"{n}.csv", HEADER + "".join(
        f"{n}{i},{n} book {i},{n} writer,,,,\n" for i in range(50))) for n in ("p", "q")]
    errors, reports = [], []
    barrier = threading.Barrier(2)

    def one(f):
        try:
            barrier.wait()
            reports.append(run_import(Catalog.open(home), "csv", [f], progress=False,
                                      source_name=f.stem))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and sorted(r.added for r in reports) == [50, 50]
    assert Catalog.open(home).stats()["books"] == 100


def test_opening_a_fresh_home_twice_at_once_migrates_once(tmp_path, monkeypatch):
    """Two processes opening a fresh home at the same moment: without one lock around
    reading the schema version and creating the tables, both create them and one fails
    with 'table books already exists' (or 'database is locked' switching to WAL)."""
    import coverstory.catalog.schema as schema

    barrier, real = threading.Barrier(2), schema._split

    def split_together(script):                # both sides reach the CREATEs together...
        try:
            barrier.wait(timeout=1)
        except threading.BrokenBarrierError:    # ...unless one waits for the other's lock
            pass
        return real(script)

    monkeypatch.setattr(schema, "_split", split_together)
    home, errors, start = tmp_path / "fresh", [], threading.Barrier(2)

    def open_home():
        try:
            start.wait()
            Catalog.open(home).close()
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=open_home) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert Catalog.open(home).stats()["schema_version"] == schema.SCHEMA_VERSION


def test_a_second_import_waits_with_a_message(tmp_path):
    from coverstory.catalog.staging import import_lock

    home = tmp_path / "home"
    cat = Catalog.open(home)
    f = write(tmp_path / "a.csv", HEADER + "1,One,A,,,,\n")
    said, done = [], threading.Event()
    with import_lock(home):
        t = threading.Thread(target=lambda: (run_import(Catalog.open(home), "csv", [f],
                                                        progress=False, on_wait=said.append),
                                             done.set()))
        t.start()
        for _ in range(100):
            if said:
                break
            time.sleep(0.05)
        assert said and "another import is running" in said[0] and "waiting" in said[0]
        assert not done.wait(0.3) and cat.stats()["books"] == 0
        with pytest.raises(TimeoutError, match="still running"):
            run_import(cat, "csv", [f], progress=False, lock_timeout=0.2)
    t.join(30)
    assert done.is_set() and cat.stats()["books"] == 1
