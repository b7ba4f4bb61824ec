"""Latency of the two-stage photo index per setting, on validation photos (issue 19: p95
<= 300 ms). Measure only holding both heavy slots:

    COVERSTORY_THREADS=1 OMP_NUM_THREADS=1 /work/bin/heavy --alone .venv/bin/python \
        scripts/photo_latency.py /tmp/photo_scale/two_stage_50000_s1_d0 \
        "photo_features=1500,shortlist=10;photo_features=1000,shortlist=10" \
        --val-in 100 --val-out 50 --out /tmp/sift/latency.json

* photos: the first ``--val-in`` in-catalog and ``--val-out`` absent-book *validation*
  photos of ``bench photo --seed 1`` (the split and photo seeds of
  ``benchmarks._photo_gallery.query_run``; JPEGs from its cache ``--photos``), decoded
  before timing; the test photos are not used;
* variants (``;``-separated, ``key=value`` pairs): ``photo_features`` (SIFT keypoints of
  the photo), ``shortlist`` (covers verified), ``nprobe`` (inverted-file cells), ``mmap``
  (1: stage 2 reads numpy memory maps, 0: ``pread``); the same index object, loaded once;
* per variant: top-1 of the in-catalog photos, p50 / p95 of ``PhotoSearch.search`` over
  all photos, median ms of SIFT / stage 1 / verification, the right cover's 10th-percentile
  inliers and a wrong top cover's 90th-percentile / max inliers (the verifier's margin),
  load average, RSS.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from coverstory.benchmarks import _photo_gallery as g
    from coverstory.benchmarks.photo import CALIB_SEED_BASE, _jpeg, absent_covers, photo_split
    from coverstory.search.image_io import load_photo
    from coverstory.search.photo import PhotoSearch
    from coverstory.search.two_stage import TwoStageFeatures
    from coverstory.train.phone_photo import phone_photo_with_meta

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("variants")
    ap.add_argument("--home", default="/work/homes/lead")
    ap.add_argument("--data", default="/work/shared/data")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--val-in", type=int, default=100)
    ap.add_argument("--val-out", type=int, default=50)
    ap.add_argument("--photos", default="/tmp/photo_scale/photos_s1")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    covers, sha, books = g.covers_of(a.home)
    outside = absent_covers(Path(a.data), books, {v for v in sha.values() if v})
    val_in, _, val_out, _ = photo_split(np.asarray(sorted(covers), np.int64),
                                        [p for _, p in outside], np.random.default_rng(a.seed),
                                        300, 300, 300, 120)
    cache = Path(a.photos)
    cache.mkdir(parents=True, exist_ok=True)

    def photo(q, seed: int):
        key = q if isinstance(q, int) else hashlib.sha1(str(q).encode()).hexdigest()[:16]
        f = cache / f"{key}_{seed}.jpg"
        if not f.exists():
            f.write_bytes(_jpeg(phone_photo_with_meta(covers[q] if isinstance(q, int) else q,
                                                      seed).image))
        return load_photo(f.read_bytes())

    qs = ([(int(b), True, CALIB_SEED_BASE + j) for j, b in enumerate(val_in[:a.val_in])]
          + [(p, False, CALIB_SEED_BASE + 300 + j) for j, p in enumerate(val_out[:a.val_out])])
    imgs = [(q, ins, photo(q, s)) for q, ins, s in qs]
    local = TwoStageFeatures.load(a.folder)
    mapped = TwoStageFeatures.load(a.folder, mmap=True)
    mapped.index = local.index                  # one faiss index in memory
    rows = []
    for v in a.variants.split(";"):
        kw = {k: float(x) for k, x in (p.split("=") for p in v.split(",") if p)}
        idx = mapped if kw.get("mmap") else local
        idx.shortlist = int(kw.get("shortlist", TwoStageFeatures.shortlist))
        idx.photo_features = int(kw.get("photo_features", TwoStageFeatures.photo_features))
        import faiss

        faiss.extract_index_ivf(idx.index).nprobe = int(kw.get("nprobe", 1))
        ps = PhotoSearch(idx, covers, use_embedding=False, use_ocr=False)
        top1, ms, tm, inl_in, inl_out = [], [], [], [], []
        for _, _, img in imgs[:3]:             # warm-up (untimed)
            ps.search(img, k=10, use_embedding=False, use_ocr=False)
        load0 = os.getloadavg()[0]
        for q, ins, img in imgs:
            t = time.perf_counter()
            r = ps.search(img, k=10, use_embedding=False, use_ocr=False)
            ms.append((time.perf_counter() - t) * 1000)
            tm.append([r.details["timings"].get(k, 0) for k in ("features_ms", "match_ms",
                                                                 "verify_ms")])
            h = r.hits[0] if r.hits else None
            right = bool(h) and ins and (h.book_id == q or sha.get(h.book_id) == sha.get(q))
            if ins:
                top1.append(right)
                inl_in.append(h.details["inliers"] if right else 0)
            if not right and h:
                inl_out.append(h.details["inliers"])
        row = {"variant": v, "photos in / out": f"{len(top1)} / {len(imgs) - len(top1)}",
               "top-1": round(float(np.mean(top1)), 4),
               "p50 ms": round(float(np.percentile(ms, 50))),
               "p95 ms": round(float(np.percentile(ms, 95))),
               "median SIFT / stage 1 / verify ms": np.median(tm, 0).round().tolist(),
               "right inliers p10": float(np.percentile(inl_in, 10)),
               "wrong top inliers p90 / max": [float(np.percentile(inl_out, 90)),
                                               float(np.max(inl_out))] if inl_out else None,
               "load": f"{load0:.2f}-{os.getloadavg()[0]:.2f}",
               "rss_mb": round(g._mem()["VmRSS"]), "covers": len(idx)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    res = {"command": " ".join(sys.argv), "machine": f"{platform.node()} {os.cpu_count()} "
           "cpus (AMD EPYC, no GPU)", "threads": os.environ.get("OMP_NUM_THREADS"),
           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "rows": rows}
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
