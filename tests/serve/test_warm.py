"""Warm start and the background build over the real library on the tiny catalog: requests
are answered from what is ready while the rest loads; /healthz says what is loading."""

from __future__ import annotations

import threading
import time

import pytest

from tests.serve.conftest import cover_photo

pytestmark = pytest.mark.slow


def _wait_ready(client, seconds: float = 180) -> dict:
    t0 = time.time()
    while time.time() - t0 < seconds:
        h = client.get("/healthz").json()
        if h["status"] == "ready":
            return h
        time.sleep(0.1)
    raise AssertionError(f"not ready after {seconds} s: {h}")


def test_requests_are_answered_while_the_search_service_loads(tiny_home, monkeypatch):
    from fastapi.testclient import TestClient

    from coverstory.catalog import Catalog
    from coverstory.serve.app import create_app
    from coverstory.serve.services import Warmup

    gate = threading.Event()
    slow = Warmup._load_search

    def held_back(self):                 # the search service "loads" until the test says so
        gate.wait(60)
        return slow(self)

    monkeypatch.setattr(Warmup, "_load_search", held_back)
    app = create_app(tiny_home, admin_token="", warm=True)
    app.state.services.wait_seconds = 0.3
    with TestClient(app, raise_server_exceptions=False) as c:
        try:
            t0 = time.time()
            while c.get("/healthz").json()["parts"]["chat"]["state"] != "ready":
                assert time.time() - t0 < 60
                time.sleep(0.05)
            h = c.get("/healthz").json()
            assert h["status"] == "loading" and h["parts"]["search"]["state"] == "loading"
            assert "Meanwhile the chat answers from titles" in h["message"]

            t = time.perf_counter()
            r = c.post("/api/chat", json={"text": "a boy at a wizard school of magic"})
            assert r.status_code == 200, r.text
            assert r.json()["books"][0]["title"] == "The Wizard School"   # words alone
            assert time.perf_counter() - t < 5
            t = time.perf_counter()
            r = c.get("/api/search", params={"q": "wizard school"})    # words alone, at once
            assert r.status_code == 200, r.text
            assert r.json()["books"][0]["title"] == "The Wizard School"
            assert time.perf_counter() - t < 5
            assert "lexical" not in c.get("/healthz").json()["parts"]   # internal part

            photo = cover_photo(Catalog.open(tiny_home), 3)
            r = c.post("/api/chat/photo", files={"file": ("p.jpg", photo, "image/jpeg")})
            assert r.status_code == 503 and r.headers["retry-after"] == "5"
            assert "still loading" in r.json()["error"]
            assert c.get("/api/books/1/similar").status_code == 503
        finally:
            gate.set()
        h = _wait_ready(c)
        assert {p: s["state"] for p, s in h["parts"].items()} == {
            "chat": "ready", "search": "ready", "recommend": "ready", "dialogue": "ready",
            "photo": "ready"}
        assert h["message"] is None and all(h["loaded"].values())
        svc = app.state.services
        assert svc.dialogue is svc.warmup.ready["dialogue"] and svc.dialogue.search is not None
        r = c.post("/api/chat/photo", files={"file": ("p.jpg", photo, "image/jpeg")})
        assert r.status_code == 200 and r.json()["books"][0]["id"] == 3

        old = svc.warmup.ready["search"]
        svc.reload(("search",))                  # after a build step: new objects, swapped in
        time.sleep(0.2)
        assert c.post("/api/chat", json={"text": "dragons"}).status_code == 200
        _wait_ready(c)
        assert svc.warmup.ready["search"] is not old


def test_plan_runs_steps_side_by_side_and_skips_what_a_failure_blocks(tiny_home):
    from coverstory.build import PlanRun, Step

    seen = []
    steps = (Step("bm25", ("index", "--method", "bm25")),
             Step("intents", ("intents",)),
             Step("broken", ("features", "--encoder", "no-such-encoder")),
             Step("after bm25", ("index", "--method", "bm25"), needs=("bm25", "intents"),
                  outputs=("indexes/bm25.npz",)),
             Step("after broken", ("intents",), needs=("broken",)))
    run = PlanRun(tiny_home, steps, jobs=2, on_step=lambda s, r: seen.append(s.name))
    states = {s["name"]: s for s in run.run()}
    assert states["bm25"]["state"] == "done" and states["intents"]["state"] == "done"
    assert states["broken"]["state"] == "failed"
    assert "unknown encoder" in states["broken"]["note"]
    assert states["after broken"]["state"] == "skipped"
    assert states["after bm25"]["state"] == "done"        # ran: its needs changed things
    assert set(seen) == {"bm25", "intents", "after bm25"}
    assert (tiny_home / "build" / "logs" / "bm25.log").exists()


def test_build_lexical_then_the_server_builds_the_rest_in_the_background(tiny_home):
    """`make demo` in small: build lexical, then serve --build; each step is picked up."""
    from fastapi.testclient import TestClient

    from coverstory.cli import main
    from coverstory.serve.app import create_app

    assert main(["--home", str(tiny_home), "build", "lexical"]) == 0
    assert (tiny_home / "indexes" / "bm25.npz").exists()
    app = create_app(tiny_home, admin_token="", build=True)
    with TestClient(app, raise_server_exceptions=False) as c:
        h = c.get("/healthz").json()
        assert h["status"] == "loading" and h["build"]["state"] == "running"
        assert c.post("/api/chat", json={"text": "dragons"}).status_code == 200
        h = _wait_ready(c, 300)
        assert h["build"]["state"] == "done", h["build"]
        assert {s["name"]: s["state"] for s in h["build"]["steps"]} == {
            "book text embeddings": "done", "cover embeddings": "done",
            "cover keypoints": "done", "description passages": "done",
            "vector indexes": "done", "recommender": "done"}
    for path in ("features/text/minilm-l6.pretrained.safetensors", "indexes/text.npz",
                 "indexes/cover.npz", "models/recommender/config.json"):
        assert (tiny_home / path).exists(), path


def test_the_servers_build_shares_the_machines_cpus_not_its_own_one_thread(tiny_home,
                                                                          monkeypatch):
    """`serve` sets $COVERSTORY_THREADS=1 for its requests; its background build must not
    read that as the machine's size (every step ran alone on one core)."""
    import os

    import coverstory.build as build
    from coverstory.serve import process
    from coverstory.serve.jobs import JobRunner

    seen = {}

    class Plan:
        def __init__(self, home, **kw):
            seen.update(kw)
            self.logs = home

        def run(self):
            return []

        def status(self):
            return []

    real_plan = build.PlanRun
    monkeypatch.setattr(build, "PlanRun", Plan)
    monkeypatch.setattr(process, "THREADS_SET_HERE", True)
    monkeypatch.setenv("COVERSTORY_THREADS", "1")
    JobRunner(tiny_home).submit_build()
    assert seen["cpus"] == len(os.sched_getaffinity(0))
    real = real_plan(tiny_home, cpus=2)
    assert real.cpus == 2 and real.jobs == 2
    assert all(s.all_cpus for s in build.PLAN if s.name != "vector indexes")
