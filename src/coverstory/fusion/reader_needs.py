"""The paper's eight reader-need categories, from goodbooks shelf tags.

The mapping is data (``data/reader_needs.json``, shown as a table in docs/reader_needs.md):
each category has tag patterns; a book scores one point per tag that maps to a category and
takes the highest-scoring one (ties by the documented priority order).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

NEEDS = ["Education and Learning", "Professional and Career Development",
         "Science and Technology", "Health and Lifestyle", "Literature and Art",
         "History and Culture", "Entertainment and Leisure", "Personal Growth and Psychology"]


@cache
def mapping() -> dict:
    return json.loads((Path(__file__).parent / "data" / "reader_needs.json").read_text())


@cache
def tag_needs(tag: str) -> tuple[str, ...]:
    """The categories a single tag maps to (usually zero or one)."""
    m = mapping()
    if any(re.search(p, tag) for p in m["exclude"]):
        return ()
    return tuple(n for n in NEEDS if any(re.search(p, tag) for p in m["categories"][n]))


def need_scores(tags: list[str]) -> dict[str, int]:
    scores = {n: 0 for n in NEEDS}
    for t in tags:
        for n in tag_needs(t.strip().lower()):
            scores[n] += 1
    return scores


def reader_need(tags: list[str]) -> tuple[str | None, list[str]]:
    """(primary category or None, every category with at least one tag)."""
    scores = need_scores(tags)
    present = [n for n in NEEDS if scores[n] > 0]
    if not present:
        return None, []
    prio = mapping()["priority"]
    best = max(present, key=lambda n: (scores[n], -prio.index(n)))
    return best, present


def mapping_table(tags: list[str]) -> dict[str, list[str]]:
    """category -> the given tags that map to it (for the documented table)."""
    out: dict[str, list[str]] = {n: [] for n in NEEDS}
    for t in sorted(set(tags)):
        for n in tag_needs(t):
            out[n].append(t)
    return out
