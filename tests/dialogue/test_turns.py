"""The turns every reader uses: acts, typed constraints, series, lookup, explanations."""

from __future__ import annotations

import numpy as np
import pytest

from coverstory.dialogue import acts
from coverstory.dialogue.series import Series


@pytest.mark.parametrize("text,kind,sub", [
    ("thanks, bye", "smalltalk", "bye"),
    ("thank you so much!", "smalltalk", "thanks"),
    ("what can you do?", "smalltalk", "capabilities"),
    ("why did you suggest the first one?", "explain", ""),
    ("how is that like Gone Girl?", "explain", ""),
    ("who wrote it?", "ask", "author"),
    ("how long is the second one?", "ask", "pages"),
    ("what's it about?", "ask", "about"),
    ("more please", "more", ""),
    ("any others?", "more", ""),
    ("I've read those", "read_those", ""),
    ("do you have The Name of the Wind?", "lookup", ""),
    ("what comes after Catching Fire?", "series", "next"),
    ("the hunger games in order", "series", "first"),
    ("tana french - which one should I read first", "series", "first"),
    ("so what's the next one?", "series", "next"),
    ("where do I start with the sandman comics", "series", "first"),
    ("uglies series order", "series", "first"),
    ("jurassic park 2 - the book", "series", "number"),
    ("first harry hole book by jo nesbo", "series", "number"),
    ("which is the first little house book? reading them with my daughter", "series", "number"),
    ("I loved Dune. anything like it?", "request", ""),
    ("a girl leaves thirteen tapes explaining why", "request", ""),
    ("a woman travels to italy after her divorce", "request", ""),
    ("more fantasy please", "request", ""),
    ("another", "more", ""),
    ("thanks, thats helpful", "smalltalk", "thanks"),
    ("That's very kind, thank you.", "smalltalk", "thanks"),
    ("when's it from", "ask", "year"),
    ("whats the year on that", "ask", "year"),
    ("pages?", "ask", "pages"),
    ("have u got the book thief", "lookup", ""),
    ("throne of glass, which is book three?", "series", "number"),
    ("what order do the mistborn books go in", "series", "first"),
    ("what's the sequel?", "series", "next"),
    ("which one is The Brutal Telling?", "series", "position"),
    ("and lioness rampant is which one", "series", "position"),
    ("which expanse book is abaddons gate", "series", "position"),
    ("which one is the shortest?", "ask", "compare"),
    ("which hitchhiker's guide book is number four?", "series", "number"),
    ("is there a follow up to A Wrinkle in Time", "series", "next"),
    ("I am reading Twilight now. Which book I must read after it?", "series", "next"),
    ("is that the third one", "ask", "series"),
    ("is consider phlebas long?", "ask", "pages"),
    ("whats sabriel about? is it scary", "ask", "about"),
])
def test_acts(text, kind, sub):
    a = acts.classify(text)
    assert (a.kind, a.sub if sub else "") == (kind, sub)


@pytest.mark.parametrize("query,text,want", [
    ("just finished hyperion (dan simmons). is there a", "", "hyperion"),
    ("", "my ten year old finished redwall, which one does he read next", "redwall"),
    ("ender's game last night and i need the next one in the saga", "", "ender's game"),
    ("is there a", "", ""),
])
def test_series_query_drops_the_reading_story(query, text, want):
    assert acts.series_query(query, text) == want


def test_typed_constraints_from_words():
    a = acts.classify("a book for my 8 year old daughter who loves horses")
    assert a.kind == "request" and a.audience == "children" and a.age == 8
    assert a.interests == ["horses"]
    a = acts.classify("a gift for my dad who likes cooking")
    assert a.audience == "adult" and "dad" not in acts.masked_text(a_text := "a gift for my dad who likes cooking", a.masked)
    assert "cooking" in acts.masked_text(a_text, a.masked)
    assert acts.classify("something under 300 pages").pages == (0, 301)
    assert acts.classify("at least 500 pages").pages == (500, 100000)
    assert acts.classify("a thriller under two hundred and fifty pages").pages == (0, 251)
    assert acts.classify("five hundred pages or more").pages == (500, 100000)
    assert acts.classify("my daughter is fifteen, reads loads").audience == "young adult"
    assert acts.classify("actually, books by Stephen King").topic_change
    assert acts.classify("but shorter").refine_cue
    assert acts.classify("a novel in french").language == "french"
    assert acts.classify("do you have The Name of the Wind?").query == "the name of the wind"


def test_series_next_previous_in_order():
    titles = ["Catching Fire (The Hunger Games, #2)", "The Hunger Games (The Hunger Games, #1)",
              "Mockingjay (The Hunger Games, #3)", "Mockingjay (The Hunger Games, #3)",
              "Stand Alone", "A Novella (The Hunger Games, #2.5)"]
    s = Series.from_titles(titles, popularity=[0.9, 1.0, 0.8, 0.1, 0.5, 0.2])
    assert s.next(0) == 2                       # the most-read edition of #3
    assert s.previous(0) == 1 and s.previous(1) is None and s.next(2) is None
    assert s.in_order(0) == [1, 0, 2]           # #2.5 is not in the reading order
    assert s.position(4) is None and s.position(0) == ("The Hunger Games", 2.0)
    assert s.find("the hunger games series") == "hunger games"


def test_series_by_whole_name_initials_and_kind_words():
    titles = ["The Bad Beginning (A Series of Unfortunate Events, #1)",
              "The Reptile Room (A Series of Unfortunate Events, #2)",
              "A Court of Mist and Fury (A Court of Thorns and Roses, #2)",
              "Preludes & Nocturnes (The Sandman #1)"]
    s = Series.from_titles(titles, popularity=[1.0, 0.9, 0.8, 0.7])
    assert s.find("a series of unfortunate events") == "a series of unfortunate events"
    assert s.find("acotar") == "a court of thorns and roses"
    assert s.find("the sandman comics") == "sandman"
    assert s.find("xyzzy") is None


def _feedback_count(eng, sid):
    st = eng.store.load(sid)
    n = eng.catalog.conn.execute("SELECT COUNT(*) FROM ratings WHERE user_id=?",
                                 (st.user_id,)).fetchone()[0]
    ev = [e for e in eng.catalog.events(session_id=sid) if e["kind"] in ("like", "dislike", "read")]
    return n + len(ev)


def test_explain_thanks_and_bye_record_no_feedback(engine):
    r = engine.turn("x", text="a fantasy book")
    assert r.books
    first = r.books[0]["title"]
    for text in ("why did you suggest the first one?", "thanks, bye", "ok", "what can you do?"):
        before = _feedback_count(engine, "x")
        r = engine.turn("x", text=text)
        assert _feedback_count(engine, "x") == before, text
        assert not r.books or text.startswith("why"), text
    r = engine.turn("x", text="why the first one?")
    assert first in r.text and r.intent == "explain"


