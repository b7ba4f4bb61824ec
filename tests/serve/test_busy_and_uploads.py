"""Issue 15 in the HTTP layer: a reader's write that cannot get the catalog's write lock
is a quick 503 with Retry-After (never a 30 s wait and a 500); photo uploads are decoded
small and under the photo slots."""

from __future__ import annotations

import sqlite3
import threading
import time

from PIL import Image

from coverstory.serve.settings import ServeSettings
from tests.serve.conftest import jpeg_bytes, make_app


def test_write_that_cannot_get_the_lock_is_a_503_with_retry_after(stack):
    from fastapi.testclient import TestClient

    app = make_app(stack, settings=ServeSettings(write_wait_seconds=0.3))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.post("/api/chat", json={"text": "dragons"}).status_code == 200
        holder = sqlite3.connect(stack["home"] / "catalog.sqlite", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")       # what an import's merge holds for a moment
        try:
            t0 = time.perf_counter()
            r = c.post("/api/feedback", json={"book_id": 2, "kind": "like"})
            waited = time.perf_counter() - t0
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "2"
        assert set(r.json()) == {"status", "error"} and "try again" in r.json()["error"]
        assert str(stack["home"]) not in r.text
        assert waited < 5, waited              # ~0.3 s, not the 30 s default
        # the lock released, the reader's retry is saved
        r = c.post("/api/feedback", json={"book_id": 2, "kind": "like"})
        assert r.status_code == 200, r.text
        assert (2, 5.0) in stack["catalog"].user_ratings(r.json()["user_id"])


def test_photo_decoding_runs_under_the_photo_slots(stack, monkeypatch):
    """16 uploads at once: at most ``photo_concurrency`` decodes run together (before, every
    upload was decoded at full size in the thread pool, all at once)."""
    from fastapi.testclient import TestClient

    import coverstory.serve.routes.chat as chat_routes
    import coverstory.serve.routes.search as search_routes

    running, peak, lock = [0], [0], threading.Lock()
    real = search_routes.check_image

    def counted(*a, **kw):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.05)
            return real(*a, **kw)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(search_routes, "check_image", counted)
    monkeypatch.setattr(chat_routes, "check_image", counted)
    photo = jpeg_bytes(Image.new("RGB", (1200, 1800), (120, 40, 40)))
    app = make_app(stack, settings=ServeSettings(photo_concurrency=2, rate_per_minute=0))
    statuses = []
    with TestClient(app, raise_server_exceptions=False) as c:
        def upload(i):
            path = "/api/search/photo" if i % 2 else "/api/chat/photo"
            statuses.append(c.post(path, files={"file": ("p.jpg", photo, "image/jpeg")})
                            .status_code)

        threads = [threading.Thread(target=upload, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert statuses == [200] * 16
    assert peak[0] == 2


def test_big_jpeg_is_decoded_at_reduced_scale(monkeypatch):
    """A 15-megapixel JPEG is decoded by libjpeg at 1/4 scale (1200x800, 3 MB) and comes
    back no longer than max_side, not decoded at full size (43 MB) first."""
    from PIL import ImageFile

    from coverstory.serve.uploads import check_image

    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy(self):
        if not decoded:
            decoded.append(self.size)   # the size libjpeg decodes at
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    data = jpeg_bytes(Image.new("RGB", (4800, 3200), (10, 90, 160)))
    got = check_image(data, max_bytes=20 << 20, max_pixels=40_000_000, max_side=1000)
    assert decoded == [(1200, 800)]
    assert max(got.size) <= 1000 and got.size[0] > got.size[1] and got.image.mode == "RGB"

    png = Image.new("RGB", (3000, 1000), (1, 2, 3))
    import io

    buf = io.BytesIO()
    png.save(buf, "PNG")
    got = check_image(buf.getvalue(), max_bytes=20 << 20, max_pixels=40_000_000, max_side=1000)
    assert got.size == (1000, 333) and got.format == "png"
