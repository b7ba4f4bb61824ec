"""``coverstory bench photo``: identify phone photos of covers against the whole catalog.

Protocol (seeded by ``--seed``, default 0):

* gallery = every cover of the home's catalog (``coverstory build index`` first), minus
  ``removed`` books drawn at random: their photos must be answered "not in the catalog";
* queries = catalog covers distorted by :func:`coverstory.train.phone_photo.phone_photo`
  (perspective, rotation, scale/crop, cluttered table, hand, blur, lighting, glare,
  noise, JPEG) with photo seed = query number; each photo is JPEG-encoded and goes
  through the same path as a user upload (decode -> search);
* calibration: a disjoint set of in-gallery and removed books (photo seeds from 5,000,000)
  fits the logistic "is this the book?" model; it is saved to
  ``<home>/indexes/photo_calibration.json`` and used for the test queries;
* sizes: 1,000 test photos (+150 calibration, 100 removed books, 100 ablation photos);
  ``--quick``: 60 (+40, 20, 30); ``COVERSTORY_BENCH_PHOTO_QUERIES=N`` sets N test photos;
* a hit is the right book id, or a book whose cover file is byte-identical (same
  sha256: indistinguishable by any image method); strict figures are reported too.
"""

from __future__ import annotations

import io
import json
import os
import time

import numpy as np

from coverstory.eval.runner import BenchContext, BenchResult, md_table

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


