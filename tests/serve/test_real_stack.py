"""The HTTP API over the real library (SearchService, RecommendService, DialogueEngine)
on the tiny catalog, through a real server: the requests the web page makes."""

from __future__ import annotations

import httpx
import pytest

from tests.serve.conftest import cover_photo

pytestmark = pytest.mark.slow


def test_real_stack_end_to_end(real_server):
    from coverstory.catalog import Catalog

    cat = Catalog.open(real_server.home)
    with httpx.Client(base_url=real_server.url, timeout=120) as c:
        r = c.get("/api/search", params={"q": "wizard school magic"})
        assert r.status_code == 200, r.text
        assert r.json()["books"][0]["title"] == "The Wizard School"

        r = c.post("/api/chat", json={"text": "a boy at a wizard school of magic"})
        assert r.status_code == 200, r.text
        reply = r.json()
        assert reply["text"] and reply["session_id"]
        assert reply["books"][0]["title"] == "The Wizard School"

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
        assert cat.user_id(f"session:{reply['session_id']}") == uid
        assert any(e["kind"] == "dislike" and e["book_id"] == 2 for e in cat.events(user_id=uid))
        assert (2, 1.0) in cat.user_ratings(uid) or 2 in dict(cat.user_ratings(uid))

        for path in ("/api/books/1/similar", "/api/books/1/similar?by=readers",
                     "/api/users/me/recommendations", "/api/books/1", "/api/books/1/cover"):
            assert c.get(path).status_code == 200, path
        mine = c.get("/api/users/me/recommendations").json()
        assert mine["user_id"] == uid and 2 not in [b["id"] for b in mine["books"]]


def test_real_voice_turn(real_server, tmp_path):
    """Speech (espeak-ng) → /api/chat/voice → the dialogue's reply (voice extra installed)."""
    import shutil
    import subprocess

    from coverstory.serve.routes.chat import voice_available

    if not voice_available():
        pytest.skip("the voice extra (pocketsphinx) is not installed")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is needed to make test speech: apt-get install -y espeak-ng")
    wav = tmp_path / "ask.wav"
    subprocess.run(["espeak-ng", "-s", "140", "-w", str(wav), "books about dragons"], check=True)
    with httpx.Client(base_url=real_server.url, timeout=120) as c:
        r = c.post("/api/chat/voice", files={"file": ("ask.wav", wav.read_bytes(), "audio/wav")})
        assert r.status_code == 200, r.text
        assert r.json()["text"]
        bad = c.post("/api/chat/voice", files={"file": ("a.wav", b"RIFF\0\0\0\0WAVEjunk",
                                                        "audio/wav")})
        assert bad.status_code == 400 and "WAV" in bad.json()["error"]
