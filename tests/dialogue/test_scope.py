"""What a negation covers, story elements said no to, evaluations of a shown book."""

import pytest


@pytest.fixture
def engine(tiny_home):
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        for n, (title, author, tags) in enumerate((
                ("Hop on Hats", "Dr. Seuss", ()), ("Ten Red Fish", "Dr. Seuss", ()),
                ("The Story Room", "Kay Marsh", ("ghosts", "horror")),
                ("Attic Voices", "Kay Marsh", ("ghost-stories", "horror"))), 1):
            cat.upsert_book("tiny", f"s{n}", {"title": title, "authors": [author],
                                              "year": 1950 + n, "description": "A small story."},
                            tags=tags)
    cat.close()
    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    yield eng
    eng.close()


def _negated(engine, text):
    return {(s.kind, s.surface): s.negated for s in engine.nlu.parse(text).slots}


def test_a_negation_stops_at_a_comma_before_another_kind(engine):
    got = _negated(engine, "ok something else for her that isn't seuss, picture books")
    assert got[("author", "seuss")] and not got[("audience", "picture books")]
    got = _negated(engine, "no horror, romance or thrillers")
    assert all(got.values()) and len(got) == 3          # a list of one kind stays negated


def test_a_story_element_said_no_to_rules_out_its_genre(engine):
    engine.turn("m", text="a realistic story of school for my son, not magic")
    st = engine.store.load("m")
    assert "fantasy" in st.excl.get("genre", []) and "contemporary" in st.prefs.get("genre", {})
    engine.turn("d", text="fantasy, but no dragons")
    st = engine.store.load("d")
    assert "fantasy" in st.prefs["genre"] and "fantasy" not in st.excl.get("genre", [])


def test_a_kind_asked_for_and_denied_stays_asked_for(engine):
    engine.turn("g", text="a ghost story for my mum, but not proper horror, she scares easily")
    st = engine.store.load("g")
    assert "horror" in st.prefs.get("genre", {}) and "horror" not in st.excl.get("genre", [])


def test_plays_are_a_kind_of_book(engine):
    p = engine.nlu.parse("plays I can read, not novels")
    assert ("genre", "plays", False) in {(s.kind, s.value, s.negated) for s in p.slots}


def test_ones_set_in_the_past_refines():
    from coverstory.dialogue import acts

    assert acts.classify("she likes ones set in the past").refine_cue
    assert not acts.classify("she likes romance").refine_cue


def test_a_shown_book_that_looks_sweet_is_liked(engine):
    r = engine.turn("f", text="books by dr seuss")
    assert len(r.books) >= 2
    r = engine.turn("f", text="the second looks sweet, she'll love it")
    assert r.intent == "feedback" and len(engine.store.load("f").liked) == 1


def test_a_surname_after_the_full_name_is_that_author(engine):
    got = {(s.kind, s.value, s.negated) for s in engine.nlu.parse(
        "kay marsh type books, but not marsh herself").slots}
    assert {("author", "Kay Marsh", False), ("author", "Kay Marsh", True)} <= got


@pytest.mark.parametrize("text,facet,value", [("too much, tone it down a little", "refine", "mood:-dark"),
                                              ("books of funny essays", "genre", "non-fiction"),
                                              ("like wolf hall but actually old", "era", "before 1900")])
def test_more_ways_to_say_a_kind_or_a_change(engine, text, facet, value):
    got = {(s.kind, str(s.value)) for s in engine.nlu.parse(text).slots}
    assert (facet, value) in got


def test_heavy_books_to_hold_are_no_dark_tone_and_swearing_is_said_no_to(engine):
    assert not [s for s in engine.nlu.parse("she can't hold heavy books so under 300 pages").slots
                if s.kind == "mood"]
    assert ("mood", "steamy", True) in {(s.kind, s.value, s.negated) for s in engine.nlu.parse(
        "she's 78 and hates swearing lol").slots}


@pytest.mark.parametrize("text", ["perfect, thank you. fingers crossed for her",
                                  "great, thanks! hope she enjoys it"])
def test_thanks_with_a_hope_for_someone_is_thanks(text):
    from coverstory.dialogue import acts

    assert (acts.classify(text).kind, acts.classify(text).sub) == ("smalltalk", "thanks")
