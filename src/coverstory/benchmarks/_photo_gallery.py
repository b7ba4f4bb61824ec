"""``coverstory bench photo --gallery N[,N...] [--photo-index voting,two-stage]``: photo
identification as the gallery grows (issue 19).

* gallery = every cover of the home's catalog + the first N synthetic distractor covers
  (:mod:`coverstory.search.distractors`, seed 0: recomposed crops of >= 4 different covers
  with a made-up title, never a near-duplicate of one cover). Distractor images and SIFT
  features are cached in ``COVERSTORY_BENCH_PHOTO_WORK`` (default
  ``/tmp/coverstory-photo-gallery``) in blocks cut at the requested N, so a larger N
  extracts only the new distractors;
* designs (``--photo-index``): ``voting`` = today's index (``CoverFeatures``: every
  descriptor in RAM, nearest-descriptor voting + verification); ``two-stage`` =
  :class:`coverstory.search.two_stage.TwoStageFeatures` (PQ-compressed voting shortlist,
  verification from memory-mapped exact descriptors). Each (N, design) index is built in
  this process (timed) and saved; a saved index of the same name is reused (its recorded
  build time is reported);
* queries = the photos of ``coverstory bench photo --seed S``: the same split
  (``photo_split``), photo seeds and absent-book covers; sizes as the bench (1,000 + 400
  test, 300 + 300 validation; ``COVERSTORY_BENCH_PHOTO_QUERIES=n``: n + 0.4 n test, at most
  300 + 300 validation; ``--quick``: 60 + 40, 40 + 40). Local features + verification only
  (the distractors have no cover vectors, so no embedding stage; no OCR). The verifier
  ("is this the book?") is fitted on the validation photos per (N, design); its threshold
  gives the not-in-catalog precision / recall of the test photos. The photo JPEGs are
  cached (the same bytes for every N and design);
* each (N, design) is queried in a fresh process that only loads the saved index: its
  resident memory (RSS, split into anonymous and file-backed pages) is the search's;
  latency = ``PhotoSearch.search`` (JPEG decoding excluded), with the load average beside
  it (the machine is shared: alone only under ``/work/bin/heavy --alone``);
* build time = SIFT of the real covers and of N distractors at the measured rate + the
  measured index time; index size = the saved files.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from coverstory.config import setting

DESIGNS = ("voting", "two-stage")
DSEED = 0


def work_dir() -> Path:
    return Path(setting("bench_photo_work") or "/tmp/coverstory-photo-gallery")


def sizes(quick: bool) -> dict:
    if quick:
        return {"val_in": 40, "test_in": 60, "val_out": 40, "test_out": 40}
    n = int(setting("bench_photo_queries") or 1000)
    return {"val_in": min(300, n), "test_in": n, "val_out": min(300, n),
            "test_out": max(1, round(0.4 * n))}


def _mem() -> dict:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        k = line.split(":")[0]
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[k] = int(line.split()[1]) / 1024.0
    return out


def covers_of(home) -> tuple[dict[int, str], dict[int, str], dict]:
    """({book id: cover path}, {book id: cover sha256}, books) of the home's catalog."""
    from coverstory.search.service import SearchService

    books = SearchService(home, log=lambda m: None).books
    covers = {int(b.id): b.cover_path for b in books.values() if b.cover_path}
    return covers, {i: books[i].cover_sha256 for i in covers}, books