def test_new_subject_replaces_old_constraints(engine):
    engine.turn("t", text="something with magic")
    r = engine.turn("t", text="books by Clara Bell")
    assert r.books and all("Clara Bell" in b["authors"] for b in r.books)
    st = engine.store.load("t")
    assert "magic" not in st.prefs.get("tag", {})
    r = engine.turn("t", text="actually, something by Ann Gray")
    assert r.books and all(b["authors"] == ["Ann Gray"] for b in r.books)


def test_hard_constraints_and_what_was_relaxed(engine):
    r = engine.turn("h", text="nothing by Ann Gray please, something with magic or dragons")
    assert r.books and all("Ann Gray" not in b["authors"] for b in r.books)
    r = engine.turn("h2", text="books by Clara Bell from before 1990")
    assert [b["title"] for b in r.books] == ["Murder in Venice"]
    assert "relaxed" in r.text and "years" in r.text


def test_lookup_with_typos_and_more_never_repeats(engine):
    r = engine.turn("l", text="do you have murder in venise?")
    assert r.intent == "lookup" and r.books[0]["title"] == "Murder in Venice"
    seen = set(r.book_ids)
    for _ in range(3):
        r = engine.turn("l", text="any more?")
        assert not seen & set(r.book_ids)
        seen |= set(r.book_ids)
    r = engine.turn("l2", text="do you have the zzyzx chronicles?")
    assert "couldn't find" in r.text or "isn't in" in r.text


def test_ask_about_a_shown_book(engine):
    r = engine.turn("a", text="a mystery")
    title = r.books[0]["title"]
    r = engine.turn("a", text="who wrote the first one?")
    assert title in r.text and r.intent == "ask_about"


class _Ratings:
    """A catalog stand-in holding only ratings (for the co-reader counts)."""

    def __init__(self, triples):
        a = np.asarray(triples, np.float64)
        self.arrays = (a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2].astype(np.float32))

    def ratings_arrays(self):
        return self.arrays


def test_co_readers_need_support(engine):
    from coverstory.dialogue.signals import MIN_CO_READERS, CoReaders

    idx = engine.index
    a, b, c = (int(x) for x in idx.ids[:3])
    many = [(u, a, 5) for u in range(30)] + [(u, b, 5) for u in range(MIN_CO_READERS + 3)]
    few = [(100 + u, c, 5) for u in range(MIN_CO_READERS - 1)] + \
        [(100 + u, a, 4) for u in range(MIN_CO_READERS - 1)]
    cr = CoReaders(idx, _Ratings(many + few))
    sim, co = cr.similar(idx.row[a])
    assert co[idx.row[b]] == MIN_CO_READERS + 3 and sim[idx.row[b]] > 0
    assert co[idx.row[c]] == MIN_CO_READERS - 1 and sim[idx.row[c]] == 0   # too few co-readers


def test_more_like_a_shown_book_by_ordinal(engine):
    r = engine.turn("o", text="a fantasy book")
    second = r.book_ids[1]
    r = engine.turn("o", text="more like the second one")
    assert engine.store.load("o").anchors == [second] and second not in r.book_ids


def test_more_with_a_constraint_shows_new_books(engine):
    """'more from the 70s' adds a constraint and asks for books not shown yet (a plain new
    request may bring a shown book back; 'more ...' may not)."""
    shown = set(engine.turn("m", text="a fantasy book").book_ids)
    assert acts.classify("more fantasy from the 70s").fresh
    assert not acts.classify("fantasy from the 70s").fresh
    r = engine.turn("m", text="more fantasy please")
    assert r.books and not shown & set(r.book_ids)


@pytest.mark.parametrize("text,age,audience", [
    ("my nephew is 15 and only reads manga", 15, "young adult"),
    ("a book for my son, he's 10", 10, "children"),
    ("my 12 yo son loves Percy Jackson", 12, "children"),
    ("something for my 4 year old", 4, "picture book"),
    ("a 400 page novel for my dad", None, "adult"),
    ("My nephew's turning twelve and he's obsessed with dragons", 12, "children"),
    ("my granddaughter has just turned 6", 6, "children"),
])
def test_ages_and_recipients(text, age, audience):
    a = acts.classify(text)
    assert (a.age, a.audience) == (age, audience)


def test_typos_in_facets_and_that_author(engine):
    p = engine.nlu.parse("recomend me a mistery novel")
    assert ("genre", "mystery") in [(s.kind, s.value) for s in p.slots]
    r = engine.turn("ta", text="a book about a wizard school")
    author = r.books[0]["authors"][0]
    r = engine.turn("ta", text="anything else by that author?")
    assert r.books and all(author in b["authors"] for b in r.books)


def test_follow_up_repeats_the_question(engine):
    r = engine.turn("f", text="a fantasy book")
    shown = [b["title"] for b in r.books]
    assert shown[0] in engine.turn("f", text="why the first one?").text
    r = engine.turn("f", text="and the second?")
    assert r.intent == "explain" and shown[1] in r.text


def test_nothing_by_an_author_is_an_exclusion_not_a_title(engine):
    sid = "nothing-by"
    engine.turn(sid, text="a mystery")
    r = engine.turn(sid, text="and nothing by Clara Bell either")
    assert "Murder in Venice" not in [b["title"] for b in r.books]
    assert engine._title_by("nothing by Clara Bell") == (None, None, False)
    assert engine._title_by("Murder in Venice by Clara Bell")[0] is not None


def test_next_after_a_book_outside_any_series_suggests_books_like_it(engine):
    r = engine.turn("after", text="what should I read after Red Planet Alone")
    assert r.books and "Red Planet Alone" not in [b["title"] for b in r.books]


def test_a_title_the_reader_has_read_is_excluded_not_an_anchor(engine):
    r = engine.turn("read-it", text="a cosy mystery, I've read Murder in Venice")
    st = engine.store.load("read-it")
    venice = next(int(i) for t, i in zip(engine.index.titles, engine.index.ids)
                  if t == "Murder in Venice")
    assert venice in st.read and venice not in st.anchors
    assert "Murder in Venice" not in [b["title"] for b in r.books]


def test_a_gift_for_someone_new_starts_a_new_topic(engine):
    engine.turn("gift", text="something like Murder in Venice")
    assert engine.store.load("gift").anchors
    engine.turn("gift", text="a gift for my dad who likes gardening")
    assert engine.store.load("gift").anchors == []


def _tide_saga(tiny_home, titles, backwards=False):
    """An engine on the tiny catalog plus Ida Reef's "The Tide Saga", #1.. in order of
    ``titles`` (years 2001.., pages 201..; ``backwards``: the last one is imported first)."""
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        books = list(enumerate(titles, 1))
        for n, title in reversed(books) if backwards else books:
            cat.upsert_book("tiny", f"tide{n}", {"title": f"{title} (The Tide Saga, #{n})",
                                                 "authors": ["Ida Reef"], "year": 2000 + n,
                                                 "pages": 200 + n})
    cat.close()
    return DialogueEngine(tiny_home, search=False, recommend=False, llm=False)


