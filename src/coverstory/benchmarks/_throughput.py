"""``coverstory bench encoders --throughput``: bulk-encoding speed of every preset encoder,
its configured runtime side by side with the PyTorch path on the same inputs, and whether
the fast runtime keeps the vectors' meaning.

Inputs (seeded sample of the home's catalog; needs the goodbooks import):
- texts: ``Book.text()`` of goodbooks books, the full text the ``text/`` feature encodes
  (title, author, shelf tags, description), 1,000 texts (200 with --quick);
- covers: the catalog's cover files, 500 (64 with --quick).

For each preset encoder and runtime: one warm-up call on 8 items (model load, ONNX
export), then items per second of one ``encode`` call on the whole sample, with the
encoder's default threads (``COVERSTORY_THREADS`` or the CPUs of the process). Each fast
runtime is compared with eager torch on the same inputs: cosine of each item's two vectors
(mean, 1st percentile, minimum). With --quick only the two default encoders are measured.

Full mode adds retrieval quality with each text runtime's vectors for *every* catalog book
(cached feature rows are reused when they were computed by that runtime, see the feature
cache's identities): Hit@1/@5/@10 of the 112 hand-written text-search queries of
search/data/textsearch_queries.json (the hybrid ``SearchService.text`` and MiniLM cosine
alone) and Hit@1/@5 of the hand-written descriptive queries through the
chat (one fresh session each, on a scratch copy of the catalog).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np

from coverstory.artifacts import TEXT_FEATURE
from coverstory.errors import CommandError
from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table

QUICK_ONLY = ("efficientnet-lite0.imagenet", "minilm-l6.pretrained")


def _sample(ctx: BenchContext):
    from coverstory.catalog import Catalog
    from coverstory.encoders.cache import book_inputs

    cat = Catalog.open(ctx.home)
    try:
        books = cat.books()
        goodbooks = set(cat.source_ids("goodbooks").values())
    finally:
        cat.close()
    texts = [t for b, t, _ in book_inputs([b for b in books if b.id in goodbooks], "text")]
    covers = [p for _, p, _ in book_inputs(books, "cover") if Path(p).is_file()]
    if len(texts) < 50:
        raise CommandError(
            f"bench encoders --throughput encodes goodbooks book texts and covers, and the data "
            f"home {ctx.home} has {len(texts)} goodbooks books; import them first: "
            f"`coverstory --home {ctx.home} import goodbooks {ctx.data / 'goodbooks10k'}`")
    rng = np.random.default_rng(ctx.seed)
    n_t, n_c = (200, 64) if ctx.quick else (1000, 500)
    texts = [texts[i] for i in sorted(rng.choice(len(texts), min(n_t, len(texts)), replace=False))]
    covers = [covers[i] for i in sorted(rng.choice(len(covers), min(n_c, len(covers)),
                                                   replace=False))] if covers else []
    return texts, covers, len(books)


def _timed(encode, items) -> tuple[np.ndarray, float, tuple[float, float]]:
    encode(items[:8])                              # warm-up: model load, ONNX export
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    vecs = encode(items)
    secs = time.perf_counter() - t
    return np.asarray(vecs, np.float32), len(items) / secs, (load0, os.getloadavg()[0])


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)


def _agreement(a: np.ndarray, ref: np.ndarray) -> dict:
    cos = np.sum(_unit(a) * _unit(ref), axis=1)
    return {"mean cosine": float(cos.mean()), "p1 cosine": float(np.percentile(cos, 1)),
            "min cosine": float(cos.min())}


def _variants(cfg: dict) -> list[tuple[str, dict]]:
    """(runtime label, config) to measure for a preset: its own, the other ones, torch."""
    if cfg["kind"] == "minilm":
        out = [("onnx int8", {**cfg, "runtime": "onnx", "quantize": "int8"}),
               ("onnx fp32", {**cfg, "runtime": "onnx", "quantize": None})]
    else:
        out = [("onnx fp32", {**cfg, "runtime": "onnx"})]
    return out + [("torch", {**cfg, "runtime": "torch"})]


def _label(cfg: dict) -> str:
    if cfg.get("kind") == "image_ensemble" and not cfg.get("runtime"):
        return "onnx fp32"          # no runtime of its own: each member runs on its preset's
    if cfg.get("runtime") == "onnx":
        return "onnx int8" if cfg.get("quantize") == "int8" else "onnx fp32"
    return "torch"


def speed_rows(ctx: BenchContext, texts: list[str], covers: list[str]) -> list[dict]:
    from coverstory.encoders.registry import build_encoder, list_encoders

    rows = []
    for e in list_encoders(ctx.home):
        if e.get("source") != "preset" or (ctx.quick and e["name"] not in QUICK_ONLY):
            continue
        unit, items = {"text": ("books/s", texts), "image": ("covers/s", covers)}.get(
            e["modality"], (None, None))
        if unit is None:
            rows.append({"encoder": e["name"], "modality": e["modality"],
                         "note": "no book input of this modality (audio); not measured"})
            continue
        if not e["available"]:
            rows.append({"encoder": e["name"], "modality": e["modality"],
                         "note": f"unavailable here: {e['unavailable_reason']}"})
            continue
        cfg = {k: v for k, v in e.items() if k not in ("source", "available",
                                                        "unavailable_reason")}
        measured: dict[str, tuple[np.ndarray, float, tuple]] = {}
        notes: dict[str, str] = {}
        for label, vcfg in _variants(cfg):
            ctx.progress(f"{e['name']} ({label}) on {len(items)} {unit.split('/')[0]}")
            try:
                enc = build_encoder(vcfg)
                measured[label] = _timed(lambda xs: enc.encode(xs, batch_size=32), items)
            except Exception as err:  # noqa: BLE001 - an export may fail for one architecture
                notes[label] = f"{type(err).__name__}: {str(err)[:120]}"
            finally:
                enc = None
        ref = measured.get("torch")
        for label, (vecs, speed, load) in measured.items():
            row = {"encoder": e["name"], "modality": e["modality"], "runtime": label,
                   "preset's runtime": "yes" if label == _label(cfg) else "",
                   unit: round(speed, 1),
                   "x torch": round(speed / ref[1], 2) if ref else None,
                   "load avg": f"{load[0]:.1f}-{load[1]:.1f}"}
            if ref is not None and label != "torch":
                row.update({k: round(v, 4) for k, v in _agreement(vecs, ref[0]).items()})
            rows.append(row)
        for label, note in notes.items():
            rows.append({"encoder": e["name"], "modality": e["modality"], "runtime": label,
                         "note": note})
    return rows


# ---- retrieval quality with each text runtime's vectors (full mode) ----------------------
def _all_text_vectors(ctx: BenchContext, enc) -> tuple[np.ndarray, np.ndarray, str]:
    """(ids, vectors, source) of every catalog book's text for this encoder."""
    from coverstory.catalog import Catalog
    from coverstory.encoders.cache import (book_inputs, feature_path, load_features,
                                           stored_hashes, stored_identity)

    cat = Catalog.open(ctx.home)
    try:
        items = book_inputs(cat.books(), "text")
    finally:
        cat.close()
    if (feature_path(ctx.home, TEXT_FEATURE).exists()
            and stored_identity(ctx.home, TEXT_FEATURE) == enc.identity):
        have = stored_hashes(ctx.home, TEXT_FEATURE)
        if all(have.get(b) == h for b, _, h in items):
            ids, vecs = load_features(ctx.home, TEXT_FEATURE)
            return ids, vecs, "the home's feature cache"
    ctx.progress(f"encoding {len(items)} book texts with {enc.identity}")
    t = time.perf_counter()
    vecs = enc.encode([t for _, t, _ in items], batch_size=32)
    secs = time.perf_counter() - t
    return (np.asarray([b for b, _, _ in items], np.int64), vecs,
            f"encoded here ({len(items) / secs:.1f} books/s)")


