"""``coverstory bench load``: the inputs and the simulated readers, and what they measure
(a pure move out of load.py; the protocol is in load.py's docstring)."""

from __future__ import annotations

import asyncio
import functools
import io
import random
import time
from pathlib import Path

from coverstory.catalog import Catalog
from coverstory.benchmarks._load_server import Server

READERS = 50
THINK = (2.0, 8.0)         # a reader reads the answer, looks at the covers, types
TIMEOUT = 60.0

# issue 15's mix: 40% chat messages, 40% text searches, 20% cover photos (half "what book is
# this?" searches, half photos sent to the chat)
ACTIONS = [("chat", 40), ("search", 40), ("search_photo", 10), ("chat_photo", 10)]
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


# ---- inputs ------------------------------------------------------------------------------------
def _column(home: Path, column: str) -> list[tuple[int, object]]:
    """(book id, ``column``) of every book of the home's catalog, by id."""
    cat = Catalog.open(home)
    try:
        ids = cat.book_ids()
        rows = cat.book_fields(ids, [column])
    finally:
        cat.close()
    return [(i, rows[i][column]) for i in ids]


def phone_photos(home: Path, n: int, seed: int) -> list[tuple[int, bytes]]:
    """(book id, JPEG bytes): covers re-shot like a phone would (scale, tilt, light)."""
    from PIL import Image, ImageEnhance

    rows = [(i, path) for i, path in _column(home, "cover_path") if path is not None]
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
    rows = _column(home, "title")
    rng = random.Random(seed)
    pick = rng.sample(rows, min(n, len(rows)))
    return [r[0] for r in pick], [r[1] for r in pick]


# ---- the simulated readers -------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _tls():
    """One TLS context for every reader's client. httpx makes a new one per client
    otherwise (~75 ms of CPU loading the CA certificates, unused over plain http): 50
    readers starting at once held the load generator's event loop for ~3.8 s, and the
    readers' first requests were timed across it."""
    import ssl

    return ssl.create_default_context()


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
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT, verify=_tls()) as c:
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
    async with httpx.AsyncClient(base_url=url, timeout=TIMEOUT * 5, verify=_tls()) as c:
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

    cat = Catalog.open(home)
    try:
        kept = Counter(cat.turn_counts_by_session())
    finally:
        cat.close()
    return [(sid, n, kept.get(sid, 0)) for sid, n in Counter(turns).items()
            if kept.get(sid, 0) < n]


def check_acked(home: Path, acked: list[tuple[str, int, str]]) -> list:
    """The acknowledged feedback writes that the catalog does not hold."""
    cat = Catalog.open(home)
    try:
        events = cat.event_keys()
        users = {sid: cat.user_id(f"session:{sid}") for sid in {a[0] for a in acked}}
    finally:
        cat.close()
    lost = []
    for sid, book, kind in acked:
        uid = users.get(sid)
        if uid is None or (uid, book, kind) not in events:
            lost.append((sid, book, kind))
    return lost
