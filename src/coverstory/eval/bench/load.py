"""``coverstory bench load``: simulated readers against a real server on loopback.

Protocol (seeded):
1. The home's catalog is copied (SQLite backup) into a scratch home; its built artifacts
   (features/, indexes/, models/, dialogue/) are linked, so the home itself is never
   written. When the home's search features are not all built yet, the scratch home is a
   demo subset instead: 2,000 rated books whose cover features are cached (seeded sample),
   their ratings, and those features; the services compute what else they need at start.
   ``coverstory serve --preload`` is started on 127.0.0.1 (a free port).
2. Load: 50 simulated readers at once, each with its own cookie session, for 60 s
   (20 s with --quick). A reader loops: pick an action (chat message, text search, book
   page, cover image, similar books, recommendations, feedback, cover-photo search or
   photo chat; weights below), wait for the answer, think 2-8 s. Every request is
   bounded by a 60 s timeout; the run stops by itself. An error is any transport failure
   or any status other than 200 (304 for covers). All readers share one client address,
   so the per-client rate limit is raised for the run (the limiter still runs).
3. Durability: readers send feedback writes (and chat) as fast as they can (think
   0.2-1 s) for 10 s (6 s quick); the server is
   killed with SIGKILL mid-load, started again, and every acknowledged (200) write is
   looked up in the catalog. The restarted server must answer a text and a photo search
   (catalog and indexes load).
Memory: resident set size of the server process (from /proc), sampled every 0.5 s.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from coverstory.eval.runner import BenchContext, BenchResult, md_table

READERS = 50
SECONDS = {True: 20, False: 60}
KILL_AFTER = {True: 6.0, False: 10.0}
THINK = (2.0, 8.0)         # a reader reads the answer, looks at the covers, types
WRITE_THINK = (0.2, 1.0)   # the durability phase: a burst of writes
TIMEOUT = 60.0
LINKED = ("features", "indexes", "models", "dialogue", "fusion")

# issue 15's mix: 40% chat messages, 40% text searches, 20% cover photos (half "what book is
# this?" searches, half photos sent to the chat)
ACTIONS = [("chat", 40), ("search", 40), ("search_photo", 10), ("chat_photo", 10)]
# while an import runs: the same, with feedback writes (every acknowledged one is looked up)
IMPORT_MIX = [("chat", 35), ("search", 35), ("search_photo", 8), ("chat_photo", 7),
              ("feedback", 15)]
IMPORT_SOURCE = ("bookdepository", Path("covers") / "bookdepository.csv")
WORKERS = int(os.environ.get("COVERSTORY_LOAD_WORKERS", "2"))   # the multi-process rows
TURN_ACTIONS = ("chat", "chat_photo", "feedback")   # each acknowledged one logs a chat turn
QUERIES = [
    "a cosy mystery set in Venice", "something like Harry Potter", "epic fantasy with dragons",
    "a funny book for a long flight", "classic romance", "science fiction about space travel",
    "historical fiction about the second world war", "a thriller that keeps me up at night",
    "books by Agatha Christie", "a short book for teenagers", "non-fiction about the brain",
    "something sad but beautiful", "I loved The Hunger Games", "a graphic novel",
    "poetry", "a book about cooking", "more like that but shorter", "horror, not too gory",
    "a detective series", "biography of a musician",
]


# ---- scratch home and server process -------------------------------------------------------
def scratch_home(home: Path, root: Path) -> Path:
    """A copy of ``home``'s catalog with links to its built artifacts."""
    scratch = root / "home"
    scratch.mkdir(parents=True)
    src = sqlite3.connect(home / "catalog.sqlite")
    dst = sqlite3.connect(scratch / "catalog.sqlite")
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    for name in LINKED:
        if (home / name).exists():
            (scratch / name).symlink_to((home / name).resolve())
    return scratch


TEXT_FEATURE = "text/minilm-l6.pretrained"
COVER_FEATURE = "cover/efficientnet-lite0.imagenet"
DEMO_BOOKS = 500


def home_is_built(home: Path) -> tuple[bool, str]:
    """Whether the search features of every book are built (else a demo subset is served)."""
    from coverstory.encoders.cache import feature_path, load_features

    if not feature_path(home, TEXT_FEATURE).exists():
        return False, f"{TEXT_FEATURE} features not built"
    if not feature_path(home, COVER_FEATURE).exists():
        return False, f"{COVER_FEATURE} features not built"
    con = sqlite3.connect(home / "catalog.sqlite")
    covers = con.execute("SELECT COUNT(*) FROM books WHERE cover_path IS NOT NULL").fetchone()[0]
    con.close()
    rows = len(load_features(home, COVER_FEATURE)[0])
    if rows < 0.95 * covers:
        return False, f"cover features of {rows} of {covers} covers built"
    if not (home / "indexes" / "cover_features.npz").exists():
        return False, "photo index (indexes/cover_features.npz) not built"
    return True, "all search features built"


