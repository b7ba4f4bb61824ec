"""How many feedback writes per second a real server acknowledges.

    .venv/bin/python scripts/feedback_rate.py --home /work/homes/demo-rel [--clients 16]
        [--seconds 20] [--mode session|noreply|admin|all] [--json out.json]

A scratch copy of the home's catalog (SQLite backup; built artifacts linked, so the home is
never written) is served by ``coverstory serve --preload`` on 127.0.0.1. ``--clients``
readers, each with its own cookie session, send ``POST /api/feedback`` back to back (no
think time) for ``--seconds``, after one untimed like (unless ``--cold``: then the first
writes, which load what a first "like" needs, are timed too): session feedback (what the page sends: the like is saved,
then the chat answers with more books), the same with ``"reply": false`` (saved, no chat
answer) and admin feedback (``user_id`` with the admin token: the like is saved and the
reader's profile folded in, no chat reply). Prints
acknowledged writes per second, p50/p95 latency, the server's CPU seconds per write, the
machine and its load average, and checks that every acknowledged write is in the catalog.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

TOKEN = "feedback-rate-token"


async def run(url: str, clients: int, seconds: float, mode: str, ids: list[int],
              users: list[int], seed: int, kinds=("like", "dislike", "read")) -> dict:
    import httpx

    lat: list[float] = []
    errors: list[str] = []
    acked: list[tuple[str, int, int, str]] = []   # (session or '', user id, book, kind)
    deadline = time.time() + seconds

    async def client(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        headers = {"Authorization": f"Bearer {TOKEN}"} if mode == "admin" else {}
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as c:
            while time.time() < deadline:
                book, kind = rng.choice(ids), rng.choice(kinds)
                body = {"book_id": book, "kind": kind}
                if mode == "noreply":
                    body["reply"] = False
                if mode == "admin":
                    body["user_id"] = users[i % len(users)]
                t0 = time.perf_counter()
                try:
                    r = await c.post("/api/feedback", json=body)
                except Exception as e:  # noqa: BLE001 - counted
                    errors.append(type(e).__name__)
                    continue
                lat.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:100]}")
                    continue
                acked.append((c.cookies.get("cs_session") or "", r.json()["user_id"], book, kind))

    t0 = time.time()
    await asyncio.gather(*(client(i) for i in range(clients)))
    return {"seconds": time.time() - t0, "lat": lat, "errors": errors, "acked": acked}


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    from coverstory.benchmarks.load import Server, free_port, scratch_home

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", required=True, type=Path)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--mode", choices=["session", "noreply", "admin", "all"], default="all")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cold", action="store_true",
                    help="no untimed warm-up write before timing (first writes included)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--herd", action="store_true",
                    help="instead: in process, count the dialogue's co-reader matrix builds "
                         "when --clients first feedbacks arrive at once")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.herd:
        got = herd(args.home.resolve(), args.clients, args.seed)
        print(f"{got['feedbacks']} feedbacks from {args.clients} threads on a cold engine: "
              f"{got['coreader_builds']} co-reader matrix builds, each "
              f"{got['build_seconds'][0]}-{got['build_seconds'][-1]} s; {got['seconds']} s in "
              f"all; load average {os.getloadavg()}")
        return 0
    out = {"machine": f"{platform.node()} {os.cpu_count()} CPUs {platform.machine()}",
           "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
           "load_before": os.getloadavg(), "runs": []}
    with tempfile.TemporaryDirectory(prefix="feedback-rate-") as tmp:
        home = scratch_home(args.home.resolve(), Path(tmp))
        con = sqlite3.connect(home / "catalog.sqlite")
        rng = random.Random(args.seed)
        ids = rng.sample([r[0] for r in con.execute("SELECT id FROM books")], 200)
        users = [r[0] for r in con.execute(
            "SELECT DISTINCT user_id FROM ratings ORDER BY user_id LIMIT ?", (args.clients,))]
        con.close()
        os.environ["COVERSTORY_ADMIN_TOKEN"] = TOKEN
        server = Server(home, free_port(), Path(tmp) / "server.log")
        _start_with_token(server)
        try:
            modes = ["session", "noreply", "admin"] if args.mode == "all" else [args.mode]
            for mode in modes:
                if not args.cold:   # one untimed like first: loads what a first like loads
                    asyncio.run(run(server.url, 1, 0.01, mode, ids, users, args.seed + 1,
                                    kinds=("like",)))
                cpu0 = server.cpu_seconds()
                res = asyncio.run(run(server.url, args.clients, args.seconds, mode, ids, users,
                                      args.seed))
                cpu = (server.cpu_seconds() or 0) - (cpu0 or 0)
                lat = np.array(res["lat"] or [0.0]) * 1000
                n = len(res["acked"])
                out["runs"].append({
                    "mode": mode, "clients": args.clients, "seconds": round(res["seconds"], 1),
                    "acked": n, "writes_per_s": round(n / res["seconds"], 1),
                    "p50_ms": round(float(np.percentile(lat, 50)), 1),
                    "p95_ms": round(float(np.percentile(lat, 95)), 1),
                    "server_cpu_ms_per_write": round(cpu / n * 1000, 1) if n else None,
                    "errors": len(res["errors"]), "error_examples": sorted(set(res["errors"]))[:5],
                    "lost": _lost(home, res["acked"])})
        finally:
            server.stop()
    out["load_after"] = os.getloadavg()
    for r in out["runs"]:
        print(f"{r['mode']:>7}: {r['writes_per_s']:>6} writes/s ({r['acked']} in {r['seconds']} s, "
              f"{r['clients']} clients), p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, server CPU "
              f"{r['server_cpu_ms_per_write']} ms/write, errors {r['errors']}, lost {r['lost']}")
    print(f"machine: {out['machine']}; load average before {out['load_before']}, "
          f"after {out['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


def herd(home: Path, clients: int, seed: int) -> dict:
    """In process, cold: ``clients`` threads each send 4 feedbacks to a fresh dialogue
    engine; counts how often the dialogue builds its co-reader matrix (it is built on first
    use, without a lock) and how long each build took."""
    import threading

    import coverstory.dialogue.signals as signals
    from coverstory.serve.services import Services

    builds: list[float] = []
    original = signals.CoReaders.__init__

    def counted(self, *a, **k):
        t0 = time.perf_counter()
        original(self, *a, **k)
        builds.append(round(time.perf_counter() - t0, 2))

    signals.CoReaders.__init__ = counted
    with tempfile.TemporaryDirectory(prefix="feedback-herd-") as tmp:
        from coverstory.benchmarks.load import scratch_home

        scratch = scratch_home(home, Path(tmp))
        con = sqlite3.connect(scratch / "catalog.sqlite")
        ids = random.Random(seed).sample([r[0] for r in con.execute("SELECT id FROM books")],
                                         200)
        con.close()
        eng = Services(scratch).dialogue
        eng.index

        def work(k: int) -> None:
            rng = random.Random(seed * 1000 + k)
            for _ in range(4):
                eng.feedback(f"herdsession{k:04d}", rng.choice(ids),
                             rng.choice(["like", "dislike", "read"]))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=work, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - t0
    signals.CoReaders.__init__ = original
    return {"feedbacks": 4 * clients, "seconds": round(seconds, 1),
            "coreader_builds": len(builds), "build_seconds": sorted(builds)}


def _start_with_token(server) -> None:
    """Server.start() clears the admin token; start it with ours (admin feedback)."""
    import subprocess

    import httpx

    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               COVERSTORY_ADMIN_TOKEN=TOKEN)
    server.proc = subprocess.Popen(
        [sys.executable, "-m", "coverstory.cli", "--home", str(server.home), "serve",
         "--host", "127.0.0.1", "--port", str(server.port), "--preload",
         "--rate-per-minute", "0", "--log-level", "warning"],
        stdout=open(server.log, "ab"), stderr=subprocess.STDOUT, env=env)
    t0 = time.time()
    while time.time() - t0 < 900:
        if server.proc.poll() is not None:
            raise RuntimeError(server.log.read_text(errors="replace")[-2000:])
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise RuntimeError("server not ready")


def _lost(home: Path, acked) -> int:
    con = sqlite3.connect(home / "catalog.sqlite")
    events = set(con.execute("SELECT user_id, book_id, kind FROM events"))
    con.close()
    return sum(1 for _, uid, book, kind in acked if (uid, book, kind) not in events)


if __name__ == "__main__":
    sys.exit(main())
