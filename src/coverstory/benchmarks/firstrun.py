"""``coverstory bench firstrun``: `make demo` after the install, on a fresh data home.

Protocol: a new, empty data home and a new, empty ONNX export cache (``COVERSTORY_CACHE``),
so the models are exported as on a fresh clone (the venv is the one running; installing is
not measured). The same three commands as `make demo`, as child processes, timed from the
start of the first:

1. ``coverstory import goodbooks DATA/goodbooks10k``;
2. ``coverstory build lexical``;
3. ``coverstory serve --build`` on 127.0.0.1 (a free port).

While the server starts and builds, one reader asks something every 2 s, in turn a chat
message (a new session each time), a text search and a chat photo (a real cover, scaled
and re-encoded); every answer's status and seconds are kept. Reported: when the server
answered ``/healthz`` (serving), the first chat answer with books, each background build
step's seconds (from ``/healthz``), when ``/healthz`` said ``ready``; then, after ready,
the seconds of the first chat reply of a new session and of 10 more messages, and the
server's resident memory (VmRSS). Then the server is stopped and started again on the
built home (a warm start: a chat message every 0.5 s while it loads, when it is ready, the
first reply after that, resident memory after warm-up). ``--quick``: the first server
without ``--build`` (serving on words alone, then ready), no build steps.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table
from coverstory.serve.limits import rss_mb

QUESTIONS = ["a cosy mystery set in Venice, nothing too dark", "something funny",
             "books like The Hunger Games", "a gift for my dad who likes cooking",
             "a sad novel about the war", "fantasy with dragons for a 12 year old",
             "books by Agatha Christie", "a short classic under 200 pages",
             "a thriller with a twist ending", "science fiction about first contact",
             "a romance set in Paris"]


def _has_torch(pid: int) -> bool | None:
    """Whether the process has loaded libtorch (the server should not need it)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return any("libtorch" in line for line in f)
    except OSError:
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _photo(home: Path) -> bytes:
    """A cover of the catalog, scaled up and re-encoded like a phone photo."""
    import io

    from PIL import Image

    from coverstory.catalog import Catalog

    cat = Catalog.open(home)
    try:
        path = next(b.cover_path for b in cat.books() if b.cover_path)
    finally:
        cat.close()
    img = Image.open(path).convert("RGB").resize((384, 576))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def run(ctx: BenchContext) -> BenchResult:
    import httpx

    load0 = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="coverstory-firstrun-"))
    home, cache, logs = work / "home", work / "onnx-cache", work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, COVERSTORY_CACHE=str(cache), COVERSTORY_ADMIN_TOKEN="",
               HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.pop("COVERSTORY_THREADS", None)
    cli = [sys.executable, "-m", "coverstory.cli", "--home", str(home)]
    events: dict[str, float] = {}
    requests: list[dict] = []
    server = None
    t0 = time.time()
    try:
        for name, args in (("import", ["import", "goodbooks", str(ctx.data / "goodbooks10k"),
                                       "--no-progress"]),
                           ("build lexical", ["build", "lexical"])):
            ctx.progress(f"{name} ...")
            with open(logs / f"{name.replace(' ', '-')}.log", "w") as out:
                subprocess.run(cli + args, stdout=out, stderr=subprocess.STDOUT, env=env,
                               check=True)
            events[f"{name} done"] = time.time() - t0
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        serve = cli + ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level",
                       "warning", "--rate-per-minute", "0"] + ([] if ctx.quick else ["--build"])
        ctx.progress(" ".join(serve[3:]))
        server = subprocess.Popen(serve, stdout=open(logs / "serve.log", "w"),
                                  stderr=subprocess.STDOUT, env=env)
        photo = _photo(home)
        client = httpx.Client(base_url=url, timeout=60)
        kinds = ["chat", "search", "photo"]
        last_ask, i, health = 0.0, 0, None
        while time.time() - t0 < 1800:
            now = _health(client, server, logs / "serve.log", pause=0.1)
            if now is None:
                continue
            health = now
            events.setdefault("serving", time.time() - t0)
            if health["status"] == "ready":
                events["ready"] = time.time() - t0
                break
            if time.time() - last_ask >= 2.0:
                last_ask = time.time()
                kind = kinds[i % 3]
                requests.append(_ask(client, kind, i, photo, t0))
                i += 1
                if kind == "chat" and requests[-1]["status"] == 200 and requests[-1]["books"]:
                    events.setdefault("first chat answer with books", requests[-1]["at"])
            time.sleep(0.2)
        if "ready" not in events:
            raise RuntimeError("not ready after 30 minutes")
        ctx.progress(f"ready after {events['ready']:.0f} s; chatting")
        after = [_ask(client, "chat", 1000 + j, photo, t0, text=q)
                 for j, q in enumerate(QUESTIONS)]
        after_photo = _ask(client, "photo", 2000, photo, t0)
        rss = rss_mb(server.pid)
        torch_loaded = _has_torch(server.pid)
        steps = (health.get("build") or {}).get("steps", [])
        parts = health.get("parts") or {}
        client.close()
        _stop(server)
        ctx.progress("restarting the server on the built home (warm start)")
        restart = _restart(cli, env, logs, photo)
    except BaseException:
        ctx.progress(f"failed; the home and the logs are kept in {work}")
        raise
    else:
        shutil.rmtree(work, ignore_errors=True)
    finally:
        if server is not None:
            _stop(server)
    load1 = os.getloadavg()[0]
    during = [r for r in requests]
    results = {
        "events_s": {k: round(v, 1) for k, v in events.items()},
        "build_steps": [{k: s.get(k) for k in ("name", "state", "started", "seconds", "threads",
                                               "note")}
                        for s in steps],
        "warm_parts": {p: {"state": s["state"], "seconds": s.get("seconds")}
                       for p, s in parts.items()},
        "during_loading": {
            "requests": len(during),
            "max_s": max((r["seconds"] for r in during), default=None),
            "by_kind": {k: {"n": sum(r["kind"] == k for r in during),
                            "statuses": sorted({r["status"] for r in during if r["kind"] == k}),
                            "max_s": max((r["seconds"] for r in during if r["kind"] == k),
                                         default=None)} for k in ("chat", "search", "photo")},
            "log": during},
        "after_ready": {"first_chat_s": after[0]["seconds"],
                        "chat_p50_s": float(np.median([r["seconds"] for r in after[1:]])),
                        "chat_max_s": max(r["seconds"] for r in after[1:]),
                        "statuses": sorted({r["status"] for r in after}),
                        "photo_s": after_photo["seconds"], "photo_status": after_photo["status"]},
        "server_rss_mb_after_warmup": rss,
        "server_loaded_torch": torch_loaded,
        "restart": restart,
        "load_average": [round(load0, 1), round(load1, 1)],
    }
    return BenchResult(results, _markdown(ctx, results))


