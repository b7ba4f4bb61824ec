"""The one-line reason a text-search hit gives a reader ("exactly the title you typed",
"by the author you named", "read 'poter' as 'potter'"), from the candidate's features."""

from __future__ import annotations

import math

from coverstory.search.text_features import DEPTH, Query


def reason(f: dict[str, float], q: Query, exact: bool, names: str = "") -> str:
    top10 = math.log1p(10) / math.log1p(DEPTH)         # log rank of the 10th place
    parts = []
    if f.get("isbn"):
        parts.append("the ISBN you gave")
    elif exact:
        parts.append("exactly the title you typed")
    elif max(f.get("title_ratio", 0), f.get("combo_ratio", 0)) >= 0.85:
        parts.append("title matches")
    if f.get("author_named") or f.get("author_score", 0) >= 0.9:
        parts.append("by the author you named")
    if f.get("series_score", 0) >= 0.9:
        parts.append("in the series you named" + (" (that number)" if f.get("series_num") else ""))
    if not parts:
        if min(f.get("passage_lrank", 1), f.get("minilm_lrank", 1)) < top10:
            parts.append("its description is close in meaning to yours")
        if min(f.get("bm25_lrank", 1), f.get("tfidf_lrank", 1)) < top10:
            parts.append("your words appear in its title, genres or description")
    # the corrections this book bears out ("poter" read as "potter", not "porter")
    fixes = {w: next((c for c in cands if c in names.split()), None)
             for w, cands in q.candidates.items()}
    fixes = {w: c for w, c in fixes.items() if c}
    if fixes:
        parts.append("read " + ", ".join(f"'{a}' as '{b}'" for a, b in fixes.items()))
    return "; ".join(parts) or "related to your query"