def run(ctx: BenchContext) -> BenchResult:
    from coverstory.index import make_index
    from coverstory.search.embedders import photo_embedder
    from coverstory.search.image_io import load_photo
    from coverstory.search.photo import (DEFAULT_CALIBRATION, FEATURES, PhotoSearch,
                                         CALIBRATION_FILE)
    from coverstory.search.service import SearchService
    from coverstory.train.phone_photo import phone_photo_with_meta

    quick = ctx.quick
    n_test = 60 if quick else 1000
    n_calib = 40 if quick else 150
    n_removed = 20 if quick else 100
    n_ablation = 30 if quick else 100
    if os.environ.get("COVERSTORY_BENCH_PHOTO_QUERIES"):       # a smaller full run
        n_test = int(os.environ["COVERSTORY_BENCH_PHOTO_QUERIES"])
        n_calib, n_removed, n_ablation = n_test // 3, max(20, n_test // 5), n_test // 5
    rng = np.random.default_rng(ctx.seed)
    svc = SearchService(ctx.home, log=ctx.progress)
    books = svc.books
    ctx.progress(f"home {ctx.home}: {len(books)} books; loading the photo index")
    local = svc.cover_features()
    covers = {int(b): books[int(b)].cover_path for b in local.ids.tolist()}
    sha = {b: books[b].cover_sha256 for b in covers}
    all_ids = np.asarray(sorted(covers), np.int64)
    perm = rng.permutation(all_ids)
    removed = perm[:n_removed]
    calib_in = perm[n_removed:n_removed + n_calib]
    test_in = perm[n_removed + n_calib:n_removed + n_calib + n_test]
    removed_set = set(removed.tolist())
    gallery = {b: p for b, p in covers.items() if b not in removed_set}
    local.updated(gallery)                     # the removed books' keypoints leave the index
    embed, head = photo_embedder(svc.home)
    index = None
    try:
        full_index = svc.index("cover")
    except Exception as e:  # noqa: BLE001
        ctx.progress(f"no cover vectors ({e}); the embedding stage is off")
        full_index = None
    if full_index is not None:
        ids = np.asarray([i for i in full_index.ids.tolist() if i not in removed_set], np.int64)
        vecs = np.vstack([full_index.reconstruct(int(i)) for i in ids])
        if head is not None:
            vecs = head.project(vecs)
        index = make_index(vecs.shape[1], len(ids))
        index.add(ids, vecs)
    titles = {b.id: f"{b.title} {b.author}" for b in books.values()}
    ps = PhotoSearch(local, gallery, embed if index is not None else None, index, titles,
                     calibration=dict(DEFAULT_CALIBRATION))
    load_start = _load()

    def query(bid: int, seed: int, **kw):
        meta = phone_photo_with_meta(covers[bid], seed)
        data = _jpeg(meta.image)
        t = time.perf_counter()
        res = ps.search(load_photo(data), k=10, **kw)
        ms = (time.perf_counter() - t) * 1000
        return res, ms, meta.params

    def correct(res, bid, strict=False):
        ids = [h.book_id for h in res.hits]
        if strict:
            return [i == bid for i in ids]
        return [i == bid or (sha.get(i) is not None and sha.get(i) == sha.get(bid)) for i in ids]

    # ---- calibration ---------------------------------------------------------------------
    ctx.progress(f"calibrating on {len(calib_in)} + {len(removed) // 2} photos")
    X, y = [], []
    calib_q = [(int(b), True) for b in calib_in] + [(int(b), False) for b in removed[: n_removed // 2]]
    for j, (bid, inside) in enumerate(calib_q):
        res, _, _ = query(bid, CALIB_SEED_BASE + j)
        ev = res.details.get("evidence")
        if ev is None:
            continue
        X.append(ev)
        y.append(int(inside and bool(res.hits) and correct(res, bid)[0]))
    cal = fit_calibration(np.asarray(X), np.asarray(y))
    cal["features"] = FEATURES
    ps.calibration = cal
    (svc.index_dir / CALIBRATION_FILE).parent.mkdir(parents=True, exist_ok=True)
    if not quick:
        (svc.index_dir / CALIBRATION_FILE).write_text(json.dumps(cal, indent=2))
    ctx.progress(f"calibration: {cal}")

    # ---- test ------------------------------------------------------------------------------
    test_q = [(int(b), True) for b in test_in] + [(int(b), False) for b in removed[n_removed // 2:]]
    rows = []
    t_all = time.time()
    for j, (bid, inside) in enumerate(test_q):
        res, ms, params = query(bid, j)
        c = correct(res, bid)
        cs = correct(res, bid, strict=True)
        rows.append({"book_id": bid, "in_gallery": inside, "ms": ms,
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
    ctx.progress("the same photos with OCR when ambiguous")
    with_ocr = []
    for j, (bid, inside) in enumerate(test_q):
        res, ms, _ = query(bid, j, use_ocr=True)
        c = correct(res, bid)
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
        "calibration_queries": len(calib_q),
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
    configs = [_config_row("default (no OCR)", rows),
               _config_row("with OCR when ambiguous (`--ocr`)", with_ocr)]
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
    results = {"summary": summary, "configurations": configs, "calibration": cal, "by_distortion": by, "ablation": abl,
               "queries": [{k: v for k, v in r.items()} for r in rows]}
    md = [
        "Gallery: every cover of the catalog in the home (" + f"{len(gallery):,}" + " covers after "
        f"removing {n_removed} books whose photos must be answered 'not in the catalog'). Queries: "
        "phone-photo simulations (coverstory.train.phone_photo, seed = query number), JPEG "
        "bytes through the upload path. Calibration of the in-catalog model on "
        f"{len(calib_q)} disjoint photos (seeds from {CALIB_SEED_BASE:,}). "
        f"Load average on the 2 shared cores: {load_start:.1f} at start, {load_end:.1f} at end "
        "(latency is wall time under that load).",
        "",
        md_table([{
            "queries (in / not in catalog)": f"{len(ins)} / {len(outs)}",
            "top-1": summary["top1"], "top-5": summary["top5"],
            "top-1 strict id": summary["top1_strict"],
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


def fit_calibration(X: np.ndarray, y: np.ndarray) -> dict:
    """Logistic regression P(top-1 is right | evidence); falls back to the default."""
    from coverstory.search.photo import DEFAULT_CALIBRATION

    if len(X) < 10 or len(set(y.tolist())) < 2:
        return {**DEFAULT_CALIBRATION, "source": "default (calibration set too small)"}
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=1.0, fit_intercept=False, max_iter=1000)
    m.fit(X, y)
    p = m.predict_proba(X)[:, 1]
    # the threshold that maximises accuracy of the in/out decision on the calibration set
    ths = np.linspace(0.1, 0.9, 33)
    acc = [np.mean((p >= t) == (y == 1)) for t in ths]
    t = float(ths[int(np.argmax(acc))])
    return {"weights": [float(v) for v in m.coef_.ravel()], "threshold": round(t, 3),
            "source": f"logistic regression on {len(y)} calibration photos "
                      f"({int(y.sum())} right top-1)", "calibration_accuracy": float(max(acc))}
