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