def _service(home: Path, ids: np.ndarray, vecs: np.ndarray, enc):
    """A SearchService whose text feature and query encoder are this runtime's."""
    from coverstory.index import normalize
    from coverstory.search.service import SearchService

    class Variant(SearchService):
        def features(self, feature, allow_compute=True):
            if feature == TEXT_FEATURE:
                return ids, normalize(vecs)
            return super().features(feature, allow_compute)

        def embed_query(self, text):
            return enc.encode([text])[0]

    return Variant(home, log=lambda m: None)


QUERIES = Path(__file__).resolve().parents[1] / "search" / "data" / "textsearch_queries.json"


def _norm(text: str) -> str:
    text = re.sub(r"\s*\([^)]*#[^)]*\)\s*$", "", text or "")        # "(Series, #1)"
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _expected(queries: list[dict], books: dict) -> list[tuple[str, set[int]]]:
    """(query, catalog ids it expects) for the queries whose books are in the catalog
    (titles with the author's surname, or an author's books)."""
    by_title: dict[str, list] = {}
    for b in books.values():
        by_title.setdefault(_norm(b.title), []).append(b)
    out = []
    for q in queries:
        if q["kind"] == "author":
            want = _norm(q["expect_author"])
            ids = {b.id for b in books.values() if any(want in _norm(a) for a in b.authors)}
        else:
            ids = set()
            for e in q["expect"]:
                title, _, surname = e.partition("|")
                ids |= {b.id for b in by_title.get(_norm(title), [])
                        if not surname or any(_norm(surname) in _norm(a) for a in b.authors)}
        if ids:
            out.append((q["query"], ids))
    return out


