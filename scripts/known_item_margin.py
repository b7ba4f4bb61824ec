"""Choose the chat's known-item margin on the text-search DEV split (never the test split).

For each dev query: the search service's score margin between its first and second book,
and whether its first book is right. Prints, per margin, how many queries it lets through
and how often the first book is right then. Usage:
    python scripts/known_item_margin.py HOME
The search ranker was fitted on these dev queries, so the precision is optimistic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def main(home: str) -> None:
    from coverstory.benchmarks.textsearch import load_queries
    from coverstory.search.service import SearchService

    svc = SearchService(Path(home))
    ts = svc.text_search
    rows = []
    for q in load_queries(svc):
        if q["split"] != "dev":
            continue
        rk = ts.rank(q["query"])
        if len(rk.rows) < 2:
            continue
        margin = float(rk.scores[0] - rk.scores[1])
        rows.append((q["kind"], margin, int(ts.ids[rk.rows[0]]) in set(q["ids"])))
    kinds = sorted({k for k, _, _ in rows})
    print(f"{len(rows)} dev queries")
    for m in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0):
        sel = [(k, ok) for k, mg, ok in rows if mg >= m]
        prec = np.mean([ok for _, ok in sel]) if sel else float("nan")
        by = {k: sum(1 for kk, _ in sel if kk == k) for k in kinds}
        print(f"margin >= {m:.1f}: {len(sel)} through, first right {prec:.3f}  {by}")


if __name__ == "__main__":
    main(sys.argv[1])
