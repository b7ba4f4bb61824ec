"""A descriptor-level simulation of the two-stage photo index at ~1M covers (issue 19): RSS
and latency, not accuracy. Measure holding both heavy slots:

    COVERSTORY_THREADS=1 OMP_NUM_THREADS=1 /work/bin/heavy --alone .venv/bin/python \
        scripts/photo_sim_1m.py /tmp/photo_scale/two_stage_50000_s1_d0 --covers 1000000 \
        --out /tmp/sift/sim1m.json

* start: the built 53k gallery (3,154 real covers + 50,000 distractors, ``IVF4096,PQ32``);
* distractor descriptors drawn from the real distribution: the PQ codes of the 50,000
  distractor covers are copied (with new descriptor ids, contiguous per simulated cover)
  until the gallery holds ``--covers`` covers, so every simulated cover has a real cover's
  descriptors, keypoints and verification cost;
* the inverted file grows as the design would at 1M (``IVF16384``): each of the 4,096
  trained cells is split into 4 cells whose centroids are the cell's own (plus 1e-4
  noise; the PQ codes stay valid residuals) and every code goes to one of the 4 at
  random, so a photo descriptor scans a list of the length a 16,384-cell index would
  have (~14.7k codes), the coarse search compares it with 16,384 centroids, and the
  precomputed PQ tables are the 16,384-cell ones; the 16,384 centroids are searched
  through an HNSW graph (``IndexHNSWFlat``, M 32, efSearch 64), as ``IVF16384_HNSW32``
  would (a flat scan of 16k centroids per photo keypoint costs ~140 ms a photo). Memory (codes, ids, tables, cover
  table) is what the real index would hold;
* stage 2 of a simulated cover reads the descriptors of the distractor it copies;
* photos: the first ``--val-in`` + ``--val-out`` validation photos of ``bench photo --seed
  1`` (as ``scripts/photo_latency.py``); top-1 is reported but is NOT an accuracy
  estimate: copies of a distractor are exact duplicates, whose votes the ratio weighting
  cancels (optimistic).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np


def grown(ts, n_target: int, split: int = 4, seed: int = 0):
    """(IVF index of n_target covers' codes, start, counts, sizes, ids, base row per row)."""
    import faiss

    from coverstory.search.distractors import DISTRACTOR_ID_BASE

    rng = np.random.default_rng(seed)
    ivf = faiss.downcast_index(faiss.extract_index_ivf(ts.index))
    n0, m0 = len(ts.ids), int(ts.index.ntotal)
    real = int(np.sum(ts.ids < DISTRACTOR_ID_BASE))
    d_first = int(ts.start[real])                    # first distractor descriptor id
    dd, nd = m0 - d_first, n0 - real
    copies = int(np.ceil((n_target - n0) / nd))
    cents = ivf.quantizer.reconstruct_n(0, ivf.nlist)
    sub = np.repeat(cents, split, 0) + rng.normal(0, 1e-4, (len(cents) * split, 128))
    q = faiss.IndexHNSWFlat(128, 32)                # coarse search of 16k cells: a graph
    q.hnsw.efSearch = 64
    q.add(sub.astype(np.float32))
    big = faiss.IndexIVFPQ(q, 128, ivf.nlist * split, ivf.pq.M, ivf.pq.nbits)
    big.pq = ivf.pq
    big.is_trained = True
    big.own_fields = False
    big.referenced_objects = [q]                    # the quantiser outlives this function
    il, cs = ivf.invlists, ivf.code_size
    for lst in range(ivf.nlist):
        n = il.list_size(lst)
        if n == 0:
            continue
        codes = faiss.rev_swig_ptr(il.get_codes(lst), n * cs).copy().reshape(n, cs)
        ids = faiss.rev_swig_ptr(il.get_ids(lst), n).copy()
        dis = ids >= d_first
        # every copy at once, one append per new cell: the lists get their exact size
        c = np.concatenate([codes] + [codes[dis]] * copies)
        i = np.concatenate([ids] + [ids[dis] + k * dd for k in range(1, copies + 1)])
        where = rng.integers(0, split, len(i))
        for s in range(split):
            m = where == s
            if m.any():
                cc, ii = np.ascontiguousarray(c[m]), np.ascontiguousarray(i[m])
                big.invlists.add_entries(lst * split + s, int(m.sum()),
                                         faiss.swig_ptr(ii), faiss.swig_ptr(cc))
    big.ntotal = m0 + copies * dd
    big.precompute_table()
    big.nprobe = 1
    d_rows = np.arange(real, n0)
    start = np.concatenate([ts.start] + [ts.start[real:] + k * dd for k in range(1, copies + 1)])
    base = np.concatenate([np.arange(n0)] + [d_rows] * copies)
    ids = np.concatenate([ts.ids, ts.ids.max() + 1 + np.arange(copies * nd)])
    return big, start, ts.counts[base], ts.sizes[base], ids, base


def main() -> None:
    from coverstory.benchmarks import _photo_gallery as g
    from coverstory.search.two_stage import TwoStageFeatures

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--covers", type=int, default=1_000_000)
    ap.add_argument("--split", type=int, default=4, help="cells per trained cell (4: 16,384)")
    ap.add_argument("--val-in", type=int, default=100)
    ap.add_argument("--val-out", type=int, default=50)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    before = g._mem()
    ts = TwoStageFeatures.load(a.folder)
    t = time.time()
    big, start, counts, sizes, ids, base = grown(ts, a.covers, a.split)
    build_s = time.time() - t
    ts.index = None
    sim = TwoStageFeatures(a.folder, big, ids, start, counts, sizes)
    plain = TwoStageFeatures(a.folder, None, ts.ids, ts.start, ts.counts, ts.sizes)
    sim.verify = lambda row, *x: plain.verify(int(base[row]), *x)
    loaded = g._mem()
    rows = _queries(sim, a)
    res = {"command": "scripts/photo_sim_1m.py " + " ".join(f"{k}={v}" for k, v in
                                                             vars(a).items()),
           "simulation": True, "covers": len(sim), "descriptors": int(big.ntotal),
           "nlist": int(big.nlist), "grow_s": round(build_s, 1),
           "rss_before_mb": round(before["VmRSS"]), "rss_loaded_mb": round(loaded["VmRSS"]),
           "rss_end_mb": round(g._mem()["VmRSS"]), "rss_peak_mb": round(g._mem()["VmHWM"]),
           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
           "load": os.getloadavg()[0], **rows}
    print(json.dumps(res, indent=1))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))