def _text_search_hits(svc, ids: np.ndarray, vecs: np.ndarray, enc) -> dict:
    """Hit@k of the hybrid search (``SearchService.text``) and of MiniLM alone (cosine of
    the query's vector with every book's) on the hand-written text-search queries."""
    queries = _expected(json.loads(QUERIES.read_text())["queries"], svc.books)
    unit = _unit(vecs)

    def minilm(q: str) -> list[int]:
        sims = unit @ _unit(enc.encode([q]))[0]
        return [int(ids[i]) for i in np.argsort(-sims)[:10]]

    out = {}
    for name, fn in (("hybrid", lambda q: [h.book_id for h in svc.text(q, k=10)]),
                     ("MiniLM alone", minilm)):
        got = [(fn(q)[:10], want) for q, want in queries]
        out[name] = {f"Hit@{k}": float(np.mean([bool(set(g[:k]) & w) for g, w in got]))
                     for k in (1, 5, 10)}
    return {"queries": len(queries), **out}


def _descriptive_hits(ctx: BenchContext, scratch: Path, svc, label: str) -> dict:
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    path = Path(__file__).resolve().parents[1] / "dialogue" / "data" / "descriptive_queries.jsonl"
    queries = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    cat = Catalog.open(scratch)
    eng = DialogueEngine(scratch, search=svc, recommend=False, llm=False, seed=ctx.seed,
                         catalog=cat)
    hits1 = hits5 = 0
    try:
        for i, q in enumerate(queries):
            want = {b for g in q["goodbooks_ids"]
                    if (b := cat.find_book(source=("goodbooks", str(g)))) is not None}
            sid = f"throughput-{re.sub(r'[^a-z0-9]+', '-', label)}-{i}"   # a fresh session
            shown = [int(b["id"]) for b in eng.turn(sid, text=q["query"]).books][:5]
            hits1 += bool(shown[:1] and shown[0] in want)
            hits5 += bool(want & set(shown))
    finally:
        cat.close()
    n = max(len(queries), 1)
    return {"queries": len(queries), "Hit@1": hits1 / n, "Hit@5": hits5 / n}



