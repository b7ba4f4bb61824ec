"""``coverstory bench load``: simulated readers against a real server on loopback.

Protocol (seeded; written out in docs/benchmarks/load.md):
1. Scratch home: the home's catalog is copied (SQLite backup) into a temporary home and
   its built artifacts (features/, indexes/, models/, dialogue/, fusion/) are linked, so
   the home itself is never written. When the home's search features are not all built
   (MiniLM text features, Lite0 cover features of >= 95% of the covers, the photo index),
   a demo subset of 500 rated books whose cover features are cached is served instead.
2. Load, 1 worker and N workers: ``coverstory serve --preload`` on 127.0.0.1, first one
   process, then ``--workers N`` (N = $COVERSTORY_LOAD_WORKERS, default 2). One warm-up
   request of each action, then 50 simulated readers at once, each with its own cookie
   session, for 60 s (20 s with --quick), with issue 15's mix: chat 40, text search 40,
   photo search 10, photo chat 10 (ACTIONS); think 2-8 s; every request bounded by a 60 s
   timeout. An error is any transport failure or any status other than 200 (304 for
   covers). All readers share one client address, so the per-client rate limit is raised
   for the run (the limiter still runs).
3. Memory: RSS of all server processes together sampled every 0.5 s under load (peak);
   after preload and after the load, RSS and PSS (smaps_rollup: shared pages split
   between processes) of every process.
4. Durability: on an N-worker server, readers send feedback (and chat, book pages) as fast
   as they can (think 0.2-1 s); after 10 s (6 s quick, and at least 30 acknowledged
   writes) every server process is killed with SIGKILL, the server is started again, and
   every acknowledged (200) feedback write is looked up in the catalog. The restarted
   server must answer a text and a photo search (catalog and indexes load).
5. During an import: on that server, readers with feedback writes (IMPORT_MIX) while
   ``coverstory import bookdepository`` runs into the same home, for 60 s (20 s quick) and
   at least until the import ends; then 5xx/transport errors are counted and every
   acknowledged feedback write and chat turn is looked up in the catalog.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coverstory.catalog.copies import peek_counts
from coverstory.config import setting
from coverstory.benchmarks._load_readers import (ACTIONS, READERS, THINK, TIMEOUT, Recorder,
                                                 book_sample, check_acked, check_turns,
                                                 phone_photos, reader, run_load, summarise, warm_up)
from coverstory.benchmarks._load_server import (DEMO_BOOKS, Server, demo_home, free_port,
                                                home_is_built, scratch_home)
from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table

SECONDS = {True: 20, False: 60}
KILL_AFTER = {True: 6.0, False: 10.0}
WRITE_THINK = (0.2, 1.0)   # the durability phase: a burst of writes

# while an import runs: the readers' mix (ACTIONS), with feedback writes (every acknowledged
# one is looked up)
IMPORT_MIX = [("chat", 35), ("search", 35), ("search_photo", 8), ("chat_photo", 7),
              ("feedback", 15)]
IMPORT_SOURCE = ("bookdepository", Path("covers") / "bookdepository.csv")
WORKERS = int(setting("load_workers"))   # the multi-process rows


def _load_phase(ctx, server: Server, seconds: float, inputs: dict, seed: int, mix) -> dict:
    """Start the server, warm it up, run the readers; the figures of one configuration."""
    ctx.progress(f"starting the server ({server.workers} worker process(es), preloading) ...")
    start_s = server.start()
    mem_idle = server.memory()
    ctx.progress(f"ready in {start_s:.1f} s, {mem_idle['rss_mb_total']} MB; warming up")
    warm = asyncio.run(warm_up(server.url, inputs, seed + 1))
    ctx.progress(f"load: {READERS} readers for {seconds} s")
    cpu0, load0 = server.cpu_seconds(), os.getloadavg()[0]
    load = asyncio.run(run_load(server.url, seconds, inputs, seed, mix, server))
    cpu1, load1 = server.cpu_seconds(), os.getloadavg()[0]
    table, totals = summarise(load["rec"], load["seconds"], mix)
    ctx.progress(f"load done: {totals['requests']} requests, {totals['errors']} errors")
    return {
        "workers": server.workers, "table": table, **totals,
        "warmup": [{"action": a, "ms": round(t * 1000), "status": st}
                   for a, t, st, _ in warm.rows],
        "server_start_s": round(start_s, 1),
        "memory_after_preload": mem_idle,
        "rss_mb_peak_under_load": round(max(load["rss"])) if load["rss"] else None,
        "memory_after_load": server.memory(),
        "server_cpu_s": round(cpu1 - cpu0, 1) if cpu0 is not None and cpu1 is not None
        else None,
        "machine_loadavg_1min": {"before": round(load0, 1), "after": round(load1, 1)},
    }


def _import_phase(ctx, server: Server, seconds: float, inputs: dict, seed: int) -> dict:
    """Readers (with feedback writes) while ``coverstory import`` adds a catalog: the load
    lasts ``seconds`` and at least until the import has ended; then every acknowledged
    write is looked up."""
    source, rel = IMPORT_SOURCE
    path = ctx.data / rel
    log = server.log.with_name("import.log")
    state: dict = {}

    async def phase():
        rec = Recorder()
        stop = asyncio.Event()
        t0 = time.time()
        deadline = t0 + 600

        async def importer():
            await asyncio.sleep(3)
            state["started_s"] = round(time.time() - t0, 1)
            with open(log, "wb") as out:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "coverstory.cli", "--home", str(server.home), "import",
                    source, str(path), "--no-progress", stdout=out, stderr=out)
                state["exit"] = await proc.wait()
            state["ended_s"] = round(time.time() - t0, 1)
            await asyncio.sleep(max(3.0, seconds - (time.time() - t0)))
            stop.set()

        tasks = [asyncio.create_task(reader(i, server.url, deadline, rec, inputs, seed,
                                            IMPORT_MIX, stop)) for i in range(READERS)]
        await asyncio.gather(importer(), *tasks)
        return rec, time.time() - t0

    ctx.progress(f"load while `coverstory import {source}` runs")
    load0 = os.getloadavg()[0]
    rec, took = asyncio.run(phase())
    load1 = os.getloadavg()[0]
    table, totals = summarise(rec, took, IMPORT_MIX)
    lost = check_acked(server.home, rec.acked)
    lost_turns = check_turns(server.home, rec.turns)
    five = sum(1 for r in rec.rows if r[2] >= 500 or r[2] == 0)
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
    return {"source": source, "import_exit": state.get("exit"),
            "import_s": [state.get("started_s"), state.get("ended_s")],
            "import_last_line": tail[0][:300] if tail else "", "seconds": round(took, 1),
            "table": table, **totals, "server_errors_5xx_or_transport": five,
            "status_counts": _status_counts(rec),
            "acknowledged_feedback": len(rec.acked), "feedback_lost": len(lost),
            "acknowledged_turns": len(rec.turns),
            "sessions_missing_turns": len(lost_turns), "lost_examples": (lost + lost_turns)[:5],
            "machine_loadavg_1min": {"before": round(load0, 1), "after": round(load1, 1)}}


def _status_counts(rec: Recorder) -> dict:
    out: dict[str, int] = {}
    for r in rec.rows:
        out[str(r[2])] = out.get(str(r[2]), 0) + 1
    return out


def run(ctx: BenchContext) -> BenchResult:
    import httpx

    home = ctx.home
    if not (home / "catalog.sqlite").exists():
        raise FileNotFoundError(f"no catalog in {home}; pass --home (e.g. /work/homes/full) "
                                "or run `coverstory import` first")
    seconds = SECONDS[ctx.quick]
    t_all = time.time()
    with tempfile.TemporaryDirectory(prefix="coverstory-load-") as tmp:
        root = Path(tmp)
        built, why = home_is_built(home)
        if built:
            scratch = scratch_home(home, root)
            served = {"mode": "full catalog", "reason": why}
        else:
            ctx.progress(f"{why}: serving a demo home of {DEMO_BOOKS} of its books")
            scratch, counts = demo_home(home, root, DEMO_BOOKS, ctx.seed)
            ctx.progress("coverstory build all on the demo home ...")
            t_build = time.time()
            with open(root / "build.log", "wb") as out:
                done = subprocess.run([sys.executable, "-m", "coverstory.cli", "--home",
                                       str(scratch), "build", "all"], stdout=out,
                                      stderr=subprocess.STDOUT, timeout=3600)
            if done.returncode != 0:
                tail = (root / "build.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"building the demo home failed:\n{tail}")
            counts["build_s"] = round(time.time() - t_build, 1)
            ctx.progress(f"built in {counts['build_s']} s")
            served = {"mode": f"demo subset of {DEMO_BOOKS} books", "reason": why, **counts}
        served["books"] = peek_counts(scratch)["books"]
        photos = phone_photos(scratch, 12, ctx.seed)
        ids, titles = book_sample(scratch, 300, ctx.seed)
        inputs = {"photos": photos, "titles": titles, "ids": ids}
        configs = [1] if WORKERS == 1 else [1, WORKERS]
        phases, logs = [], []
        for n in configs:
            server = Server(scratch, free_port(), root / f"server-{n}.log", workers=n)
            try:
                phases.append(_load_phase(ctx, server, seconds, inputs, ctx.seed, ACTIONS))
            finally:
                server.stop()
            logs.append(server.log)

        # durability: writes under load, kill -9 (every process), restart, look every
        # acknowledged one up; then readers while an import runs
        n = configs[-1]
        server = Server(scratch, free_port(), root / f"server-{n}-crash.log", workers=n)
        logs.append(server.log)
        try:
            server.start()
            mix = [("feedback", 70), ("chat", 20), ("book", 10)]
            ctx.progress("durability: feedback load, then kill -9")
            crash = asyncio.run(run_load(server.url, KILL_AFTER[ctx.quick] + 30, inputs,
                                         ctx.seed + 2, mix, server,
                                         kill_after=KILL_AFTER[ctx.quick], think=WRITE_THINK))
            acked = crash["rec"].acked
            restart_s = server.start()
            photo_bid, photo = photos[0]
            t = httpx.get(server.url + "/api/search", params={"q": titles[0]}, timeout=TIMEOUT)
            p = httpx.post(server.url + "/api/search/photo",
                           files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=TIMEOUT)
            lost = check_acked(scratch, acked)
            after = {"text_search_status": t.status_code, "photo_search_status": p.status_code,
                     "photo_first_is_right": p.status_code == 200
                     and bool(p.json()["books"]) and p.json()["books"][0]["id"] == photo_bid}
            imp = _import_phase(ctx, server, seconds, inputs, ctx.seed + 3)
        finally:
            server.stop()
        errors = sum(ph["errors"] for ph in phases) + imp["server_errors_5xx_or_transport"]
        log_tail = "\n".join(lg.read_text(errors="replace")[-1500:] for lg in logs
                             if lg.exists()) if errors or lost else ""

    results = {
        "readers": READERS, "seconds": seconds, "think_s": list(THINK), "timeout_s": TIMEOUT,
        "home": str(home), "served": served, "actions": dict(ACTIONS), "phases": phases,
        "durability": {"workers": n, "acknowledged_writes": len(acked), "lost": len(lost),
                       "lost_examples": lost[:5], "killed_after_s": KILL_AFTER[ctx.quick],
                       "requests_before_kill": len(crash["rec"].rows),
                       "restart_s": round(restart_s, 1), **after},
        "during_import": imp, "ran_s": round(time.time() - t_all, 1),
        "server_log_tail": log_tail,
    }
    return BenchResult(results=results, markdown=_markdown(results))


def _markdown(r: dict) -> str:
    served = r["served"]
    md = (
        f"{r['readers']} simulated readers (own cookie sessions) for {r['seconds']} s against "
        f"`coverstory serve --preload` on 127.0.0.1, home `{r['home']}` (catalog copied to a "
        f"scratch home; served: {served['mode']}, {served['books']} books — "
        f"{served['reason']}). Mix (issue 15): "
        + ", ".join(f"{a} {w}%" for a, w in r["actions"].items())
        + f". Think time {r['think_s'][0]}-{r['think_s'][1]} s between a reader's requests; "
        f"timeout {r['timeout_s']:.0f} s; error = transport failure or status other than "
        "200/304. The load generator runs on the same machine (it takes CPU too).\n\n")
    for ph in r["phases"]:
        mem = ph["memory_after_load"]
        per = ", ".join(f"{p['rss_mb']}" for p in mem["processes"])
        la = ph["machine_loadavg_1min"]
        md += (f"### {ph['workers']} worker process{'es' if ph['workers'] > 1 else ''}\n\n"
               f"**{ph['requests']} requests, {ph['errors']} errors, "
               f"{ph['throughput_rps']:.1f} requests/s.**\n\n"
               + md_table(ph["table"], ["action", "requests", "errors", "p50_ms", "p95_ms",
                                        "p99_ms", "max_ms"], floatfmt="{:.0f}")
               + f"\nServer memory after the load: RSS {mem['rss_mb_total']} MB in all "
               f"(per process: {per} MB; PSS {mem['pss_mb_total']} MB), peak "
               f"{ph['rss_mb_peak_under_load']} MB. Ready (preloaded) in "
               f"{ph['server_start_s']} s. Server CPU {ph['server_cpu_s']} s for the load "
               f"phase. Load average (1 min) {la['before']} before, {la['after']} after.\n\n")
    d = r["durability"]
    md += (f"**Durability (kill -9 of every server process under load, {d['workers']} "
           f"worker(s)):** {d['acknowledged_writes']} feedback writes acknowledged before "
           f"SIGKILL at {d['killed_after_s']:.0f} s, **{d['lost']} lost** after restart "
           f"({d['restart_s']} s to ready). After restart: text search "
           f"{d['text_search_status']}, photo search {d['photo_search_status']} (right book "
           f"first: {d['photo_first_is_right']}).\n\n")
    im = r["during_import"]
    md += (f"### While `coverstory import {im['source']}` runs ({d['workers']} worker(s))\n\n"
           f"The import started {im['import_s'][0]} s into the load and ended at "
           f"{im['import_s'][1]} s (exit {im['import_exit']}: {im['import_last_line']}); "
           f"readers for {im['seconds']} s, mix "
           + ", ".join(f"{a} {w}%" for a, w in IMPORT_MIX)
           + f". **{im['server_errors_5xx_or_transport']} 5xx or transport errors**; "
           f"statuses {im['status_counts']}. **{im['acknowledged_feedback']} acknowledged "
           f"feedback writes, {im['feedback_lost']} missing; {im['acknowledged_turns']} "
           f"acknowledged chat turns, {im['sessions_missing_turns']} sessions missing "
           f"some.** Load average {im['machine_loadavg_1min']['before']} before, "
           f"{im['machine_loadavg_1min']['after']} after.\n\n"
           + md_table(im["table"], ["action", "requests", "errors", "p50_ms", "p95_ms",
                                    "p99_ms", "max_ms"], floatfmt="{:.0f}"))
    examples = sorted({e for ph in r["phases"] for e in ph["error_examples"]}
                      | set(im["error_examples"]))
    if examples:
        md += "\nErrors seen:\n\n" + "\n".join(f"- `{e}`" for e in examples[:12]) + "\n"
    return md


def _mb(v) -> str:
    return f"{v:.0f} MB" if v else "n/a"