def _queries(sim, a) -> dict:
    """The validation photos of scripts/photo_latency.py through ``sim``."""
    import hashlib

    from coverstory.benchmarks import _photo_gallery as g
    from coverstory.benchmarks.photo import CALIB_SEED_BASE, absent_covers, photo_split
    from coverstory.search.image_io import load_photo
    from coverstory.search.photo import PhotoSearch

    covers, sha, books = g.covers_of("/work/homes/lead")
    outside = absent_covers(Path("/work/shared/data"), books, {v for v in sha.values() if v})
    val_in, _, val_out, _ = photo_split(np.asarray(sorted(covers), np.int64),
                                        [p for _, p in outside], np.random.default_rng(1),
                                        300, 300, 300, 120)
    cache = Path("/tmp/photo_scale/photos_s1")
    qs = ([(int(b), True, CALIB_SEED_BASE + j) for j, b in enumerate(val_in[:a.val_in])]
          + [(p, False, CALIB_SEED_BASE + 300 + j) for j, p in enumerate(val_out[:a.val_out])])
    imgs = []
    for q, ins, s in qs:
        key = q if isinstance(q, int) else hashlib.sha1(str(q).encode()).hexdigest()[:16]
        imgs.append((q, ins, load_photo((cache / f"{key}_{s}.jpg").read_bytes())))
    ps = PhotoSearch(sim, covers, use_embedding=False, use_ocr=False)
    for _, _, img in imgs[:3]:
        ps.search(img, k=10, use_embedding=False, use_ocr=False)
    ms, tm, top1 = [], [], []
    load0 = os.getloadavg()[0]
    for q, ins, img in imgs:
        t = time.perf_counter()
        r = ps.search(img, k=10, use_embedding=False, use_ocr=False)
        ms.append((time.perf_counter() - t) * 1000)
        tm.append([r.details["timings"].get(k, 0) for k in ("features_ms", "match_ms",
                                                             "verify_ms")])
        if ins:
            h = r.hits[0] if r.hits else None
            top1.append(bool(h) and (h.book_id == q or sha.get(h.book_id) == sha.get(q)))
    return {"photos": len(imgs), "p50_ms": round(float(np.percentile(ms, 50))),
            "p95_ms": round(float(np.percentile(ms, 95))),
            "median_sift_stage1_verify_ms": np.median(tm, 0).round().tolist(),
            "top1_not_an_accuracy_estimate": round(float(np.mean(top1)), 4),
            "load_during": f"{load0:.2f}-{os.getloadavg()[0]:.2f}"}


if __name__ == "__main__":
    main()
