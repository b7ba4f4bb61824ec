"""Covers/s of the pretrained cover backbones and their ensemble (issue 17, item 4): the rows
of ``coverstory bench encoders --throughput`` (``benchmarks._throughput.speed_rows``: the
preset's ONNX runtime beside the PyTorch path on the same covers, one warm-up call, then one
``encode`` call on the sample, with their cosine agreement) for the presets named, without
the text encoders and the retrieval part of that bench.

    COVERSTORY_THREADS=1 OMP_NUM_THREADS=1 /work/bin/heavy .venv/bin/python \
        scripts/cover_throughput.py --home HOME --out docs/benchmarks/encoders-throughput-covers

Writes OUT.json and OUT.md; threads = ``COVERSTORY_THREADS`` (the encoders' default).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

PRESETS = ("efficientnet-lite0.imagenet", "efficientnet-lite1.imagenet",
           "efficientnet-lite2.imagenet", "triple-cnn.imagenet")


def main() -> None:
    import coverstory.encoders.registry as reg
    from coverstory.config import data_dir
    from coverstory.benchmarks import _throughput as tp
    from coverstory.benchmarks.runner import machine, md_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--out", required=True, help="path without extension")
    ap.add_argument("--covers", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--onnx-only", action="store_true",
                    help="only the ONNX Runtime rows (no PyTorch path, no agreement)")
    ap.add_argument("presets", nargs="*", default=list(PRESETS))
    a = ap.parse_args()
    ctx = SimpleNamespace(home=Path(a.home), data=data_dir(), seed=a.seed, quick=False,
                          progress=lambda m: print(m, flush=True))
    _, covers, n_books = tp._sample(ctx)
    import numpy as np
    covers = [covers[i] for i in sorted(np.random.default_rng(a.seed).choice(
        len(covers), min(a.covers, len(covers)), replace=False))]
    every = reg.list_encoders
    reg.list_encoders = lambda home: [e for e in every(home) if e["name"] in a.presets]
    if a.onnx_only:
        variants = tp._variants
        tp._variants = lambda cfg: [v for v in variants(cfg) if v[0] != "torch"]
    t0, load0 = time.time(), os.getloadavg()
    rows = tp.speed_rows(ctx, [], covers)
    res = {"presets": a.presets, "covers": len(covers), "catalog_books": n_books,
           "threads": os.environ.get("COVERSTORY_THREADS", "default"), "machine": machine(),
           "load_start_end": [load0[0], os.getloadavg()[0]], "seconds": round(time.time() - t0),
           "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()), "rows": rows}
    out = Path(a.out)
    out.with_suffix(".json").write_text(json.dumps(res, indent=1))
    cols = ["encoder", "runtime", "preset's runtime", "covers/s", "x torch", "mean cosine",
            "min cosine", "load avg", "note"]
    md = ["# Cover throughput of the pretrained backbones (issue 17, item 4)\n",
          f"Command: `scripts/cover_throughput.py --home {a.home} --out {a.out}"
          f"{' --onnx-only' if a.onnx_only else ''}` · "
          f"{res['date_utc']} UTC · {res['machine'].get('cpus')} CPUs "
          f"({res['machine'].get('cpu')}) · threads {res['threads']} · ran {res['seconds']} s"
          f" · load average {load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end.\n",
          f"{len(covers)} cover files of the home's catalog ({n_books} books), seed {a.seed}; "
          "each runtime encodes the same covers once after a warm-up call on 8 (rows of "
          "`bench encoders --throughput`, benchmarks/_throughput.speed_rows). The "
          "triple-CNN row runs its three members one after the other over all the covers "
          "(each member decodes and resizes the covers itself).\n",
          md_table([{c: r.get(c, "") for c in cols} for r in rows], floatfmt="{:.4g}")]
    out.with_suffix(".md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