def features(name: str, paths: list[str], work: Path, log, workers: int = 1,
             side: int | None = None, nfeatures: int | None = None):
    """(points, descriptors, sizes, SIFT seconds) of ``paths``, cached in ``work/name.npz``
    (``name_SIDExFEATURES.npz`` for cover settings other than the first ones, 160 x 250)."""
    from coverstory.search.local_features import COVER_FEATURES, COVER_SIDE, _extract

    side, nfeatures = side or COVER_SIDE, nfeatures or COVER_FEATURES
    tag = "" if (side, nfeatures) == (160, 250) else f"_{side}x{nfeatures}"
    cache = work / f"{name}{tag}.npz"
    if cache.exists():
        with np.load(cache) as z:
            if int(z["n"]) == len(paths):
                cut = np.cumsum(z["counts"].astype(np.int64))[:-1]
                return (np.split(z["pts"], cut), np.split(z["des"], cut),
                        [tuple(s) for s in z["sizes"].tolist()], float(z["seconds"]))
    t = time.time()
    pts, des, hw = _extract(paths, workers, log, side=side, nfeatures=nfeatures)
    sec = time.time() - t
    np.savez(cache, n=len(paths), seconds=sec, counts=np.asarray([len(d) for d in des]),
             pts=np.concatenate(pts), des=np.concatenate(des),
             sizes=np.asarray(hw, np.int64).reshape(-1, 2))
    return pts, des, hw, sec


def gallery_features(covers: dict[int, str], ns: list[int], work: Path, log):
    """ids, points, descriptors, sizes of the real covers then max(ns) distractors, and the
    SIFT rates (covers/s) measured when they were extracted."""
    from coverstory.search.distractors import DISTRACTOR_ID_BASE, write_distractors

    real_ids = sorted(covers)
    sources = [covers[i] for i in real_ids]
    dist = write_distractors(sources, max(ns), DSEED, work / f"covers_d{DSEED}", log=log)
    pts, des, hw, sec = features("real", sources, work, log)
    d_ids = sorted(dist)
    assert all(i >= DISTRACTOR_ID_BASE for i in d_ids)
    d_sec, a, target = 0.0, 0, max(ns)
    while a < target:
        b = _cached_block(work, a, target)
        name = f"distractors_d{DSEED}_{b}" if a == 0 else f"distractors_d{DSEED}_{a}_{b}"
        if b > len(d_ids):          # a cached block past max(ns): its images are needed
            dist = write_distractors(sources, b, DSEED, work / f"covers_d{DSEED}", log=log)
            d_ids = sorted(dist)
        p, d, z, s = features(name, [dist[i] for i in d_ids[a:b]], work, log)
        keep = min(b, target) - a
        pts, des, hw = pts + p[:keep], des + d[:keep], hw + z[:keep]
        d_sec, a = d_sec + s * keep / (b - a), a + keep
    rates = {"real": len(real_ids) / max(sec, 1e-9),
             "distractors": a / d_sec if a else float("nan")}
    return real_ids + d_ids[:a], pts, des, hw, rates


def _cached_block(work: Path, a: int, target: int) -> int:
    """End of the cached feature block to read from distractor ``a`` on: the smallest that
    reaches ``target`` (sliced), else the largest, else ``target`` (a new block)."""
    pre = f"distractors_d{DSEED}_" + ("" if a == 0 else f"{a}_")
    ends = [int(p.stem[len(pre):]) for p in work.glob(pre + "*.npz")
            if p.stem[len(pre):].isdigit()]
    past = [b for b in ends if b >= target]
    return min(past) if past else max([b for b in ends if b > a], default=target)


def build(design: str, folder: Path, ids, pts, des, hw, seed: int, log) -> float:
    """Build and save one gallery index; its build time (reused when already saved)."""
    meta = folder / "build.json"
    if meta.exists():
        return float(json.loads(meta.read_text())["index_build_s"])
    from coverstory.search.local_features import CoverFeatures
    from coverstory.search.two_stage import TwoStageFeatures

    folder.mkdir(parents=True, exist_ok=True)
    t = time.time()
    if design == "voting":
        CoverFeatures.from_features(ids, pts, des, hw, log=log, seed=seed).save(
            folder / "cover_features.npz")
    else:
        TwoStageFeatures.build(folder, ids, pts, des, hw, log=log, seed=seed)
    sec = time.time() - t
    meta.write_text(json.dumps({"index_build_s": sec, "load": os.getloadavg()[0]}))
    return sec


def load(design: str, folder: Path):
    from coverstory.search.local_features import CoverFeatures
    from coverstory.search.two_stage import TwoStageFeatures

    if design == "voting":
        return CoverFeatures.load(folder / "cover_features.npz")
    return TwoStageFeatures.load(folder)


