"""Editions of one work take one place in the text search (search.editions): fast, no models."""

from __future__ import annotations

import pytest

from coverstory.catalog.models import Book
from coverstory.search.editions import Editions, author_keys, work_title
from coverstory.search.text import TextSearch

GB, SHOP = ["goodbooks:1"], ["bookdepository:1"]

BOOKS = [
    # one work, three records: the goodbooks one is the most rated
    Book(1, "Wild: From Lost to Found on the Pacific Crest Trail", ["Cheryl Strayed"],
         description="A woman walks a thousand miles alone after her mother's death.",
         tags=["memoir"], sources=GB, ratings_count=380000),
    Book(2, "Wild", ["Cheryl Strayed"], categories=["Travel"], sources=SHOP),
    Book(3, "Wild", ["Strayed", "Cheryl"], sources=["googlebooks:gb1"]),
    # the same title by someone else: another work
    Book(4, "Wild", ["Jay Griffiths"], description="Essays on wildness across the world.",
         sources=SHOP),
    # a number spelt out in one record, in digits in the other
    Book(5, "1984", ["George Orwell"], description="Big Brother is watching you.",
         sources=GB, ratings_count=1900000),
    Book(6, "Nineteen Eighty-Four (Penguin Modern Classics)", ["George Orwell"],
         sources=SHOP),
    # two goodbooks records are two works, whatever their titles
    Book(7, "The Firm (Penguin Readers, Level 5)", ["John Grisham"], isbn13="9780582418271",
         sources=["goodbooks:123"], ratings_count=488000),
    Book(8, "The Firm", ["John Grisham"], sources=["goodbooks:7868"], ratings_count=7000),
    # different subtitles: not grouped by the short title; a volume is its own work
    Book(9, "Batman: Year One", ["Frank Miller"], sources=SHOP),
    Book(10, "Batman: The Dark Knight Returns", ["Frank Miller"], sources=SHOP),
    Book(11, "Anatomy Workout: v. 2", ["Fred Delavier"], sources=SHOP),
    Book(12, "Anatomy Workout", ["Fred Delavier"], sources=SHOP),
    # a subtitle only one record has: the reader who types it means that record
    Book(15, "Visible Learning", ["John Hattie"], sources=GB, ratings_count=900),
    Book(16, "Visible Learning: Feedback", ["John Hattie"], sources=SHOP),
    # one shop, two paperbacks, neither rated: the matched record is shown
    Book(13, "The Quiet Garden", ["Ann Moss"], sources=SHOP),
    Book(14, "Quiet Garden", ["A. Moss"], sources=["bookdepository:2"]),
]


def test_work_title_folds_case_punctuation_subtitles_articles_and_numbers():
    assert work_title("Nineteen Eighty-Four") == work_title("1984") == "1984"
    assert work_title("The Hunger Games (The Hunger Games, #1)") == "hunger games"
    assert work_title("Wild: From Lost to Found") == work_title("WILD") == "wild"
    assert work_title("Catch-22") == work_title("Catch Twenty-Two") == "catch 22"
    assert work_title("Anatomy Workout: v. 2") != work_title("Anatomy Workout")
    assert author_keys(["Cheryl Strayed"]) == author_keys(["Strayed", "Cheryl"]) - {"cheryl"}
    assert author_keys(["J. R. R. Tolkien"]) == {"tolkien"}


@pytest.fixture(scope="module")
def ed():
    return Editions(BOOKS)


def test_editions_group_one_work_and_nothing_else(ed):
    row = {b.id: i for i, b in enumerate(BOOKS)}

    def same(a, b):
        return ed.group[row[a]] == ed.group[row[b]]

    assert same(1, 2) and same(1, 3)
    assert not same(1, 4)                      # same title, another author
    assert same(5, 6)                          # "1984" <-> "nineteen eighty-four"
    assert not same(7, 8)                      # two goodbooks works stay two
    assert not same(9, 10) and not same(11, 12)
    assert same(13, 14)
    assert same(15, 16)
    assert len(ed) == 4


