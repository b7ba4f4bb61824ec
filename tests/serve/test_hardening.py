"""Issue 15, the minor defects (9): no server paths in 503 bodies, no X-Forwarded-For from
local clients unless trusted, no file contents in admin import errors, strict ids, HEAD /,
``k`` on /api/chat/photo, /docs without a CDN, feedback without a chat answer."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.serve.conftest import ADMIN, cover_photo
from tests.serve.test_jobs import wait_job

AUTH = {"Authorization": f"Bearer {ADMIN}"}


def test_503_bodies_hold_no_server_paths(client, stack, monkeypatch):
    home = stack["home"]

    def not_built(*a, **k):
        raise FileNotFoundError(f"{home}/indexes/text.npz is not built; run `coverstory "
                                f"build index` (data from /usr/share/coverstory/books.csv)")

    monkeypatch.setattr(stack["search"], "text", not_built)
    r = client.get("/api/search", params={"q": "dragons"})
    assert r.status_code == 503, r.text
    msg = r.json()["error"]
    assert str(home) not in msg and "/usr/share" not in msg and not re.search(r"/tmp/", msg)
    assert "<data home>/indexes/text.npz" in msg and "coverstory build index" in msg
    assert "…/books.csv" in msg


def _serve(home, *extra):
    env = dict(os.environ, COVERSTORY_ADMIN_TOKEN="")
    proc = subprocess.Popen(
        [sys.executable, "-m", "coverstory.cli", "--home", str(home), "serve", "--port", "0",
         "--log-level", "warning", "--rate-per-minute", "1", "--rate-burst", "2", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    line = proc.stdout.readline()
    m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    assert m, line
    url = m.group(0)
    for _ in range(200):
        try:
            httpx.get(url + "healthz", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, url


@pytest.mark.parametrize("trusted", [False, True])
def test_forwarded_for_is_ignored_unless_trusted(tiny_home, trusted):
    """uvicorn's default proxy headers took X-Forwarded-For from any local client, so each
    request could pick its own rate-limit bucket."""
    proc, url = _serve(tiny_home, *(["--trust-forwarded-for"] if trusted else []))
    try:
        codes = [httpx.get(url + "api/books/1", headers={"X-Forwarded-For": f"10.0.0.{i}"}
                           ).status_code for i in range(4)]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    if trusted:   # behind a proxy: each forwarded client has its own bucket
        assert codes == [200, 200, 200, 200], codes
    else:         # one local client, one bucket of 2
        assert codes[:2] == [200, 200] and 429 in codes[2:], codes


def test_admin_import_errors_do_not_quote_the_file(client, tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text("root:$6$salt$SECRETHASHVALUE:19000:0:99999:7:::\nbin:*:19000::::::\n")
    for source in ("csv", "goodreads-export"):
        r = client.post("/api/admin/import", json={"args": [source, str(secret)]},
                        headers=AUTH)
        assert r.status_code == 202, r.text
        job = wait_job(client, r.json()["id"])
        assert job["state"] == "failed", job
        assert "missing required column" in job["error"]
        text = str(job)
        assert "SECRETHASH" not in text and "root:" not in text and "19000" not in text


@pytest.mark.parametrize("body,needle", [
    ({"book_id": True, "kind": "like"}, "book_id"),
    ({"book_id": 2.0, "kind": "like"}, "book_id"),
    ({"book_id": "2", "kind": "like"}, "book_id"),
    ({"book_id": 2, "kind": "like", "rating": True}, "rating"),
    ({"book_id": 2, "kind": "like", "user_id": True}, "user_id"),
])
def test_feedback_ids_are_strict(client, stack, body, needle):
    r = client.post("/api/feedback", json=body)
    assert r.status_code == 422, r.text
    assert needle in r.json()["error"]
    assert stack["catalog"].stats()["ratings"] == 12   # nothing was saved


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_feedback_rating_must_be_finite(client, literal):
    r = client.post("/api/feedback", content=f'{{"book_id": 2, "kind": "like", '
                                             f'"rating": {literal}}}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert "rating" in r.json()["error"] and "finite" in r.json()["error"]


def test_head_of_the_page(client):
    r = client.head("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert r.content == b""


@pytest.mark.parametrize("k", ["0", "-3", "51", "abc", "2.5"])
def test_chat_photo_refuses_a_bad_k(client, stack, k):
    photo = cover_photo(stack["catalog"], 3)
    r = client.post("/api/chat/photo", data={"k": k},
                    files={"file": ("p.jpg", photo, "image/jpeg")})
    assert r.status_code == 422, r.text
    assert r.json()["error"].startswith("invalid request: k:")
    assert stack["dialogue"].turns == []                # refused before any work


def test_chat_photo_k_limits_the_books(client, stack):
    photo = cover_photo(stack["catalog"], 3)
    r = client.post("/api/chat/photo", data={"k": "1"},
                    files={"file": ("p.jpg", photo, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert [b["id"] for b in r.json()["books"]] == [3]


def test_docs_load_nothing_from_elsewhere(client):
    r = client.get("/docs")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "swagger-ui-bundle.js" in r.text
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", r.text), r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self' 'unsafe-inline'" in csp
    assert "http" not in csp
    for src in re.findall(r"(?:src|href)=\"([^\"]+)\"", r.text):
        a = client.get(src)
        assert a.status_code == 200 and len(a.content) > 1000, src
    assert "javascript" in client.get("/docs/assets/swagger-ui-bundle.js").headers[
        "content-type"]
    assert client.get("/docs/assets/../../catalog.sqlite").status_code == 404
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/openapi.json").json()["openapi"].startswith("3.")


def test_feedback_without_a_chat_answer(client, stack):
    r = client.post("/api/feedback", json={"book_id": 2, "kind": "like", "reply": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reply"] is None and body["kind"] == "like"
    cat = stack["catalog"]
    assert (2, 5.0) in cat.user_ratings(body["user_id"])
    events = cat.events(user_id=body["user_id"], kind="like")
    assert [e["book_id"] for e in events] == [2] and events[0]["session_id"]
    with_reply = client.post("/api/feedback", json={"book_id": 3, "kind": "like"})
    assert with_reply.json()["reply"]["text"] == "Noted."
    bad = client.post("/api/feedback", json={"book_id": 2, "kind": "like", "reply": "no"})
    assert bad.status_code == 422
