"""Intent classifier and slot matching: every intent and every slot type."""

from __future__ import annotations

import pytest

from coverstory.dialogue import utterances
from coverstory.dialogue.intents import IntentClassifier
from coverstory.dialogue.nlu import sentiment, tokens, years_range


@pytest.fixture(scope="module")
def clf():
    return IntentClassifier.train()


def test_heldout_accuracy_and_every_intent(clf):
    rows = utterances.load("intents_test.jsonl")
    res = clf.accuracy(rows)
    assert res["accuracy"] >= 0.9, res["errors"]
    assert set(res["per_intent"]) == set(utterances.INTENTS)
    for intent, acc in res["per_intent"].items():
        assert acc >= 0.6, (intent, res["errors"])


@pytest.mark.parametrize("text,intent", [
    ("recommend me a gripping thriller", "recommend"),
    ("the book where a girl lives alone in a lighthouse and finds a baby", "describe"),
    ("what book is this cover", "identify_photo"),
    ("something like The Martian but funnier", "similar_to"),
    ("shorter please", "refine"),
    ("I loved the second one", "feedback"),
    ("who wrote the first one", "ask_about"),
    ("hello!", "greeting"),
    ("what can you do", "help"),
    ("start over", "reset"),
    ("I don't mind", "dont_care"),
])
def test_each_intent(clf, text, intent):
    assert clf.predict(text)[0] == intent


def test_save_and_load_roundtrip(clf, tmp_path):
    clf.save(tmp_path / "m")
    again = IntentClassifier.load(tmp_path / "m")
    assert (tmp_path / "m" / "config.json").is_file() and (tmp_path / "m" / "weights.npz").is_file()
    for t in ("hi", "no romance please", "who wrote it"):
        assert again.predict(t)[0] == clf.predict(t)[0]


def slots(engine, text):
    return [(s.kind, s.value, s.negated) for s in engine.nlu.parse(text).slots]


def test_genre_mood_audience_slots(engine):
    got = slots(engine, "a cosy mystery for teens")
    assert ("mood", "cosy", False) in got
    assert ("genre", "mystery", False) in got
    assert ("audience", "young adult", False) in got


def test_era_and_length_slots(engine):
    got = slots(engine, "a short book from the 1990s")
    assert ("length", "short", False) in got
    assert ("era", "1960 to 1999", False) in got
    assert years_range("published after 2010") == (2010, 3000)
    assert years_range("from the 80s") == (1980, 1990)
    assert years_range("before 1950") == (-3000, 1950)


def test_theme_tags_from_the_catalog(engine):
    # 'dragons' and 'magic' are shelves of the tiny catalog, singular or plural
    got = slots(engine, "something with a dragon and magic")
    assert ("tag", "dragons", False) in got
    assert ("tag", "magic", False) in got


def test_author_and_fuzzy_title(engine, ids):
    got = slots(engine, "anything by Ann Gray")
    assert ("author", "Ann Gray", False) in got
    got = slots(engine, "I liked Red Planet Alon")         # misspelt title
    assert ("title", ids["Red Planet Alone"], False) in got
    got = slots(engine, "like murder in venise")
    assert ("title", ids["Murder in Venice"], False) in got


@pytest.mark.parametrize("text,kind,value", [
    ("no romance please", "genre", "romance"),
    ("nothing too dark", "mood", "dark"),
    ("I don't want anything scary", "mood", "scary"),
    ("fantasy without dragons", "tag", "dragons"),
    ("not by Ann Gray", "author", "Ann Gray"),
])
def test_negation(engine, text, kind, value):
    got = slots(engine, text)      # an exclusion: a negated slot, or a "-value" comparative
    assert (kind, value, True) in got or ("refine", f"{kind}:-{value}", False) in got


def test_negation_scope_ends(engine):
    got = slots(engine, "no romance but something funny")
    assert ("genre", "romance", True) in got and ("mood", "funny", False) in got
    got = slots(engine, "no horror or romance")
    assert ("genre", "horror", True) in got and ("genre", "romance", True) in got


def test_refine_and_references(engine):
    got = slots(engine, "something shorter and not so dark")
    assert ("refine", "length:short", False) in got and ("refine", "mood:-dark", False) in got
    assert ("ref", 1, False) in slots(engine, "I liked the second one")
    assert ("ref", -1, False) in slots(engine, "the last one")


def test_sentiment():
    assert sentiment(tokens("I loved it, brilliant")) > 0.5
    assert sentiment(tokens("I didn't like it")) < 0
    assert sentiment(tokens("boring and slow")) < -0.5
    assert sentiment(tokens("something like that one")) == 0


def test_numpy_features_match_scikit_learn(clf):
    """The sklearn-free inference path computes the same probabilities as sklearn."""
    import numpy as np
    import scipy.sparse as sp

    texts = ["Hello there!", "no romance, something   DARK?", "like The Martian but funnier",
             "a", "I didn't like the 2nd one", "écrivain français"]
    wv, cv = clf._vectorizers()
    x = sp.hstack([wv.transform(texts), cv.transform(texts)]).tocsr()
    z = np.asarray(x @ clf.coef.T) + clf.intercept
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.probabilities(texts), p, atol=1e-5)


def test_wishes_are_not_titles(engine):
    for text in ("I'd like something with magic", "I would like a book about mars",
                 "like something funny"):
        assert not [s for s in engine.nlu.parse(text).slots if s.kind == "title"], text


def test_negation_stops_at_the_end_of_a_sentence(engine):
    got = slots(engine, "No, not those. Magic and dragons would be good, but no romance.")
    assert ("tag", "magic", False) in got and ("tag", "dragons", False) in got
    assert ("genre", "romance", True) in got


def test_year_ranges_are_not_titles(engine):
    for text in ("Something from 1960 to 1999.", "books from 2000 to 2009"):
        assert not [s for s in engine.nlu.parse(text).slots if s.kind == "title"], text


def test_common_words_are_not_one_word_titles(tiny_home, tmp_path):
    """A catalog with a book called 'Next' and many books using the word: 'read next' is
    no title, while a rare one-word title ('Dune') after 'like' is."""
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    cat = Catalog.open(tiny_home)
    with cat.transaction():
        cat.upsert_book("t", "next", {"title": "Next", "authors": ["M. Crichton"]})
        cat.upsert_book("t", "dune", {"title": "Dune", "authors": ["F. Herbert"]})
        for i in range(8):
            cat.upsert_book("t", f"n{i}", {"title": f"Filler {i}", "authors": ["X"],
                                           "description": "what happens next is a surprise"})
    cat.close()
    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    assert not [s for s in eng.nlu.parse("What should I read next?").slots if s.kind == "title"]
    dune = [s.value for s in eng.nlu.parse("something like Dune").slots if s.kind == "title"]
    assert dune and eng.catalog.book(dune[0]).title == "Dune"
    eng.close()


def test_an_exact_tag_beats_a_plural_variant(engine):
    from coverstory.dialogue.nlu import SlotMatcher

    idx = engine.index
    idx.tag_names = sorted(set(idx.tag_names) | {"mystery-thriller", "mystery-thrillers"})
    m = SlotMatcher(idx)
    got = [(s.kind, s.value) for s in m.match("no mystery thrillers")[0]]
    assert got == [("tag", "mystery-thrillers")]
