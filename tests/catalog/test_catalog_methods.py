"""The Catalog methods that replace SQL outside catalog/ (books, sessions, profiles), and
the indexed lookups behind Catalog.book."""

from __future__ import annotations

import numpy as np
import pytest

from coverstory.catalog import Catalog


@pytest.fixture
def cat(tiny_home):
    c = Catalog.open(tiny_home)
    yield c
    c.close()


def test_book_counts_and_existence(cat):
    ids = cat.book_ids()
    assert cat.count_books() == len(ids) == 6
    assert cat.has_book(ids[0]) and not cat.has_book(max(ids) + 1)
    uid = cat.ensure_user("test:1")
    assert cat.has_user(uid) and not cat.has_user(uid + 1000)


def test_source_ids_cover_and_fields(cat):
    book = cat.books()[0]
    source, sid = book.sources[0].split(":", 1)
    assert cat.source_ids(source)[sid] == book.id
    assert cat.source_ids("no-such-source") == {}
    assert cat.cover(book.id) == (book.cover_path, book.cover_sha256)
    assert cat.cover(10_000) is None
    rows = cat.book_fields([book.id, 10_000], ["title", "year"])
    assert list(rows) == [book.id] and rows[book.id]["title"] == book.title
    with pytest.raises(ValueError, match="unknown book columns"):
        cat.book_fields([book.id], ["title; DROP TABLE books"])


def test_source_counts_described_books_and_title_search(cat):
    books = cat.books()
    assert cat.count_source_books("tiny") == len(books)
    assert cat.count_source_books("no-such-source") == 0
    long_ones = [b.id for b in books if len(b.description or "") >= 70]
    assert 0 < len(long_ones) < len(books), "the tiny descriptions should straddle 70 chars"
    assert cat.described_books("tiny", 70) == long_ones
    assert cat.described_books("other", 0) == []
    # a second source's record of the same book counts once per source
    cat.upsert_book("other", "x", {"title": books[0].title, "authors": books[0].authors})
    assert cat.count_source_books("other") == 1 and cat.count_books() == len(books)
    with cat.transaction() as conn:
        conn.execute("UPDATE books SET ratings_count=? WHERE id=?", (5, books[0].id))
        conn.execute("UPDATE books SET ratings_count=? WHERE id=?", (50, books[1].id))
    word = books[0].title.split()[-1]
    got = cat.titles_containing(word.upper())          # LIKE: case does not matter
    assert (books[0].id, books[0].title) in got
    assert all(word.lower() in t.lower() for _, t in got)
    ranked = cat.titles_containing("")                  # every book, most rated first
    assert [i for i, _ in ranked[:2]] == [books[1].id, books[0].id]


def test_session_events_after(cat):
    uid = cat.ensure_user("session:s1")
    other = cat.ensure_user("someone")
    book = cat.book_ids()[0]
    assert cat.last_event_id() == 0
    cat.log_event("like", session_id="s1", book_id=book)
    last = cat.last_event_id()
    assert last > 0
    cat.log_event("read", user_id=uid, book_id=book)              # the reader, no session
    cat.log_event("dislike", session_id="s1", book_id=book + 1)
    cat.log_event("turn", session_id="s1")                          # not a kind asked for
    cat.log_event("like", user_id=other, session_id="s2", book_id=book)   # someone else
    kinds = ("like", "dislike", "read")
    assert cat.session_events_after(last, kinds, "s1", uid) == [("read", book),
                                                                ("dislike", book + 1)]
    assert cat.session_events_after(0, kinds, "s1", None) == [("like", book),
                                                              ("dislike", book + 1)]
    assert cat.last_event_id() == last + 4


def test_tag_frequencies_match_the_books(cat):
    books = cat.books()
    df, n = cat.tag_frequencies("tag")
    assert n == sum(1 for b in books if b.tags)
    for tag, count in df.items():
        assert count == sum(1 for b in books if tag in b.tags)