def test_a_series_named_anywhere_in_a_question(tiny_home):
    """The series of a question may sit in another sentence or clause than the question."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate"), backwards=True)
    try:
        r = eng.turn("sq", text="I want to start the tide saga with my kids. Which one comes first?")
        assert r.books and r.books[0]["title"].startswith("Moon Keep")
        r = eng.turn("sq2", text="tide saga, which is book two?")
        assert r.books and r.books[0]["title"].startswith("Sun Gate")
        assert eng._series_in("which one comes first?") is None     # no name, no guess
    finally:
        eng.close()


def test_which_one_is_x_and_bare_follow_ups_after_a_book_of_a_series(tiny_home):
    """'which one is X?' answers X's place; 'and book three' / 'and after that' after a
    question about a series book (or after 'thanks') step through that series; 'is that the
    second one?' is answered yes or no about the book talked about."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow", "Rain Tower"))
    try:
        eng.turn("w", text="the tide saga in order please")
        r = eng.turn("w", text="which one is star hollow?")
        assert r.intent == "series" and r.books[0]["title"].startswith("Star Hollow")
        assert "3" in r.text
        eng.turn("w", text="thanks!")
        r = eng.turn("w", text="and number four?")
        assert r.books and r.books[0]["title"].startswith("Rain Tower")
        r = eng.turn("a", text="how many pages is moon keep")
        assert "201" in r.text
        r = eng.turn("a", text="and book three")
        assert r.books and r.books[0]["title"].startswith("Star Hollow")
        r = eng.turn("a", text="and after that")
        assert r.books and r.books[0]["title"].startswith("Rain Tower")
        r = eng.turn("a", text="is that the second one")
        assert r.text.startswith("No") and "4" in r.text
        r = eng.turn("n", text="just finished Sun Gate (Ida Reef). Is there a sequel?")
        assert r.books and r.books[0]["title"].startswith("Star Hollow")
    finally:
        eng.close()


def test_an_author_name_alone_asks_for_the_author(engine):
    author = engine.index.authors[0][0]
    r = engine.turn("an", text=author.lower())
    assert r.books and all(author in b["authors"] for b in r.books)


def test_names_with_initials_and_third_person_dislikes():
    from coverstory.dialogue.slots import _initials

    assert _initials(["george", "r", "r", "martin"]) == ["george martin", "george rr martin"]
    assert _initials(["j", "r", "r", "tolkien"]) == ["jrr tolkien"]
    assert _initials(["stephen", "king"]) == []


def test_she_hates_romance_negates_it(engine):
    p = engine.nlu.parse("fantasy for my 13 year old, she hates soppy romance")
    assert ("romance", True) in [(s.value, s.negated) for s in p.slots if s.kind == "genre"]
    assert ("fantasy", False) in [(s.value, s.negated) for s in p.slots if s.kind == "genre"]


def test_a_title_not_in_the_catalog_is_said_so(engine):
    r = engine.turn("tm", text="Project Hail Mary?")
    assert 'find a book called "Project Hail Mary"' in r.text
    r = engine.turn("tm2", text="a book about a wizard school")
    assert "find a book called" not in r.text


def test_a_new_person_starts_a_new_topic(engine):
    """'my daughter ...' is someone new: the earlier request's constraints do not carry over
    (the person word is masked from the slot matcher, so the act remembers it)."""
    engine.turn("np", text="a cosy mystery")
    assert engine.store.load("np").prefs
    engine.turn("np", text="my daughter is fifteen and she likes fantasy")
    st = engine.store.load("np")
    assert "mystery" not in st.prefs.get("genre", {}) and st.audience == "young adult"
    assert acts.classify("a gift for my dad who likes cooking").someone
    assert not acts.classify("a cosy mystery").someone


def test_a_missing_title_is_not_a_refinement(engine):
    """'Project Hail Mary?' after a request: the closest books are not the last request's."""
    engine.turn("mt", text="a cosy mystery")
    engine.turn("mt", text="Project Hail Mary?")
    assert not engine.store.load("mt").prefs.get("genre")


def test_a_corrected_author_replaces_the_one_said_first(engine):
    """'books by X... no wait, I meant Y' and 'sorry, I meant Y not X' ask for Y's books."""
    r = engine.turn("c1", text="books by clara bell... no wait, I meant ann gray")
    assert r.books and {b["authors"][0] for b in r.books} == {"Ann Gray"}
    engine.turn("c2", text="books by clara bell")
    r = engine.turn("c2", text="sorry, i meant ann gray not bell")
    assert r.books and {b["authors"][0] for b in r.books} == {"Ann Gray"}
    assert engine._corrected("no wait, i meant the other one") == "no wait, i meant the other one"


def test_by_her_after_a_title_and_author_means_that_author(engine):
    r = engine.turn("h", text="The Wizard School by Ann Gray was great. Anything else by her?")
    assert r.books and {b["authors"][0] for b in r.books} == {"Ann Gray"}
    assert all(b["title"] != "The Wizard School" for b in r.books)


def test_feedback_words_for_someone_else_and_a_negated_like(engine):
    r = engine.turn("f", text="a cosy mystery")
    assert r.books
    r = engine.turn("f", text="thanks, she'll love these")
    assert r.intent == "smalltalk" and not r.books
    assert not engine.catalog.user_ratings(engine.store.load("f").user_id)
    from coverstory.dialogue import sentences

    assert sentences.feedback_lead("read it and honestly didn't like it. something "
                                   "better?")[0] == ["read", "dislike"]


def test_where_to_start_with_an_author_gives_their_series(tiny_home):
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate"))
    try:
        for text in ("ida reef where do i start", "oh ida reef! where does that start?",
                     "the ida reef ones, which is first?"):
            r = eng.turn(text, text=text)
            assert r.books and r.books[0]["title"].startswith("Moon Keep"), text
    finally:
        eng.close()