def query_run(job: dict) -> dict:
    """Validation + test photos against one saved gallery (run in a fresh process)."""
    from coverstory.benchmarks.photo import (CALIB_SEED_BASE, _config_row, _jpeg, absent_covers,
                                             photo_split)
    from coverstory.search.image_io import load_photo
    from coverstory.search.photo import DEFAULT_CALIBRATION, PhotoSearch, fit_verifier
    from coverstory.train.phone_photo import phone_photo_with_meta

    covers, sha, books = covers_of(job["home"])
    outside = absent_covers(Path(job["data"]), books, {v for v in sha.values() if v})
    n = job["sizes"]
    val_in, test_in, val_out, test_out = photo_split(
        np.asarray(sorted(covers), np.int64), [p for _, p in outside],
        np.random.default_rng(job["seed"]), n["val_in"], n["test_in"], n["val_out"],
        n["test_out"])
    before = _mem()
    local = load(job["design"], Path(job["folder"]))
    loaded = _mem()
    ps = PhotoSearch(local, covers, use_embedding=False, use_ocr=False,
                     calibration=dict(DEFAULT_CALIBRATION))
    cache = Path(job["photos"])
    cache.mkdir(parents=True, exist_ok=True)

    def query(q, seed: int):
        key = q if isinstance(q, int) else hashlib.sha1(str(q).encode()).hexdigest()[:16]
        name = f"{key}_{seed}.jpg"
        f = cache / name
        if not f.exists():
            tmp = f.with_suffix(".tmp")
            tmp.write_bytes(_jpeg(phone_photo_with_meta(covers[q] if isinstance(q, int) else q,
                                                        seed).image))
            os.replace(tmp, f)
        img = load_photo(f.read_bytes())
        t = time.perf_counter()
        res = ps.search(img, k=10, use_embedding=False, use_ocr=False)
        return res, (time.perf_counter() - t) * 1000

    def right(res, bid):
        return [bid is not None and (h.book_id == bid or (sha.get(h.book_id) is not None
                                                          and sha.get(h.book_id) == sha.get(bid)))
                for h in res.hits]

    X, y, inside = [], [], []
    for j, (q, ins) in enumerate([(int(b), True) for b in val_in] + [(p, False) for p in val_out]):
        res, _ = query(q, CALIB_SEED_BASE + j)
        if res.details.get("evidence") is not None:
            X.append(res.details["evidence"])
            y.append(int(ins and bool(res.hits) and right(res, q)[0]))
            inside.append(ins)
    ps.calibration = fit_verifier(np.asarray(X), np.asarray(y), np.asarray(inside),
                                  seed=job["seed"])
    rows, loads = [], []
    for j, (q, ins) in enumerate([(int(b), True) for b in test_in] + [(p, False) for p in test_out]):
        res, ms = query(q, j)
        ok = right(res, q if ins else None)
        rows.append({"in_gallery": ins, "ms": ms, "top1": bool(ok[:1] and ok[0]),
                     "top5": any(ok[:5]), "said_in_catalog": res.in_catalog})
        if j % 25 == 0:
            loads.append(round(os.getloadavg()[0], 2))
    row = _config_row(job["design"], rows)
    ins = [r for r in rows if r["in_gallery"]]
    return {**row, "covers": len(local), "descriptors": local.descriptors, "kind": local.kind,
            "accepted and right": float(np.mean([r["top1"] and r["said_in_catalog"] for r in ins])),
            "threshold": ps.calibration.get("threshold"), "test in / out": f"{len(ins)} / "
            f"{len(rows) - len(ins)}", "rss_before_mb": round(before["VmRSS"], 1),
            "rss_loaded_mb": round(loaded["VmRSS"], 1),
            "rss_anon_loaded_mb": round(loaded["RssAnon"], 1),
            "rss_end_mb": round(_mem()["VmRSS"], 1), "rss_file_end_mb": round(_mem()["RssFile"], 1),
            "rss_peak_mb": round(_mem()["VmHWM"], 1),
            "index_mb_in_ram": round(loaded["VmRSS"] - before["VmRSS"], 1),
            "load_during_queries": loads}


