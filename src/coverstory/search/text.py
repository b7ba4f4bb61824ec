"""Hybrid text search: BM25 + sentence embeddings + fuzzy title/author match, fused by RRF.

Four ranked lists are computed for a query and fused by reciprocal rank fusion
(score = sum of weight / (60 + rank)):

* **lexical** — BM25 over title and author (weighted x3), tags, categories, description
  and the OCR text of the cover; query words missing from the vocabulary are corrected
  to the nearest title/author words (rapidfuzz, "tolkein" -> "tolkien");
* **semantic** — cosine between the MiniLM embedding of the query and of each book's text
  (the cached feature ``text/minilm-l6.pretrained``);
* **title** — rapidfuzz similarity of the query to every "title" and "title author"
  ("harry poter philosopher stone");
* **author** — rapidfuzz similarity to author names; that author's books, most read first.

>>> ts = TextSearch.from_home(home)                 # doctest: +SKIP
>>> [h.book_id for h in ts.search("harry poter", k=3)]   # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable

import numpy as np

from coverstory.results import Hit
from coverstory.search.bm25 import BM25, STOPWORDS, analyze, raw_tokens

RRF_K = 60
WEIGHTS = {"lexical": 1.0, "semantic": 1.0, "title": 1.2, "author": 0.8}
DEPTH = 100                      # how deep each list goes before fusion


def norm_text(s: str) -> str:
    """Lower case, accents removed, punctuation to spaces, spaces collapsed."""
    s = unicodedata.normalize("NFKD", s or "")
    s = "".join(c for c in s if not unicodedata.combining(c)).lower()
    return " ".join(re.sub(r"[^\w]+", " ", s).split())


def book_document(book, ocr_text: str = "") -> list[str]:
    """The analysed BM25 document of a book (title and authors weighted x3)."""
    head = analyze(book.title) + analyze(" ".join(book.authors))
    return (head * 3 + analyze(" ".join(book.tags + book.categories))
            + analyze(book.description or "") + analyze(ocr_text or ""))


class TextSearch:
    """Text search over a list of books; see the module docstring."""

    def __init__(self, books: list, text_ids: np.ndarray | None = None,
                 text_vectors: np.ndarray | None = None,
                 embed_query: Callable[[str], np.ndarray] | None = None,
                 ocr: dict[int, str] | None = None, bm25: BM25 | None = None):
        self.books = list(books)
        self.ids = np.asarray([b.id for b in self.books], np.int64)
        self.row = {int(b): i for i, b in enumerate(self.ids.tolist())}
        self.titles = [norm_text(b.title) for b in self.books]
        self.title_authors = [f"{t} {norm_text(' '.join(b.authors))}".strip()
                              for t, b in zip(self.titles, self.books)]
        pop = np.asarray([b.ratings_count or 0 for b in self.books], np.float64)
        self.popularity = np.log1p(pop)
        # authors -> rows, most read first
        self.author_rows: dict[str, list[int]] = {}
        for i, b in enumerate(self.books):
            for a in b.authors:
                self.author_rows.setdefault(norm_text(a), []).append(i)
        for rows in self.author_rows.values():
            rows.sort(key=lambda r: -self.popularity[r])
        self.author_names = list(self.author_rows)
        # vocabulary of title/author words, for typo correction
        words: set[str] = set()
        for s in self.title_authors:
            words.update(w for w in s.split() if len(w) >= 3 and not w.isdigit())
        self.name_words = sorted(words)
        self.bm25 = bm25 or BM25().fit([book_document(b, (ocr or {}).get(b.id, ""))
                                        for b in self.books])
        self.embed_query = embed_query
        self.sem_rows = None
        self.sem_vecs = None
        if text_ids is not None and text_vectors is not None and len(text_ids):
            keep = [(self.row[int(i)], j) for j, i in enumerate(np.asarray(text_ids).tolist())
                    if int(i) in self.row]
            self.sem_rows = np.asarray([r for r, _ in keep], np.int64)
            self.sem_vecs = np.ascontiguousarray(
                np.asarray(text_vectors, np.float32)[[j for _, j in keep]])

    # ---- the four lists ---------------------------------------------------------------
    def corrected_terms(self, query: str) -> tuple[list[str], list[float], dict[str, str]]:
        """Analysed query terms (+ typo corrections at weight 0.8) and the corrections made."""
        from rapidfuzz import fuzz, process

        terms, weights, fixes = [], [], {}
        for w in raw_tokens(norm_text(query)):
            if w in STOPWORDS:
                continue
            t = analyze(w)
            if not t:
                continue
            terms.append(t[0])
            weights.append(1.0)
            if t[0] in self.bm25.vocab or len(w) < 4 or w.isdigit():
                continue
            for cand, score, _ in process.extract(w, self.name_words, scorer=fuzz.ratio,
                                                  limit=2, score_cutoff=75):
                ct = analyze(cand)
                if ct and ct[0] in self.bm25.vocab:
                    terms.append(ct[0])
                    weights.append(0.8 * score / 100)
                    fixes.setdefault(w, cand)
        return terms, weights, fixes

    def lexical(self, query: str, depth: int = DEPTH) -> tuple[np.ndarray, dict]:
        terms, weights, fixes = self.corrected_terms(query)
        s = self.bm25.scores(terms, weights)
        return _top(s, depth), {"corrections": fixes}

    def semantic(self, query: str, depth: int = DEPTH) -> np.ndarray:
        if self.sem_vecs is None or self.embed_query is None:
            return np.zeros(0, np.int64)
        q = np.asarray(self.embed_query(query), np.float32).reshape(-1)
        s = self.sem_vecs @ q
        top = _top(s, 3 * depth, positive_only=False)
        rows = self.sem_rows[top]
        _, first = np.unique(rows, return_index=True)     # a book may have several vectors
        return rows[np.sort(first)][:depth]

    def title_match(self, query: str, depth: int = 50,
                    candidates: np.ndarray | None = None) -> np.ndarray:
        """Books whose title (or title + author) looks like the query, typos forgiven.

        WRatio is scored on ``candidates`` (the lexical short list) plus the titles closest
        by plain edit ratio over the whole catalog, which keeps a query near 20 ms.
        """
        from rapidfuzz import fuzz, process

        q = norm_text(query)
        if len(q) < 3:
            return np.zeros(0, np.int64)
        pool = set() if candidates is None else set(candidates.tolist())
        for choices in (self.titles, self.title_authors):
            pool.update(i for _, _, i in process.extract(q, choices, scorer=fuzz.ratio,
                                                          limit=20, score_cutoff=60))
        best: dict[int, float] = {}
        for i in pool:
            for s in (self.titles[i], self.title_authors[i]):
                score = fuzz.WRatio(q, s, score_cutoff=72)
                if not score:
                    continue
                # prefer titles of similar length (WRatio forgives partial matches)
                score -= 8 * abs(math.log((len(s) + 5) / (len(q) + 5)))
                best[i] = max(best.get(i, 0.0), score + 0.5 * self.popularity[i])
        order = sorted(best, key=lambda i: -best[i])[:depth]
        return np.asarray(order, np.int64)

    def author_match(self, query: str, depth: int = 50,
                     candidates: np.ndarray | None = None) -> np.ndarray:
        """That author's books, most read first, when the query looks like an author name."""
        from rapidfuzz import fuzz, process

        q = norm_text(query)
        if len(q) < 4 or not self.author_names:
            return np.zeros(0, np.int64)
        pool = {name for name, _, _ in process.extract(q, self.author_names, scorer=fuzz.ratio,
                                                       limit=10, score_cutoff=60)}
        if candidates is not None:
            pool.update(norm_text(a) for r in candidates[:100].tolist()
                        for a in self.books[r].authors)
        scored = []
        for name in pool:
            if name not in self.author_rows:
                continue
            score = fuzz.WRatio(q, name, score_cutoff=85)
            # the query must look like the name, not just contain a common word of it
            if score and (fuzz.token_set_ratio(q, name) >= 80 or fuzz.partial_ratio(q, name) >= 85):
                scored.append((score, name))
        out: list[int] = []
        for _, name in sorted(scored, reverse=True)[:3]:
            out.extend(self.author_rows[name])
        seen: set[int] = set()
        return np.asarray([r for r in out if not (r in seen or seen.add(r))][:depth], np.int64)

    # ---- fusion ---------------------------------------------------------------------------
    def search(self, query: str, k: int = 10, exclude: Iterable[int] = ()) -> list[Hit]:
        """Top-``k`` books for ``query`` (reciprocal rank fusion of the four lists)."""
        query = (query or "").strip()
        if not query or not self.books:
            return []
        lex, info = self.lexical(query, depth=300)
        lists = {"lexical": lex[:DEPTH], "semantic": self.semantic(query),
                 "title": self.title_match(query, candidates=lex),
                 "author": self.author_match(query, candidates=lex)}
        fused: dict[int, float] = {}
        ranks: dict[int, dict[str, int]] = {}
        for name, rows in lists.items():
            w = WEIGHTS[name]
            for r, row in enumerate(rows.tolist()):
                fused[row] = fused.get(row, 0.0) + w / (RRF_K + r + 1)
                ranks.setdefault(row, {})[name] = r + 1
        # a faint popularity prior breaks ties between equally matched books
        for row in fused:
            fused[row] += 1e-4 * self.popularity[row]
        excl = {int(e) for e in exclude}
        order = sorted(fused, key=lambda r: -fused[r])
        hits = []
        for row in order:
            bid = int(self.ids[row])
            if bid in excl:
                continue
            rk = ranks[row]
            hits.append(Hit(bid, round(float(fused[row]), 6), _reason(rk, info),
                            {"ranks": rk, **({"corrections": info["corrections"]}
                                             if info["corrections"] else {})}))
            if len(hits) >= k:
                break
        return hits


def _top(scores: np.ndarray, depth: int, positive_only: bool = True) -> np.ndarray:
    pos = np.flatnonzero(scores > 0) if positive_only else np.arange(len(scores))
    if len(pos) == 0:
        return np.zeros(0, np.int64)
    if len(pos) > depth:
        part = np.argpartition(-scores[pos], depth)[:depth]
        pos = pos[part]
    return pos[np.argsort(-scores[pos], kind="stable")].astype(np.int64)


def _reason(ranks: dict[str, int], info: dict) -> str:
    parts = []
    if ranks.get("title", 99) <= 3:
        parts.append("title matches")
    if ranks.get("author", 99) <= 10:
        parts.append("by the author you named")
    if ranks.get("lexical", 99) <= 10 and not parts:
        parts.append("your words appear in its title, tags or description")
    if ranks.get("semantic", 99) <= 10:
        parts.append("close in meaning to your query")
    if info.get("corrections"):
        parts.append("read " + ", ".join(f"'{a}' as '{b}'" for a, b in info["corrections"].items()))
    return "; ".join(parts) or "related to your query"