def test_which_of_those_is_about_and_a_series_named_alone(tiny_home):
    """'which of those is about X?' picks the shown book whose text says X; a turn that is
    only a series' name ("the tide saga", "tide saga series") lists it in order, while the
    name of a book that is also a series' name stays a lookup."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate"))
    try:
        eng.turn("w", text="fantasy books")
        r = eng.turn("w", text="which of those is about dragons?")
        assert r.intent == "ask_about" and r.books[0]["title"] == "Dragons of the North"
        for text in ("tide saga series", "the tide saga"):
            r = eng.turn(text, text=text)
            assert r.intent == "series" and r.books[0]["title"].startswith("Moon Keep"), text
        r = eng.turn("w", text="which of those is about the sea?")   # none of them, nor of
        assert r.intent != "ask_about"                               # their authors': no
        assert not r.text.startswith(("It's", "That would be", "None of those"))   # pick
        r = eng.turn("x", text="the wizard school")
        assert r.intent != "series" and r.books[0]["title"] == "The Wizard School"
    finally:
        eng.close()


@pytest.mark.parametrize("text,kind", [
    ("omg i loved that one as a kid", "like"),
    ("😍😍 loved it so much as a kid", "like"),
    ("hated it", "dislike"),
    ("loved it. what else has she written?", None),     # a lead, then a request
    ("i loved the second one", None),                   # an ordinal: the word-feedback path
])
def test_a_like_said_alone(text, kind):
    from coverstory.dialogue import sentences

    assert sentences.feedback_alone(text) == kind


def test_not_keen_on_number_two_is_feedback_not_a_series():
    assert acts.classify("not keen on number two").kind == "request"
    assert acts.classify("my nephew loved the lost hero. is there a book 2?").kind == "series"


def test_a_new_genre_nothing_by_the_author_fits_starts_a_new_topic(engine):
    """'books by Ann Gray', then 'a mystery novel': none of hers is a mystery, so the newest
    request wins (the author goes) instead of the mystery being relaxed away."""
    engine.turn("g", text="books by ann gray")
    r = engine.turn("g", text="a mystery novel")
    assert r.books and r.books[0]["title"] == "Murder in Venice"
    assert "relaxed" not in r.text


def test_loves_a_series_what_next_is_like_its_first_book(tiny_home):
    """'my son loves <a series>, what should he read next?': like the series' first book,
    and none of the series itself (a series named by the start of its name, too)."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate"))
    try:
        r = eng.turn("n", text="my son loves the tide saga, what should he read next?")
        st = eng.store.load("n")
        assert [eng.index.titles[eng.index.row[a]] for a in st.anchors] == [
            "Moon Keep (The Tide Saga, #1)"]
        assert r.books and not any("Tide Saga" in b["title"] for b in r.books)
    finally:
        eng.close()


def test_what_was_said_longest_ago_gives_way_first(engine):
    """'books by Ann Gray', then 'ones from before 1990' (she has none): the author, said
    first, gives way and the years the reader just asked for are kept."""
    engine.turn("age", text="books by Ann Gray")
    r = engine.turn("age", text="ones from before 1990")
    assert [b["title"] for b in r.books] == ["The Garden Year"]
    assert "relaxed the author (Ann Gray)" in r.text
    st = engine.store.load("age")
    assert st.source["era"] == 2 and st.limit_values["era"] == st.years



@pytest.mark.parametrize("text,genre,negated", [
    ("not much, need a fantasy book lol", "fantasy", False),
    ("never read any fantasy before, where should I start?", "fantasy", False),
    ("haven't tried fantasy yet", "fantasy", False),
    ("I don't need fantasy, just a good mystery", "fantasy", True),
    ("i do not need fantasy", "fantasy", True),
    ("not fantasy please", "fantasy", True),
])
def test_the_reach_of_a_negation(engine, text, genre, negated):
    """A negation ends where a new request starts ('not much, need a ...'); a reader new to
    a kind of book ('never read any X before') asks for it."""
    p = engine.nlu.parse(text)
    got = [s.negated for s in p.slots if s.kind == "genre" and s.value == genre]
    assert got == [negated]


def test_where_to_start_with_a_kind_of_book_is_a_request(engine):
    """'where do I start with fantasy?' names no series: the best fantasy books, not a series
    whose name happens to share a word."""
    r = engine.turn("ws", text="where do I start with fantasy?")
    assert r.intent == "recommend" and r.books
    assert {b["title"] for b in r.books[:2]} == {"The Wizard School", "Dragons of the North"}


def test_every_book_by_the_author_shown_then_they_come_back(engine):
    """All of Ann Gray's books were shown: 'any other Ann Gray books?' shows them again and
    says so, instead of relaxing the author into unrelated books."""
    r = engine.turn("again", text="books by Ann Gray")
    assert sorted(b["title"] for b in r.books) == ["Dragons of the North", "The Wizard School"]
    r = engine.turn("again", text="any other Ann Gray books?")
    assert r.books and all(b["authors"] == ["Ann Gray"] for b in r.books)
    assert "That's all I have by Ann Gray" in r.text and "relaxed" not in r.text


def test_other_than_a_title_keeps_its_author(engine):
    """'a novel by Ann Gray other than The Wizard School': her other book, not 'authors like
    Ann Gray' ('other than King' names an author; here a title follows)."""
    r = engine.turn("ot", text="a book by Ann Gray other than The Wizard School")
    assert [b["title"] for b in r.books] == ["Dragons of the North"]


def test_who_writes_like_him_is_like_his_book_by_someone_else(engine):
    engine.turn("wl", text="books by Ann Gray")
    r = engine.turn("wl", text="who writes like her?")
    assert r.intent == "similar_to" and r.books
    assert all("Ann Gray" not in b["authors"] for b in r.books)
    st = engine.store.load("wl")
    assert st.anchors and engine.index.authors[engine.index.row[st.anchors[0]]] == ["Ann Gray"]


def test_the_book_the_search_singles_out_goes_first(engine, ids, monkeypatch):
    """A description the search service answers with a clear first book (score margin of
    KNOWN_MARGIN or more): that book leads, when it fits what was asked; a narrow margin or
    a kind of book alone ('fantasy.') changes nothing."""
    from coverstory.dialogue.turns.request import KNOWN_MARGIN

    calls = []

    def best(text, margin):
        calls.append(text)
        return ids["Love on the Farm"], margin

    monkeypatch.setattr(engine.signals, "best_match", lambda t: best(t, KNOWN_MARGIN + 1))
    r = engine.turn("k1", text="two rivals save a family farm and fall in love")
    assert r.books[0]["title"] == "Love on the Farm"
    assert r.books[0]["reason"] == "It is the best match for your words"
    r = engine.turn("k2", text="fantasy.")
    assert calls == ["two rivals save a family farm and fall in love"]   # not asked
    r = engine.turn("k3", text="a cosy murder mystery among the canals, nothing romantic")
    assert "Love on the Farm" not in [b["title"] for b in r.books]      # it does not fit
    monkeypatch.setattr(engine.signals, "best_match", lambda t: best(t, KNOWN_MARGIN - 1))
    r = engine.turn("k4", text="a boy discovers he is a wizard at a boarding school")
    assert r.books[0]["title"] != "Love on the Farm"


def test_an_author_and_a_word_of_the_title(engine):
    """'ann gray - the dragon one': her book with that word in its title, looked up."""
    r = engine.turn("ah", text="ann gray - the dragon one")
    assert r.intent == "lookup" and r.books[0]["title"] == "Dragons of the North"


@pytest.mark.parametrize("text,kind", [
    ("Looking for young adult fiction. No dystopias - they depress me.", "request"),
    ("looking for horror", "request"),
    ("looking for the name of the wind", "lookup"),
    ("looking for Fantastic Mr Fox", "lookup"),
])
def test_looking_for_a_kind_of_book_is_a_request(text, kind):
    assert acts.classify(text).kind == kind