def demo_home(home: Path, root: Path, n_books: int, seed: int) -> tuple[Path, dict]:
    """A scratch home of ``n_books`` books of ``home`` (with their ratings) whose cover
    features are already cached; small enough for the services to compute the rest."""
    from coverstory.encoders.cache import feature_path, load_features, save_features, \
        stored_hashes

    scratch = root / "home"
    scratch.mkdir(parents=True)
    cover_ids = set(load_features(home, COVER_FEATURE)[0].tolist())
    src = sqlite3.connect(home / "catalog.sqlite")
    rated = [r[0] for r in src.execute(
        "SELECT book_id FROM ratings GROUP BY book_id ORDER BY COUNT(*) DESC, book_id")]
    keep = [b for b in rated if b in cover_ids]
    rng = random.Random(seed)
    keep = sorted(rng.sample(keep, min(n_books, len(keep))))
    dst = sqlite3.connect(scratch / "catalog.sqlite")
    with dst:
        src.backup(dst)
    src.close()
    dst.execute("PRAGMA foreign_keys=ON")
    dst.execute("CREATE TEMP TABLE keep(id INTEGER PRIMARY KEY)")
    dst.executemany("INSERT INTO keep VALUES (?)", [(b,) for b in keep])
    with dst:
        dst.execute("DELETE FROM books WHERE id NOT IN (SELECT id FROM keep)")
        dst.execute("DELETE FROM users WHERE id NOT IN (SELECT DISTINCT user_id FROM ratings)")
    dst.execute("VACUUM")
    counts = {"books": dst.execute("SELECT COUNT(*) FROM books").fetchone()[0],
              "ratings": dst.execute("SELECT COUNT(*) FROM ratings").fetchone()[0],
              "users": dst.execute("SELECT COUNT(*) FROM users").fetchone()[0]}
    dst.close()
    for feature in (COVER_FEATURE, TEXT_FEATURE, "title/minilm-l6.pretrained"):
        if not feature_path(home, feature).exists():
            continue
        ids, vecs = load_features(home, feature)
        hashes = stored_hashes(home, feature)
        keep_set = set(keep)
        sel = [i for i, b in enumerate(ids.tolist()) if b in keep_set]
        if sel:
            save_features(scratch, feature, ids[sel], vecs[sel],
                          [hashes.get(int(ids[i]), "") for i in sel])
    if (home / "models").is_dir():
        import shutil

        shutil.copytree(home / "models", scratch / "models")
    return scratch, counts


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``coverstory serve`` as a child process; ``kill9()`` simulates a crash."""

    def __init__(self, home: Path, port: int, log: Path, workers: int = 1):
        self.home, self.port, self.log, self.workers = home, port, log, workers
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 900) -> float:
        t0 = time.time()
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                   COVERSTORY_ADMIN_TOKEN="")
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "coverstory.cli", "--home", str(self.home), "serve",
             "--host", "127.0.0.1", "--port", str(self.port), "--preload",
             "--rate-per-minute", "60000", "--rate-burst", "1000", "--log-level", "warning",
             "--workers", str(self.workers)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
        import httpx

        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{tail}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200 and \
                        len(self.pids()) >= self.workers + (self.workers > 1):
                    if self.workers > 1:      # every worker preloaded (each prints "loaded")
                        text = self.log.read_text(errors="replace")
                        if text.count("] loaded in") < self._loaded_before + self.workers:
                            time.sleep(0.25)
                            continue
                        self._loaded_before = text.count("] loaded in")
                    return time.time() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s; see {self.log}")

    _loaded_before = 0

    def pids(self) -> list[int]:
        """The server's processes: the supervisor and its workers (or the one process)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        return [self.proc.pid, *kids]

    def rss_mb(self) -> float | None:
        """Resident memory of all the server's processes together."""
        got = [_status_kb(p, "VmRSS:") for p in self.pids()]
        got = [g for g in got if g is not None]
        return sum(got) / 1024 if got else None

    def memory(self) -> dict:
        """RSS and PSS (shared pages split between the processes) per process, MB."""
        out = []
        for pid in self.pids():
            rss = _status_kb(pid, "VmRSS:")
            pss = _rollup_kb(pid, "Pss:")
            out.append({"pid": pid, "rss_mb": round(rss / 1024) if rss else None,
                        "pss_mb": round(pss / 1024) if pss else None})
        return {"processes": out,
                "rss_mb_total": round(sum(p["rss_mb"] or 0 for p in out)),
                "pss_mb_total": round(sum(p["pss_mb"] or 0 for p in out))}

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server's processes have used so far."""
        total = 0.0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                return None
        return total

    def kill9(self) -> None:
        """SIGKILL to every server process at once (a crash of the whole server)."""
        for pid in reversed(self.pids()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _status_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _rollup_kb(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# ---- inputs ------------------------------------------------------------------------------------
def phone_photos(home: Path, n: int, seed: int) -> list[tuple[int, bytes]]:
    """(book id, JPEG bytes): covers re-shot like a phone would (scale, tilt, light)."""
    from PIL import Image, ImageEnhance

    con = sqlite3.connect(home / "catalog.sqlite")
    rows = con.execute("SELECT id, cover_path FROM books WHERE cover_path IS NOT NULL "
                       "ORDER BY id").fetchall()
    con.close()
    rng = random.Random(seed)
    out = []
    for bid, path in rng.sample(rows, min(n, len(rows))):
        try:
            img = Image.open(path).convert("RGB")
        except OSError:
            continue
        w, h = img.size
        s = rng.uniform(1.5, 2.5)
        img = img.resize((int(w * s), int(h * s)))
        img = img.rotate(rng.uniform(-6, 6), expand=True, fillcolor=(200, 195, 185))
        img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.8, 1.15))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        out.append((bid, buf.getvalue()))
    return out


