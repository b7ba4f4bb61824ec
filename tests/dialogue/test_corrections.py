"""Corrections inside one message, authors left out in other words, who an author is."""

import pytest


@pytest.fixture
def engine(engine_over):
    return engine_over([(f"c{n}", {"title": title, "authors": [author] + (
        ["Ann Vale"] if author == "Lou Penn" else []), "year": 1990 + n,
        "description": "A quiet village novel."}) for n, (title, author) in enumerate(
            (("Salt Road", "Kay Marsh"), ("Tin Roof", "Kay Marsh"), ("Owl Hill", "Lou Penn"),
             ("Red Moor", "Lou Penn")), 1)])


def test_actually_just_one_of_the_authors_named(engine):
    r = engine.turn("a", text="Could you list some novels by Kay Marsh and Lou Penn? no wait, just Marsh.")
    assert r.books and {a for b in r.books for a in b["authors"]} == {"Kay Marsh"}


@pytest.mark.parametrize("text", ["more village novels by other people", "any others, not hers",
                                  "something similar by someone else"])
def test_other_people_leave_the_author_out(engine, text):
    engine.turn(text, text="books by kay marsh")
    r = engine.turn(text, text=text)
    assert r.books and all("Kay Marsh" not in b["authors"] for b in r.books)


@pytest.mark.parametrize("text", ["never read manga, where should a total beginner start",
                                  "poetry for someone who never reads poetry"])
def test_a_newcomer_asks_for_the_kind_they_never_read(engine, text):
    p = engine.nlu.parse(text)
    assert p.slots and not any(s.negated for s in p.slots if s.kind == "genre")


def test_no_wait_starts_over(engine):
    engine.turn("w", text="books by kay marsh")
    r = engine.turn("w", text="no wait, books by lou penn")
    assert r.books and all("Lou Penn" in b["authors"] for b in r.books)
    engine.turn("w2", text="books by kay marsh")
    engine.turn("w2", text="no wait, it's for my 5 year old actually. a picture book")
    assert not engine.store.load("w2").prefs.get("author")      # a new reader, a new search


def test_who_an_author_is(engine):
    r = engine.turn("who", text="who's lou penn")
    assert r.intent == "ask_about" and "2 books" in r.text and "also credited to Ann Vale" in r.text
    r = engine.turn("who2", text="who is kay marsh")
    assert "2 books" in r.text and "credited" not in r.text


@pytest.mark.parametrize("text,kind,sub", [
    ("the first one, why?", "explain", ""), ("is that ya?", "ask", "audience"),
    ("who's robert galbraith", "ask", "who"), ("good omens is co-written right? with who", "ask", "author"),
    ("why not", "request", ""), ("who is it by", "ask", "author"),
    ("ok something for my toddler that isnt seuss, picture books", "request", ""),
    ("is it ok for my 10 year old?", "ask", "audience"),
])
def test_more_questions_about_books_and_authors(text, kind, sub):
    from coverstory.dialogue import acts

    a = acts.classify(text)
    assert (a.kind, a.sub) == (kind, sub)


def test_also_another_author_shows_that_author(engine):
    engine.turn("also", text="village novels by kay marsh")
    r = engine.turn("also", text="also lou penn")
    assert r.books and all("Lou Penn" in b["authors"] for b in r.books)


def test_a_title_with_vibes_asks_for_books_like_it(engine):
    engine.turn("v", text="owl hill vibes pls")
    st = engine.store.load("v")
    assert st.anchors and engine.index.titles[engine.index.row[st.anchors[-1]]] == "Owl Hill"


def test_does_not_appeal_is_a_dislike():
    from coverstory.dialogue.nlu import sentiment, tokens

    assert sentiment(tokens("I am afraid the first of those does not appeal to me.")) < 0


def test_a_book_club_vent_asks_for_nothing(engine):
    r = engine.turn("club", text="my book club picked the most boring book ever this month, "
                                 "honestly thinking of quitting haha")
    assert r.intent == "smalltalk" and not r.books
    r = engine.turn("club", text="can you find me something they might actually enjoy")
    assert r.books