def test_a_surname_of_two_words_names_the_author(tiny_home):
    """'not conan doyle', 'books by le guin': the last two words of a longer name."""
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        cat.upsert_book("tiny", "99", {"title": "The Far Shore", "authors": ["Ursula K. Le Guin"],
                                       "year": 1972, "language": "eng"}, tags=["fantasy"])
    cat.close()
    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    try:
        p = eng.nlu.parse("fantasy but not le guin")
        assert [(s.value, s.negated) for s in p.slots if s.kind == "author"] == [
            ("Ursula K. Le Guin", True)]
        r = eng.turn("lg", text="books by le guin")
        assert [b["title"] for b in r.books] == ["The Far Shore"]
    finally:
        eng.close()


def test_sub_series_inside_a_bigger_series():
    """'(Discworld, #30; Tiffany Aching, #1)': a book is in both series; next / previous
    step in the series asked about; the first sub-series book after a main-series book."""
    titles = ["Guards! Guards! (Discworld, #8)", "Men at Arms (Discworld, #15; City Watch #2)",
              "Feet of Clay (Discworld, #19; City Watch, #3)", "Soul Music (Discworld, #16)"]
    s = Series.from_titles(titles, popularity=[1.0, 0.9, 0.8, 0.7])
    assert s.position(1) == ("Discworld", 15.0) and s.position(1, "city watch") == ("City Watch", 2.0)
    assert s.next(1) == 3 and s.next(1, "city watch") == 2
    assert s.in_order("city watch") == [1, 2] and s.find("city watch") == "city watch"
    assert s.after_in(0, "city watch") == 1         # after Guards! Guards!: Men at Arms


def test_sub_series_turns_the_very_last_and_bare_ordinals(tiny_home):
    """'the next <sub-series> one' stays in the sub-series, and so does 'and after that';
    'the very last' is the last by the series' own author; 'second one?' after one book of a
    series is its book 2, never a title lookup; 'interesting' is no title."""
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        rows = [("Salt Road (The Tide Saga, #1; Gull Tales, #1)", "Ida Reef"),
                ("Harbour Wall (The Tide Saga, #2)", "Ida Reef"),
                ("Gull Flight (The Tide Saga, #3; Gull Tales, #2)", "Ida Reef"),
                ("Second Son of the Sea (The Tide Saga, #4)", "Ida Reef"),
                ("The Tide Companion (The Tide Saga, #5)", "Ola Quill")]
        for n, (title, author) in enumerate(rows, 1):
            cat.upsert_book("tiny", f"tide{n}", {"title": title, "authors": [author],
                                                 "year": 2000 + n})
    cat.close()
    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    try:
        eng.turn("g", text="salt road by ida reef")
        r = eng.turn("g", text="and the next gull tales one?")
        assert r.books[0]["title"].startswith("Gull Flight")
        r = eng.turn("l", text="the tide saga in order")
        r = eng.turn("l", text="and the very last one?")
        assert r.books[0]["title"].startswith("Second Son of the Sea")   # not the companion
        r = eng.turn("o", text="salt road")
        assert eng.turn("o", text="interesting").intent == "smalltalk"
        r = eng.turn("o", text="second one?")
        assert r.intent == "series" and r.books[0]["title"].startswith("Harbour Wall")
    finally:
        eng.close()


def test_reactions_and_a_numbered_series_name():
    """'interesting' is a reaction, not a title; 'and the 3rd temeraire?' names a number and
    a possible series (the engine checks it is the series talked about)."""
    assert acts.classify("interesting").kind == "smalltalk"
    assert acts.nth_named("and the 3rd temeraire?") == (3, "temeraire")


@pytest.mark.parametrize("text,kind,sub", [
    ("never mind", "smalltalk", "never_mind"),
    ("I want a book about... actually never mind", "smalltalk", "never_mind"),
    ("never mind the romance, give me horror", "request", ""),
    ("ok lovely", "smalltalk", "ack"),
    ("thanks a million", "smalltalk", "thanks"),
    ("grazie mille", "smalltalk", "thanks"),
    ("oops sorry about the typo lol. thanks!", "smalltalk", "thanks"),
    ("what else can you do besides recommending books?", "smalltalk", "capabilities"),
    ("no", "request", ""),
    ("What's the very last Vampire Academy book?", "series", "last"),
    ("the kane chronicals by rick riordan, the final one", "series", "last"),
    ("the last book i read was dune", "request", ""),
    ("after Cross My Heart and Hope to Spy?", "series", "next"),
    ("Ally Condie, after Crossed?", "series", "next"),
    ("after 2000?", "request", ""),
    ("finished Maisie Dobbs, the first one. next please", "series", "next"),
    ("um so my son just uh finished the icebound land and he wants the next one", "series", "next"),
    ("bartimeus trilogy by jonathan stroud, which is before the golem's eye?", "series", "previous"),
])
def test_reactions_never_mind_and_more_series_asks(text, kind, sub):
    a = acts.classify(text)
    assert (a.kind, a.sub) == (kind, sub)


def test_series_names_misspelt():
    titles = ["Vampire Academy (Vampire Academy, #1)", "Frostbite (Vampire Academy, #2)",
              "Lone Book (Vampire Kisses, #1)"]
    s = Series.from_titles(titles, popularity=[1.0, 0.9, 0.8])
    assert s.find("vampire acadamy") is None                  # only when asked for
    assert s.find("vampire acadamy books", fuzzy=True) == "vampire academy"
    assert s.find("vampire kises", fuzzy=True) is None         # a series of one book


@pytest.mark.parametrize("text,kind,query", [
    ("The Overstory by Richard Powers, do you carry it?", "lookup", "the overstory by richard powers"),
    ("leviathan wakes - got it?", "lookup", "leviathan wakes"),
    ("my son needs to read Hatchet for school - have you got it?", "request", ""),
    ("5th wave trilogy last book?? \U0001f64f", "series", "5th wave"),
])
def test_lookups_and_last_books_said_in_other_words(text, kind, query):
    a = acts.classify(text)
    assert (a.kind, a.query) == (kind, query)


@pytest.mark.parametrize("text,age,audience", [
    ("graduation gift for my niece, she's 18, loves YA", 18, None),       # YA said: not adult
    ("my sister just had a baby, something for her to read at night", None, None),
    ("one book for my son of 11 years, realistic story of school", 11, "children"),
])
def test_ages_said_otherwise_and_a_baby_that_is_not_the_reader(text, age, audience):
    a = acts.classify(text)
    assert (a.age, a.audience) == (age, audience)


def test_a_title_by_an_author_not_in_the_catalog_offers_the_authors_books(tiny_home):
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        cat.upsert_book("tiny", "zv1", {"title": "Harbour Lights", "authors": ["Gabrielle Zevin"],
                                        "year": 2014})
        cat.upsert_book("tiny", "rp1", {"title": "Drop Town", "authors": ["Richard Poe"],
                                        "year": 2001})
    cat.close()
    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    try:
        r = eng.turn("z", text="tomorrow and tomorrow and tomorrow - gabrielle zevin")
        assert "isn't in this catalog" in r.text or "don't have" in r.text
        assert r.books and r.books[0]["title"] == "Harbour Lights"
        r = eng.turn("y", text="The Overstory by Richard Powers, do you carry it?")
        assert "Richard Poe" not in r.text                 # a near name is not the author
    finally:
        eng.close()


