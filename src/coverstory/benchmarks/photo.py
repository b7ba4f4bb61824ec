"""``coverstory bench photo``: identify phone photos of covers against the whole catalog.

Protocol (seeded by ``--seed``; the reported full run uses a seed never used in development):

* gallery = every cover of the home's catalog (``coverstory build index`` first), complete:
  nothing is removed from it;
* not-in-catalog photos = covers of books the catalog does not hold, from the shared cover
  collections (Book Depository, Google Books): a cover counts only if its bytes are not
  identical (sha256) to any gallery cover and its normalised title + author is not a
  catalog book's (another edition of a catalog book is not "absent");
* queries = covers distorted by :func:`coverstory.train.phone_photo.phone_photo`
  (perspective, rotation, scale/crop, cluttered table, hand, blur, lighting, glare,
  noise, JPEG); each photo is JPEG-encoded and goes through the same path as a user
  upload (decode -> search);
* validation: disjoint in-catalog and absent books (photo seeds from 5,000,000) fit the
  "is this the book?" verifier and choose its decision threshold; the test photos (seed =
  query number) are scored once with it. The verifier is written to
  ``OUT/photo/photo_calibration.json`` (docs/benchmarks/photo/ for the repository's report,
  written with ``--out docs/benchmarks``), and to the home's indexes when
  ``COVERSTORY_BENCH_WRITE_CALIBRATION=1``, never to a read-only home;
* ``COVERSTORY_BENCH_PHOTO_NO_OCR=1`` skips the second pass with the OCR stage on;
* sizes: 1,000 in-catalog + 400 absent test photos, 300 + 300 validation photos, 100 ablation
  photos; ``--quick``: 60 + 40 (+ 40 + 40, 30); ``COVERSTORY_BENCH_PHOTO_QUERIES=N`` sets N
  in-catalog test photos;
* a hit is the right book id, or a book whose cover file is byte-identical (same
  sha256: indistinguishable by any image method); strict figures are reported too;
* the precision/recall curve of "not in the catalog" (and the known books' accepted-and-
  right share) over the decision threshold is computed on the test photos for the report;
  the threshold used is the one chosen on validation.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time

import numpy as np

from coverstory.config import setting
from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table

CALIB_SEED_BASE = 5_000_000


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _jpeg(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def absent_covers(data, books: dict, gallery_sha: set[str]) -> list[tuple[str, str]]:
    """(key, cover path) of shared-data covers of books the catalog does not hold: bytes not
    identical to any gallery cover, normalised title + author not a catalog book's, one
    cover per normalised title. Sorted by key (the bench samples them with its seed)."""
    from coverstory.catalog.normalize import norm_key, norm_title

    cat_keys = set()
    cat_titles = set()
    for b in books.values():
        cat_keys.add(norm_key(b.title, b.authors if hasattr(b, "authors") else b.author))
        cat_titles.add(norm_title(b.title))
    out, seen = {}, set()
    root = data / "covers"
    for fn, tcol, acol in (("bookdepository.csv", "title", "author"),
                           ("googlebooks.csv", "title", "author")):
        path = root / fn
        if not path.exists():
            continue
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                title, author = r.get(tcol) or "", r.get(acol) or ""
                t = norm_title(title)
                if not t or t in cat_titles or t in seen:
                    continue
                if norm_key(title, author) in cat_keys:
                    continue
                p = root / r["file"]
                if not p.exists():
                    continue
                seen.add(t)
                out[f"{fn}:{r['file']}"] = p
    keys = sorted(out)
    rows = []
    for k in keys:
        rows.append((k, str(out[k])))
    # byte-identical covers are excluded lazily (hashing 20k files costs seconds)
    return [(k, p) for k, p in rows if _sha(p) not in gallery_sha]


def photo_split(gallery_ids: np.ndarray, absent: list[str], rng: np.random.Generator,
                n_val_in: int, n_test_in: int, n_val_out: int, n_test_out: int):
    """(validation in-gallery ids, test in-gallery ids, validation absent covers, test absent
    covers): disjoint draws (by book and by cover file)."""
    if len(absent) < n_val_out + n_test_out:
        raise RuntimeError(f"only {len(absent)} covers of books absent from the catalog; "
                           f"the benchmark needs {n_val_out + n_test_out}")
    perm = rng.permutation(np.asarray(gallery_ids, np.int64))
    o_perm = rng.permutation(len(absent))
    return (perm[:n_val_in], perm[n_val_in:n_val_in + n_test_in],
            [absent[i] for i in o_perm[:n_val_out]],
            [absent[i] for i in o_perm[n_val_out:n_val_out + n_test_out]])


def run(ctx: BenchContext) -> BenchResult:
    from coverstory.index import make_index
    from coverstory.search.embedders import photo_embedder
    from coverstory.search.image_io import load_photo
    from coverstory.search.photo import (DEFAULT_CALIBRATION, CALIBRATION_FILE, PhotoSearch,
                                         fit_verifier)
    from coverstory.search.service import SearchService
    from coverstory.train.phone_photo import phone_photo_with_meta

    quick = ctx.quick
    n_test = 60 if quick else 1000
    n_out = 40 if quick else 400
    n_val_in = 40 if quick else 300
    n_val_out = 40 if quick else 300
    n_ablation = 30 if quick else 100
    if setting("bench_photo_queries"):                        # a smaller full run
        n_test = int(setting("bench_photo_queries"))
        n_ablation = n_test // 5
    rng = np.random.default_rng(ctx.seed)
    svc = SearchService(ctx.home, log=ctx.progress)
    books = svc.books
    ctx.progress(f"home {ctx.home}: {len(books)} books; loading the photo index")
    local = svc.cover_features()
    covers = {int(b): books[int(b)].cover_path for b in local.ids.tolist()}
    sha = {b: books[b].cover_sha256 for b in covers}
    gallery_sha = {v for v in sha.values() if v}
    outside = absent_covers(ctx.data, books, gallery_sha)
    val_in, test_in, val_out, test_out = photo_split(
        np.asarray(sorted(covers), np.int64), [p for _, p in outside], rng,
        n_val_in, n_test, n_val_out, n_out)
    ctx.progress(f"{len(outside)} covers of absent books available (not byte-identical to "
                 f"any of the {len(gallery_sha)} gallery covers, titles not in the catalog)")
    gallery = dict(covers)
    embed, head = photo_embedder(svc.home)
    index = None
    try:
        full_index = svc.index("cover")
    except Exception as e:  # noqa: BLE001
        ctx.progress(f"no cover vectors ({e}); the embedding stage is off")
        full_index = None
    if full_index is not None:
        ids = np.asarray(full_index.ids.tolist(), np.int64)
        vecs = np.vstack([full_index.reconstruct(int(i)) for i in ids])
        if head is not None:
            vecs = head.project(vecs)
        index = make_index(vecs.shape[1], len(ids))
        index.add(ids, vecs)
    titles = {b.id: f"{b.title} {b.author}" for b in books.values()}
    ps = PhotoSearch(local, gallery, embed if index is not None else None, index, titles,
                     calibration=dict(DEFAULT_CALIBRATION))
    load_start = _load()

    def query(q, seed: int, **kw):
        path = covers[q] if isinstance(q, (int, np.integer)) else q
        meta = phone_photo_with_meta(path, seed)
        data = _jpeg(meta.image)
        t = time.perf_counter()
        res = ps.search(load_photo(data), k=10, **kw)
        ms = (time.perf_counter() - t) * 1000
        return res, ms, meta.params

    def correct(res, bid, strict=False):
        if bid is None:
            return [False] * len(res.hits)
        ids = [h.book_id for h in res.hits]
        if strict:
            return [i == bid for i in ids]
        return [i == bid or (sha.get(i) is not None and sha.get(i) == sha.get(bid)) for i in ids]

    # ---- validation: fit the verifier, choose the threshold -------------------------------
    val_q = [(int(b), True) for b in val_in] + [(p, False) for p in val_out]
    ctx.progress(f"validation: {len(val_in)} in-catalog + {len(val_out)} absent photos")
    # two rounds: the verifier also decides which stages run (the embedding stage runs when
    # P(best) < SURE_P), so the second fit sees the evidence as the fitted rule produces it
    for _round in range(2):
        X, y, inside_v = [], [], []
        for j, (q, inside) in enumerate(val_q):
            res, _, _ = query(q, CALIB_SEED_BASE + j)
            ev = res.details.get("evidence")
            if ev is None:      # no candidate at all: "not in the catalog" whatever the rule
                continue
            X.append(ev)
            y.append(int(inside and bool(res.hits) and correct(res, q)[0]))
            inside_v.append(inside)
        cal = fit_verifier(np.asarray(X), np.asarray(y), np.asarray(inside_v), seed=ctx.seed)
        ps.calibration = cal
    out_dir = ctx.out
    out_dir.mkdir(parents=True, exist_ok=True)
    if not quick:
        (out_dir / CALIBRATION_FILE).write_text(json.dumps(cal, indent=2))
        if setting("bench_write_calibration") == "1":
            (svc.index_dir / CALIBRATION_FILE).write_text(json.dumps(cal, indent=2))
    ctx.progress(f"verifier: {cal}")

    # ---- test ------------------------------------------------------------------------------
    test_q = [(int(b), True) for b in test_in] + [(p, False) for p in test_out]
    rows = []
    t_all = time.time()
    for j, (bid, inside) in enumerate(test_q):
        res, ms, params = query(bid, j)
        c = correct(res, bid if inside else None)
        cs = correct(res, bid if inside else None, strict=True)
        rows.append({"book_id": bid if inside else None, "cover": None if inside else str(bid),
                     "in_gallery": inside, "ms": ms,
                     "top1": bool(c[:1] and c[0]), "top5": any(c[:5]),
                     "top1_strict": bool(cs[:1] and cs[0]), "top5_strict": any(cs[:5]),
                     "said_in_catalog": res.in_catalog, "stages": res.details["stages"],
                     "p": res.hits[0].score if res.hits else 0.0,
                     "timings": res.details["timings"],
                     "inliers": res.hits[0].details.get("inliers", 0) if res.hits else 0,
                     "params": params})
        if (j + 1) % 50 == 0:
            ins = [r for r in rows if r["in_gallery"]]
            ctx.progress(f"{j + 1}/{len(test_q)}: top-1 {np.mean([r['top1'] for r in ins]):.3f} "
                         f"({time.time() - t_all:.0f} s)")
    # ---- the same photos with the OCR stage on (when ambiguous; `--ocr`) ---------------------
    with_ocr = []
    skip_ocr = setting("bench_photo_no_ocr") == "1"   # saves a second pass
    if not skip_ocr:
        ctx.progress("the same photos with OCR when ambiguous")
    for j, (bid, inside) in enumerate([] if skip_ocr else test_q):
        res, ms, _ = query(bid, j, use_ocr=True)
        c = correct(res, bid if inside else None)
        with_ocr.append({"in_gallery": inside, "ms": ms, "top1": bool(c[:1] and c[0]),
                       "top5": any(c[:5]), "said_in_catalog": res.in_catalog})
    load_end = _load()
    ins = [r for r in rows if r["in_gallery"]]
    outs = [r for r in rows if not r["in_gallery"]]
    lat = np.asarray([r["ms"] for r in rows])
    said_not = [not r["said_in_catalog"] for r in rows]
    tp = sum(1 for r in outs if not r["said_in_catalog"])
    fp = sum(1 for r in ins if not r["said_in_catalog"])
    summary = {
        "gallery_covers": len(gallery), "test_in_gallery": len(ins), "test_not_in_gallery": len(outs),
        "validation_queries": len(val_q), "absent_covers_available": len(outside),
        "threshold": float(cal.get("threshold", 0.5)), "seed": ctx.seed,
        "top1": float(np.mean([r["top1"] for r in ins])), "top5": float(np.mean([r["top5"] for r in ins])),
        "top1_strict": float(np.mean([r["top1_strict"] for r in ins])),
        "top5_strict": float(np.mean([r["top5_strict"] for r in ins])),
        "accepted_and_right": float(np.mean([r["top1"] and r["said_in_catalog"] for r in ins])),
        "not_in_catalog_precision": tp / max(1, sum(said_not)),
        "not_in_catalog_recall": tp / max(1, len(outs)),
        "false_not_in_catalog_rate": fp / max(1, len(ins)),
        "latency_ms_p50": float(np.percentile(lat, 50)), "latency_ms_p95": float(np.percentile(lat, 95)),
        "latency_ms_mean": float(lat.mean()),
        "stage_embedding": float(np.mean(["embedding" in r["stages"] for r in rows])),
        "stage_ocr": float(np.mean(["ocr" in r["stages"] for r in rows])),
        **{f"{k}_p50": float(np.median([r["timings"].get(k, 0.0) for r in rows]))
           for k in ("features_ms", "match_ms", "verify_ms")},
        "local_index": f"{local.kind}, {local.descriptors:,} descriptors",
        "load_avg_start": load_start, "load_avg_end": load_end,
        "embedding_stage_available": index is not None, "photo_head": head is not None,
    }
    curve = threshold_curve(rows, float(cal.get("threshold", 0.5)))
    summary["target_met"] = bool(summary["not_in_catalog_precision"] >= 0.9
                                 and summary["not_in_catalog_recall"] >= 0.8
                                 and summary["accepted_and_right"] >= 0.97)
    configs = [_config_row("default (no OCR)", rows)]
    if with_ocr:
        configs.append(_config_row("with OCR when ambiguous (`--ocr`)", with_ocr))
    # ---- by distortion ---------------------------------------------------------------------
    groups = {
        "all": lambda p: True, "hand over the cover": lambda p: p.get("hand", False),
        "cover cut by the frame": lambda p: p.get("cut", False),
        "glare": lambda p: p.get("glare", False),
        "motion blur": lambda p: "motion_px" in p,
        "focus blur sigma > 1": lambda p: p.get("blur_sigma", 0) > 1,
        "tilt > 15 degrees": lambda p: abs(p.get("angle_deg", 0)) > 15,
        "small (cover < 55% of height)": lambda p: p.get("frac", 1) < 0.55,
        "JPEG quality < 50": lambda p: p.get("jpeg_quality", 100) < 50,
    }
    by = []
    for name, f in groups.items():
        g = [r for r in ins if f(r["params"])]
        if g:
            by.append({"photos": name, "n": len(g), "top-1": float(np.mean([r["top1"] for r in g])),
                       "top-5": float(np.mean([r["top5"] for r in g]))})
    # ---- ablation: the Lite0 embedding alone (best crop cosine), on the first queries ------
    abl = []
    if index is not None:
        ctx.progress(f"ablation on {n_ablation} photos")
        from coverstory.search.rectify import cover_candidates

        emb_top1, local_top1 = [], []
        for j, (bid, _) in enumerate([q for q in test_q if q[1]][:n_ablation]):
            meta = phone_photo_with_meta(covers[bid], j)
            rgb = np.asarray(meta.image)
            crops = cover_candidates(rgb)
            E = embed([c.image for c in crops])
            S, I = index.search(E, 1)
            best = int(I[np.argmax(S[:, 0]), 0])
            emb_top1.append(best == bid or sha.get(best) == sha.get(bid))
            res = ps.search(meta.image, use_ocr=False, use_embedding=False)
            local_top1.append(bool(res.hits) and (res.hits[0].book_id == bid or
                                                  sha.get(res.hits[0].book_id) == sha.get(bid)))
        full = [r["top1"] for r in ins[:n_ablation]]
        abl = [{"method": "Lite0 embedding of detected/central crops, top cosine", "top-1": float(np.mean(emb_top1))},
               {"method": "local features (voting + spatial verification) only",
                "top-1": float(np.mean(local_top1))},
               {"method": "default pipeline (local features + embedding when ambiguous)",
                "top-1": float(np.mean(full))}]
        summary["ablation_n"] = len(full)
    results = {"summary": summary, "configurations": configs, "calibration": cal,
               "threshold_curve": curve, "by_distortion": by, "ablation": abl,
               "queries": [{k: v for k, v in r.items()} for r in rows]}
    md = [
        "Gallery: every cover of the catalog in the home (" + f"{len(gallery):,}" + " covers, "
        "none removed). Absent books: covers from the shared Book Depository / Google Books "
        f"collections whose bytes match no gallery cover and whose title is not a catalog "
        f"book's ({len(outside):,} available; {len(test_out)} test, {len(val_out)} validation). "
        "Queries: phone-photo simulations (coverstory.train.phone_photo, seed = query number), "
        f"JPEG bytes through the upload path; seed {ctx.seed}. The verifier and its threshold "
        f"({summary['threshold']:.2f}) are fitted on {len(val_q)} disjoint validation photos "
        f"(other books, photo seeds from {CALIB_SEED_BASE:,}). "
        f"Load average on the 2 shared cores: {load_start:.1f} at start, {load_end:.1f} at end "
        "(latency is wall time under that load).",
        "",
        md_table([{
            "queries (in / not in catalog)": f"{len(ins)} / {len(outs)}",
            "top-1": summary["top1"], "top-5": summary["top5"],
            "top-1 strict id": summary["top1_strict"],
            "accepted and right": summary["accepted_and_right"],
            "not-in-catalog precision": summary["not_in_catalog_precision"],
            "not-in-catalog recall": summary["not_in_catalog_recall"],
            "in-catalog wrongly rejected": summary["false_not_in_catalog_rate"],
            "p50 ms": summary["latency_ms_p50"], "p95 ms": summary["latency_ms_p95"]}],
            floatfmt="{:.3f}"),
        "",
        f"Stages used: embedding fallback on {summary['stage_embedding']:.1%} of photos, OCR on "
        f"{summary['stage_ocr']:.1%}. Median stage times: SIFT of the photo "
        f"{summary['features_ms_p50']:.0f} ms, voting search {summary['match_ms_p50']:.0f} ms, "
        f"verification {summary['verify_ms_p50']:.0f} ms. Local-feature index: "
        f"{summary['local_index']}.",
        "",
        "### Configurations (same photos)", "", md_table(configs, floatfmt="{:.3f}"), "",
        "### Not in the catalog over the decision threshold (test photos; the threshold used "
        "was chosen on validation)", "",
        md_table([c for c in curve if c["threshold"] in CURVE_SHOWN or c["chosen"]],
                 floatfmt="{:.3f}"), "",
        "### By distortion (in-catalog queries)", "", md_table(by),
    ]
    if abl:
        md += ["", f"### Ablation (first {summary['ablation_n']} in-catalog queries)", "", md_table(abl)]
    md += ["", "### Calibrated model", "", "```", json.dumps(cal), "```"]
    return BenchResult(results, "\n".join(md))


def _config_row(name: str, rows: list[dict]) -> dict:
    """top-1/top-5, not-in-catalog precision/recall and latency of one run over the photos."""
    ins = [r for r in rows if r["in_gallery"]]
    outs = [r for r in rows if not r["in_gallery"]]
    said_not = sum(1 for r in rows if not r["said_in_catalog"])
    tp = sum(1 for r in outs if not r["said_in_catalog"])
    lat = np.asarray([r["ms"] for r in rows])
    return {"configuration": name, "top-1": float(np.mean([r["top1"] for r in ins])),
            "top-5": float(np.mean([r["top5"] for r in ins])),
            "not-in-catalog precision": tp / max(1, said_not),
            "not-in-catalog recall": tp / max(1, len(outs)),
            "p50 ms": float(np.percentile(lat, 50)), "p95 ms": float(np.percentile(lat, 95))}



CURVE_SHOWN = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def threshold_curve(rows: list[dict], chosen: float | None = None) -> list[dict]:
    """Per threshold t on P(best is right): not-in-catalog precision/recall (photos with
    P < t are answered "not in the catalog") and in-catalog photos accepted with the right
    book. ``chosen``: the threshold in use (marked)."""
    ins = [r for r in rows if r["in_gallery"]]
    outs = [r for r in rows if not r["in_gallery"]]
    ths = sorted(set(np.round(np.linspace(0.02, 0.98, 49), 3).tolist()) | set(CURVE_SHOWN)
                 | ({round(chosen, 3)} if chosen is not None else set()))
    out = []
    for t in ths:
        rej_out = sum(1 for r in outs if r["p"] < t)
        rej_in = sum(1 for r in ins if r["p"] < t)
        out.append({"threshold": float(t),
                    "not-in-catalog precision": rej_out / max(1, rej_out + rej_in),
                    "not-in-catalog recall": rej_out / max(1, len(outs)),
                    "in-catalog accepted and right": float(np.mean(
                        [r["top1"] and r["p"] >= t for r in ins])) if ins else 0.0,
                    "chosen": chosen is not None and abs(t - chosen) < 1e-9})
    return out
