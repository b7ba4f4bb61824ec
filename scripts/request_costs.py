"""CPU per request of the load bench's mix, in process, one request at a time; and the
answers themselves, so a speed-up can be checked to change nothing.

    .venv/bin/python scripts/request_costs.py --home /work/homes/demo [--sessions 20]
        [--turns 5] [--searches 100] [--photos 10] [--seed 0] [--profile out.prof]
        [--dump answers.json] [--compare answers.json] [--json costs.json]

A scratch copy of the home's catalog (SQLite backup; built artifacts linked, as
``coverstory bench load`` does, so the home is never written) is opened with the services
the server shares (``SearchService``, ``RecommendService``, ``DialogueEngine`` over them),
loaded and warmed as the server does (one thread per BLAS / ONNX call, a warm-up search)
before anything is timed. Then, seeded, the load bench's inputs
(``coverstory.benchmarks._load_readers``): chat sessions of ``--turns`` messages drawn from
its QUERIES, text searches (60% a catalog title, 40% a QUERY, k=10), and photos of covers
re-shot like a phone would, sent to photo search and to the chat. Each request runs alone
on the main thread; its process CPU time (every thread, ONNX's included) and wall time are
recorded. Prints mean / p50 / p95 CPU ms per action.

``--dump`` writes every answer (search: ranked book ids and scores; chat: reply text,
intent, question and book ids); ``--compare`` checks the answers against such a file and
exits 1 on the first difference in ids, text or intent (scores are compared to 1e-5).
``--profile`` writes a cProfile of the timed part (main thread).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path


def inputs(home: Path, args) -> dict:
    from coverstory.benchmarks._load_readers import QUERIES, book_sample, phone_photos

    rng = random.Random(args.seed)
    _, titles = book_sample(home, 200, args.seed)
    chats = [[rng.choice(QUERIES) for _ in range(args.turns)] for _ in range(args.sessions)]
    searches = [(rng.choice(titles) if rng.random() < 0.6 else rng.choice(QUERIES))[:200]
                for _ in range(args.searches)]
    photos = phone_photos(home, args.photos, args.seed) if args.photos else []
    return {"chats": chats, "searches": searches, "photos": photos}


def open_services(home: Path):
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine
    from coverstory.recommend.service import RecommendService
    from coverstory.search.service import SearchService
    from coverstory.serve.process import serving_threads
    from coverstory.serve.warmup import _index_caches

    serving_threads()                # as `coverstory serve`: one thread per BLAS/ONNX call
    search = SearchService(home, log=lambda m: None)
    search.warm_up()
    search.text("warm up", k=1)      # as the server's warm-up
    search.similar_search
    rec = RecommendService(home)
    getattr(rec, "model", None)
    eng = DialogueEngine(home, search=search, recommend=rec, catalog=Catalog.open(home))
    eng.index
    eng.nlu
    eng.signals.coreaders
    _index_caches(eng.index)
    return search, eng


def run(search, eng, inp: dict, answers: list, costs: dict) -> None:
    def timed(action: str, fn):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        costs.setdefault(action, []).append(
            (1000 * (time.process_time() - c0), 1000 * (time.perf_counter() - t0)))
        return out

    def reply(r) -> dict:
        return {"text": r.text, "intent": r.intent, "question": r.question_facet,
                "ids": r.book_ids, "scores": [b.get("score") for b in r.books]}

    # the load bench's readers interleave their actions; so do we, by a seeded shuffle
    work = [("chat", s, t) for s in range(len(inp["chats"])) for t in range(len(inp["chats"][s]))]
    work += [("search", i, 0) for i in range(len(inp["searches"]))]
    work += [(a, i, 0) for a in ("search_photo", "chat_photo") for i in range(len(inp["photos"]))]
    random.Random(1).shuffle(work)
    # a session's turns stay in order: the t-th chat of a session is its t-th turn
    nxt = {s: 0 for s in range(len(inp["chats"]))}
    for action, i, _ in work:
        if action == "chat":
            t = nxt[i]
            nxt[i] += 1
            text = inp["chats"][i][t]
            r = timed("chat", lambda: eng.turn(f"costs-{i:03d}", text=text))
            answers.append({"action": "chat", "session": i, "turn": t, "in": text, **reply(r)})
        elif action == "search":
            q = inp["searches"][i]
            hits = timed("search", lambda: search.text(q, k=10))
            answers.append({"action": "search", "in": q, "ids": [h.book_id for h in hits],
                            "scores": [h.score for h in hits]})
        elif action == "search_photo":
            bid, data = inp["photos"][i]
            res = timed("search_photo", lambda: search.photo(data, k=10))
            best = getattr(res, "best", None)
            answers.append({"action": "search_photo", "in": bid,
                            "best": best.book_id if best is not None else None,
                            "ids": [h.book_id for h in res.hits]})
        else:
            bid, data = inp["photos"][i]
            r = timed("chat_photo", lambda: eng.turn(f"costs-photo-{i:03d}", photo=data))
            answers.append({"action": "chat_photo", "in": bid, **reply(r)})


def summary(costs: dict) -> dict:
    import numpy as np

    out = {}
    for action, rows in costs.items():
        cpu = np.array([c for c, _ in rows])
        wall = np.array([w for _, w in rows])
        out[action] = {"n": len(rows), "cpu_mean_ms": round(float(cpu.mean()), 1),
                       "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 1),
                       "cpu_p95_ms": round(float(np.percentile(cpu, 95)), 1),
                       "wall_mean_ms": round(float(wall.mean()), 1),
                       "cpu_total_s": round(float(cpu.sum()) / 1000, 2)}
    return out


def compare(got: list, ref: list) -> list[str]:
    diffs = []
    if len(got) != len(ref):
        diffs.append(f"{len(got)} answers, the reference has {len(ref)}")
    for j, (a, b) in enumerate(zip(got, ref)):
        for key in ("action", "in", "text", "intent", "question", "ids", "best"):
            if a.get(key) != b.get(key):
                diffs.append(f"answer {j} ({a['action']} {a['in']!r}): {key} {a.get(key)!r} "
                             f"!= {b.get(key)!r}")
                break
        else:
            sa, sb = a.get("scores") or [], b.get("scores") or []
            if any(abs((x or 0) - (y or 0)) > 1e-5 for x, y in zip(sa, sb)):
                diffs.append(f"answer {j} ({a['action']} {a['in']!r}): scores {sa} != {sb}")
    return diffs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--turns", type=int, default=5)
    ap.add_argument("--searches", type=int, default=100)
    ap.add_argument("--photos", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", type=Path)
    ap.add_argument("--dump", type=Path)
    ap.add_argument("--compare", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    from coverstory.benchmarks._load_server import scratch_home

    with tempfile.TemporaryDirectory(prefix="cs-costs-") as tmp:
        home = scratch_home(args.home.resolve(), Path(tmp))
        t0 = time.perf_counter()
        search, eng = open_services(home)
        print(f"loaded in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        inp = inputs(home, args)
        answers: list = []
        costs: dict = {}
        load0 = os.getloadavg()
        prof = None
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        run(search, eng, inp, answers, costs)
        if prof is not None:
            prof.disable()
            prof.dump_stats(str(args.profile))
        load1 = os.getloadavg()
        eng.close()
    table = summary(costs)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {load0[0]:.2f} before, {load1[0]:.2f} after; seed {args.seed}")
    for action, row in table.items():
        print(f"{action:13s} " + "  ".join(f"{k} {v}" for k, v in row.items()))
    if args.json:
        args.json.write_text(json.dumps({"costs": table, "load": [load0[0], load1[0]],
                                         "args": {k: str(v) for k, v in vars(args).items()}},
                                        indent=1))
    if args.dump:
        args.dump.write_text(json.dumps(answers, indent=0))
    if args.compare:
        diffs = compare(answers, json.loads(args.compare.read_text()))
        for d in diffs[:20]:
            print("DIFF", d)
        print(f"{len(answers)} answers compared: {len(diffs)} differ")
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
