"""`coverstory serve --workers N`: N processes on one port, a dead worker is started again,
Ctrl-C stops them all; a reload announced by one worker reaches the others."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _wait(cond, seconds: float, what: str):
    t0 = time.time()
    while time.time() - t0 < seconds:
        got = cond()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_two_workers_share_the_port_and_a_dead_one_is_replaced(tiny_home):
    env = dict(os.environ, COVERSTORY_ADMIN_TOKEN="")
    proc = subprocess.Popen(
        [sys.executable, "-m", "coverstory.cli", "--home", str(tiny_home), "serve", "--port", "0",
         "--workers", "2", "--log-level", "warning"], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env=env)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m and "2 worker processes" in line, line
        url = m.group(0)
        workers = _wait(lambda: len(_children(proc.pid)) == 2 and _children(proc.pid), 30,
                        "two workers")

        def answered():
            try:
                return httpx.get(url + "healthz", timeout=5).json()["books"] == 6
            except httpx.HTTPError:
                return False

        _wait(answered, 120, "an answer")
        r = httpx.post(url + "api/chat", json={"text": "a wizard school"}, timeout=60)
        assert r.status_code in (200, 503), r.text      # 503 only while the chat loads
        os.kill(workers[0], signal.SIGKILL)               # one worker dies
        for _ in range(20):                               # the other goes on answering
            assert httpx.get(url + "healthz", timeout=10).status_code == 200
        new = _wait(lambda: (set(c := _children(proc.pid)) - set(workers) and len(c) == 2
                             and c), 60, "the dead worker started again")
        assert workers[1] in new
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=40) == 0
    assert not _children(proc.pid)
    for pid in workers:                                   # no orphan keeps the port
        assert not os.path.exists(f"/proc/{pid}") or \
            open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_workers_refuse_the_background_build(tiny_home):
    done = subprocess.run(
        [sys.executable, "-m", "coverstory.cli", "--home", str(tiny_home), "serve", "--port", "0",
         "--workers", "2", "--build"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--workers serves a built home" in done.stderr


def test_a_reload_announced_by_another_worker_is_loaded(tmp_path):
    from coverstory.serve.workers import RELOAD_FILE, ReloadWatch, announce_reload

    calls = []

    class FakeServices:
        def reload(self, parts, announce=True):
            calls.append((parts, announce))

    watch = ReloadWatch(tmp_path, FakeServices())
    assert watch.check() is None                          # nothing announced
    announce_reload(tmp_path, ["search", "recommend"])    # by this process: not for itself
    assert watch.check() is None and calls == []
    (tmp_path / RELOAD_FILE).write_text(json.dumps(
        {"pid": os.getpid() + 1, "parts": ["recommend", "search"], "at": time.time()}))
    os.utime(tmp_path / RELOAD_FILE, ns=(time.time_ns() + 10**9,) * 2)
    assert watch.check() == ("recommend", "search")
    assert calls == [(("recommend", "search"), False)]    # reloaded, not announced again
    assert watch.check() is None                          # once per announcement


def test_services_announce_their_reloads(tiny_home):
    from coverstory.serve.services import Services

    svc = Services(tiny_home)
    seen = []
    svc.on_reload.append(seen.append)
    svc.reload(("search",))
    svc.reset()
    svc.reload(("recommend",), announce=False)
    assert seen == [("search",), ("chat", "search", "recommend")]