def book_sample(home: Path, n: int, seed: int) -> tuple[list[int], list[str]]:
    con = sqlite3.connect(home / "catalog.sqlite")
    rows = con.execute("SELECT id, title FROM books ORDER BY id").fetchall()
    con.close()
    rng = random.Random(seed)
    pick = rng.sample(rows, min(n, len(rows)))
    return [r[0] for r in pick], [r[1] for r in pick]


# ---- the simulated readers -------------------------------------------------------------------
class Recorder:
    def __init__(self):
        self.rows: list[tuple[str, float, int, str]] = []   # action, seconds, status, error
        self.acked: list[tuple[str, int, str]] = []          # (session, book, kind)
        self.turns: list[str] = []       # the session of each acknowledged chat turn

    def add(self, action: str, seconds: float, status: int, error: str = "") -> None:
        self.rows.append((action, seconds, status, error))


async def reader(i: int, url: str, deadline: float, rec: Recorder, inputs: dict, seed: int,
                 mix: list[tuple[str, int]], stop: asyncio.Event, think=THINK) -> None:
    import httpx

    rng = random.Random(seed * 1000 + i)
    names = [a for a, _ in mix]
    weights = [w for _, w in mix]
    # writers (durability phase) start with books to rate; readers start by chatting
    shown: list[int] = rng.sample(inputs["ids"], 5) if mix[0][0] == "feedback" else []
    session = None
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as c:
        while time.time() < deadline and not stop.is_set():
            action = rng.choices(names, weights)[0]
            if action in ("cover", "similar", "book", "feedback") and not shown:
                action = "chat"
            t0 = time.perf_counter()
            try:
                r = await _act(c, action, rng, inputs, shown)
            except Exception as e:  # noqa: BLE001 - a failed request is a measured error
                rec.add(action, time.perf_counter() - t0, 0, type(e).__name__)
                if stop.is_set():
                    return
                continue
            dt = time.perf_counter() - t0
            ok = r.status_code in (200, 304)
            rec.add(action, dt, r.status_code, "" if ok else r.text[:200])
            if ok and r.headers.get("content-type", "").startswith("application/json"):
                body = r.json()
                session = body.get("session_id", session) if isinstance(body, dict) else session
                books = body.get("books") if isinstance(body, dict) else None
                if books:
                    shown[:] = [b["id"] for b in books][:10]
                sid = c.cookies.get("cs_session") or session or ""
                if action == "feedback":
                    rec.acked.append((sid, body["book_id"], body["kind"]))
                if action in TURN_ACTIONS:
                    rec.turns.append(sid)
            await asyncio.sleep(rng.uniform(*think))


async def _act(c, action: str, rng: random.Random, inputs: dict, shown: list[int]):
    if action == "chat":
        return await c.post("/api/chat", json={"text": rng.choice(QUERIES)})
    if action == "search":
        q = rng.choice(inputs["titles"]) if rng.random() < 0.6 else rng.choice(QUERIES)
        return await c.get("/api/search", params={"q": q[:200], "k": 10})
    if action == "book":
        return await c.get(f"/api/books/{rng.choice(shown)}")
    if action == "cover":
        return await c.get(f"/api/books/{rng.choice(shown)}/cover")
    if action == "similar":
        by = "content" if rng.random() < 0.6 else "readers"
        return await c.get(f"/api/books/{rng.choice(shown)}/similar", params={"by": by, "k": 6})
    if action == "recommend":
        return await c.get("/api/users/me/recommendations", params={"k": 10})
    if action == "feedback":
        kind = rng.choice(["like", "dislike", "read"])
        return await c.post("/api/feedback", json={"book_id": rng.choice(shown), "kind": kind})
    bid, photo = rng.choice(inputs["photos"])
    path = "/api/search/photo" if action == "search_photo" else "/api/chat/photo"
    return await c.post(path, files={"file": ("photo.jpg", photo, "image/jpeg")})