def _stop(proc) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _health(client, proc, log: Path, pause: float) -> dict | None:
    """/healthz of a server that is starting, or None (after ``pause`` s) while it does not
    answer yet; a server that exited is an error."""
    import httpx

    if proc.poll() is not None:
        raise RuntimeError(f"the server exited: see {log}")
    try:
        return client.get("/healthz", timeout=5).json()
    except httpx.HTTPError:
        time.sleep(pause)
        return None


def _restart(cli: list[str], env: dict, logs: Path, photo: bytes) -> dict:
    """``coverstory serve`` again on the built home: serving, ready, a chat message every
    0.5 s while it loads, the first reply after ready, resident memory after warm-up."""
    import httpx

    port = _free_port()
    t0 = time.time()
    proc = subprocess.Popen(cli + ["serve", "--host", "127.0.0.1", "--port", str(port),
                                   "--log-level", "warning", "--rate-per-minute", "0"],
                            stdout=open(logs / "serve-restart.log", "w"),
                            stderr=subprocess.STDOUT, env=env)
    out: dict = {}
    asked: list[dict] = []
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        i = 0
        while time.time() - t0 < 600:
            now = _health(client, proc, logs / "serve-restart.log", pause=0.05)
            if now is None:
                continue
            h = now
            out.setdefault("serving_s", round(time.time() - t0, 2))
            if h["status"] == "ready":
                out["ready_s"] = round(time.time() - t0, 2)
                break
            asked.append(_ask(client, "chat", 3000 + i, photo, t0))
            i += 1
            time.sleep(0.5)
        first = _ask(client, "chat", 4000, photo, t0, text=QUESTIONS[0])
        more = [_ask(client, "chat", 4001 + j, photo, t0, text=q)
                for j, q in enumerate(QUESTIONS[1:])]
        out.update({
            "while_loading": {"chat_requests": len(asked),
                              "statuses": sorted({r["status"] for r in asked}),
                              "max_s": max((r["seconds"] for r in asked), default=None)},
            "first_chat_after_ready_s": first["seconds"],
            "chat_p50_s": float(np.median([r["seconds"] for r in more])),
            "chat_max_s": max(r["seconds"] for r in more),
            "rss_mb_after_warmup": rss_mb(proc.pid),
            "loaded_torch": _has_torch(proc.pid),
            "parts": {p: {"state": v["state"], "seconds": v.get("seconds")}
                      for p, v in (h.get("parts") or {}).items()}})
        client.close()
    finally:
        _stop(proc)
    return out


