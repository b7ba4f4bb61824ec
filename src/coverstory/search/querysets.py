"""The hand-written text-search queries, their dev / test split and their expected books.

Three sets, all hand-written, none edited after results were seen:

* ``search/data/textsearch_queries.json`` — 112 queries (2026-11-23): typo titles, titles,
  authors, descriptions, "books like X";
* ``search/data/textsearch_queries_more.json`` — 612 queries written for issue 13 before
  any tuning (361 descriptions, typo titles, titles, authors, series, ISBNs, "like X");
* ``dialogue/data/descriptive_queries.jsonl`` — the dialogue's 155 descriptive requests
  (expected books by goodbooks id), read only.

The split is by the *target*, not the query text, so one book never sits on both sides:
a query is in ``test`` when crc32 of its target key is odd (the first expected title
without its series note, or the expected author / series, or X of "books like X").
"""

from __future__ import annotations

import json
import re
import zlib
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SETS = {
    "v1": DATA / "textsearch_queries.json",
    "v2": DATA / "textsearch_queries_more.json",
    "dialogue": DATA.parents[1] / "dialogue" / "data" / "descriptive_queries.jsonl",
}


def title_key(title: str) -> str:
    from coverstory.search.query import norm_text

    return norm_text(re.sub(r"\s*\([^)]*#[^)]*\)\s*$", "", title or ""))


def target_key(q: dict) -> str:
    from coverstory.search.query import like_target, norm_text

    if q["kind"] == "like":
        return "like:" + norm_text(like_target(q["query"]) or q["query"])
    if q.get("expect_author"):
        return "author:" + norm_text(q["expect_author"])
    if q.get("expect_series"):
        return "series:" + norm_text(q["expect_series"])
    return "title:" + title_key(q["expect"][0].partition("|")[0])


def split_of(q: dict) -> str:
    return "test" if zlib.crc32(target_key(q).encode()) % 2 else "dev"


def load(sets=("v1", "v2", "dialogue"), books_by_source=None) -> list[dict]:
    """Every query of ``sets`` with ``set``, ``id``, ``split``.

    The dialogue set names its books by goodbooks id: ``books_by_source(gid)`` must give
    the catalog book (or None) to turn them into 'title|surname' expectations.
    """
    out = []
    for name in sets:
        path = SETS[name]
        if not path.is_file():
            continue
        if path.suffix == ".jsonl":
            for i, line in enumerate(path.read_text().splitlines()):
                if not line.strip():
                    continue
                d = json.loads(line)
                expect = []
                for gid in d.get("goodbooks_ids", []):
                    b = books_by_source(gid) if books_by_source else None
                    if b is not None:
                        surname = (b.authors[0].split()[-1] if b.authors else "")
                        expect.append(f"{b.title}|{surname}")
                if not expect:
                    expect = [t for t in d.get("titles", [])]
                out.append({"set": name, "id": f"{name}-{i + 1:03d}", "kind": "description",
                            "query": d["query"], "expect": expect})
        else:
            for i, d in enumerate(json.loads(path.read_text())["queries"]):
                out.append({"set": name, "id": f"{name}-{d.get('id', f'{i + 1:03d}')}", **d})
    for q in out:
        q["split"] = split_of(q)
    return out


def resolve(queries: list[dict], books: dict) -> list[dict]:
    """Attach the set of matching catalog ids to each query (``ids``).

    'title|surname': a book whose title without its series note equals the title (case,
    accents, punctuation ignored) and, when given, an author containing the surname.
    expect_author: any book with an author containing it. expect_series: any book whose
    series note names the series.
    """
    from coverstory.search.query import norm_text

    by_title: dict[str, list] = {}
    for b in books.values():
        by_title.setdefault(title_key(b.title), []).append(b)
    notes = {}
    for b in books.values():
        m = re.search(r"\(([^()]*#[^()]*)\)\s*$", b.title or "")
        if m:
            notes[b.id] = norm_text(m.group(1))
    out = []
    for q in queries:
        ids: set[int] = set()
        if q.get("expect_author"):
            want = norm_text(q["expect_author"])
            ids = {b.id for b in books.values() if any(want in norm_text(a) for a in b.authors)}
        elif q.get("expect_series"):
            want = norm_text(q["expect_series"])
            ids = {i for i, note in notes.items() if want in note}
        else:
            for e in q["expect"]:
                title, _, surname = e.partition("|")
                for b in by_title.get(title_key(title), []):
                    if not surname or any(norm_text(surname) in norm_text(a) for a in b.authors):
                        ids.add(b.id)
        out.append({**q, "ids": sorted(ids)})
    return out