def test_books_stamp_changes_with_the_books(cat):
    before = cat.books_stamp()
    b = cat.books()[0]
    src, sid = b.sources[0].split(":", 1)
    cat.upsert_book(src, sid + "-new", {"title": "A New Book", "authors": ["Someone"]})
    assert cat.books_stamp() != before and cat.books_stamp()[0] == before[0] + 1


def test_sessions_round_trip_and_feedback_counts(cat):
    uid = cat.ensure_user("session:abc")
    assert cat.session("abc") is None
    cat.create_session("abc", uid, "default", '{"turns": 0}')
    cat.create_session("abc", uid, "other", '{"turns": 9}')        # exists: unchanged
    row = cat.session("abc")
    assert (row["user_id"], row["policy"], row["state"]) == (uid, "default", '{"turns": 0}')
    cat.save_session("abc", '{"turns": 2}', uid, "popular")
    assert tuple(cat.session("abc")) == (uid, "popular", '{"turns": 2}')
    assert cat.sessions() == [("abc", "popular", '{"turns": 2}')]
    assert cat.sessions(since="2999-01-01") == []
    book = cat.book_ids()[0]
    cat.log_event("like", user_id=uid, session_id="abc", book_id=book)
    cat.log_event("like", user_id=uid, session_id="abc", book_id=book)
    cat.log_event("turn", user_id=uid, session_id="abc")
    assert cat.feedback_counts_by_session() == [("abc", "like", 2)]


def test_profiles_round_trip(cat):
    uid = cat.ensure_user("test:p")
    assert cat.profile(uid, "als") is None
    v = np.arange(4, dtype="<f4")
    cat.save_profile(uid, "als", v.tobytes(), {"stamp": 1})
    cat.save_profile(uid, "als", (v + 1).tobytes(), {"stamp": 2})     # replaces
    blob, meta = cat.profile(uid, "als")
    assert np.array_equal(np.frombuffer(blob, "<f4"), v + 1) and meta == {"stamp": 2}


def test_book_lookups_use_indexes_not_scans(cat):
    """Catalog.book reads books, tags and sources by id: each through an index."""
    for sql in ("SELECT * FROM books WHERE id IN (?)",
                "SELECT book_id, kind, tag FROM book_tags WHERE book_id IN (?) ORDER BY rowid",
                "SELECT book_id, source, source_id FROM book_sources WHERE book_id IN (?)"):
        plan = " ".join(r[-1] for r in cat.conn.execute("EXPLAIN QUERY PLAN " + sql, (1,)))
        assert "SEARCH" in plan and "SCAN" not in plan, (sql, plan)


def test_event_lookups_for_durability_checks(cat):
    uid = cat.ensure_user("session:s1")
    book = cat.book_ids()[0]
    cat.log_event("turn", user_id=uid, session_id="s1")
    cat.log_event("turn", user_id=uid, session_id="s1")
    cat.log_event("like", user_id=uid, session_id="s1", book_id=book)
    assert cat.turn_counts_by_session() == {"s1": 2}
    assert (uid, book, "like") in cat.event_keys()
    assert (uid, book, "read") not in cat.event_keys()


def test_catalog_copies(cat, tmp_path):
    from coverstory.catalog.copies import books_by_ratings, copy_catalog, keep_books, \
        peek_counts

    ids = cat.book_ids()
    counts = cat.rating_counts()
    assert books_by_ratings(cat.home) == sorted(counts, key=lambda b: (-counts[b], b))
    assert peek_counts(cat.home)["books"] == len(ids)
    assert peek_counts(tmp_path / "none") == {"books": 0, "covers": 0}
    copy = tmp_path / "copy"
    copy.mkdir()
    copy_catalog(cat.home, copy)
    assert peek_counts(copy) == peek_counts(cat.home)
    kept = books_by_ratings(cat.home)[0]
    got = keep_books(copy, [kept])
    small = Catalog.open(copy)
    try:
        raters = {int(u) for u in small.ratings_arrays()[0]}
        assert got == {"books": 1, "ratings": counts[kept], "users": len(raters)}
        assert small.book_ids() == [kept]
    finally:
        small.close()
    assert cat.count_books() == len(ids)                          # the original is untouched