def _ask(client, kind: str, i: int, photo: bytes, t0: float, text: str | None = None) -> dict:
    import httpx

    t = time.perf_counter()
    try:
        if kind == "chat":
            r = client.post("/api/chat", json={"text": text or QUESTIONS[i % len(QUESTIONS)],
                                               "session_id": f"firstrun-{i:04d}"})
        elif kind == "search":
            r = client.get("/api/search", params={"q": QUESTIONS[i % len(QUESTIONS)]})
        else:
            r = client.post("/api/chat/photo", files={"file": ("p.jpg", photo, "image/jpeg")},
                            data={"session_id": f"firstrun-photo-{i:04d}"})
        status, body = r.status_code, (r.json() if r.content else {})
    except httpx.HTTPError as e:
        status, body = 0, {"error": str(e)}
    secs = time.perf_counter() - t
    return {"kind": kind, "at": round(time.time() - t0, 1), "seconds": round(secs, 3),
            "status": status, "books": len(body.get("books") or [])}


def _markdown(ctx: BenchContext, r: dict) -> str:
    ev = r["events_s"]
    rows = [{"event": k, "seconds after the first command": v} for k, v in ev.items()]
    d = r["during_loading"]
    a = r["after_ready"]
    md = [f"A fresh data home and a fresh ONNX export cache; the commands of `make demo` after "
          f"its install step ({'server without --build: --quick' if ctx.quick else 'import, build lexical, serve --build'}). "
          f"Load average (1 min) at start / end: {r['load_average'][0]} / "
          f"{r['load_average'][1]} on {os.cpu_count()} CPUs.\n",
          md_table(rows)]
    if r["build_steps"]:
        md += ["\nBackground build steps (at most two side by side, niced; started: seconds "
               "after the build began; threads: the step's $COVERSTORY_THREADS):\n",
               md_table(r["build_steps"])]
    md += ["\nWarm start, after the last reload:\n",
           md_table([{"part": p, **s} for p, s in r["warm_parts"].items()]),
           f"\nWhile loading and building: {d['requests']} requests (one every 2 s: chat, "
           f"search, photo in turn), slowest {d['max_s']} s.\n",
           md_table([{"kind": k, **v} for k, v in d["by_kind"].items()]),
           f"\nAfter ready: first chat reply of a new session {a['first_chat_s']} s; 10 more "
           f"messages p50 {a['chat_p50_s']:.3f} s, max {a['chat_max_s']} s (statuses "
           f"{a['statuses']}); a photo {a['photo_s']} s (status {a['photo_status']}). Server "
           f"resident memory after the build and its reloads: "
           f"{r['server_rss_mb_after_warmup']} MB (libtorch loaded: "
           f"{r['server_loaded_torch']}).\n"]
    x = r["restart"]
    w = x["while_loading"]
    md += [f"\n## Restart on the built home (warm start)\n\n`coverstory serve` again: serving "
           f"after {x['serving_s']} s, `/healthz` ready after {x['ready_s']} s; while it loaded, "
           f"{w['chat_requests']} chat messages (one every 0.5 s): statuses {w['statuses']}, "
           f"slowest {w['max_s']} s. After ready: first chat reply {x['first_chat_after_ready_s']} "
           f"s, 10 more p50 {x['chat_p50_s']:.3f} s, max {x['chat_max_s']} s. Server resident "
           f"memory after warm-up: {x['rss_mb_after_warmup']} MB (libtorch loaded: "
           f"{x['loaded_torch']}).\n",
           md_table([{"part": p, **v} for p, v in x["parts"].items()])]
    return "\n".join(md)