def quality_rows(ctx: BenchContext) -> tuple[list[dict], list[dict]]:
    from coverstory.encoders.registry import build_encoder, presets

    cfg = presets()["minilm-l6.pretrained"]
    search_rows, chat_rows = [], []
    from coverstory.benchmarks.scratch import scratch_home

    scratch = scratch_home(ctx.home)
    try:
        for label, vcfg in [("torch", {**cfg, "runtime": "torch"}),
                            ("onnx int8", {**cfg, "runtime": "onnx", "quantize": "int8"})]:
            enc = build_encoder(vcfg)
            ids, vecs, source = _all_text_vectors(ctx, enc)
            svc = _service(ctx.home, ids, vecs, enc)
            ctx.progress(f"text-search queries with {label} vectors")
            try:
                ts = _text_search_hits(svc, ids, vecs, enc)
            except Exception as e:  # noqa: BLE001 - the speed figures are kept either way
                ts = {"queries": 0, **{n: {"error": f"{type(e).__name__}: {e}"[:200]}
                                       for n in ("hybrid", "MiniLM alone")}}
            for name in ("hybrid", "MiniLM alone"):
                search_rows.append({"runtime": label, "search": name, **ts[name],
                                    "queries": ts["queries"], "book vectors": source})
            ctx.progress(f"descriptive queries through the chat with {label} vectors")
            try:
                hits = _descriptive_hits(ctx, scratch, svc, label)
            except Exception as e:  # noqa: BLE001
                hits = {"error": f"{type(e).__name__}: {e}"[:200]}
            chat_rows.append({"runtime": label, **hits, "book vectors": source})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return search_rows, chat_rows


def _shown(row: dict) -> dict:
    fmt = {"books/s": "{:.1f}", "covers/s": "{:.1f}", "x torch": "{:.2f}",
           "mean cosine": "{:.4f}", "p1 cosine": "{:.4f}", "min cosine": "{:.4f}"}
    return {k: fmt[k].format(v) if k in fmt and isinstance(v, float) else v
            for k, v in row.items()}


def run_throughput(ctx: BenchContext) -> BenchResult:
    from coverstory.encoders.base import default_threads

    load = [round(os.getloadavg()[0], 1)]
    texts, covers, n_books = _sample(ctx)
    rows = speed_rows(ctx, texts, covers)
    search_rows, chat_rows = ([], []) if ctx.quick else quality_rows(ctx)
    load.append(round(os.getloadavg()[0], 1))
    md = [f"Inputs: {len(texts)} goodbooks book texts (`Book.text()`: title, author, shelf "
          f"tags, description; what the `text/` feature encodes; mean {np.mean([len(t) for t in texts]):.0f} "
          f"characters) and {len(covers)} cover files of the home's catalog ({n_books:,} "
          f"books), seed {ctx.seed}; each runtime encodes the same inputs once after a warm-up "
          f"call; {default_threads()} threads. Machine load average (1 min) at start / end: "
          f"{load[0]} / {load[1]} on {os.cpu_count()} CPUs (per-row load in the table): "
          "compare rows of one run, not runs.\n",
          "## Speed and agreement with the PyTorch path\n",
          md_table([_shown(r) for r in rows],
                   ["encoder", "runtime", "preset's runtime", "books/s", "covers/s", "x torch",
                    "mean cosine", "p1 cosine", "min cosine", "load avg", "note"])]
    if search_rows:
        md += ["\n## Retrieval with each MiniLM runtime's vectors (every catalog book)\n",
               "Hand-written text-search queries (src/coverstory/search/data/"
               "textsearch_queries.json):\n",
               md_table(search_rows, ["runtime", "search", "Hit@1", "Hit@5", "Hit@10", "queries",
                                      "book vectors", "error"]),
               "\nHand-written descriptive queries through the chat (src/coverstory/dialogue/"
               "data/descriptive_queries.jsonl; one fresh session each; recommender off):\n",
               md_table(chat_rows, ["runtime", "queries", "Hit@1", "Hit@5", "book vectors",
                                    "error"])]
    return BenchResult(results={"speed": rows, "text_search": search_rows,
                                "descriptive": chat_rows, "texts": len(texts),
                                "covers": len(covers), "threads": default_threads(),
                                "load_average": load},
                       markdown="\n".join(md))
