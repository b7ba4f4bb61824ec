"""Every endpoint and its error paths, in process (TestClient), over the tiny catalog."""

from __future__ import annotations

import functools
import io

import pytest
from PIL import Image

from tests.serve.conftest import ADMIN, cover_photo, jpeg_bytes, make_app

AUTH = {"Authorization": f"Bearer {ADMIN}"}


def assert_error(r, status: int, contains: str = ""):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"status", "error"}, body
    assert body["status"] == status
    assert contains.lower() in body["error"].lower(), body["error"]
    assert "Traceback" not in r.text
    return body


# ---- health, page, schema ---------------------------------------------------------------
def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready" and r.json()["books"] == 6


def test_page_and_static_assets(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert 'accept="image/*"' in r.text and "capture" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    for asset, kind in (("/static/app.js", "javascript"), ("/static/style.css", "css")):
        a = client.get(asset)
        assert a.status_code == 200 and kind in a.headers["content-type"]
    assert_error(client.get("/static/../catalog.sqlite"), 404)


def test_openapi_documents_every_endpoint(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for p in ["/api/chat", "/api/chat/photo", "/api/chat/voice", "/api/search",
              "/api/search/photo", "/api/books/{book_id}", "/api/books/{book_id}/similar",
              "/api/books/{book_id}/cover", "/api/users/{user_id}/recommendations",
              "/api/feedback", "/api/admin/import", "/api/admin/rebuild", "/api/admin/stats",
              "/healthz"]:
        assert p in paths, p
    assert "multipart/form-data" in paths["/api/chat/photo"]["post"]["requestBody"]["content"]
    assert "422" in paths["/api/chat"]["post"]["responses"]
    assert client.get("/docs").status_code == 200


def test_unknown_path_and_method_use_the_error_shape(client):
    assert_error(client.get("/api/nothing"), 404, "/docs")
    assert_error(client.delete("/api/chat"), 405)


# ---- chat ------------------------------------------------------------------------------
def test_chat_reply_books_and_cookie_session(client, stack):
    r = client.post("/api/chat", json={"text": "a wizard school of magic"})
    assert r.status_code == 200, r.text
    body = r.json()
    sid = body["session_id"]
    assert r.cookies.get("cs_session") == sid
    assert "httponly" in r.headers["set-cookie"].lower()
    assert body["books"][0]["title"] == "The Wizard School"
    card = body["books"][0]
    assert set(card) == {"id", "title", "authors", "year", "cover_url", "score", "reason"}
    assert card["cover_url"] == f"/api/books/{card['id']}/cover"
    # the cookie keeps the session
    r2 = client.post("/api/chat", json={"text": "dragons"})
    assert r2.json()["session_id"] == sid
    assert [t["session_id"] for t in stack["dialogue"].turns] == [sid, sid]
    # an explicit session id wins
    r3 = client.post("/api/chat", json={"text": "dragons", "session_id": "abcdefgh1234"})
    assert r3.json()["session_id"] == "abcdefgh1234"


def test_chat_asks_a_question_when_nothing_matches(client):
    body = client.post("/api/chat", json={"text": "zzzz"}).json()
    assert body["books"] == [] and body["question"]


@pytest.mark.parametrize("payload,needle", [
    ({}, "text: is required"),
    ({"text": ""}, "text"),
    ({"text": "   "}, "text"),
    ({"text": "x" * 2001}, "text"),
    ({"text": "hi", "session_id": "bad id!"}, "session_id"),
    ({"text": 5}, "text"),
])
def test_chat_bad_input(client, payload, needle):
    assert_error(client.post("/api/chat", json=payload), 422, needle)


def test_chat_malformed_json(client):
    r = client.post("/api/chat", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(r, 422, "JSON")


def test_library_crash_is_a_500_without_details(client, stack):
    stack["dialogue"].fail_with = RuntimeError("secret internal detail /etc/passwd")
    body = assert_error(client.post("/api/chat", json={"text": "hi"}), 500, "request id")
    assert "secret" not in body["error"]


def test_library_input_error_is_a_400(client, stack):
    from coverstory.errors import BadInput

    stack["dialogue"].fail_with = BadInput("say it in fewer words")
    assert_error(client.post("/api/chat", json={"text": "hi"}), 400, "fewer words")


# ---- photos ----------------------------------------------------------------------------
def test_chat_photo_finds_the_book_first(client, stack):
    photo = cover_photo(stack["catalog"], 3)
    r = client.post("/api/chat/photo", files={"file": ("c.jpg", photo, "image/jpeg")},
                    data={"text": "what is this?"})
    assert r.status_code == 200, r.text
    assert r.json()["books"][0]["id"] == 3
    assert stack["dialogue"].turns[-1]["photo"] is True


def test_photo_exif_orientation_is_applied(client, stack):
    upright = Image.open(stack["catalog"].book(2).cover_path).convert("RGB")  # 128x192
    stored = upright.transpose(Image.Transpose.ROTATE_90)                     # 192x128 on disk
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": undoes the ROTATE_90 above
    data = jpeg_bytes(stored, exif=exif.tobytes())
    r = client.post("/api/search/photo", files={"file": ("p.jpg", data, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert stack["search"].photo_sizes[-1] == (128, 192)
    assert r.json()["books"][0]["id"] == 2


def test_search_photo(client, stack):
    r = client.post("/api/search/photo", files={"file": ("c.jpg", cover_photo(stack["catalog"], 5),
                                                         "image/jpeg")}, data={"k": "3"})
    body = r.json()
    assert r.status_code == 200, r.text
    assert body["in_catalog"] is True and body["best"]["id"] == 5
    assert body["books"][0]["id"] == 5 and len(body["books"]) == 3


def test_search_photo_ocr_switch(client, stack):
    photo = cover_photo(stack["catalog"], 5)
    r = client.post("/api/search/photo", files={"file": ("c.jpg", photo, "image/jpeg")},
                    data={"ocr": "true"})
    assert r.status_code == 200 and stack["search"].photo_ocr[-1] is True
    r = client.post("/api/search/photo", files={"file": ("c.jpg", photo, "image/jpeg")})
    assert r.status_code == 200 and stack["search"].photo_ocr[-1] is None
    r = client.post("/api/search/photo", files={"file": ("c.jpg", photo, "image/jpeg")},
                    data={"ocr": "maybe"})
    assert_error(r, 422, "ocr")


def test_photo_png_accepted(client, stack):
    buf = io.BytesIO()
    Image.open(stack["catalog"].book(1).cover_path).save(buf, "PNG")
    r = client.post("/api/search/photo", files={"file": ("c.png", buf.getvalue(), "image/png")})
    assert r.status_code == 200 and r.json()["best"]["id"] == 1


@functools.lru_cache(maxsize=1)
def _bomb_png(w=20000, h=20000) -> bytes:
    buf = io.BytesIO()
    Image.new("1", (w, h)).save(buf, "PNG")  # 400 megapixels in a few hundred kB
    return buf.getvalue()


@pytest.mark.parametrize("path", ["/api/chat/photo", "/api/search/photo"])
@pytest.mark.parametrize("name,data,status,needle", [
    ("empty", b"", 400, "empty"),
    ("text", b"hello, I am not an image at all", 415, "not an image"),
    ("html", b"<html><script>alert(1)</script></html>", 415, "JPEG"),
    ("heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", 415, "HEIC"),
    ("truncated", None, 400, "could not be decoded"),
    ("bomb", "bomb", 413, "megapixels"),
])
def test_bad_photos(client, stack, path, name, data, status, needle):
    if data is None:
        data = cover_photo(stack["catalog"], 1)[:300]
    elif data == "bomb":
        data = _bomb_png()
    r = client.post(path, files={"file": ("x.jpg", data, "image/jpeg")})
    assert_error(r, status, needle)


@pytest.mark.parametrize("path", ["/api/chat/photo", "/api/search/photo", "/api/chat/voice"])
def test_upload_needs_multipart_and_a_file(client, path, monkeypatch):
    from coverstory.serve.routes import chat

    monkeypatch.setattr(chat, "voice_available", lambda: True)
    assert_error(client.post(path, json={"file": "x"}), 415, "multipart")
    assert_error(client.post(path, data={"text": "no file"},
                             files={"other": ("a.txt", b"x", "text/plain")}), 422, "file")
    r = client.post(path, content=b"--x\r\nbroken", headers={
        "Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code in (400, 422), r.text
    assert_error(r, r.status_code)


def test_search_photo_bad_k(client, stack):
    photo = cover_photo(stack["catalog"], 1)
    for k in ("0", "51", "many"):
        r = client.post("/api/search/photo", files={"file": ("c.jpg", photo, "image/jpeg")},
                        data={"k": k})
        assert_error(r, 422, "k")


def test_upload_over_the_size_limit(client):
    big = b"\xff\xd8\xff" + b"\0" * (11 * 1024 * 1024)
    assert_error(client.post("/api/chat/photo", files={"file": ("b.jpg", big, "image/jpeg")}),
                 413, "too large")


def test_chunked_body_over_the_limit(stack):
    from fastapi.testclient import TestClient

    from coverstory.serve.settings import ServeSettings

    app = make_app(stack, settings=ServeSettings(max_body_bytes=1000, max_upload_bytes=900))

    def chunks():
        for _ in range(10):
            yield b"x" * 500

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/chat/photo", content=chunks(),
                   headers={"Content-Type": "multipart/form-data; boundary=zz"})
    assert_error(r, 413, "too large")


def test_uploads_never_touch_the_temp_dir(client, stack, tmp_path, monkeypatch):
    import tempfile

    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    img = Image.effect_noise((1800, 1800), 60).convert("RGB")  # noisy: a multi-MB JPEG
    data = jpeg_bytes(img)
    assert len(data) > 2 * 1024 * 1024
    r = client.post("/api/search/photo", files={"file": ("n.jpg", data, "image/jpeg")})
    assert r.status_code == 200, r.text
    assert list(spool.iterdir()) == []


# ---- voice -----------------------------------------------------------------------------
def test_voice_without_the_extra_is_501(client, monkeypatch):
    from coverstory.serve.routes import chat

    monkeypatch.setattr(chat, "voice_available", lambda: False)
    r = client.post("/api/chat/voice", files={"file": ("a.wav", b"RIFF0000WAVEfmt ", "audio/wav")})
    assert_error(r, 501, "coverstory[voice]")


def _wav() -> bytes:
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 1600)
    return buf.getvalue()


def test_voice_with_the_extra(client, stack, monkeypatch):
    from coverstory.serve.routes import chat

    monkeypatch.setattr(chat, "voice_available", lambda: True)
    r = client.post("/api/chat/voice", files={"file": ("a.wav", _wav(), "audio/wav")})
    assert r.status_code == 200, r.text
    assert stack["dialogue"].turns[-1]["audio"] is True
    assert_error(client.post("/api/chat/voice", files={"file": ("a.ogg", b"OggS" + b"\0" * 40,
                                                                "audio/ogg")}), 415, "WAV")
    assert_error(client.post("/api/chat/voice", files={"file": ("a.wav", b"", "audio/wav")}),
                 400, "empty")


# ---- search and books ----------------------------------------------------------------------
def test_search_text(client):
    r = client.get("/api/search", params={"q": "murder canals venice", "k": 2})
    body = r.json()
    assert r.status_code == 200 and body["books"][0]["title"] == "Murder in Venice"
    assert len(body["books"]) <= 2


def test_search_text_lists_other_editions(client, stack, monkeypatch):
    from coverstory.contracts import Hit

    first, other = sorted(stack["search"].books)[:2]
    monkeypatch.setattr(stack["search"], "text", lambda q, k=10, exclude=(): [
        Hit(first, 2.0, "title matches", {"editions": [other]}), Hit(other, 1.0, "")])
    books = client.get("/api/search", params={"q": "anything"}).json()["books"]
    assert [(b["id"], b["editions"]) for b in books] == [(first, [other]), (other, [])]


@pytest.mark.parametrize("params,needle", [
    ({}, "q: is required"), ({"q": ""}, "q"), ({"q": "  "}, "q"),
    ({"q": "x", "k": 0}, "k"), ({"q": "x", "k": 51}, "k"), ({"q": "x", "k": "ten"}, "k"),
])
def test_search_bad_input(client, params, needle):
    assert_error(client.get("/api/search", params=params), 422, needle)


def test_book_detail(client):
    body = client.get("/api/books/1").json()
    assert body["title"] == "The Wizard School" and body["cover_url"] == "/api/books/1/cover"
    assert "fantasy" in body["tags"]


@pytest.mark.parametrize("path,status", [
    ("/api/books/999", 404), ("/api/books/0", 422), ("/api/books/abc", 422),
    ("/api/books/99999999999999999999999", 422), ("/api/books/999/similar", 404),
    ("/api/books/999/cover", 404), ("/api/books/-1/cover", 422),
    ("/api/books/1/similar?by=magic", 422), ("/api/books/1/similar?k=0", 422),
])
def test_book_errors(client, path, status):
    assert_error(client.get(path), status)


def test_similar_by_content_and_readers(client):
    c = client.get("/api/books/1/similar", params={"k": 3}).json()
    assert c["by"] == "content" and c["books"][0]["title"] == "Dragons of the North"
    r = client.get("/api/books/1/similar", params={"by": "readers"}).json()
    assert r["by"] == "readers" and 1 not in [b["id"] for b in r["books"]]


def test_cover_image_and_etag(client, stack):
    r = client.get("/api/books/2/cover")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content == open(stack["catalog"].book(2).cover_path, "rb").read()
    etag = r.headers["etag"]
    assert client.get("/api/books/2/cover", headers={"If-None-Match": etag}).status_code == 304


def test_book_without_cover(client, stack):
    cat = stack["catalog"]
    with cat.transaction():
        bid, _ = cat.upsert_book("tiny", "nocover", {"title": "No Cover Here", "authors": ["X"]})
    assert client.get(f"/api/books/{bid}").json()["cover_url"] is None
    assert_error(client.get(f"/api/books/{bid}/cover"), 404, "no cover")


# ---- readers and feedback ----------------------------------------------------------------
def test_my_recommendations_by_cookie(client):
    r = client.get("/api/users/me/recommendations", params={"k": 3})
    assert r.status_code == 200 and len(r.json()["books"]) == 3
    uid = r.json()["user_id"]
    assert client.get("/api/users/me/recommendations").json()["user_id"] == uid


def test_user_recommendations_need_the_admin_token(client):
    assert_error(client.get("/api/users/1/recommendations"), 401, "Bearer")
    assert_error(client.get("/api/users/1/recommendations",
                            headers={"Authorization": "Bearer nope"}), 403, "wrong")
    r = client.get("/api/users/1/recommendations", headers=AUTH, params={"k": 2})
    assert r.status_code == 200 and r.json()["user_id"] == 1 and len(r.json()["books"]) <= 2
    assert_error(client.get("/api/users/4242/recommendations", headers=AUTH), 404, "no user")


def test_feedback_is_saved_for_the_session(client, stack):
    sid = client.post("/api/chat", json={"text": "dragons"}).json()["session_id"]
    r = client.post("/api/feedback", json={"book_id": 6, "kind": "dislike"})
    assert r.status_code == 200, r.text
    uid = r.json()["user_id"]
    cat = stack["catalog"]
    assert cat.user_id(f"session:{sid}") == uid
    assert (6, 1.0) in cat.user_ratings(uid)
    assert [e["kind"] for e in cat.events(user_id=uid)] == ["dislike"]
    # the disliked book is not offered again in this session
    again = client.post("/api/chat", json={"text": "dragons"}).json()
    assert 6 not in [b["id"] for b in again["books"]]


@pytest.mark.parametrize("payload,status,needle", [
    ({"book_id": 999, "kind": "like"}, 404, "no book"),
    ({"book_id": 1, "kind": "love"}, 422, "kind"),
    ({"book_id": 1}, 422, "kind: is required"),
    ({"book_id": "one", "kind": "like"}, 422, "book_id"),
    ({"book_id": 1, "kind": "like", "rating": 9}, 422, "rating"),
    ({"book_id": 1, "kind": "like", "user_id": 1}, 401, "token"),
])
def test_feedback_errors(client, payload, status, needle):
    assert_error(client.post("/api/feedback", json=payload), status, needle)


def test_feedback_for_a_known_user_with_the_token(client, stack):
    r = client.post("/api/feedback", json={"book_id": 2, "kind": "like", "user_id": 1,
                                           "rating": 4}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert (2, 4.0) in stack["catalog"].user_ratings(1)
    assert_error(client.post("/api/feedback", json={"book_id": 2, "kind": "like",
                                                    "user_id": 777}, headers=AUTH), 404, "user")


def test_profile_survives_a_restart(stack):
    """The cookie's reader is the same catalog user, with the same ratings, in a new app."""
    from fastapi.testclient import TestClient

    with TestClient(make_app(stack)) as c:
        c.post("/api/feedback", json={"book_id": 3, "kind": "like"})
        uid = c.get("/api/users/me/recommendations").json()["user_id"]
        cookie = c.cookies.get("cs_session")
    from tests.serve.doubles import make_services

    cat, search, rec, dlg = make_services(stack["home"])  # fresh objects, same home
    from coverstory.serve.app import create_app

    app = create_app(stack["home"], catalog=cat, search=search, recommend=rec, dialogue=dlg)
    with TestClient(app, cookies={"cs_session": cookie}) as c:
        body = c.get("/api/users/me/recommendations").json()
    assert body["user_id"] == uid
    assert 3 not in [b["id"] for b in body["books"]]  # already rated
    assert (3, 5.0) in cat.user_ratings(uid)


# ---- admin ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method,path,body", [
    ("get", "/api/admin/stats", None),
    ("post", "/api/admin/import", {"args": ["csv", "x.csv"]}),
    ("post", "/api/admin/rebuild", {"target": "index"}),
    ("get", "/api/admin/jobs/abc", None),
])
def test_admin_refuses_without_token(client, method, path, body):
    kw = {"json": body} if body is not None else {}
    assert_error(getattr(client, method)(path, **kw), 401, "token")
    assert_error(getattr(client, method)(path, headers={"X-Admin-Token": "guess"}, **kw), 403)


def test_admin_disabled_without_a_configured_token(stack):
    from fastapi.testclient import TestClient

    with TestClient(make_app(stack, admin_token="")) as c:
        assert_error(c.get("/api/admin/stats", headers={"Authorization": "Bearer "}), 401)
        assert_error(c.get("/api/admin/stats", headers=AUTH), 403, "disabled")


def test_admin_stats(client):
    client.get("/healthz")
    body = client.get("/api/admin/stats", headers=AUTH).json()
    assert body["catalog"]["books"] == 6
    assert body["server"]["requests"] >= 1 and body["server"]["rss_mb"] > 0


@pytest.mark.parametrize("path,body,needle", [
    ("/api/admin/import", {"args": ["nosuchformat", "x"]}, "invalid choice"),
    ("/api/admin/import", {"args": ["csv", "x", "--home", "/tmp"]}, "not allowed"),
    ("/api/admin/import", {"args": "csv"}, "args"),
    ("/api/admin/rebuild", {"target": "everything"}, "target"),
])
def test_admin_bad_jobs(client, path, body, needle):
    assert_error(client.post(path, json=body, headers=AUTH), 422, needle)


def test_admin_import_job_runs_and_reloads(client, stack, tmp_path):
    import time

    csv = tmp_path / "more.csv"
    csv.write_text("id,title,authors\nx1,The Lighthouse Keeper,Ada North\n")
    r = client.post("/api/admin/import", json={"args": ["csv", str(csv), "--no-progress"]},
                    headers=AUTH)
    assert r.status_code == 202, r.text
    job = r.json()
    for _ in range(100):
        job = client.get(f"/api/admin/jobs/{job['id']}", headers=AUTH).json()
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert job["state"] == "done", job
    assert client.get("/healthz").json()["books"] == 7
    assert_error(client.get("/api/admin/jobs/nope", headers=AUTH), 404)


# ---- limits --------------------------------------------------------------------------------
def test_rate_limit_per_client(stack):
    from fastapi.testclient import TestClient

    from coverstory.serve.settings import ServeSettings

    app = make_app(stack, settings=ServeSettings(rate_per_minute=60, rate_burst=3))
    with TestClient(app) as c:
        codes = [c.get("/api/books/1").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = c.get("/api/books/1")
        assert_error(r, 429, "retry")
        assert int(r.headers["retry-after"]) >= 1
        assert c.get("/healthz").status_code == 200  # health checks are never limited


def test_token_bucket_refills():
    from coverstory.serve.limits import TokenBucket

    b = TokenBucket(rate_per_minute=60, burst=2)
    assert b.take("a", now=0) == 0 and b.take("a", now=0) == 0
    assert b.take("a", now=0) == pytest.approx(1.0)
    assert b.take("b", now=0) == 0          # clients are independent
    assert b.take("a", now=1.01) == 0       # one token back after a second
    assert b.take("a", cost=5, now=1.01) > 0


def test_cors_closed_by_default_and_opt_in(stack):
    from fastapi.testclient import TestClient

    from coverstory.serve.settings import ServeSettings

    pre = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    with TestClient(make_app(stack)) as c:
        r = c.options("/api/chat", headers=pre)
        assert "access-control-allow-origin" not in r.headers
        r = c.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers
    app = make_app(stack, settings=ServeSettings(cors_origins=("https://shop.example",)))
    with TestClient(app) as c:
        r = c.get("/healthz", headers={"Origin": "https://shop.example"})
        assert r.headers["access-control-allow-origin"] == "https://shop.example"


def test_no_work_at_import_time():
    import subprocess
    import sys

    code = ("import sys, coverstory.serve.app, coverstory.serve.commands; "
            "heavy=[m for m in ('torch','faiss','sentence_transformers','cv2','sklearn','fastapi')"
            " if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_book_detail_matches_the_catalog(client, stack):
    from coverstory.serve.cards import book_detail

    for b in stack["catalog"].books():
        want = b.to_dict()
        got = book_detail(stack["catalog"], b.id)
        for key in ("title", "authors", "year", "tags", "categories", "sources", "description"):
            assert got[key] == want[key], key


def test_photo_work_is_bounded(tmp_path):
    import threading
    import time

    from coverstory.serve.services import Services

    svc = Services(tmp_path, photo_concurrency=2)
    running, peak, lock = [0], [0], threading.Lock()

    def work():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return "done"

    threads = [threading.Thread(target=svc.photo_work, args=(work,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_cover_url_only_for_existing_files(client, stack):
    import os

    path = stack["catalog"].book(4).cover_path
    os.rename(path, path + ".gone")
    try:
        # a fresh path string: the existence cache is keyed by path
        with stack["catalog"].transaction() as conn:
            conn.execute("UPDATE books SET cover_path=? WHERE id=4", (path + ".missing",))
        body = client.post("/api/chat", json={"text": "love farm rivals town"}).json()
        card = next(b for b in body["books"] if b["id"] == 4)
        assert card["cover_url"] is None
        assert client.get("/api/books/4").json()["cover_url"] is None
        assert_error(client.get("/api/books/4/cover"), 404, "no cover")
    finally:
        os.rename(path + ".gone", path)
