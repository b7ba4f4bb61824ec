"""``coverstory bench textsearch``: hand-written queries with expected books, Hit@1/Hit@10.

The query set lives in the repository: src/coverstory/search/data/textsearch_queries.json
(titles with typos, clean titles, authors only, paraphrased plots, "books like X").
Expected books are given by title (and author surname) and resolved against the home's
catalog; a query whose expected books are all absent from the catalog is reported and
left out. Besides the hybrid search, each single list (BM25 with typo correction, MiniLM,
fuzzy title, fuzzy author) is scored on the same queries, side by side. ``--quick`` uses
every 4th query.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np

from coverstory.eval.runner import BenchContext, BenchResult, md_table

QUERIES = Path(__file__).resolve().parents[2] / "search" / "data" / "textsearch_queries.json"


def _title_key(title: str) -> str:
    from coverstory.search.text import norm_text

    return norm_text(re.sub(r"\s*\([^)]*#[^)]*\)\s*$", "", title or ""))


def resolve(queries: list[dict], books: dict) -> list[dict]:
    """Attach the set of matching catalog ids to each query (``ids``)."""
    from coverstory.search.text import norm_text

    by_title: dict[str, list] = {}
    for b in books.values():
        by_title.setdefault(_title_key(b.title), []).append(b)
    out = []
    for q in queries:
        ids: set[int] = set()
        if q["kind"] == "author":
            want = norm_text(q["expect_author"])
            ids = {b.id for b in books.values()
                   if any(want in norm_text(a) for a in b.authors)}
        else:
            for e in q["expect"]:
                title, _, surname = e.partition("|")
                for b in by_title.get(_title_key(title), []):
                    if not surname or any(norm_text(surname) in norm_text(a) for a in b.authors):
                        ids.add(b.id)
        out.append({**q, "ids": sorted(ids)})
    return out


def run(ctx: BenchContext) -> BenchResult:
    from coverstory.search.service import SearchService

    data = json.loads(QUERIES.read_text())
    queries = data["queries"][::4] if ctx.quick else data["queries"]
    svc = SearchService(ctx.home, log=ctx.progress)
    resolved = resolve(queries, svc.books)
    usable = [q for q in resolved if q["ids"]]
    missing = [q["query"] for q in resolved if not q["ids"]]
    ts = svc.text_search
    semantic_on = ts.sem_vecs is not None
    methods = {
        "hybrid (RRF of the four lists; 'like X' -> similar)": lambda q: [h.book_id for h in svc.text(q, k=10)],
        "BM25 + typo correction": lambda q: _ids(ts, ts.lexical(q)[0]),
        "MiniLM semantic": lambda q: _ids(ts, ts.semantic(q)),
        "fuzzy title": lambda q: _ids(ts, ts.title_match(q, candidates=ts.lexical(q, depth=300)[0])),
        "fuzzy author": lambda q: _ids(ts, ts.author_match(q, candidates=ts.lexical(q, depth=300)[0])),
    }
    if not semantic_on:
        methods.pop("MiniLM semantic")
    rows, per_query = [], []
    for name, f in methods.items():
        hits1, hits10, lat = [], [], []
        kinds: dict[str, list[tuple[bool, bool]]] = {}
        for q in usable:
            t = time.perf_counter()
            got = f(q["query"])[:10]
            lat.append((time.perf_counter() - t) * 1000)
            want = set(q["ids"])
            h1, h10 = bool(got[:1]) and got[0] in want, any(g in want for g in got)
            hits1.append(h1)
            hits10.append(h10)
            kinds.setdefault(q["kind"], []).append((h1, h10))
            if name.startswith("hybrid"):
                per_query.append({"query": q["query"], "kind": q["kind"], "hit1": h1, "hit10": h10,
                                  "top": [svc.books[g].title for g in got[:3]]})
        row = {"method": name, "Hit@1": float(np.mean(hits1)), "Hit@10": float(np.mean(hits10)),
               "p50 ms": round(float(np.percentile(lat, 50)), 1),
               "p95 ms": round(float(np.percentile(lat, 95)), 1)}
        for kind, v in sorted(kinds.items()):
            row[f"{kind} Hit@1/@10"] = f"{np.mean([a for a, _ in v]):.2f} / {np.mean([b for _, b in v]):.2f}"
        rows.append(row)
        ctx.progress(f"{name}: Hit@1 {row['Hit@1']:.3f} Hit@10 {row['Hit@10']:.3f}")
    counts = {k: sum(1 for q in usable if q["kind"] == k) for k in sorted({q["kind"] for q in usable})}
    md = [f"{len(usable)} hand-written queries ({', '.join(f'{v} {k}' for k, v in counts.items())}) "
          f"from src/coverstory/search/data/textsearch_queries.json, resolved against the catalog of "
          f"{len(svc.books):,} books" + (f"; {len(missing)} left out (expected books not in the "
                                         f"catalog: {', '.join(missing)})" if missing else "") + ".",
          "" if semantic_on else "\nThe MiniLM text feature was not built: the semantic list is off.\n",
          md_table(rows), "", "Misses of the hybrid search (Hit@10 = 0):", ""]
    md += [f"- `{p['query']}` ({p['kind']}): got {p['top']}" for p in per_query if not p["hit10"]] or ["- none"]
    return BenchResult({"rows": rows, "queries": per_query, "left_out": missing,
                        "semantic": semantic_on}, "\n".join(md))


def _ids(ts, rows) -> list[int]:
    return [int(ts.ids[r]) for r in np.asarray(rows).tolist()]
