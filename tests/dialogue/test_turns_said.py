"""Turns of the 2026-12-02 evening: limits said as negations, names with initials or
particles, a franchise excluded, feedback then a request, series named two ways, "is it ok
for a 7 year old?"."""

from __future__ import annotations

import pytest

from coverstory.dialogue import acts, sentences
from coverstory.dialogue.series import Series
from coverstory.dialogue.slots import tokens
from coverstory.dialogue.years import years_range


@pytest.mark.parametrize("text,span", [
    ("nothing from before 1980 because the old stuff feels dated", (1980, 3000)),
    ("ooh and not anything published before 1950", (1950, 3000)),
    ("nothing after 2000 please", (-3000, 2001)),
    ("before 1950", (-3000, 1950)),
    ("after 2000", (2000, 3000)),
    ("the 1980s", (1980, 1990)),
    ("older, like 1800s", (1800, 1900)),
    ("in the 2000s", (2000, 2010)),
    ("mysteries written in nineteen thirty-something", (1930, 1940)),
    ("nineteenth centruy novels", (1800, 1900)),
    ("again, but only ones from 2000 on", (2000, 3000)),
    ("from 2000 on the list", None),
])
def test_years_said_with_a_negation_or_a_century(text, span):
    assert years_range(text) == span


@pytest.mark.parametrize("text,pages", [
    ("crime novel, nothing over 300 pages pls", (0, 301)),
    ("science fiction between 200 and 350 pages", (200, 351)),
    ("a work of history, preferably not exceeding four hundred pages?", (0, 401)),
    ("something over 400 pages", (400, 100000)),
    ("no more than 200 pages", (0, 201)),
])
def test_page_limits_said_with_a_negation_or_a_range(text, pages):
    from coverstory.dialogue import acts

    assert acts.classify(text).pages == pages


def test_initials_and_dashes_in_tokens():
    assert tokens("Something by R.K. Narayan only") == ["something", "by", "r", "k", "narayan",
                                                       "only"]
    assert "xxbreakxx" in tokens("no, not Hermann - Karen Hesse")
    assert tokens("I loved it. What else?")[3] == "xxbreakxx"


def test_a_series_written_under_a_short_and_a_long_name_is_one_series():
    titles = ["The Guide (Star Guide to the Sky, #1)", "The Rest (Star Guide, #2)",
              "More (Star Guide, #3)", "The End (Star Guide to the Sky, #4)",
              "Fool (Fool, #1)", "Gold (Fool's Gold, #1)"]
    s = Series.from_titles(titles, popularity=[1.0] * len(titles))
    assert [titles[r].split(" (")[0] for r in s.in_order(1)] == ["The Guide", "The Rest", "More",
                                                                "The End"]
    assert s.of_row[4][0] != s.of_row[5][0]          # "fool" is not "fool's gold"


@pytest.mark.parametrize("text,kind,sub,query", [
    ("ok and which one comes right after it", "series", "next", "it"),
    ("after interview with the vampire what do i read in that series", "series", "next",
     "interview with the vampire"),
    ("and then after the wardrobe one?", "series", "next", "wardrobe one"),
    ("which number in the harry hole series is the snowman?", "ask", "series", ""),
    ("is that the first in the series? what should I read before it", "ask", "series", ""),
    ("is black beauty ok for a seven year old? how long is it", "ask", "audience", ""),
    ("books published after 2000", "request", "", ""),
])
def test_more_series_and_ask_acts(text, kind, sub, query):
    a = acts.classify(text)
    assert (a.kind, a.sub, a.query) == (kind, sub, query)


def test_feedback_then_a_request_in_one_turn():
    assert sentences.feedback_lead("read it years ago and loved it. what else has he done?") == (
        ["read", "like"], "what else has he done?")
    assert sentences.feedback_lead("Hated that one. Something lighter?") == (["dislike"],
                                                                         "Something lighter?")
    assert sentences.feedback_lead("read it years ago and loved it") is None
    assert sentences.feedback_lead("I loved Dune. anything like it?") is None