def run_gallery(ctx):
    from coverstory.benchmarks.runner import BenchResult, md_table

    ns = sorted(int(x) for x in str(ctx.gallery).split(","))
    designs = [d.strip() for d in (ctx.photo_index or "voting").split(",")]
    bad = [d for d in designs if d not in DESIGNS]
    if bad:
        raise ValueError(f"unknown --photo-index {bad}; choose from {', '.join(DESIGNS)}")
    work = work_dir()
    work.mkdir(parents=True, exist_ok=True)
    covers, _, _ = covers_of(ctx.home)
    ids, pts, des, hw, rates = gallery_features(covers, ns, work, ctx.progress)
    ctx.progress(f"SIFT covers/s: {rates}")
    out = []
    for n in ns:
        m = len(covers) + n
        for design in designs:
            stem = "gallery" if design == "voting" else "two_stage"
            folder = work / f"{stem}_{n}_s{ctx.seed}_d{DSEED}"
            index_s = build(design, folder, ids[:m], pts[:m], des[:m], hw[:m], ctx.seed,
                            ctx.progress)
            job = {"home": str(ctx.home), "data": str(ctx.data), "design": design,
                   "folder": str(folder), "seed": ctx.seed, "sizes": sizes(ctx.quick),
                   "photos": str(work / f"photos_s{ctx.seed}")}
            t = time.time()
            res = subprocess.run([sys.executable, "-m", "coverstory.benchmarks._photo_gallery",
                                  json.dumps(job)], stdout=subprocess.PIPE, text=True, check=True)
            row = json.loads(res.stdout.strip().splitlines()[-1])
            sift_s = len(covers) / rates["real"] + (n / rates["distractors"] if n else 0.0)
            disk = sum(p.stat().st_size for p in folder.iterdir() if p.name != "build.json")
            row.update({"distractors": n, "index build s": round(index_s, 1),
                        "build s (SIFT at measured rate + index)": round(sift_s + index_s, 1),
                        "index on disk MB": round(disk / 2 ** 20, 1),
                        "RAM per cover KB": round(1024 * row["index_mb_in_ram"] / row["covers"], 2),
                        "query s": round(time.time() - t, 1)})
            ctx.progress(json.dumps(row))
            out.append(row)
    shown = [{"covers": r["covers"], "design": r["configuration"], "index": r["kind"],
              "top-1": r["top-1"], "top-5": r["top-5"],
              "not-in-catalog P": r["not-in-catalog precision"],
              "not-in-catalog R": r["not-in-catalog recall"], "p50 ms": r["p50 ms"],
              "p95 ms": r["p95 ms"], "RSS MB": r["rss_end_mb"],
              "index RAM MB": r["index_mb_in_ram"], "KB/cover": r["RAM per cover KB"],
              "disk MB": r["index on disk MB"], "build s": r["build s (SIFT at measured rate + index)"],
              "load": f"{min(r['load_during_queries'])}-{max(r['load_during_queries'])}"}
             for r in out]
    md = ["Gallery: the home's " + f"{len(covers):,}" + " real covers + N synthetic distractors "
          "(seed 0); queries: the photos of `bench photo` with this seed (local features + "
          "verification only, no embedding stage, no OCR). RSS after the queries, in a process "
          "that only loaded the index; index RAM = RSS growth when loading it. Latency under the "
          "load average shown (2 shared cores).", "", md_table(shown, floatfmt="{:.3f}"),
          "", f"SIFT covers/s (one process): real {rates['real']:.1f}, distractors "
          f"{rates['distractors']:.1f}."]
    return BenchResult({"rows": out, "sift_covers_per_s": rates, "work": str(work),
                        "sizes": sizes(ctx.quick)}, "\n".join(md))


if __name__ == "__main__":
    print(json.dumps(query_run(json.loads(sys.argv[1]))))
