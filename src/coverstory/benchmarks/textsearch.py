"""``coverstory bench textsearch [--split dev|test|all] [--quick]``: finding the book a
reader names or describes, Hit@1 / Hit@5 / Hit@10 and latency.

Queries: the hand-written sets of ``coverstory.search.querysets`` (112 + 612 + the
dialogue's 155 descriptive requests), split dev / test by their target book; expected books
are resolved against the home's catalog (a query none of whose books is in the catalog is
left out and listed). Default ``--split all`` reports dev and test separately.

Every method ranks the whole catalog for the same queries:

* **fused search through the HTTP API**: ``GET /api/search?q=...&k=10`` of the app built
  by ``serve.app.create_app`` and served by uvicorn on 127.0.0.1 (a thread of this
  process; real HTTP requests with httpx), i.e. ``SearchService.text`` with its learned
  query types, the learned fusion, the exact-title guarantee and the "like X" route;
* each retriever alone: BM25 (with typo correction), BM25 over names only, TF-IDF,
  MiniLM, MiniLM description passages, fuzzy title, fuzzy author;
* the issue's baselines: plain MiniLM cosine over ``text/minilm-l6.pretrained``, TF-IDF
  (1-2 grams) over title + authors + description + genres, and MiniLM + 0.5 x TF-IDF.

Latency: wall time per query after a warm-up of 5 queries, the machine's load average
printed beside it. ``--quick``: every 4th query.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import numpy as np

from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table

KIND_ORDER = ("typo", "title", "author", "series", "isbn", "description", "like")
GROUPS = {"known item": ("typo", "title", "author", "series", "isbn"),
          "description": ("description",), "like X": ("like",)}
FUSED = "fused search (GET /api/search)"
NO_PRIOR = "fused without the popularity prior (ablation: refitted on dev without it)"


def load_queries(svc):
    from coverstory.catalog import Catalog
    from coverstory.search import querysets

    cat = Catalog.open(svc.home)
    try:
        def by_gid(gid):
            bid = cat.find_book(source=("goodbooks", str(gid)))
            return svc.books.get(bid) if bid is not None else None

        queries = querysets.load(books_by_source=by_gid)
    finally:
        cat.close()
    return querysets.resolve(queries, svc.books)


class _Server:
    """uvicorn serving ``app`` on a free loopback port, in a daemon thread."""

    def __init__(self, app):
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        t0 = time.time()
        while not self.server.started:
            if time.time() - t0 > 30:
                raise RuntimeError("the HTTP server did not start within 30 s")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def methods(svc, http) -> dict:
    """name -> query -> ranked book ids (at least 10)."""
    from coverstory.search.text import _top

    ts = svc.text_search
    ids = ts.ids
    ablation = ts.model.no_prior()

    def rows_to_ids(rows):
        return [int(ids[r]) for r in np.asarray(rows).tolist()]

    def top(s, positive=True):
        return [] if s is None else rows_to_ids(_top(s, 10, positive_only=positive))

    def fused(q):
        r = http.get("/api/search", params={"q": q, "k": 10})
        r.raise_for_status()
        return [b["id"] for b in r.json()["books"]]

    def names(q):
        p = ts.parse(q)
        return top(ts.names.scores(p.terms, p.weights))

    def passage(q):
        if ts.passages is None:
            return []
        return top(ts.passages.scores(svc.embed_query(q)), positive=False)

    def minilm_tfidf(q):
        m = ts.minilm_scores(q)
        return top(m + 0.5 * ts.tfidf_scores(q), positive=False)

    def no_prior(q):                 # ablation: the ranker refitted without the prior
        saved, ts.model = ts.model, ablation
        try:
            return [h.book_id for h in svc.text(q, k=10)]
        finally:
            ts.model = saved

    out = {
        FUSED: fused,
        NO_PRIOR: no_prior,
        "BM25 (typo-corrected)": lambda q: rows_to_ids(ts.lexical(q, depth=10)[0]),
        "BM25 names only": names,
        "TF-IDF 1-2 grams (baseline)": lambda q: top(ts.tfidf_scores(q)),
        "MiniLM cosine (baseline)": lambda q: top(ts.minilm_scores(q), positive=False),
        "MiniLM description passages": passage,
        "fuzzy title": lambda q: rows_to_ids(ts.title_match(q, depth=10)),
        "fuzzy author": lambda q: rows_to_ids(ts.author_match(q, depth=10)),
        "MiniLM + 0.5 x TF-IDF (baseline)": minilm_tfidf,
    }
    if ts.sem_vecs is None:
        for k in ("MiniLM cosine (baseline)", "MiniLM + 0.5 x TF-IDF (baseline)"):
            out.pop(k)
    if ts.passages is None:
        out.pop("MiniLM description passages")
    return out


def evaluate(fns: dict, queries: list[dict], progress=None) -> tuple[list[dict], dict]:
    """Per method and kind: hit lists and latencies; per-query answers of the fused search."""
    res: dict[str, dict] = {}
    per_query = {}
    for name, f in fns.items():
        for q in queries[:5]:                       # warm-up (encoders, caches, sockets)
            f(q["query"])
        hits: dict[str, list] = {}
        lat = []
        for q in queries:
            t = time.perf_counter()
            got = list(f(q["query"]))[:10]
            lat.append((time.perf_counter() - t) * 1000)
            want = set(q["ids"])
            pos = next((i for i, g in enumerate(got) if g in want), None)
            hits.setdefault(q["kind"], []).append(pos)
            if name == FUSED:
                per_query[q["id"]] = {"query": q["query"], "kind": q["kind"], "split": q["split"],
                                      "set": q["set"], "rank": None if pos is None else pos + 1,
                                      "top": got[:5]}
        res[name] = {"hits": hits, "lat": lat}
        if progress:
            allh = [p for v in hits.values() for p in v]
            progress(f"{name}: Hit@1 {np.mean([p == 0 for p in allh]):.3f} "
                     f"p95 {np.percentile(lat, 95):.1f} ms")
    return res, per_query


def _rate(v: list, k: int) -> float:
    return float(np.mean([p is not None and p < k for p in v])) if v else float("nan")


def tables(res: dict, kinds: list[str]) -> tuple[list[dict], list[dict]]:
    """(rows by type group, rows by kind) with Hit@1 / Hit@5 / Hit@10 and latency."""
    by_group, by_kind = [], []
    for name, r in res.items():
        row = {"method": name}
        for g, ks in GROUPS.items():
            v = [p for k in ks for p in r["hits"].get(k, [])]
            if v:
                row[f"{g} n"] = len(v)
                row[f"{g} Hit@1"] = _rate(v, 1)
                row[f"{g} Hit@5"] = _rate(v, 5)
        row["p50 ms"] = round(float(np.percentile(r["lat"], 50)), 1)
        row["p95 ms"] = round(float(np.percentile(r["lat"], 95)), 1)
        by_group.append(row)
        krow = {"method": name}
        for k in kinds:
            v = r["hits"].get(k, [])
            krow[k] = f"{_rate(v, 1):.2f} / {_rate(v, 5):.2f}" if v else ""
        by_kind.append(krow)
    return by_group, by_kind


def _popularity_strata(svc, qs: list[dict], res: dict) -> list[dict]:
    """Hit@1 / Hit@5 of description queries split by how read the wanted book is."""
    order = sorted(svc.books.values(), key=lambda b: -(b.ratings_count or 0))
    rank = {b.id: i for i, b in enumerate(order)}
    bands = [(0, 500, "top 500"), (500, 2000, "500-2,000"), (2000, 10 ** 9, "beyond 2,000")]
    desc = [(i, q) for i, q in enumerate(qs) if q["kind"] == "description"]
    rows = []
    for name in (FUSED, NO_PRIOR, "MiniLM + 0.5 x TF-IDF (baseline)"):
        if name not in res:
            continue
        hits = res[name]["hits"].get("description", [])
        row = {"method": name}
        for lo, hi, label in bands:
            v = [hits[j] for j, (_, q) in enumerate(desc)
                 if lo <= min(rank.get(b, 10 ** 9) for b in q["ids"]) < hi]
            row[f"{label} (n={len(v)})"] = (f"{_rate(v, 1):.2f} / {_rate(v, 5):.2f}" if v else "")
        rows.append(row)
    return rows


def run(ctx: BenchContext) -> BenchResult:
    import httpx

    from coverstory.search.service import SearchService
    from coverstory.serve.app import create_app
    from coverstory.serve.settings import ServeSettings

    load_before = os.getloadavg()
    svc = SearchService(ctx.home, log=ctx.progress)
    queries = load_queries(svc)
    left_out = [q for q in queries if not q["ids"]]
    usable = [q for q in queries if q["ids"]]
    splits = ["dev", "test"] if ctx.split in (None, "all") else [ctx.split]
    usable = [q for q in usable if q["split"] in splits]
    if ctx.quick:
        usable = usable[::4]
    ts = svc.text_search
    model = ts.model
    app = create_app(ctx.home, admin_token="",
                     settings=ServeSettings(rate_per_minute=0, rate_burst=10 ** 6),
                     search=svc)
    out: dict = {"books": len(svc.books), "left_out": [q["id"] for q in left_out],
                 "model": {k: model.meta.get(k) for k in ("fitted", "chosen", "dev_queries",
                                                          "home", "books", "cv")},
                 "splits": {}}
    md = [f"Catalog: {len(svc.books):,} books ({ctx.home}); text feature "
          f"{'on' if ts.sem_vecs is not None else 'OFF'}, description passages "
          f"{len(ts.passages) if ts.passages is not None else 'OFF'}. Ranker: "
          f"{model.meta.get('command', 'packaged')} fitted {model.meta.get('fitted')} on "
          f"{model.meta.get('dev_queries')} dev queries of {model.meta.get('home')} "
          f"(chosen by 5-fold CV on dev: {model.meta.get('chosen')}).", ""]
    with _Server(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        fns = methods(svc, http)
        for split in splits:
            qs = [q for q in usable if q["split"] == split]
            kinds = [k for k in KIND_ORDER if any(q["kind"] == k for q in qs)]
            ctx.progress(f"{split}: {len(qs)} queries")
            res, per_query = evaluate(fns, qs, ctx.progress)
            by_group, by_kind = tables(res, kinds)
            counts = {k: sum(q["kind"] == k for q in qs) for k in kinds}
            sets = {s: sum(q["set"] == s for q in qs) for s in ("v1", "v2", "dialogue")}
            out["splits"][split] = {"counts": counts, "sets": sets, "by_group": by_group,
                                    "by_kind": by_kind, "queries": per_query}
            md += [f"## {split} split: {len(qs)} queries",
                   "", ", ".join(f"{v} {k}" for k, v in counts.items()) +
                   f" (sets: {sets['v1']} of textsearch_queries.json, {sets['v2']} of "
                   f"textsearch_queries_more.json, {sets['dialogue']} of the dialogue's "
                   "descriptive_queries.jsonl).", "",
                   md_table(by_group), "", "Hit@1 / Hit@5 by kind:", "", md_table(by_kind), ""]
            strata = _popularity_strata(svc, qs, res)
            out["splits"][split]["popularity_strata"] = strata
            md += ["Description queries by the popularity of the wanted book (its ratings count "
                   "rank in the catalog), Hit@1 / Hit@5:", "", md_table(strata), ""]
            misses = [p for p in per_query.values() if p["rank"] is None or p["rank"] > 5]
            md += [f"Fused search misses (not in the top 5), {len(misses)}:", ""]
            md += [f"- `{p['query']}` ({p['kind']}): got "
                   f"{[svc.books[b].title[:50] for b in p['top'][:3]]}" for p in misses[:60]]
            md += [""]
    load_after = os.getloadavg()
    out["load_average"] = {"before": load_before, "after": load_after}
    md.insert(0, f"Load average (1/5/15 min) before {tuple(round(x, 2) for x in load_before)}, "
                 f"after {tuple(round(x, 2) for x in load_after)}; OMP_NUM_THREADS="
                 f"{os.environ.get('OMP_NUM_THREADS', 'unset')}.\n")
    if left_out:
        md += [f"Left out ({len(left_out)}; expected books not in this catalog): "
               + ", ".join(f"`{q['query']}`" for q in left_out)]
    return BenchResult(out, "\n".join(md))
