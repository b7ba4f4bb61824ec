"""A series step said in passing inside a longer message (turns/series_cue.py), and the turns
around it: an author's books in order, a number the catalog lacks, "the one where ..."."""

import pytest

from coverstory.dialogue.series_said import series_cue


@pytest.mark.parametrize("text,cue", [
    ("the discworld ones with moist von lipwig the conman, first please", ("first", None, "")),
    ("juliette's books, shatter me. after unravel me?", ("next", None, "unravel me")),
    ("and before son of neptune", ("previous", None, "son of neptune")),
    ("Not the main Ender books, the Bean ones. What's the second of those?", ("number", 2, "")),
    ("outlander book 5.. no wait book 6", ("number", 6, "")),
    ("oh, which, um, which one's the first marple", ("first", None, "marple")),
    ("the first knuffle bunny", ("first", None, "knuffle")),
    ("finished the hero of ages, crying. is there more mistborn", ("next", None, "")),
    ("a book about the first world war", None),
    ("Good morning. I have never used one of these before.", None),
    ("something to read after work", None),
])
def test_series_cue(text, cue):
    assert series_cue(text) == cue


@pytest.fixture
def engine(engine_over):
    books = [(f"w{n}", {"title": f"{title} (Wetworld, #{n}{sub})", "authors": ["Kay Marsh"],
                        "year": 1980 + n, "description": f"A river town, part {n}."
                        + (" The heron witch Ottilie guards the reeds." if sub else "")})
             for n, (title, sub) in enumerate((("Ash", ""), ("Brook", "; Reeds, #1"), ("Cinder", ""),
                                               ("Dune Sea", "; Reeds, #2"), ("Ember", "")), 1)]
    books += [(f"v{n}", {"title": f"{title} (Vault, #{n})", "authors": ["Lou Penn"],
                         "year": 2001 + n}) for n, title in enumerate(("Glass Key", "Iron Gate"), 1)]
    books += [(f"o{n}", {"title": title, "authors": ["Ruth Alder"], "year": year})
              for n, (title, year) in enumerate((("Late Frost", 2010), ("First Snow", 1971),
                                                 ("Mid Thaw", 1990)), 1)]
    return engine_over(books)


def test_a_sub_series_named_beside_its_main_series(engine):
    r = engine.turn("a", text="wetworld — i only want the reeds ones. which do i start with")
    assert r.intent == "series" and r.books[0]["title"].startswith("Brook")


def test_a_book_named_in_passing_counts_the_step(engine):
    for sid, text in (("b", "the kay marsh books with the heron witch. after brook which one"),
                      ("b2", "my nephew loves that river series, after brook which one"),
                      ("b3", "kay marsh books, dune sea. after brook?")):
        r = engine.turn(sid, text=text)
        assert r.intent == "series" and r.books[0]["title"].startswith("Cinder"), text
    r = engine.turn("b", text="and the one where the heron witch guards the reeds")
    assert r.intent == "series" and r.books[0]["title"].startswith(("Brook", "Dune Sea"))


def test_a_number_the_catalog_lacks_is_said(engine):
    engine.turn("c", text="vault in order")
    r = engine.turn("c", text="is there a third one yet")
    assert r.intent == "series" and "no book 3" in r.text
    assert [b["title"] for b in r.books][:2] == ["Glass Key (Vault, #1)", "Iron Gate (Vault, #2)"]


def test_an_author_in_order_lists_their_books_by_year(engine):
    r = engine.turn("d", text="I'd like to read Ruth Alder in order. What have you got by her?")
    assert r.intent == "series"
    assert [b["title"] for b in r.books] == ["First Snow", "Mid Thaw", "Late Frost"]


def test_a_shown_first_one_stays_feedback(engine):
    engine.turn("e", text="books by ruth alder")
    r = engine.turn("e", text="I've already read the first one")
    assert r.intent == "feedback"


def test_the_one_named_by_a_word_after_a_series_answer(engine):
    engine.turn("f", text="wetworld in order")
    r = engine.turn("f", text="and then the heron one")
    assert r.intent == "series" and r.books[0]["title"].startswith(("Brook", "Dune Sea"))


def test_who_a_series_question_is_for_is_kept(engine):
    engine.turn("g", text="my ten year old finished brook, which one does he read next")
    assert engine.store.load("g").audience == "children"


def test_the_book_after_which_is_not_refused_for_being_a_title(engine):
    """'after unravel me?': Unravel Me is the place to count from; only a title that holds the
    cue word itself ("not Me Before You") is no step."""
    row = engine._cue_book("brook", "kay marsh books, dune sea. after brook?", "after")
    assert row is not None and engine.index.titles[row].startswith("Brook")


def test_something_else_after_a_series_answer_is_like_the_series(engine):
    engine.turn("h", text="wetworld in order")
    r = engine.turn("h", text="and something not by kay marsh")
    st = engine.store.load("h")
    assert st.anchors and engine.index.titles[engine.index.row[st.anchors[0]]].startswith("Ash")
    assert all("Kay Marsh" not in b["authors"] for b in r.books)


def test_read_the_whole_series_marks_the_books_read(engine):
    engine.turn("i", text="wetworld in order")
    shown = list(engine.store.load("i").last_books)
    engine.turn("i", text="ive read the whole series already, what did she write after")
    assert set(shown) <= set(engine.store.load("i").read)


def test_book_number_four_after_a_series_answer():
    from coverstory.dialogue import acts

    a = acts.classify("and book number four?")
    assert (a.kind, a.sub, a.number, a.query) == ("series", "number", 4, "")


def test_the_same_author_as_a_series_finished(engine_over):
    eng = engine_over([(f"w{n}", {"title": f"{t} (Wetworld, #{n})", "authors": ["Kay Marsh"],
                                  "year": 1980 + n, "description": "A river town."})
                       for n, t in enumerate(("Ash", "Brook", "Cinder"), 1)] +
                      [("o1", {"title": "Salt Road", "authors": ["Kay Marsh"], "year": 1999,
                               "description": "A road."})])
    r = eng.turn("s", text="my son finished all the wetworld books, what else by the same author?")
    assert r.books and all(b["authors"] == ["Kay Marsh"] and "Wetworld" not in b["title"]
                           for b in r.books)


def test_that_author_of_a_book_loved_in_passing(engine_over):
    eng = engine_over([("k1", {"title": "The Very Quiet Heron", "authors": ["Kay Marsh"], "year": 1990}),
                       ("k2", {"title": "Salt Road", "authors": ["Kay Marsh"], "year": 1991}),
                       ("l1", {"title": "Tin Roof", "authors": ["Lou Penn"], "year": 1992})])
    eng.turn("h", text="books by lou penn")
    r = eng.turn("h", text="lovely. she also adores the quiet heron, anything else by that author?")
    assert [b["title"] for b in r.books] == ["Salt Road"]
