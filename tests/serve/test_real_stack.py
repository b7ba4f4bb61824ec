"""The HTTP API over the real library (SearchService, RecommendService, DialogueEngine)
on the tiny catalog: the same requests as the web page makes."""

from __future__ import annotations

import pytest

from tests.serve.conftest import cover_photo

pytest.importorskip("coverstory.search.service", reason="search service not in this build")
pytest.importorskip("coverstory.recommend.service", reason="recommend service not in this build")
pytest.importorskip("coverstory.dialogue.engine", reason="dialogue engine not in this build")

pytestmark = pytest.mark.slow


@pytest.fixture
def real_client(tiny_home):
    from fastapi.testclient import TestClient

    from coverstory.serve.app import create_app

    with TestClient(create_app(tiny_home, admin_token="t"), raise_server_exceptions=False) as c:
        yield c


def test_real_stack_end_to_end(real_client, tiny_home):
    from coverstory.catalog import Catalog

    c = real_client
    r = c.get("/api/search", params={"q": "wizard school magic"})
    assert r.status_code == 200, r.text
    assert r.json()["books"][0]["title"] == "The Wizard School"

    r = c.post("/api/chat", json={"text": "I'd like a fantasy book with magic"})
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["text"] and reply["session_id"]
    assert reply["books"] or reply["question"]

    cat = Catalog.open(tiny_home)
    photo = cover_photo(cat, 3)
    r = c.post("/api/search/photo", files={"file": ("p.jpg", photo, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.json()["books"][0]["id"] == 3

    r = c.post("/api/chat/photo", files={"file": ("p.jpg", photo, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert r.json()["books"][0]["id"] == 3

    r = c.post("/api/feedback", json={"book_id": 2, "kind": "dislike"})
    assert r.status_code == 200, r.text
    uid = r.json()["user_id"]
    assert any(e["kind"] == "dislike" and e["book_id"] == 2 for e in cat.events(user_id=uid))

    for path in ("/api/books/1/similar", "/api/books/1/similar?by=readers",
                 "/api/users/me/recommendations", "/api/books/1", "/api/books/1/cover"):
        assert c.get(path).status_code == 200, path
    assert c.get("/api/users/me/recommendations").json()["user_id"] == uid