@pytest.mark.parametrize("text,kind", [
    ("i know why the caged bird sings", "request"),          # a title, not "why the ..."
    ("why the second one?", "explain"),
    ("Do you have A Fine Balance by Rohinton Mistry? My uncle was telling about it", "lookup"),
    ("uh do you have, um, middlesex?", "lookup"),
    ("do you have a book about dragons?", "request"),
    ("cheers, that'll do", "smalltalk"),
    ("oh well, thank you", "smalltalk"),
])
def test_titles_that_look_like_questions_and_closings(text, kind):
    assert acts.classify(text).kind == kind


@pytest.mark.parametrize("text,age", [
    ("my son is in year 4 and reads loads", 9),          # UK school year
    ("adventure books for my daughter studying in class 8", 14),
    ("a 3rd grader who loves space", 9),
    ("books published in the year 1950", None),
])
def test_school_years_give_an_age(text, age):
    assert acts.classify(text).age == age


def test_occasions_and_the_person_owning_a_recipient_are_no_title_words():
    t = "thank-you gift for my son's teacher, fathers day, she's getting married next month"
    a = acts.classify(t)
    masked = acts.masked_text(t, a.masked)
    for w in ("teacher", "fathers", "married", "month"):
        assert w not in masked.lower()


def test_year_spans():
    from coverstory.dialogue.years import years_range

    assert years_range("novels written between the wars, so 1919 to 1938") == (1919, 1939)
    assert years_range("sci fi 1950-1970") == (1950, 1971)


def test_more_after_a_rejection_series_order_and_grade_words():
    """'none of those, sorry. what else have you got?' asks for more; 'long island' is a
    place, not a length; 'raven cycle order pls' asks for the series in order."""
    assert acts.classify("None of those, sorry. What else have you got?").kind == "more"
    assert acts.classify("no more vampires").kind == "request"
    a = acts.classify("raven cycle order pls")
    assert (a.kind, a.sub, a.query) == ("series", "first", "raven cycle")
    assert acts.classify("law and order").kind == "request"
    assert acts.classify("chapter books for a second grader").age == 8


def test_long_island_is_no_length(engine):
    p = engine.nlu.parse("a mysterious millionaire throws parties on long island")
    assert not [s for s in p.slots if s.kind == "length"]
    assert [s for s in engine.nlu.parse("a long book about the sea").slots if s.kind == "length"]


@pytest.mark.parametrize("text,sub", [
    ("Hmm, let me think.", "chat"),
    ("Sorry, my memory is terrible.", "chat"),
    ("I read a lot.", "chat"),                       # no book marked read
    ("Ha, this is fun.", "ack"),                     # no funny books asked for
])
def test_talk_about_the_talk_is_no_request_and_no_feedback(text, sub):
    a = acts.classify(text)
    assert (a.kind, a.sub) == ("smalltalk", sub)


def test_a_long_train_ride_is_no_page_count(engine):
    p = engine.nlu.parse("I've got a long train ride coming up, any ideas for a classic?")
    assert not [s for s in p.slots if s.kind == "length"]


def test_a_year_said_then_corrected():
    from coverstory.dialogue.years import years_range

    assert years_range("sci-fi from the 70s... no, the 50s I mean") == (1950, 1960)
    assert years_range("before 1950, no wait, before 1930") == (-3000, 1930)
    assert years_range("no older than 1990") == (1990, 3000)        # no correction
    assert years_range("from the 90s, no romance") == (1990, 2000)


def test_which_of_those_came_out_in_a_year():
    a = acts.classify("which of those came out in 2016")
    assert (a.kind, a.sub) == ("ask", "which")


def test_less_dark_drops_the_dark_shelf_asked_for():
    from coverstory.dialogue.state import SessionState
    from coverstory.dialogue.update import _drop_contradicted_tags

    st = SessionState("s")
    st.prefer("tag", "psychological-thriller")
    st.prefer("tag", "cozy-mystery")
    st.exclude("mood", "dark")
    _drop_contradicted_tags(st)
    assert st.prefs["tag"] == {"cozy-mystery": 1.0}


def test_a_qualifier_after_a_negation_is_not_the_word_excluded(engine):
    from coverstory.dialogue.mentions import negated_series, negated_words

    p = engine.nlu.parse("spooky but not proper horror")
    assert "proper" not in [w for _, w, _ in negated_words(engine.index, p, set())]
    p = engine.nlu.parse("not real history")
    assert negated_series(engine.index, p, set()) == []


def test_ordinals_misspelt():
    from coverstory.dialogue.slots import tokens

    assert acts.norm("the thrid one?") == "the third one?"
    assert tokens("didnt like the frist one")[-2:] == ["first", "one"]
    assert acts.norm("a fist fight") == "a fist fight"


def test_questions_about_a_shown_book_do_not_look_up_their_own_words(tiny_home):
    """'Year of publication, please.', 'number of pages?', 'who's it by and when': the words
    of the question are no title ('Please Ignore Me', 'Number Nine', 'When'); 'is the keep
    one long' / 'the one with the gate' is the shown book with those title words, not another
    book so called; in a series just talked about, 'the first' and 'that second one' are its
    books of that number; 'author of book three?' is the third book shown."""
    from coverstory.catalog import Catalog

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        for n, title in enumerate(("Please Ignore Me", "Number Nine", "When", "The Keeps")):
            cat.upsert_book("tiny", f"decoy{n}", {"title": title, "authors": ["Deco Y"],
                                                  "year": 1950 + n, "pages": 99})
    cat.close()
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow", "Rain Tower"))
    try:
        r = eng.turn("q", text="tide saga, which is book three?")
        assert r.books[0]["title"].startswith("Star Hollow")
        r = eng.turn("q", text="when did the first come out")
        assert "2001" in r.text and "Moon Keep" in r.text
        eng.turn("q2", text="tide saga, which is book three?")
        r = eng.turn("q2", text="and roughly how many pages is that second one")
        assert "202" in r.text
        for sid, ask, want in (("y", "Year of publication, please.", "2001"),
                               ("p", "number of pages?", "201"),
                               ("w", "who's it by and when", "Ida Reef"),
                               ("k", "is the sun gate one long", "202"),
                               ("h", "how many page has the one with the star hollow?", "203"),
                               ("l", "and that one's year?", "2001")):
            eng.turn(sid, text="the tide saga in order please")
            r = eng.turn(sid, text=ask)
            assert r.intent == "ask_about" and want in r.text, (ask, r.text)
        eng.turn("b", text="the tide saga in order please")
        r = eng.turn("b", text="author of book three?")
        assert "Star Hollow" in r.text
    finally:
        eng.close()


@pytest.mark.parametrize("text,sub", [
    ("who's the poet of the first one", "author"), ("author of book three?", "author"),
    ("and that one's year?", "year"), ("short?", "pages"), ("How many page has it?", "pages"),
])
def test_more_ways_to_ask_about_a_book(text, sub):
    a = acts.classify(text)
    assert (a.kind, a.sub) == ("ask", sub)


