"""kill -9 in the middle of a write load, restart: every acknowledged write is there."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from coverstory.config import PROJECT_ROOT


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(home, port) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "tests.serve.doubles_server", str(home),
                             str(port)], cwd=PROJECT_ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


@pytest.mark.slow
def test_kill_9_loses_no_acknowledged_write(tiny_home):
    from coverstory.catalog import Catalog

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(tiny_home, port)
    acked: list[tuple[str, int, str]] = []     # (session, book, kind) answered 200
    lock = threading.Lock()
    stop = threading.Event()

    def reader(i: int) -> None:
        with httpx.Client(base_url=url, timeout=5) as c:
            n = 0
            while not stop.is_set() and n < 500:
                sid = f"durable-{i:02d}-{n:04d}"
                book, kind = 1 + (i + n) % 6, ("like", "dislike", "read")[n % 3]
                try:
                    r = c.post("/api/feedback", json={"book_id": book, "kind": kind,
                                                      "session_id": sid})
                except httpx.HTTPError:
                    return  # the server is gone: this write was not acknowledged
                if r.status_code == 200:
                    with lock:
                        acked.append((sid, book, kind))
                n += 1

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    t_end = time.time() + 10
    while time.time() < t_end and len(acked) < 150:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of the load
    proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 20, "the load did not get going"

    proc = _start(tiny_home, port)  # the catalog opens again after the crash
    try:
        assert httpx.get(url + "/api/books/1").status_code == 200
    finally:
        proc.terminate()
        proc.wait()
    cat = Catalog.open(tiny_home)
    saved = {(e["session_id"] or "", e["book_id"], e["kind"]) for e in cat.events()}
    users = {r[0]: r[1] for r in cat.conn.execute("SELECT external_id, id FROM users")}
    lost = []
    for sid, book, kind in acked:
        uid = users.get(f"session:{sid}")
        ratings = dict(cat.user_ratings(uid)) if uid else {}
        events = {(e["book_id"], e["kind"]) for e in cat.events(user_id=uid)} if uid else set()
        if (book, kind) not in events or book not in ratings:
            lost.append((sid, book, kind))
    assert lost == [], f"{len(lost)} of {len(acked)} acknowledged writes lost"
    assert saved