@pytest.fixture
def more_home(tiny_home):
    """The tiny catalog plus a franchise of three books and a mystery without "crime"."""
    from coverstory.catalog import Catalog

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        for n, title in enumerate(("Moon Keep", "Sun Gate", "Star Fall"), 1):
            cat.upsert_book("tiny", f"ida{n}", {"title": f"Ida Quest: {title}",
                                                "authors": ["Ida Reef"], "year": 2000 + n},
                            tags=["fantasy", "adventure"])
        cat.upsert_book("tiny", "clue", {"title": "The Quiet Clue", "authors": ["Ned Poole"],
                                         "year": 1999}, tags=["mystery", "detective"])
        for n, title in ((2, "Sun Gate"), (1, "Moon Keep"), (3, "Star Sea")):
            cat.upsert_book("tiny", f"tide{n}", {"title": f"{title} (The Tide Saga, #{n})",
                                                 "authors": ["Ola Wave"], "year": 2010 + n},
                            tags=["fantasy", "dragons", "magic"])
    cat.close()
    return tiny_home


@pytest.fixture
def eng(more_home):
    from coverstory.dialogue.engine import DialogueEngine

    e = DialogueEngine(more_home, search=False, recommend=False, llm=False)
    yield e
    e.close()


def test_not_a_franchise_excludes_its_books_and_author(eng):
    r = eng.turn("fr", text="fantasy adventure but not ida quest")
    assert r.books and not [b for b in r.books if b["authors"] == ["Ida Reef"]]
    assert "Ida Reef" in eng.store.load("fr").excl.get("author", [])


def test_not_crime_keeps_mysteries_out(eng):
    from coverstory.dialogue.constraints import exclusion_mask

    r = eng.turn("nc", text="something not crime")
    assert r.books and "The Quiet Clue" not in [b["title"] for b in r.books]
    clue = next(i for i, t in enumerate(eng.index.titles) if t == "The Quiet Clue")
    assert not exclusion_mask(eng.index, eng.store.load("nc"))[clue]   # a mystery, no "crime"


def test_a_title_by_its_author_is_an_anchor_not_an_author_request(eng):
    eng.turn("tb", text="I loved The Wizard School by Ann Gray, something similar please")
    st = eng.store.load("tb")
    wizard = next(int(i) for i, t in zip(eng.index.ids, eng.index.titles) if t == "The Wizard School")
    assert st.anchors == [wizard] and not st.prefs.get("author")


def test_limits_stay_when_the_first_subject_comes(eng):
    eng.turn("lim", text="something I can read in an afternoon, under 150 pages")
    eng.turn("lim", text="fantasy one")
    st = eng.store.load("lim")
    assert st.pages == [0, 151] and "fantasy" in st.prefs.get("genre", {})


def test_feedback_lead_records_the_book_talked_about(eng):
    r = eng.turn("fl", text="do you have the wizard school?")
    book = r.books[0]["id"]
    r = eng.turn("fl", text="read it years ago and loved it. what else has she written?")
    st = eng.store.load("fl")
    assert book in st.liked and book in st.read and r.text.startswith("Noted that you liked")
    assert r.books and all(b["authors"] == ["Ann Gray"] for b in r.books)


def test_is_it_ok_for_an_age(eng):
    r = eng.turn("age", text="is the wizard school ok for a 12 year old?")
    assert "young adult" in r.text and "The Wizard School" in r.text
    st = eng.store.load("age")
    assert st.age == 12 and st.audience == "children" and not st.liked


def test_a_series_not_started_opens_with_its_first_book_once(eng):
    r = eng.turn("ser", text="a fantasy book with dragons and magic")
    tide = [b["title"] for b in r.books if "Tide Saga" in b["title"]]
    assert tide == ["Moon Keep (The Tide Saga, #1)"]