async def warm_up(url: str, inputs: dict, seed: int) -> Recorder:
    """One request of every kind, one after another (loads whatever is still lazy)."""
    import httpx

    rec = Recorder()
    rng = random.Random(seed)
    shown = list(inputs["ids"][:5])
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT * 5) as c:
        for action, _ in ACTIONS:
            t0 = time.perf_counter()
            try:
                r = await _act(c, action, rng, inputs, shown)
                rec.add(action, time.perf_counter() - t0, r.status_code)
            except Exception as e:  # noqa: BLE001
                rec.add(action, time.perf_counter() - t0, 0, type(e).__name__)
    return rec


async def run_load(url: str, seconds: float, inputs: dict, seed: int, mix, server: Server,
                   kill_after: float | None = None, readers: int = READERS,
                   think=THINK) -> dict:
    rec = Recorder()
    stop = asyncio.Event()
    deadline = time.time() + seconds
    rss: list[float] = []

    async def sample_memory():
        while time.time() < deadline and not stop.is_set():
            v = server.rss_mb()
            if v:
                rss.append(v)
            await asyncio.sleep(0.5)

    async def killer():
        await asyncio.sleep(kill_after)
        t_max = time.time() + 60   # a slow machine: wait for some acknowledged writes
        while len(rec.acked) < 30 and time.time() < t_max:
            await asyncio.sleep(0.2)
        server.kill9()
        stop.set()

    tasks = [asyncio.create_task(reader(i, url, deadline, rec, inputs, seed, mix, stop, think))
             for i in range(readers)]
    tasks.append(asyncio.create_task(sample_memory()))
    if kill_after is not None:
        tasks.append(asyncio.create_task(killer()))
    t0 = time.time()
    await asyncio.gather(*tasks)
    return {"rec": rec, "seconds": time.time() - t0, "rss": rss}


def summarise(rec: Recorder, seconds: float, mix=None) -> tuple[list[dict], dict]:
    import numpy as np

    by: dict[str, list] = {}
    for row in rec.rows:
        by.setdefault(row[0], []).append(row)
    table = []
    names = [a for a, _ in (mix or ACTIONS)]
    names += sorted(a for a in by if a not in names)      # e.g. a chat instead of feedback
    for action in names + ["all"]:
        rows = rec.rows if action == "all" else by.get(action, [])
        if not rows:
            continue
        lat = np.array([r[1] for r in rows]) * 1000
        errors = sum(1 for r in rows if r[2] not in (200, 304))
        table.append({"action": action, "requests": len(rows), "errors": errors,
                      "p50_ms": float(np.percentile(lat, 50)),
                      "p95_ms": float(np.percentile(lat, 95)),
                      "p99_ms": float(np.percentile(lat, 99)), "max_ms": float(lat.max())})
    total = table[-1] if table else {"requests": 0, "errors": 0}
    examples = sorted({f"{r[0]}: {r[2]} {r[3][:120]}" for r in rec.rows if r[2] not in (200, 304)})
    return table, {"requests": total["requests"], "errors": total["errors"],
                   "throughput_rps": total["requests"] / seconds if seconds else 0.0,
                   "error_examples": examples[:10]}


def check_turns(home: Path, turns: list[str]) -> list:
    """Sessions with fewer chat turns in the catalog than were acknowledged."""
    from collections import Counter

    con = sqlite3.connect(home / "catalog.sqlite")
    kept = Counter(dict(con.execute(
        "SELECT session_id, COUNT(*) FROM events WHERE kind='turn' GROUP BY session_id")))
    con.close()
    return [(sid, n, kept.get(sid, 0)) for sid, n in Counter(turns).items()
            if kept.get(sid, 0) < n]


def check_acked(home: Path, acked: list[tuple[str, int, str]]) -> list:
    """The acknowledged feedback writes that the catalog does not hold."""
    con = sqlite3.connect(home / "catalog.sqlite")
    users = dict(con.execute("SELECT external_id, id FROM users"))
    events = set(con.execute("SELECT user_id, book_id, kind FROM events"))
    con.close()
    lost = []
    for sid, book, kind in acked:
        uid = users.get(f"session:{sid}")
        if uid is None or (uid, book, kind) not in events:
            lost.append((sid, book, kind))
    return lost


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
        con = sqlite3.connect(scratch / "catalog.sqlite")
        served["books"] = con.execute("SELECT COUNT(*) FROM books").fetchone()[0]
        con.close()
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
