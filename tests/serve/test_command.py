"""`coverstory serve` prints the URL and serves the page there; Ctrl-C stops it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx


def test_serve_prints_the_url_and_serves(tiny_home):
    env = dict(os.environ, COVERSTORY_ADMIN_TOKEN="")
    proc = subprocess.Popen(
        [sys.executable, "-m", "coverstory.cli", "--home", str(tiny_home), "serve", "--port", "0",
         "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, line
        url = m.group(0)
        for _ in range(100):
            try:
                r = httpx.get(url + "healthz", timeout=2)
                break
            except httpx.HTTPError:
                import time

                time.sleep(0.05)
        assert r.json()["books"] == 6
        page = httpx.get(url)
        assert page.status_code == 200 and "coverstory" in page.text
        assert httpx.get(url + "api/admin/stats",
                         headers={"Authorization": "Bearer x"}).status_code == 403
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0


def test_serve_build_on_an_empty_home_says_import_first(tmp_path):
    env = dict(os.environ, COVERSTORY_ADMIN_TOKEN="")
    done = subprocess.run(
        [sys.executable, "-m", "coverstory.cli", "--home", str(tmp_path / "home"), "serve",
         "--build", "--port", "0"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "import first: coverstory" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "serving" not in done.stdout          # refused before it listens or builds


def test_warm_start_on_an_empty_home_names_the_import(tmp_path):
    import time

    from fastapi.testclient import TestClient

    from coverstory.serve.app import create_app

    app = create_app(tmp_path / "home", admin_token="", warm=True)
    with TestClient(app, raise_server_exceptions=False) as c:
        t0 = time.time()
        while (h := c.get("/healthz").json())["status"] != "ready":
            assert time.time() - t0 < 60, h
            time.sleep(0.05)
        assert h["books"] == 0
        assert all(p["state"] == "missing" and "import first" in p["note"]
                   for p in h["parts"].values()), h["parts"]
        r = c.post("/api/chat", json={"text": "something funny"})
        assert r.status_code == 503 and "import first" in r.json()["error"]
        r = c.get("/api/search", params={"q": "wizard"})
        assert r.status_code == 503 and "import first" in r.json()["error"]