def test_the_most_rated_record_represents_its_work(ed):
    row = {b.id: i for i, b in enumerate(BOOKS)}
    assert ed.representative(row[2]) == ed.representative(row[3]) == row[1]
    assert ed.representative(row[6]) == row[5]              # "1984"
    assert ed.members(row[3]) == [row[1], row[2], row[3]]
    # no ratings on either record: the record that matched is shown
    assert ed.representative(row[13]) == row[13] and ed.representative(row[14]) == row[14]


@pytest.fixture(scope="module")
def ts():
    return TextSearch(BOOKS)


def ids(hits):
    return [h.book_id for h in hits]


def test_search_shows_one_record_per_work(ts):
    hits = ts.search("wild", k=10)
    got = ids(hits)
    assert got[0] == 1                         # the shop's "Wild" matched; goodbooks' shown
    assert 2 not in got and 3 not in got
    assert 4 in got                            # Jay Griffiths' "Wild" is another work
    assert sorted(hits[0].details["editions"]) == [2, 3]
    assert "exactly the title you typed" in hits[0].reason


def test_spoken_numbers_find_the_work_under_its_digits(ts):
    for q in ("nineteen eighty four", "Nineteen Eighty-Four", "1984"):
        hits = ts.search(q, k=3)
        assert hits[0].book_id == 5, q
        assert 6 not in ids(hits)
    assert ts.search("nineteen eighty four", k=1)[0].details["editions"] == [6]
    # the shop's record is the title typed: the place shows the work's goodbooks record
    hit = ts.search("Nineteen Eighty-Four (Penguin Modern Classics)", k=1)[0]
    assert hit.book_id == 5 and hit.details["matched"] == 6
    assert "exactly the title you typed" in hit.reason and "another edition" in hit.reason


def test_an_isbn_keeps_its_own_record_and_goodbooks_works_stay_apart(ts):
    assert ids(ts.search("isbn 978-0-582-41827-1", k=1)) == [7]
    got = ids(ts.search("the firm john grisham", k=5))
    assert {7, 8} <= set(got)


def test_a_typed_subtitle_names_its_own_record(ts):
    assert ids(ts.search("visible learning", k=1)) == [15]
    hit = ts.search("visible learning: feedback", k=1)[0]
    assert hit.book_id == 16 and hit.details["editions"] == [15]


def test_excluding_one_record_excludes_its_work(ts):
    got = ids(ts.search("wild", k=10, exclude=[3]))
    assert not {1, 2, 3} & set(got) and 4 in got


def test_rank_without_collapse_keeps_every_record(ts):
    # rows 0-3: the three records of Cheryl Strayed's "Wild" and Jay Griffiths' "Wild"
    rk = ts.rank("wild", collapse=False)
    assert {0, 1, 2, 3} <= set(rk.rows.tolist())
    rk = ts.rank("wild")
    rows = rk.rows.tolist()
    assert rows.count(0) == 1 and 1 not in rows and 2 not in rows and 3 in rows
    assert len(rk.matched) == len(rk.rows) == len(rk.editions)


def test_like_results_show_one_record_per_work_and_not_the_book_itself(ts, tmp_path):
    from coverstory.results import Hit
    from coverstory.search.service import SearchService

    svc = SearchService(tmp_path, log=lambda m: None)
    svc._text = ts                              # the like route's neighbours, collapsed
    similar = [Hit(6, 0.9), Hit(2, 0.8), Hit(3, 0.7), Hit(4, 0.6), Hit(13, 0.5)]
    got = svc._one_per_work(similar, exclude=[14], also=[5])
    assert [h.book_id for h in got] == [1, 4]  # 1984's own work out; 13's excluded via 14
    assert got[0].details == {"matched": 2, "editions": [2, 3]}
