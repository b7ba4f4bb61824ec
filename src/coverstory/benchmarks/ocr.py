"""OCR benchmark: does RapidOCR read the title printed on real covers, and how fast?

Protocol: a seeded sample of real covers from ../shared/data/covers (half Book Depository
128x128 thumbnails, mostly greyscale; half Google Books colour thumbnails ~128x193; 500 in
all, 60 with --quick). A cover counts as read when its normalised main title (subtitle and
series note removed; lower case; accents and punctuation dropped) matches the normalised
OCR text with rapidfuzz ``partial_ratio`` >= 80 (i.e. 0.8). Also reported: the exact
substring rate, and the same with the full title. Time per cover is wall time of
``read_text`` (image decode + detection + recognition) on 2 threads.
"""

from __future__ import annotations

import csv
import random
import time

from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table


def sample_covers(data, n: int, seed: int) -> list[dict]:
    """``n`` covers (title, file, source), half from each folder, seeded."""
    rng = random.Random(seed)
    out = []
    for source, csv_name, title_col in [("bookdepository", "bookdepository.csv", "title"),
                                        ("googlebooks", "googlebooks.csv", "title")]:
        with open(data / "covers" / csv_name, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r.get(title_col) and r.get("file")]
        rows = [r for r in rows if (data / "covers" / r["file"]).exists()]
        for r in rng.sample(rows, min(n // 2, len(rows))):
            out.append({"source": source, "title": r[title_col],
                        "file": str(data / "covers" / r["file"])})
    return out


def run(ctx: BenchContext) -> BenchResult:
    import numpy as np

    from coverstory.encoders.ocr import main_title, normalize, read_text, title_found

    import os

    n = 60 if ctx.quick else 500
    covers = sample_covers(ctx.data, n, ctx.seed)
    load_before = os.getloadavg()[0]
    read_text(covers[0]["file"])  # load the models outside the timing
    rows = []
    for i, c in enumerate(covers):
        t = time.perf_counter()
        text = read_text(c["file"])
        secs = time.perf_counter() - t
        main = normalize(main_title(c["title"]))
        rows.append({**c, "ocr": text, "seconds": secs,
                     "found": title_found(c["title"], text),
                     "found_full_title": _found_full(c["title"], text),
                     "exact": bool(main) and main in normalize(text),
                     "empty": not text.strip()})
        if (i + 1) % 50 == 0:
            ctx.progress(f"{i + 1}/{len(covers)} covers")

    def summary(rs, name):
        s = np.array([r["seconds"] for r in rs])
        return {"covers": name, "n": len(rs),
                "title_found": float(np.mean([r["found"] for r in rs])),
                "exact_substring": float(np.mean([r["exact"] for r in rs])),
                "full_title_found": float(np.mean([r["found_full_title"] for r in rs])),
                "no_text": float(np.mean([r["empty"] for r in rs])),
                "s_per_cover_mean": float(s.mean()), "s_per_cover_p50": float(np.median(s)),
                "s_per_cover_p95": float(np.percentile(s, 95))}

    table = [summary(rows, "all")]
    for src in ("bookdepository", "googlebooks"):
        sub = [r for r in rows if r["source"] == src]
        if sub:
            table.append(summary(sub, src))
    examples = [{"source": r["source"], "title": r["title"][:60], "ocr": r["ocr"][:80],
                 "found": r["found"]} for r in rows[:6] + rows[len(rows) // 2:len(rows) // 2 + 6]]
    load = (round(load_before, 1), round(os.getloadavg()[0], 1))
    md = (f"Machine load average (1 min) at start / end: {load[0]} / {load[1]} on "
          f"{os.cpu_count()} CPUs; times per cover include waiting for the CPU.\n\n"
          f"RapidOCR (rapidocr-onnxruntime, PP-OCRv4 det/rec) on {len(rows)} real covers "
          f"sampled with seed {ctx.seed} (half Book Depository 128x128, half Google Books "
          f"thumbnails). A title is *found* when its normalised main title matches the "
          f"normalised OCR text with rapidfuzz partial_ratio >= 80; *exact* = substring.\n\n"
          + md_table(table, floatfmt="{:.3f}") + "\n### Examples\n\n"
          + md_table(examples))
    return BenchResult(results={"summary": table, "load_average": load, "covers": rows},
                       markdown=md)


def _found_full(title: str, text: str) -> bool:
    from rapidfuzz import fuzz

    from coverstory.encoders.ocr import normalize

    t, o = normalize(title), normalize(text)
    return bool(t and o) and fuzz.partial_ratio(t, o) >= 80
