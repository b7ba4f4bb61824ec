"""Photo identification as the gallery grows (issue 19, step 1): the real covers of a home
plus N synthetic distractor covers (``coverstory.search.distractors``), the same phone
photos as ``coverstory bench photo``, per N: top-1/top-5, p50/p95 latency, resident
memory, index size on disk and build time, and a linear extrapolation of memory and size.

    COVERSTORY_THREADS=1 OMP_NUM_THREADS=1 /work/bin/heavy .venv/bin/python \
        scripts/photo_scale.py --home /work/homes/lead --distractors 0,5000,20000 \
        --queries 200 --seed 1 --out /tmp/photo_scale/result.json

* gallery = every cover of the home's catalog + the first N distractors of ``--dseed``
  (features extracted once with the index's own code, ``local_features._extract``, cached
  under ``--work``; the index per N is built by ``CoverFeatures.from_features``, i.e. what
  ``build index`` does: exact L2 up to 200k descriptors, else IVF-SQ8 trained on a seeded
  sample), saved as ``cover_features.npz`` to measure its size;
* queries = the first ``--queries`` in-catalog test photos of ``bench photo --seed SEED``
  (its ``photo_split`` and photo seeds, imported from the bench module, JPEG through
  ``load_photo``); the search is local features + verification only (no embedding
  fallback: the distractors have no cover vectors; no OCR), ranking as in ``PhotoSearch``;
* each N is queried in a fresh process that only loads the saved index (its RSS is the
  search's memory: Python + OpenCV + faiss + the index); latency = ``PhotoSearch.search``
  alone (photo decode excluded), so it is only meaningful under ``/work/bin/heavy --alone``;
* heavy parts can run apart: ``--extract-only`` (features, one slot), ``--build-only``
  (indexes, one slot), then the same command without them under ``heavy --alone``;
* build time = SIFT time of the real covers and of N distractors at the measured rate
  (``--workers`` processes) + the measured index time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _bench_photo():
    """The photo bench module (its split and photo making are reused, not copied)."""
    from coverstory.benchmarks import photo

    return photo


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def _load() -> float:
    return os.getloadavg()[0]


def _covers(home) -> tuple[dict[int, str], dict[int, str]]:
    from coverstory.search.service import SearchService

    svc = SearchService(home, log=lambda m: None)
    books = svc.books
    covers = {int(b.id): b.cover_path for b in books.values() if b.cover_path}
    sha = {int(b.id): b.cover_sha256 for b in books.values() if b.cover_path}
    return covers, sha


def _features(name: str, paths: list[str], workers: int, work: Path, log):
    """(pts, des, sizes, seconds) of ``paths``, cached in ``work/name.npz`` (the bench's cache)."""
    from coverstory.benchmarks._photo_gallery import features

    return features(name, paths, work, log, workers=workers)


def query_only(args) -> dict:
    """Load one saved index and run the bench's photos through it (a fresh process)."""
    from coverstory.search.image_io import load_photo
    from coverstory.search.local_features import CoverFeatures
    from coverstory.search.photo import PhotoSearch
    from coverstory.train.phone_photo import phone_photo_with_meta

    bp = _bench_photo()
    base = _rss_mb()
    covers, sha = _covers(args.home)
    local = CoverFeatures.load(args.query_only)
    loaded = _rss_mb()
    # the bench's split: full-size validation (300 in-catalog) first, then the test photos
    _, test_in, _, _ = bp.photo_split(np.asarray(sorted(covers), np.int64), [],
                                      np.random.default_rng(args.seed), args.bench_val,
                                      args.queries, 0, 0)
    ps = PhotoSearch(local, covers, use_embedding=False, use_ocr=False)
    top1, top5, ms, load = [], [], [], []
    for j, bid in enumerate(test_in.tolist()):
        img = load_photo(bp._jpeg(phone_photo_with_meta(covers[bid], j).image))
        t = time.perf_counter()
        res = ps.search(img, k=10, use_embedding=False, use_ocr=False)
        ms.append((time.perf_counter() - t) * 1000)
        ok = [h.book_id == bid or (sha.get(h.book_id) and sha.get(h.book_id) == sha.get(bid))
              for h in res.hits]
        top1.append(bool(ok[:1] and ok[0]))
        top5.append(any(ok[:5]))
        if j % 20 == 0:
            load.append(_load())
    return {"covers": len(local), "descriptors": local.descriptors, "kind": local.kind,
            "queries": len(top1), "top1": float(np.mean(top1)), "top5": float(np.mean(top5)),
            "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(np.mean(ms)), "rss_base_mb": round(base, 1),
            "rss_loaded_mb": round(loaded, 1), "rss_peak_mb": round(_rss_mb("VmHWM"), 1),
            "load_during_queries": [round(v, 2) for v in load]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", default="/work/homes/lead")
    ap.add_argument("--distractors", default="0,5000,20000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1, help="bench photo's --seed (the split)")
    ap.add_argument("--bench-val", type=int, default=300,
                    help="in-catalog validation photos drawn before the test ones (bench: 300)")
    ap.add_argument("--dseed", type=int, default=0, help="distractor seed")
    ap.add_argument("--workers", type=int, default=1, help="SIFT processes (2 only when "
                    "holding both heavy slots)")
    ap.add_argument("--work", default="/tmp/photo_scale")
    ap.add_argument("--out", default=None)
    ap.add_argument("--feature-blocks", default=None,
                    help="distractor counts where the feature cache is cut (e.g. 20000,50000)")
    ap.add_argument("--extract-only", action="store_true",
                    help="stop after the (cached) features: run that on one slot, the rest alone")
    ap.add_argument("--build-only", action="store_true",
                    help="stop after saving each N's index (a later run queries them)")
    ap.add_argument("--query-only", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.query_only:
        print(json.dumps(query_only(args)))
        return
    from coverstory.search.distractors import write_distractors
    from coverstory.search.local_features import CoverFeatures

    def log(m):
        print(f"[{time.strftime('%H:%M:%S')}] {m}", file=sys.stderr, flush=True)

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes_n = sorted(int(x) for x in args.distractors.split(","))
    covers, _ = _covers(args.home)
    real_ids = sorted(covers)
    sources = [covers[i] for i in real_ids]
    t = time.time()
    dist = write_distractors(sources, max(sizes_n), args.dseed, work / f"covers_d{args.dseed}",
                             log=log)
    gen_s = time.time() - t
    log(f"{len(dist)} distractors ready ({gen_s:.0f} s); SIFT of {len(real_ids)} real covers")
    rp, rd, rs, r_sec = _features("real", sources, args.workers, work, log)
    d_ids = list(dist)
    # cached in blocks (``--feature-blocks``): a larger N extracts only the new distractors
    ends = sorted({int(x) for x in (args.feature_blocks or str(len(d_ids))).split(",")}
                  | {len(d_ids)})
    dp, dd, ds, d_sec, a = [], [], [], 0.0, 0
    for b in (e for e in ends if 0 < e <= len(d_ids)):
        name = f"distractors_d{args.dseed}_{b}" if a == 0 else f"distractors_d{args.dseed}_{a}_{b}"
        p, d, z, sec = _features(name, [dist[i] for i in d_ids[a:b]], args.workers, work, log)
        dp, dd, ds, d_sec, a = dp + p, dd + d, ds + z, d_sec + sec, b
    rate_real = len(real_ids) / max(r_sec, 1e-9)
    rate_d = len(d_ids) / max(d_sec, 1e-9) if d_ids else float("nan")
    log(f"SIFT: real {rate_real:.1f} covers/s, distractors {rate_d:.1f} covers/s")
    if args.extract_only:
        return
    rows = []
    for n in sizes_n:
        path = work / f"gallery_{n}_s{args.seed}_d{args.dseed}" / "cover_features.npz"
        meta = path.with_name("build.json")
        if meta.exists() and path.exists():         # built by an earlier --build-only run
            index_s = json.loads(meta.read_text())["index_build_s"]
        else:
            t = time.time()
            local = CoverFeatures.from_features(real_ids + d_ids[:n], rp + dp[:n],
                                                rd + dd[:n], rs + ds[:n], seed=args.seed)
            index_s = time.time() - t
            local.save(path)
            del local
            meta.write_text(json.dumps({"index_build_s": index_s, "load": _load()}))
        log(f"+{n}: index built in {index_s:.1f} s")
        if args.build_only:
            continue
        t = time.time()
        out = subprocess.run([sys.executable, __file__, "--home", args.home, "--query-only",
                              str(path), "--queries", str(args.queries), "--seed",
                              str(args.seed), "--bench-val", str(args.bench_val)],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row.update({"distractors": n, "index_build_s": round(index_s, 1),
                    "sift_s_at_measured_rate": round(len(real_ids) / rate_real
                                                     + (n / rate_d if n else 0.0), 1),
                    "index_file_mb": round(path.stat().st_size / 2 ** 20, 1),
                    "query_wall_s": round(time.time() - t, 1)})
        row["build_s"] = round(row["index_build_s"] + row["sift_s_at_measured_rate"], 1)
        log(json.dumps(row))
        rows.append(row)
    if args.build_only:
        return
    extra = {}
    if len(rows) >= 2:
        c = np.asarray([r["covers"] for r in rows], float)
        for key in ("rss_loaded_mb", "index_file_mb", "descriptors"):
            slope, icpt = np.polyfit(c, np.asarray([r[key] for r in rows], float), 1)
            extra[key] = {str(n): round(float(icpt + slope * n), 1)
                          for n in (100_000, 300_000, 1_000_000)}
            extra[key]["per_cover"] = round(float(slope), 4)
    result = {"home": args.home, "seed": args.seed, "dseed": args.dseed,
              "workers": args.workers, "threads": os.environ.get("OMP_NUM_THREADS"),
              "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
              "started_load": _load(), "real_covers": len(real_ids),
              "distractor_generation_s": round(gen_s, 1),
              "sift_covers_per_s": {"real": round(rate_real, 1), "distractors": round(rate_d, 1)},
              "rows": rows, "extrapolation_linear_fit (not measured)": extra,
              "command": " ".join(sys.argv)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
