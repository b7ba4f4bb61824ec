"""Covers/s of the photo index's feature extraction (issue 19: >= 150 covers/s on the 2
cores) and what each setting costs in accuracy.

    COVERSTORY_THREADS=1 OMP_NUM_THREADS=1 /work/bin/heavy --alone .venv/bin/python \
        scripts/sift_throughput.py --home /work/homes/lead --covers 2000 \
        --variants 160x250,128x250,128x200 --workers 1,2 --out /tmp/sift/speed.json
    COVERSTORY_THREADS=1 OMP_NUM_THREADS=1 /work/bin/heavy .venv/bin/python \
        scripts/sift_throughput.py --home /work/homes/lead --variants 160x250,128x250 \
        --check-val 300 --distractors 20000 --out /tmp/sift/val.json

* speed: ``--covers`` cover files drawn with ``--seed`` from the home's catalog (real
  covers), each variant (``SIDExFEATURES``: working side in px, keypoint cap) extracted by
  ``local_features._extract`` with 1 and 2 processes (one OpenCV thread each), timed from
  the call to the last result (process start-up included); the files are read once before
  (page cache warm). One process also times the parts: decode, resize, detection,
  description, RootSIFT;
* accuracy (``--check-val N``): for each variant, the real covers + the first
  ``--distractors`` synthetic distractors (seed 0) extracted with it (cached in
  ``--work``), a two-stage gallery built (``TwoStageFeatures.build``, seed 1), then the N
  in-catalog *validation* photos of ``bench photo --seed 1`` (the split and photo seeds of
  ``benchmarks._photo_gallery.query_run``; JPEGs from its cache) searched by local
  features + verification: top-1 / top-5. The test photos are not used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def _variant(v: str) -> tuple[int, int]:
    side, nf = v.lower().split("x")
    return int(side), int(nf)


def parts(paths: list[str], side: int, nf: int) -> dict:
    """ms per cover of each part, one process, one OpenCV thread."""
    import cv2

    from coverstory.search.local_features import _sift, root_sift

    cv2.setNumThreads(1)
    sift = _sift(nf)
    tm = dict.fromkeys(("decode", "resize", "detect", "describe", "rootsift"), 0.0)
    kps = []
    for p in paths:
        t = time.perf_counter()
        g = cv2.imread(p, cv2.IMREAD_GRAYSCALE)
        t1 = time.perf_counter()
        s = side / max(g.shape)
        if abs(s - 1.0) > 1e-3:
            g = cv2.resize(g, None, fx=s, fy=s,
                           interpolation=cv2.INTER_CUBIC if s > 1 else cv2.INTER_AREA)
        t2 = time.perf_counter()
        kp = sift.detect(g, None)
        t3 = time.perf_counter()
        kp, des = sift.compute(g, kp)
        t4 = time.perf_counter()
        if des is not None:
            root_sift(des)
        t5 = time.perf_counter()
        for k, a, b in (("decode", t, t1), ("resize", t1, t2), ("detect", t2, t3),
                        ("describe", t3, t4), ("rootsift", t4, t5)):
            tm[k] += b - a
        kps.append(len(kp))
    out = {f"{k} ms": round(1000 * v / len(paths), 3) for k, v in tm.items()}
    out["keypoints per cover"] = round(float(np.mean(kps)), 1)
    return out


def speed(paths: list[str], variants, workers: list[int]) -> list[dict]:
    from coverstory.search.local_features import _extract

    for p in paths:                          # page cache warm for every variant
        Path(p).read_bytes()
    rows = []
    for side, nf in variants:
        row = {"variant": f"{side}x{nf}", **parts(paths[:500], side, nf)}
        for w in workers:
            load0 = os.getloadavg()[0]
            t = time.perf_counter()
            _extract(paths, w, lambda m: None, side=side, nfeatures=nf)
            sec = time.perf_counter() - t
            row[f"covers/s {w} proc"] = round(len(paths) / sec, 1)
            row[f"load {w} proc"] = f"{load0:.2f}-{os.getloadavg()[0]:.2f}"
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def check_val(home: str, variants, n_val: int, n_dist: int, work: Path, seed: int,
              workers: int) -> list[dict]:
    """Top-1 / top-5 of the validation photos against real + distractor covers per variant."""
    from coverstory.benchmarks._photo_gallery import DSEED, covers_of, features
    from coverstory.benchmarks.photo import CALIB_SEED_BASE, _jpeg, photo_split
    from coverstory.search.distractors import write_distractors
    from coverstory.search.image_io import load_photo
    from coverstory.search.photo import DEFAULT_CALIBRATION, PhotoSearch
    from coverstory.search.two_stage import TwoStageFeatures
    from coverstory.train.phone_photo import phone_photo_with_meta

    covers, sha, _ = covers_of(home)
    real_ids = sorted(covers)
    sources = [covers[i] for i in real_ids]
    dist = write_distractors(sources, n_dist, DSEED, work / f"covers_d{DSEED}",
                             log=lambda m: None) if n_dist else {}
    d_ids = sorted(dist)[:n_dist]
    # the split of query_run with full-size validation (300 + 300): the first n_val of it
    val_in = photo_split(np.asarray(real_ids, np.int64), [None] * 420,
                         np.random.default_rng(seed), 300, 300, 300, 120)[0][:n_val]
    photos = work / f"photos_s{seed}"
    photos.mkdir(parents=True, exist_ok=True)
    rows = []
    for side, nf in variants:
        tag = "" if (side, nf) == (160, 250) else f"_{side}x{nf}"
        log = lambda m: print(m, file=sys.stderr, flush=True)     # noqa: E731
        t = time.time()
        p1, d1, s1, _ = features("real", sources, work, log, workers, side, nf)
        p2, d2, s2, _ = features(f"distractors_d{DSEED}_{n_dist}", [dist[i] for i in d_ids],
                                 work, log, workers, side, nf)
        ext_s = time.time() - t
        folder = work / f"valcheck_{n_dist}{tag}"
        t = time.time()
        if not (folder / "covers.npz").exists():
            TwoStageFeatures.build(folder, real_ids + d_ids, p1 + p2, d1 + d2, s1 + s2,
                                   seed=seed)
        build_s = time.time() - t
        ps = PhotoSearch(TwoStageFeatures.load(folder), covers, use_embedding=False,
                         use_ocr=False, calibration=dict(DEFAULT_CALIBRATION))
        top1, top5 = [], []
        for j, bid in enumerate(val_in.tolist()):
            f = photos / f"{bid}_{CALIB_SEED_BASE + j}.jpg"
            if not f.exists():
                f.write_bytes(_jpeg(phone_photo_with_meta(covers[bid],
                                                          CALIB_SEED_BASE + j).image))
            res = ps.search(load_photo(f.read_bytes()), k=10, use_embedding=False,
                            use_ocr=False)
            ok = [h.book_id == bid or (sha.get(h.book_id) is not None
                                       and sha.get(h.book_id) == sha.get(bid)) for h in res.hits]
            top1.append(bool(ok[:1] and ok[0]))
            top5.append(any(ok[:5]))
        row = {"variant": f"{side}x{nf}", "covers": len(real_ids) + len(d_ids),
               "val photos": len(top1), "top-1": round(float(np.mean(top1)), 4),
               "top-5": round(float(np.mean(top5)), 4), "misses": int(len(top1) - sum(top1)),
               "descriptors": int(sum(len(d) for d in d1 + d2)),
               "extract s (cached: 0)": round(ext_s, 1), "build s": round(build_s, 1)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", default="/work/homes/lead")
    ap.add_argument("--covers", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--variants", default="160x250,128x250")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--check-val", type=int, default=0)
    ap.add_argument("--distractors", type=int, default=20000)
    ap.add_argument("--work", default="/tmp/photo_scale")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    variants = [_variant(v) for v in a.variants.split(",")]
    load0 = os.getloadavg()
    res = {"command": " ".join(sys.argv), "machine": f"{platform.node()} "
           f"{platform.processor() or platform.machine()} {os.cpu_count()} cpus",
           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
           "load_start": [round(x, 2) for x in load0], "seed": a.seed}
    if a.check_val:
        res["validation"] = check_val(a.home, variants, a.check_val, a.distractors,
                                      Path(a.work), a.seed, max(map(int, a.workers.split(","))))
    else:
        from coverstory.benchmarks._photo_gallery import covers_of

        covers = covers_of(a.home)[0]
        paths = sorted(covers.values())
        rng = np.random.default_rng(a.seed)
        paths = [paths[i] for i in sorted(rng.choice(len(paths), min(a.covers, len(paths)),
                                                     replace=False))]
        res["covers"] = len(paths)
        res["speed"] = speed(paths, variants, [int(w) for w in a.workers.split(",")])
    res["load_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(res, indent=1)
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