def test_a_series_asked_for_by_its_hero_or_story(tiny_home):
    """'the series about the lighthouse girl Mira, what is book one', 'Ida Reef - the books
    with the lighthouse keeper. where do they begin?': the series whose books' text clearly
    matches the words, even when one word of them ('girl') is part of another series' name."""
    from coverstory.catalog import Catalog

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        for n, title in enumerate(("Pearl", "Shell"), 1):
            cat.upsert_book("tiny", f"girl{n}", {"title": f"{title} (Sea Girl, #{n})",
                                                 "authors": ["Ann Other"], "year": 1990 + n,
                                                 "description": "A summer romance by the sea."})
        for n, title in enumerate(("Moon Keep", "Sun Gate", "Star Hollow"), 1):
            cat.upsert_book("tiny", f"tide{n}", {
                "title": f"{title} (The Tide Saga, #{n})", "authors": ["Ida Reef"],
                "year": 2000 + n, "description": f"Mira the lighthouse keeper, part {n}."})
    cat.close()
    from coverstory.dialogue.engine import DialogueEngine

    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    try:
        for sid, ask in (("a", "the series about the lighthouse girl Mira, what is book one"),
                         ("b", "Ida Reef - the books with the lighthouse keeper. Where do they begin?"),
                         ("c", "where do the mira lighthouse novels start")):
            r = eng.turn(sid, text=ask)
            assert r.intent == "series" and r.books[0]["title"].startswith("Moon Keep"), ask
    finally:
        eng.close()


@pytest.mark.parametrize("text,kind,sub", [
    ("haha my wife would kill me 😂", "smalltalk", "aside"),
    ("its raining so much here in Pune, perfect reading weather na", "smalltalk", "aside"),
    ("do you actually read the books yourself?", "smalltalk", "self"),
    ("thanks yaar", "smalltalk", "thanks"),
    ("haha fair, thriller then", "request", ""),          # a kind of book: a request
    ("it is raining, give me a cosy mystery", "request", ""),
    ("lol ok something funny", "request", ""),
])
def test_asides_about_the_readers_life_or_the_bot_show_no_books(text, kind, sub):
    a = acts.classify(text)
    assert (a.kind, a.sub) == (kind, sub)


def test_a_series_named_with_a_kind_word_or_inside_a_question(tiny_home):
    """'tide saga mysteries' lists the series; 'the tide saga inside it - which is first?'
    names the series even with a pronoun after it."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate"))
    try:
        r = eng.turn("m", text="tide saga mysteries")
        assert r.intent == "series" and r.books[0]["title"].startswith("Moon Keep")
        r = eng.turn("i", text="the tide saga inside it - which is first?")
        assert r.intent == "series" and r.books[0]["title"].startswith("Moon Keep")
    finally:
        eng.close()


def test_just_his_poetry_keeps_the_author_and_graphic_memoir_is_a_comic(engine):
    from coverstory.dialogue.turns.request import _THAT_AUTHOR

    assert _THAT_AUTHOR.search("just his poetry, not the novels")
    assert not _THAT_AUTHOR.search("just her daughter and me")
    slots = engine.nlu.parse("a graphic memoir").slots
    assert [(s.kind, s.value) for s in slots if not s.negated] == [("genre", "comics")]


def test_the_authors_newest_or_earliest_and_a_lookup_said_with_please(tiny_home):
    """'X by Y please' not in the catalog offers Y's books; 'then his most recent one'
    leads with Y's newest book here, said so, even though it was shown."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow"))
    try:
        r = eng.turn("n", text="Klara and the Moon by Ida Reef please")
        assert r.books and all("Ida Reef" in b["authors"] for b in r.books)
        r = eng.turn("n", text="then her most recent one that you do have")
        assert r.books[0]["title"].startswith("Star Hollow") and "2003" in r.text
        r = eng.turn("n", text="and her earliest book?")
        assert r.books[0]["title"].startswith("Moon Keep") and "2001" in r.text
    finally:
        eng.close()


@pytest.mark.parametrize("text", ["And after this one which come?", "no i meant the third one"])
def test_series_follow_ups_said_otherwise(text):
    from coverstory.dialogue.acts import Act, series_follow_up

    act = Act("request")
    series_follow_up(text, act)
    assert act.kind == "series"


def test_enough_of_a_kind_the_other_one_and_back_to_the_first_name(tiny_home):
    """'enough crime for one week. give me some fantasy instead' drops crime; 'no, the other
    one - the gray one' after a lookup is that author's closest title; 'books by Ann Gray, no
    sorry Mark Stone, no actually Ann Gray was right' asks for Ann Gray; after 'not <X>',
    'why that one?' is about the first book shown, not the one turned down."""
    from coverstory.catalog import Catalog

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        cat.upsert_book("tiny", "ws2", {"title": "On the Wizard School", "authors": ["Clara Bell"],
                                        "year": 1999})
    cat.close()
    from coverstory.dialogue.engine import DialogueEngine

    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    try:
        eng.turn("e", text="a crime novel")
        eng.turn("e", text="enough crime for one week. give me some fantasy instead")
        assert "crime" in eng.store.load("e").excl.get("genre", [])
        eng.turn("o", text="the wizard school")
        r = eng.turn("o", text="no, the other one - the clara bell")
        assert r.books[0]["title"] == "On the Wizard School"
        r = eng.turn("b", text="books by Ann Gray, no sorry Mark Stone, no actually Ann Gray was right")
        assert r.books and all("Ann Gray" in b["authors"] for b in r.books)
        r = eng.turn("b", text="but not The Wizard School, I've seen the film")
        first = r.books[0]["title"]
        r = eng.turn("b", text="why that one?")
        assert first in r.text and "The Wizard School" not in r.text.replace(first, "")
    finally:
        eng.close()


def test_negation_reaches_or_anything_and_done_with_and_no_then_a_new_request(engine):
    p = engine.nlu.parse("not fantasy or anything magic")
    assert all(s.negated for s in p.slots if s.kind != "ref")
    p = engine.nlu.parse("i'm so done with fantasy")
    assert all(s.negated for s in p.slots if s.kind != "ref")
    a = acts.classify("hmm, no. a Russian classic")
    assert a.strong_change and not a.refine_cue
    a = acts.classify("no. a shorter one")
    assert not a.strong_change and a.refine_cue


def test_remarks_about_the_readers_day_show_nothing_but_requests_still_work(engine):
    for text in ("lol my cat keeps sitting on whatever book i'm reading",
                 "can't find my reading glasses anywhere, third time this week",
                 "thank you!! the shower is on sunday, so excited"):
        engine.turn("r", text="a fantasy book")
        r = engine.turn("r", text=text)
        assert r.intent == "smalltalk" and not r.books, text
    for text in ("I've already read the second one", "i'm reading the wizard school", "i'm 40",
                 "can you find me something funny"):
        engine.turn("n", text="a fantasy book")
        assert engine.turn("n", text=text).intent != "smalltalk", text
    a = acts.classify("can you find me something they might enjoy, literary but with a plot")
    assert a.kind == "request"
    assert acts.classify("actually I'm 40").audience == "adult"
    assert acts.classify("i'm 2 books into the series").age is None


