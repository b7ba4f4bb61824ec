"""Text search: BM25 known answers, typo tolerance, RRF fusion on the tiny catalog."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coverstory.search.bm25 import BM25, analyze


def test_bm25_matches_hand_computed_scores(tmp_path):
    docs = [["cat", "sat"], ["cat", "cat", "dog"], ["bird"]]
    m = BM25(k1=1.5, b=0.75).fit(docs)
    n, avgdl = 3, 2.0
    idf_cat = math.log(1 + (n - 2 + 0.5) / (2 + 0.5))
    def w(tf, dl):
        return idf_cat * tf * 2.5 / (tf + 1.5 * (1 - 0.75 + 0.75 * dl / avgdl))
    s = m.scores(["cat"])
    np.testing.assert_allclose(s, [w(1, 2), w(2, 3), 0.0], rtol=1e-6)
    # weights multiply, unknown terms are ignored
    np.testing.assert_allclose(m.scores(["cat", "zebra"], [0.5, 1.0]), 0.5 * s, rtol=1e-6)
    m.save(tmp_path / "b.npz")
    back = BM25.load(tmp_path / "b.npz")
    np.testing.assert_allclose(back.scores(["cat", "dog"]), m.scores(["cat", "dog"]))


def test_analyze_stems_and_drops_stopwords():
    assert analyze("The Wizards of the North") == ["wizard", "north"]


@pytest.fixture
def svc(tiny_svc):
    return tiny_svc


def test_service_on_the_shared_tiny_home_fixture(tiny_home):
    """The facade works on a fresh ``tiny_home`` too (text only: no model loading here)."""
    from coverstory.search.service import SearchService

    s = SearchService(tiny_home, log=lambda m: None)
    s._vectors["text/minilm-l6.pretrained"] = None        # lexical + fuzzy lists only
    assert [s.books[h.book_id].title for h in s.text("red planet alne", k=1)] == ["Red Planet Alone"]


def titles(svc, hits):
    return [svc.books[h.book_id].title for h in hits]


def test_text_search_on_tiny_home(svc):
    assert titles(svc, svc.text("wizard school", k=3))[0] == "The Wizard School"
    # typos in title and author
    assert titles(svc, svc.text("dragns of the nort", k=3))[0] == "Dragons of the North"
    got = titles(svc, svc.text("ann grey", k=3))
    assert set(got[:2]) == {"The Wizard School", "Dragons of the North"}
    # a description fragment, different words (semantic + lexical)
    assert titles(svc, svc.text("astronaut stranded on mars", k=3))[0] == "Red Planet Alone"
    assert titles(svc, svc.text("detective story with canals in italy", k=3))[0] == "Murder in Venice"
    hits = svc.text("wizard school", k=3, exclude={h.book_id for h in svc.text("wizard school", k=1)})
    assert "The Wizard School" not in titles(svc, hits)
    assert svc.text("", k=3) == []
    h = svc.text("dragns", k=1)[0]
    assert "dragons" in h.reason and h.details["corrections"] == {"dragns": "dragons"}


def test_books_like_and_similar(svc):
    wiz = next(b.id for b in svc.books.values() if b.title == "The Wizard School")
    like = svc.text("books like the wizard school", k=3)
    assert wiz not in [h.book_id for h in like]
    assert titles(svc, like)[0] == "Dragons of the North"       # same author, fantasy
    sim = svc.similar(wiz, k=5)
    assert wiz not in [h.book_id for h in sim] and len(sim) == 5
    assert titles(svc, sim)[0] == "Dragons of the North"
    with pytest.raises(KeyError, match="no book"):
        svc.similar(999_999)
