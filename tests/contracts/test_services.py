"""One contract (coverstory.contracts), two implementations: the same checks run against
the HTTP layer's test doubles (tests/serve/doubles.py) and against the real services
(SearchService, RecommendService, DialogueEngine) on a tiny home each test class makes
itself, so a double cannot drift from what the real service does."""

from __future__ import annotations

import pytest

from coverstory.contracts import (FEEDBACK_KINDS, BadImage, DialogueService, Hit, PhotoResult,
                                  RecommendService, Reply, SearchService, TextSearch, conforms)
from coverstory.errors import BadInput, NotFound
from tests.conftest import build_tiny_home
from tests.serve.conftest import cover_photo

CARD_KEYS = {"id", "title", "authors", "year", "score", "reason"}


def hits_ok(hits, k: int, book_ids) -> None:
    assert isinstance(hits, list) and len(hits) <= k
    assert all(isinstance(h, Hit) for h in hits)
    assert all(h.book_id in book_ids and isinstance(h.reason, str) and h.reason for h in hits)
    assert len({h.book_id for h in hits}) == len(hits)


class ServiceContract:
    """The contract checks; a subclass provides the ``stack`` fixture: a dict with the
    catalog, search, recommend and dialogue objects over a tiny home."""

    # ---- shape ------------------------------------------------------------------------
    def test_signatures(self, stack):
        for name, proto in (("search", SearchService), ("recommend", RecommendService),
                            ("dialogue", DialogueService)):
            assert isinstance(stack[name], proto)
            assert conforms(stack[name], proto) == [], name
        assert isinstance(stack["search"], TextSearch)

    # ---- search -----------------------------------------------------------------------
    def test_text_search(self, stack):
        ids = set(stack["catalog"].book_ids())
        hits = stack["search"].text("wizard school magic", k=3)
        hits_ok(hits, 3, ids)
        assert hits and hits[0].book_id == 1                     # "The Wizard School"
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        again = stack["search"].text("wizard school magic", k=3, exclude=[1])
        hits_ok(again, 3, ids - {1})

    def test_similar(self, stack):
        ids = set(stack["catalog"].book_ids())
        hits_ok(stack["search"].similar(1, k=2), 2, ids - {1})
        with pytest.raises(NotFound):
            stack["search"].similar(999_999, k=2)

    def test_photo(self, stack):
        ids = set(stack["catalog"].book_ids())
        res = stack["search"].photo(cover_photo(stack["catalog"], 3), k=3)
        assert isinstance(res, PhotoResult)
        hits_ok(res.hits, 3, ids)
        assert res.in_catalog == (res.best is not None)
        assert set(res.to_dict()) >= {"hits", "in_catalog", "best", "suggestions"}
        with pytest.raises(BadImage) as e:
            stack["search"].photo(b"these bytes are not an image", k=3)
        assert isinstance(e.value, BadInput) and str(e.value)

    # ---- recommend --------------------------------------------------------------------
    def test_recommend_and_feedback(self, stack):
        cat, rec = stack["catalog"], stack["recommend"]
        ids = set(cat.book_ids())
        uid = cat.user_id("tiny:0")
        rated = {b for b, _ in cat.user_ratings(uid)}
        hits = rec.recommend(uid, k=2, exclude=[5])
        hits_ok(hits, 2, ids - rated - {5})
        hits_ok(rec.similar_items(1, k=2), 2, ids - {1})
        new = cat.ensure_user("contract:reader")
        for kind, book in zip(FEEDBACK_KINDS, (2, 4, 6)):
            assert rec.feedback(new, book, kind) is None
        assert {b for b, _ in cat.user_ratings(new)} == {2, 4, 6}

    def test_feedback_kind_is_checked(self, stack):
        with pytest.raises(BadInput):
            stack["recommend"].feedback(stack["catalog"].user_id("tiny:0"), 1, "love")

    # ---- dialogue ---------------------------------------------------------------------
    def test_turn_and_feedback(self, stack):
        dlg = stack["dialogue"]
        reply = dlg.turn("contract-session-1", text="a boy at a wizard school of magic")
        assert isinstance(reply, Reply) and reply.session_id == "contract-session-1"
        assert reply.text and reply.intent
        assert reply.books and all(CARD_KEYS <= set(b) for b in reply.books)
        assert reply.books[0]["id"] == 1
        assert set(reply.to_dict()) == {"session_id", "text", "intent", "question", "books"}
        fb = dlg.feedback("contract-session-1", 2, "like")
        assert isinstance(fb, Reply) and fb.session_id == "contract-session-1"
        with pytest.raises(BadInput):
            dlg.feedback("contract-session-1", 2, "love")


@pytest.fixture(scope="module")
def doubles(tmp_path_factory):
    from tests.serve.doubles import make_services

    cat, search, rec, dlg = make_services(build_tiny_home(tmp_path_factory.mktemp("d")))
    return {"catalog": cat, "search": search, "recommend": rec, "dialogue": dlg}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine
    from coverstory.recommend.service import RecommendService
    from coverstory.search.service import SearchService

    home = build_tiny_home(tmp_path_factory.mktemp("r"))
    cat = Catalog.open(home)
    search = SearchService(home, log=lambda m: None)
    rec = RecommendService(home)
    return {"catalog": cat, "search": search, "recommend": rec,
            "dialogue": DialogueEngine(home, search=search, recommend=rec, catalog=cat)}


class TestDoubles(ServiceContract):
    @pytest.fixture
    def stack(self, doubles):
        return doubles


@pytest.mark.slow
class TestRealServices(ServiceContract):
    @pytest.fixture
    def stack(self, real):
        return real


def test_the_words_only_search_of_a_warming_server_is_a_text_search():
    from coverstory.serve.services import WordsOnly

    words = WordsOnly(text_search=None)
    assert isinstance(words, TextSearch) and conforms(words, TextSearch) == []


def test_conforms_names_what_drifted():
    class Drifted:
        def text(self, query, k=10):                      # no exclude
            return []

        def photo(self, image, k):                        # k without its default
            return None

    assert conforms(Drifted(), SearchService) == [
        "text: no parameter 'exclude'", "photo: 'k' needs a default",
        "photo: no parameter 'use_ocr'", "similar: missing"]
