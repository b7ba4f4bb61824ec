"""Issue 15, defect 8: a request's CPU work runs on a bounded FIFO executor (serve/lanes.py):
at most ``workers`` calls at once, started in the order they came, with the caller's
context variables; a call cancelled before it started never runs. The chat and text search
run on the ``cpu`` lane, photos on the ``photo`` lane."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from coverstory.serve.lanes import Lane
from coverstory.serve.settings import ServeSettings
from tests.serve.conftest import jpeg_bytes, make_app

WAIT = 20.0        # generous bound for a condition that should hold at once (never asserted)


def _until(cond) -> None:
    end = time.monotonic() + WAIT
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not reached")
        time.sleep(0.002)


def test_calls_start_in_arrival_order():
    lane = Lane("t", 1)
    gate = threading.Event()
    order: list[int] = []
    first = lane.submit(gate.wait)                        # holds the only worker
    _until(lambda: lane.status()["running"] == 1)
    futs = [lane.submit(order.append, i) for i in range(20)]
    assert lane.status()["waiting"] == 20
    gate.set()
    for f in [first, *futs]:
        f.result(WAIT)
    assert order == list(range(20))
    assert lane.status() | {"most_waiting": 0} == {"workers": 1, "running": 0, "waiting": 0,
                                                     "done": 21, "most_waiting": 0}
    lane.shutdown()


def test_at_most_workers_calls_run_at_once():
    lane = Lane("t", 2)
    gate = threading.Event()
    lock = threading.Lock()
    running, peak = [0], [0]

    def work(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        gate.wait()
        with lock:
            running[0] -= 1
        return i * i

    futs = [lane.submit(work, i) for i in range(8)]
    _until(lambda: lane.status()["running"] == 2)
    assert lane.status()["waiting"] == 6          # the others wait their turn
    gate.set()
    assert [f.result(WAIT) for f in futs] == [i * i for i in range(8)]
    assert peak[0] == 2
    lane.shutdown()


def test_context_errors_and_cancellation():
    lane = Lane("t", 1)
    var = contextvars.ContextVar("var", default="unset")

    async def main():
        var.set("the request's")
        got = await lane.run(var.get)             # context variables travel with the call
        with pytest.raises(KeyError):
            await lane.run({}.__getitem__, "missing")   # errors reach the caller
        return got

    assert asyncio.run(main()) == "the request's"
    gate = threading.Event()
    ran: list[str] = []
    blocker = lane.submit(gate.wait)
    _until(lambda: lane.status()["running"] == 1)
    gone = lane.submit(ran.append, "cancelled")
    kept = lane.submit(ran.append, "kept")
    assert gone.cancel()                          # its request went away before it started
    gate.set()
    blocker.result(WAIT)
    kept.result(WAIT)
    assert ran == ["kept"]
    assert lane.status()["waiting"] == 0
    lane.shutdown()


def test_chat_and_search_run_on_the_cpu_lane_photos_on_the_photo_lane(stack, monkeypatch):
    from fastapi.testclient import TestClient
    from PIL import Image

    seen: dict[str, set] = {"turn": set(), "text": set(), "photo": set()}
    dlg, search = stack["dialogue"], stack["search"]
    real_turn, real_text, real_photo = dlg.turn, search.text, search.photo

    def spy(name, fn):
        def wrapped(*a, **kw):
            seen[name].add(threading.current_thread().name.rsplit("_", 1)[0])
            return fn(*a, **kw)
        return wrapped

    monkeypatch.setattr(dlg, "turn", spy("turn", real_turn))
    monkeypatch.setattr(search, "text", spy("text", real_text))
    monkeypatch.setattr(search, "photo", spy("photo", real_photo))
    app = make_app(stack, settings=ServeSettings(rate_per_minute=0, cpu_workers=2))
    photo = jpeg_bytes(Image.new("RGB", (300, 450), (120, 40, 40)))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.post("/api/chat", json={"text": "dragons"}).status_code == 200
        assert c.get("/api/search", params={"q": "dragons"}).status_code == 200
        assert c.post("/api/search/photo",
                      files={"file": ("p.jpg", photo, "image/jpeg")}).status_code == 200
        assert c.post("/api/chat/photo",
                      files={"file": ("p.jpg", photo, "image/jpeg")}).status_code == 200
        lanes = app.state.services
        assert lanes.cpu.status()["done"] == 2 and lanes.photos.status()["done"] == 2
    assert seen["text"] == {"coverstory-cpu"}
    assert seen["photo"] == {"coverstory-photo"}
    assert seen["turn"] == {"coverstory-cpu", "coverstory-photo"}   # text turn, photo turn
