"""The engine over the tiny catalog: memory, negation, no repeats, photo, feedback, LLM."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from coverstory.results import Hit


def titles(reply):
    return [b["title"] for b in reply.books]


def test_reply_contract(engine):
    r = engine.turn("s1", text="recommend a fantasy book")
    d = r.to_dict()
    assert set(d) == {"session_id", "text", "intent", "question", "books"}
    assert d["session_id"] == "s1" and d["intent"] == "recommend" and d["books"]
    for b in d["books"]:
        assert set(b) == {"id", "title", "authors", "year", "score", "reason"}   # no URLs
        assert b["reason"]


def test_greeting_help_reset(engine):
    assert engine.turn("g", text="hello").intent == "greeting"
    assert engine.turn("g", text="what can you do?").intent == "help"
    engine.turn("g", text="a fantasy book with dragons")
    assert engine.store.load("g").prefs
    r = engine.turn("g", text="start over")
    assert r.intent == "reset" and not engine.store.load("g").prefs


def test_multi_turn_memory(engine):
    engine.turn("m", text="I'd like some fantasy")
    engine.turn("m", text="with dragons please")
    st = engine.store.load("m")
    assert "fantasy" in st.prefs["genre"] and "dragons" in st.prefs["tag"]
    engine.turn("m", text="for young adults")
    st = engine.store.load("m")
    assert st.audience == "young adult" and "fantasy" in st.prefs["genre"]
    assert st.turns == 3


def test_state_survives_a_new_engine(tiny_home, engine):
    from coverstory.dialogue.engine import DialogueEngine

    engine.turn("p", text="no romance please, something with magic")
    other = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    st = other.store.load("p")
    assert st.excl["genre"] == ["romance"] and "magic" in st.prefs["tag"]
    other.close()


def test_negation_excludes_books(engine):
    r = engine.turn("n", text="fantasy but no dragons")
    assert "Dragons of the North" not in titles(r)
    assert "The Wizard School" in titles(r)
    r = engine.turn("n2", text="something contemporary, no romance")
    assert "Love on the Farm" not in titles(r)


def test_no_repeat_after_rejection(engine):
    r = engine.turn("r", text="a fantasy book")
    first = r.book_ids[0]
    engine.turn("r", text="no, not the first one, I didn't like it")
    assert first in engine.store.load("r").rejected
    for text in ("more fantasy", "anything else?", "start over", "any book at all", "fantasy"):
        assert first not in engine.turn("r", text=text).book_ids


def test_describe_finds_the_book(engine):
    r = engine.turn("d", text="the one about an astronaut stranded on mars who grows food")
    assert r.intent == "describe"
    assert r.books[0]["title"] == "Red Planet Alone"
    assert "mars" in r.books[0]["reason"].lower() or "astronaut" in r.books[0]["reason"].lower()


def test_similar_to_uses_the_named_book(engine, ids):
    r = engine.turn("sim", text="something like The Wizard School")
    assert r.intent == "similar_to"
    assert ids["The Wizard School"] not in r.book_ids
    assert r.books[0]["title"] == "Dragons of the North"        # shares fantasy shelves


def test_ask_about_a_book(engine):
    engine.turn("a", text="something about mars")
    r = engine.turn("a", text="who wrote the first one")
    assert r.intent == "ask_about" and "Mark Stone" in r.text
    r = engine.turn("a", text="when was it published")
    assert "2011" in r.text


def test_vague_request_asks_one_question(engine):
    r = engine.turn("q", text="recommend me a book")
    assert r.question and r.question_facet
    assert r.question.count("?") == 1
    # answering the question is remembered as the asked attribute
    engine.turn("q", text="I don't mind")
    assert r.question_facet in engine.store.load("q").asked


class FakeRecommend:
    """Records feedback; profile scores favour books whose ids were liked + 1."""

    def __init__(self):
        self.calls = []

    def feedback(self, user_id, book_id, kind, rating=None):
        self.calls.append((user_id, book_id, kind))

    def score(self, user_id, book_ids):
        import numpy as np

        liked = {b for _, b, k in self.calls if k == "like"}
        return np.array([1.0 if b - 1 in liked else 0.0 for b in book_ids], np.float32)

    def similar_items(self, book_id, k=10):
        return []


def test_feedback_updates_profile_and_next_recommendation(tiny_home, ids):
    from coverstory.dialogue.engine import DialogueEngine

    rec = FakeRecommend()
    eng = DialogueEngine(tiny_home, search=False, recommend=rec, llm=False)
    before = eng.turn("f", text="any book").book_ids
    liked = ids["The Wizard School"]
    r = eng.feedback("f", liked, "like")
    assert rec.calls == [(eng.store.load("f").user_id, liked, "like")]
    assert r.intent == "feedback" and liked not in r.book_ids
    # liking makes the liked book's neighbours come first
    assert r.books[0]["title"] == "Dragons of the North"
    assert r.book_ids != before
    st = eng.store.load("f")
    assert st.accepted == liked
    assert [e["book_id"] for e in eng.catalog.events(session_id="f", kind="accept")] == [liked]
    eng.close()


def test_feedback_without_service_logs_rating_and_event(engine, ids):
    b = ids["Love on the Farm"]
    engine.feedback("fb", b, "dislike")
    uid = engine.store.load("fb").user_id
    assert (b, 1.0) in engine.catalog.user_ratings(uid)
    assert engine.catalog.events(session_id="fb", kind="dislike")[0]["book_id"] == b
    assert b in engine.store.load("fb").rejected
    with pytest.raises(ValueError):
        engine.feedback("fb", b, "meh")


def test_feedback_by_text(engine):
    r = engine.turn("ft", text="fantasy please")
    second = r.book_ids[1]
    engine.turn("ft", text="I've already read the second one")
    assert second in engine.store.load("ft").read


class FakeSearch:
    def __init__(self, best_id):
        self.best_id = best_id
        self.photos = []

    def photo(self, image, k=10):
        from coverstory.search.photo import PhotoResult

        self.photos.append(image)
        best = Hit(self.best_id, 0.93, "cover match")
        return PhotoResult(hits=[best], in_catalog=True, best=best)

    def similar(self, book_id, k=10):
        return []

    def text(self, query, k=10, exclude=()):
        return []


def test_photo_turn_identifies_and_suggests_more(tiny_home, ids):
    from coverstory.dialogue.engine import DialogueEngine

    search = FakeSearch(ids["The Wizard School"])
    eng = DialogueEngine(tiny_home, search=search, recommend=False, llm=False)
    r = eng.turn("ph", photo=b"\xff\xd8fake-jpeg")
    assert search.photos == [b"\xff\xd8fake-jpeg"]
    assert r.intent == "identify_photo"
    assert "The Wizard School" in r.text and "Ann Gray" in r.text
    assert r.books[0]["title"] == "The Wizard School" and len(r.books) > 1
    assert r.books[1]["title"] == "Dragons of the North"
    eng.close()


class _FakeLLM(BaseHTTPRequestHandler):
    requests: list = []
    status = 200

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body))
        if type(self).status != 200:
            self.send_response(type(self).status)
            self.end_headers()
            return
        out = json.dumps({"choices": [{"message": {"role": "assistant",
                                                   "content": "Rephrased: lovely picks!"}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(out.encode())

    def log_message(self, *a):
        pass


@pytest.fixture
def fake_llm():
    _FakeLLM.requests = []
    _FakeLLM.status = 200
    srv = HTTPServer(("127.0.0.1", 0), _FakeLLM)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1", _FakeLLM
    srv.shutdown()


def test_llm_adapter_against_a_local_fake_server(tiny_home, fake_llm, monkeypatch):
    from coverstory.dialogue.engine import DialogueEngine
    from coverstory.dialogue.llm import ChatAdapter

    url, handler = fake_llm
    monkeypatch.setenv("COVERSTORY_LLM_URL", url)
    monkeypatch.setenv("COVERSTORY_LLM_MODEL", "tiny-model")
    eng = DialogueEngine(tiny_home, search=False, recommend=False)   # from settings
    assert isinstance(eng.llm, ChatAdapter)
    r = eng.turn("llm", text="a fantasy book")
    assert r.text == "Rephrased: lovely picks!"
    assert r.books                                       # books are never touched
    path, body = handler.requests[0]
    assert path == "/v1/chat/completions" and body["model"] == "tiny-model"
    assert "a fantasy book" in json.dumps(body["messages"])
    # a failing endpoint keeps the template reply
    handler.status = 500
    r = eng.turn("llm", text="hello")
    assert r.text and not r.text.startswith("Rephrased")
    eng.close()


def test_llm_off_by_default(tiny_home, monkeypatch):
    from coverstory.dialogue.engine import DialogueEngine

    monkeypatch.delenv("COVERSTORY_LLM_URL", raising=False)
    eng = DialogueEngine(tiny_home, search=False, recommend=False)
    assert eng.llm is None
    eng.close()


def test_unknown_policy_is_refused(tiny_home):
    from coverstory.dialogue.engine import DialogueEngine

    with pytest.raises(ValueError, match="unknown dialogue policy"):
        DialogueEngine(tiny_home, policy="nope", search=False, recommend=False, llm=False)


@pytest.mark.slow
def test_real_services_on_the_tiny_catalog(tiny_home, ids):
    """With the real RecommendService: a like is stored in the profile at once and the next
    suggestions change."""
    from coverstory.dialogue.engine import DialogueEngine
    from coverstory.recommend.service import RecommendService

    rec = RecommendService(tiny_home)
    eng = DialogueEngine(tiny_home, search=False, recommend=rec, llm=False)
    first = eng.turn("real", text="a book about space and survival on mars")
    assert first.books[0]["title"] == "Red Planet Alone"
    liked = ids["Murder in Venice"]
    r = eng.feedback("real", liked, "like")
    uid = eng.store.load("real").user_id
    assert (liked, 5.0) in [(b, float(x)) for b, x in eng.catalog.user_ratings(uid)] or \
        eng.catalog.events(user_id=uid, kind="like")
    assert liked not in r.book_ids and r.book_ids != first.book_ids
    eng.close()


def test_photo_question_without_a_photo_asks_for_one(engine):
    r = engine.turn("nophoto", text="what book is this?")
    assert r.intent == "identify_photo" and "photo" in r.text.lower() and not r.books