def test_next_after_the_book_the_reader_finished(tiny_home):
    """'done with sun gate. next?', 'read moon keep and sun gate. next one??', 'Finished Sun
    Gate with my daughter. Which tide book comes next?': the book after the furthest one read."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow", "Rain Tower"))
    try:
        for sid, text in (("a", "im reading the tide saga, done with sun gate. next?"),
                          ("b", "tide saga — read moon keep and sun gate. next one??"),
                          ("c", "Finished Sun Gate with my daughter. Which tide book comes next?")):
            r = eng.turn(sid, text=text)
            assert r.intent == "series" and r.books[0]["title"].startswith("Star Hollow"), text
        assert acts.classify("i read a lot, what next").kind != "series"
    finally:
        eng.close()


def test_the_first_one_after_a_sequel_answer_is_the_first_shown(tiny_home):
    """After 'finished Moon Keep, what next?' (Sun Gate shown first), 'what year was the first
    one published' is Sun Gate's year; a title not yet in a series reply: no book missed."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow"))
    try:
        eng.turn("s", text="i just read moon keep by ida reef, what next?")
        r = eng.turn("s", text="what year was the first one published")
        assert "2002" in r.text
        r = eng.turn("t", text="project hail mary??")
        assert not r.books and "can't find" in r.text
    finally:
        eng.close()


def test_a_sequel_of_a_book_described_and_a_book_named_loosely(tiny_home):
    from coverstory.catalog import Catalog

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        for n, title in enumerate(("Moon Keep", "Sun Gate"), 1):
            cat.upsert_book("tiny", f"tide{n}", {
                "title": f"{title} (The Tide Saga, #{n})", "authors": ["Ida Reef"],
                "year": 2000 + n, "description": f"Mira the cyborg lighthouse keeper, part {n}."})
    cat.close()
    from coverstory.dialogue.engine import DialogueEngine

    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    try:
        r = eng.turn("c", text="the cyborg lighthouse book!! what's the sequel")
        assert r.intent == "series" and r.books[0]["title"].startswith("Sun Gate")
        r = eng.turn("f", text="I'm about to start Sun Gate but I skipped one. Which tide book comes right before it?")
        assert r.books and r.books[0]["title"].startswith("Moon Keep")
    finally:
        eng.close()


def test_how_many_in_a_series_which_number_is_a_title_and_the_last_one_said_more(tiny_home):
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow"))
    try:
        eng.turn("c", text="the tide saga in order please")
        r = eng.turn("c", text="and how many books are there altogether")
        assert "3" in r.text and not eng.store.load("c").liked
        r = eng.turn("n", text="Quick one. Which number in the tide saga is Sun Gate? My copy has no number")
        assert "#2" in r.text and "Sun Gate" in r.text
        r = eng.turn("l", text="what's the very last tide saga book, the one she finished in 2003")
        assert r.books[0]["title"].startswith("Star Hollow")
    finally:
        eng.close()


def test_middle_one_after_that_one_and_last_of_that_trilogy(tiny_home):
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow"))
    try:
        for text, want in (("and the middle one", "Sun Gate"), ("and the last of that trilogy",
                                                                 "Star Hollow")):
            sid = text[:9]
            eng.turn(sid, text="the tide saga in order please")
            r = eng.turn(sid, text=text)
            assert r.books and r.books[0]["title"].startswith(want), text
        eng.turn("a", text="tide saga, which is book one?")
        r = eng.turn("a", text="and after that one?")
        assert r.books[0]["title"].startswith("Sun Gate")
        assert acts.classify("cheers, my sister in law will be happy").sub == "thanks"
    finally:
        eng.close()


@pytest.mark.parametrize("text,kind,sub", [
    ("someone else who writes battles like him", "request", ""),
    ("i loved the first one of those", "request", ""),
    ("first one of the tide saga", "series", "first"),
])
def test_someone_else_who_writes_and_the_first_of_those(text, kind, sub):
    a = acts.classify(text)
    assert (a.kind, a.sub) == (kind, sub)


def test_another_kind_of_writer_not_her_leaves_the_author_out(engine):
    from coverstory.dialogue.turns.request import _other_author

    p = engine.nlu.parse("something similar from another latin american writer, not her")
    assert _other_author("something similar from another latin american writer, not her", p)


@pytest.mark.parametrize("text", ["which one is the australia book", "which one's the everest one",
                                  "which of his is the christmas one lol",
                                  "which of those is the one about iran"])
def test_which_of_the_shown_books_is_the_one_described(text):
    a = acts.classify(text)
    assert (a.kind, a.sub) == ("ask", "which")


def test_ill_take_the_first_one_is_a_like():
    from coverstory.dialogue.nlu import sentiment
    from coverstory.dialogue.slots import tokens

    assert sentiment(tokens("brill, I'll take the first one")) > 0.2
    assert sentiment(tokens("the first one")) == 0


def test_the_next_and_the_last_said_with_a_series_name_alone(tiny_home):
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow"))
    try:
        eng.turn("p", text="tide saga, which is book one?")
        r = eng.turn("p", text="the next tide saga")
        assert r.books[0]["title"].startswith("Sun Gate")
        r = eng.turn("p", text="and the last tide saga ever")
        assert r.books[0]["title"].startswith("Star Hollow")
        assert acts.classify("the last one").kind == "request"
    finally:
        eng.close()


def test_the_eighteen_hundreds():
    from coverstory.dialogue.years import years_range

    assert years_range("novels written in the eighteen hundreds, nothing newer") == (1800, 1900)
    assert years_range("the nineteen hundreds") == (1900, 2000)


def test_an_author_with_one_series_shows_more_of_it_in_order(tiny_home):
    """A series not started shows once, unless too few other books fit ('tana french')."""
    eng = _tide_saga(tiny_home, ("Moon Keep", "Sun Gate", "Star Hollow"))
    try:
        r = eng.turn("t", text="ida reef")
        titles = [b["title"].split(" (")[0] for b in r.books]
        assert titles[:3] == ["Moon Keep", "Sun Gate", "Star Hollow"]
    finally:
        eng.close()


@pytest.mark.parametrize("text,kind,sub,query", [
    ("klara and the sun? if not, other ishiguro", "lookup", "", "klara and the sun by ishiguro"),
    ("is it good? if not, something else", "request", "", ""),
    ("which of his is the newest", "ask", "compare", ""),
])
def test_a_title_or_else_its_author_and_the_newest_of_his(text, kind, sub, query):
    a = acts.classify(text)
    assert (a.kind, a.sub, a.query) == (kind, sub, query)


def test_any_x_in_there_if_not_show_me_some_is_no_title_lookup():
    assert acts.classify("any shakespeare in there? if not, show me some").kind != "lookup"
