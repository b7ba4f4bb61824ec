"""Text search: retrievers, query understanding, learned fusion, an exact-title guarantee.

For a query, five retrievers score every book of the catalog:

* **bm25** — BM25 (``search.bm25``) over title, series and authors (weight 2), genres,
  description and cover OCR; query words missing from the vocabulary are also read as the
  nearest title/author words ("tolkein" -> "tolkien", rapidfuzz);
* **names** — BM25 over title, series and authors only (initials joined: "jk", "rr");
* **tfidf** — TF-IDF cosine over word 1-2 grams of title, authors, description, genres;
* **minilm** — cosine with the book's MiniLM vector (``text/minilm-l6.pretrained``);
* **passage** — best MiniLM cosine over the sentences of the book's description.

The best books of each (plus titles and authors close to the query by rapidfuzz, and the
book an ISBN names) are the candidates. Each candidate gets features: every retriever's
score normalised per query (cosines raw and as the gap to the query's best, BM25 relative
to the best, log rank), fuzzy title / title+author / author / series similarity, exact
title, series number, ISBN, popularity. A learned ranker (``search.ranker``, fitted on the
dev queries by ``coverstory search fit-text``) first tells the query's type — a known
item (title, author, series, ISBN, typos), a description, or "books like X" — from
query-level features, then scores candidates with that type's weights (a mixture by the
type probabilities). A book whose title is exactly the query (or the query is its title
and author) is always first; popularity is one feature among many. The records of one work
(``search.editions``) take one place, shown as the most rated; the others are its editions.

The candidate and query features live in ``search.text_features`` (``CandidateFeatures``).

>>> ts = TextSearch.from_home(home)                 # doctest: +SKIP
>>> [h.book_id for h in ts.search("harry poter", k=3)]   # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from coverstory.results import Hit
from coverstory.search.bm25 import BM25, STOPWORDS, analyze, raw_tokens
from coverstory.search.fuzzy_pool import RatioPool
from coverstory.search.text_features import (  # noqa: F401 (re-exported)
    DEPTH, RETRIEVERS, CandidateFeatures, Query, _top)
from coverstory.search.query import (digits_for_number_words, isbn13_of, like_target, norm_text,
                                     series_number)
from coverstory.search.reasons import reason as _reason

__all__ = ["TextSearch", "norm_text", "book_document", "name_document", "split_title",
           "DOC_VERSION"]

DOC_VERSION = 2                  # bumped when book_document / name_document change
_SERIES_NOTE = re.compile(r"\s*\(([^()]*#[^()]*)\)\s*$")


def split_title(title: str) -> tuple[str, list[tuple[str, str]]]:
    """("Harry Potter and the ... Stone", [("Harry Potter", "1")]) of a goodbooks-style
    title with its series note in brackets; series without a number have ""."""
    m = _SERIES_NOTE.search(title or "")
    if not m:
        return (title or "").strip(), []
    series = []
    for part in m.group(1).split(";"):
        name, _, num = part.partition("#")
        name = name.strip().rstrip(",").strip()
        if name:
            series.append((name, num.strip()))
    return title[:m.start()].strip(), series


def _initials(author: str) -> list[str]:
    """"J.K. Rowling" -> ["jk"], "George R.R. Martin" -> ["rr"]: joined initials as typed."""
    out = []
    for run in re.findall(r"((?:\b[A-Za-z]\.\s*){2,})", author or ""):
        out.append(re.sub(r"[^A-Za-z]", "", run).lower())
    return out


def name_document(book) -> tuple[list[str], list[float]]:
    """Analysed title, series names and authors (+ joined initials) and their weights."""
    main, series = split_title(book.title)
    toks, wts = [], []
    for text, w in ([(main, 1.0)] + [(s, 0.6) for s, _ in series]
                    + [(a, 1.0) for a in book.authors]
                    + [(" ".join(_initials(a)), 1.0) for a in book.authors]):
        t = analyze(text)
        toks += t
        wts += [w] * len(t)
    return toks, wts


def book_document(book, ocr_text: str = "") -> tuple[list[str], list[float]]:
    """The analysed BM25 document of a book and its token weights: title, series and
    authors at 2, genres (tags, categories) at 0.5, description and cover OCR at 1."""
    names, nw = name_document(book)
    genres = analyze(" ".join(t.replace("-", " ") for t in book.tags + book.categories))
    rest = analyze(book.description or "") + analyze(ocr_text or "")
    return (names + genres + rest,
            [2.0 * w for w in nw] + [0.5] * len(genres) + [1.0] * len(rest))


@dataclass
class Ranked:
    """The outcome of ranking one query: candidate rows best first, and why."""

    rows: np.ndarray
    scores: np.ndarray
    probs: dict[str, float]
    query: Query
    features: np.ndarray             # [len(rows), n_features], in the ranker's order
    names: list[str]
    exact: set[int] = field(default_factory=set)
    # per place: the candidate row whose score and features earned it (``rows`` shows its
    # work's representative record) and the book ids of the work's other records
    matched: np.ndarray | None = None
    editions: list[list[int]] = field(default_factory=list)


class TextSearch(CandidateFeatures):
    """Text search over a list of books; see the module docstring."""

    def __init__(self, books: list, text_ids: np.ndarray | None = None,
                 text_vectors: np.ndarray | None = None,
                 embed_query: Callable[[str], np.ndarray] | None = None,
                 ocr: dict[int, str] | None = None, bm25: BM25 | None = None,
                 names: BM25 | None = None, passages=None, tfidf=None, model=None):
        self.books = list(books)
        self.ids = np.asarray([b.id for b in self.books], np.int64)
        self.row = {int(b): i for i, b in enumerate(self.ids.tolist())}
        n = len(self.books)
        self.titles, self.shorts, self.series, self.authors = [], [], [], []
        self.title_authors = []
        self.exact: dict[str, list[int]] = {}
        self.short_exact: dict[str, list[int]] = {}
        self.series_names: set[str] = set()
        for i, b in enumerate(self.books):
            main, series = split_title(b.title)
            t = norm_text(main)
            short = norm_text(main.split(":")[0]) if ":" in main else t
            self.titles.append(t)
            self.shorts.append(short)
            self.series.append([(norm_text(s), num) for s, num in series])
            au = [norm_text(a) for a in b.authors]
            self.authors.append(au)
            self.title_authors.append(" ".join([t, *(s for s, _ in self.series[-1]), *au[:2]]))
            if t:
                self.exact.setdefault(t, []).append(i)
            if short and short != t:
                self.short_exact.setdefault(short, []).append(i)
            self.series_names.update(x for x, _ in self.series[-1])
        pop = np.asarray([b.ratings_count or 0 for b in self.books], np.float64)
        self.popularity = np.log1p(pop)
        self.pop_feature = (self.popularity / max(float(self.popularity.max(initial=0)), 1.0)
                            ).astype(np.float32)
        # how complete a record is (a shop listing vs a book readers have shelved)
        self.rated = np.asarray([bool(b.ratings_count) for b in self.books], np.float32)
        self.shelves = np.asarray([math.log1p(len(b.tags) + len(b.categories)) / math.log(50)
                                   for b in self.books], np.float32)
        self.isbn: dict[str, list[int]] = {}
        for i, b in enumerate(self.books):
            if b.isbn13:
                self.isbn.setdefault(str(b.isbn13), []).append(i)
        # authors -> rows, most read first
        self.author_rows: dict[str, list[int]] = {}
        for i, au in enumerate(self.authors):
            for a in au:
                self.author_rows.setdefault(a, []).append(i)
        for rows in self.author_rows.values():
            rows.sort(key=lambda r: -self.popularity[r])
        from coverstory.search.editions import Editions

        self.editions = Editions(self.books, self.popularity)
        self.author_names = list(self.author_rows)
        words: set[str] = set()
        for s in self.title_authors:
            words.update(w for w in s.split() if len(w) >= 3 and not w.isdigit())
        self.name_words = sorted(words)
        self.word_pool, self.author_pool = RatioPool(self.name_words), RatioPool(self.author_names)
        ocr = ocr or {}
        if bm25 is None:
            docs = [book_document(b, ocr.get(b.id, "")) for b in self.books]
            bm25 = BM25().fit([d for d, _ in docs], [w for _, w in docs])
        self.bm25 = bm25
        if names is None:
            docs = [name_document(b) for b in self.books]
            names = BM25(k1=1.2, b=0.5).fit([d for d, _ in docs], [w for _, w in docs])
        self.names = names
        if tfidf is None and n:
            from coverstory.search.tfidf import TfidfIndex, tfidf_text

            tfidf = TfidfIndex([tfidf_text(b) for b in self.books])
        self.tfidf = tfidf
        self.embed_query = embed_query
        self.sem_rows = None
        self.sem_vecs = None
        if text_ids is not None and text_vectors is not None and len(text_ids):
            keep = [(self.row[int(i)], j) for j, i in enumerate(np.asarray(text_ids).tolist())
                    if int(i) in self.row]
            self.sem_rows = np.asarray([r for r, _ in keep], np.int64)
            self.sem_vecs = np.ascontiguousarray(
                np.asarray(text_vectors, np.float32)[[j for _, j in keep]])
        self._sem_unique = (self.sem_rows is not None
                            and len(np.unique(self.sem_rows)) == len(self.sem_rows))
        self.passages = passages.bind(self.row, n) if passages is not None else None
        self._model = model

    @property
    def model(self):
        """The learned ranker: the one given (or made by the callable given) at first use,
        else the packaged one."""
        if self._model is None:
            from coverstory.search.ranker import RankerModel

            self._model = RankerModel.load()
        elif callable(self._model) and not hasattr(self._model, "score"):
            self._model = self._model()
        return self._model

    @model.setter
    def model(self, value) -> None:
        self._model = value

    # ---- the query ----------------------------------------------------------------------
    def parse(self, query: str) -> Query:
        norm = norm_text(query)
        variants = [norm]
        digits = digits_for_number_words(norm)
        if digits != norm:
            variants.append(digits)
        q = Query(query, norm, variants, like_target(query), isbn13_of(query),
                  series_number(query))
        if q.isbn is None:                 # an ISBN's "isbn" is not a misspelt "lisbon"
            q.terms, q.weights, q.corrections = self.corrected_terms(query, q.candidates)
        else:
            q.terms = [t for w in raw_tokens(norm) if w not in STOPWORDS for t in analyze(w)]
            q.weights = [1.0] * len(q.terms)
        return q

    def corrected_terms(self, query: str, candidates: dict[str, list[str]] | None = None
                        ) -> tuple[list[str], list[float], dict[str, str]]:
        """Analysed query terms (+ typo corrections at weight 0.8) and the corrections made
        (every reading of a word is added to ``candidates`` when given)."""
        terms, weights, fixes = [], [], {}
        for w in raw_tokens(norm_text(query)):
            if w in STOPWORDS:
                continue
            t = analyze(w)
            if not t:
                continue
            terms.append(t[0])
            weights.append(1.0)
            if t[0] in self.names.vocab or len(w) < 4 or w.isdigit():
                continue
            for cand, score, _ in self.word_pool.extract(w, limit=2, score_cutoff=75):
                ct = analyze(cand)
                if ct and ct[0] in self.bm25.vocab and ct[0] != t[0]:
                    terms.append(ct[0])
                    weights.append(0.8 * score / 100)
                    fixes.setdefault(w, cand)
                    if candidates is not None:
                        candidates.setdefault(w, []).append(cand)
        return terms, weights, fixes

    # ---- retrievers (every book scored) -------------------------------------------------
    def minilm_scores(self, query: str, qvec: np.ndarray | None = None) -> np.ndarray | None:
        """MiniLM cosine of every row (a book with several vectors: its best); None without
        vectors or an encoder."""
        if self.sem_vecs is None or (self.embed_query is None and qvec is None):
            return None
        q = qvec if qvec is not None else np.asarray(self.embed_query(query), np.float32)
        s = self.sem_vecs @ np.asarray(q, np.float32).reshape(-1)
        out = np.full(len(self.books), -1.0, np.float32)
        if self._sem_unique:
            out[self.sem_rows] = s
        else:
            np.maximum.at(out, self.sem_rows, s)
        return out

    def tfidf_scores(self, query: str) -> np.ndarray:
        return (self.tfidf.scores(query) if self.tfidf is not None
                else np.zeros(len(self.books), np.float32))

    def retrieve(self, q: Query, qvec: np.ndarray | None = None) -> dict[str, np.ndarray | None]:
        """Every retriever's scores of every row; ``qvec``: the MiniLM vector of ``q.text``
        when the caller has it already (else encoded here; unused without an encoder)."""
        if self.embed_query is None or (self.sem_vecs is None and self.passages is None):
            qvec = None
        else:
            qvec = np.asarray(self.embed_query(q.text) if qvec is None else qvec,
                              np.float32).reshape(-1)
        return {
            "bm25": self.bm25.scores(q.terms, q.weights),
            "names": self.names.scores(q.terms, q.weights),
            "tfidf": self.tfidf_scores(q.text),
            "minilm": self.minilm_scores(q.text, qvec) if qvec is not None else None,
            "passage": (self.passages.scores(qvec) if self.passages is not None
                        and qvec is not None and len(self.passages) else None),
        }

    # ---- compatibility: single lists (the bench scores each alone) -------------------------
    def lexical(self, query: str, depth: int = DEPTH) -> tuple[np.ndarray, dict]:
        q = self.parse(query)
        return _top(self.bm25.scores(q.terms, q.weights), depth), {"corrections": q.corrections}

    def semantic(self, query: str, depth: int = DEPTH) -> np.ndarray:
        s = self.minilm_scores(query)
        return np.zeros(0, np.int64) if s is None else _top(s, depth, positive_only=False)

    def title_match(self, query: str, depth: int = 50,
                    candidates: np.ndarray | None = None) -> np.ndarray:
        """Books whose title (or title + author) looks like the query, typos forgiven."""
        q = self.parse(query)
        rows = self._name_candidates(q, candidates)
        if not len(rows):
            return rows
        f = self._fuzzy(q, rows)
        s = np.maximum(f["title_wratio"], f["title_tokenset"]) + 0.01 * self.pop_feature[rows]
        keep = s >= 0.72
        order = np.argsort(-s[keep], kind="stable")[:depth]
        return rows[keep][order]

    def author_match(self, query: str, depth: int = 50,
                     candidates: np.ndarray | None = None) -> np.ndarray:
        """That author's books, most read first, when the query looks like an author name."""
        q = self.parse(query)
        rows, _ = self._author_candidates(q.norm, depth,
                                          near=_top(self.names.scores(q.terms, q.weights), 20))
        return rows

    # ---- candidates and their features ---------------------------------------------------
    def _name_candidates(self, q: Query, extra: np.ndarray | None = None) -> np.ndarray:
        """Rows whose title (or title + series + authors) shares the most character
        trigrams with the query: typo-tolerant, ~1 ms for 31k books."""
        pool: set[int] = set() if extra is None else set(np.asarray(extra).tolist())
        # a title is rarely longer than 12 words: longer queries describe, and the
        # name-BM25 short list covers the titles they mention
        if len(q.norm) >= 3 and len(q.norm.split()) <= 12 and self.books:
            grams = self._title_grams()
            for v in q.variants:
                s = grams.scores(v)
                pool.update(_top(s, 40).tolist())
        return np.asarray(sorted(pool), np.int64)

    def _title_grams(self):
        if getattr(self, "_grams", None) is None:
            from coverstory.search.tfidf import CharGrams

            self._grams = CharGrams(self.title_authors, self.titles)
        return self._grams

    def _author_candidates(self, qn: str, depth: int = 30,
                           near: np.ndarray | None = None) -> tuple[np.ndarray, float]:
        """Books of the authors the query names (typos forgiven), most read first, and how
        well the best name matched (0-1). Names are looked for among all authors by plain
        edit ratio and among the authors of ``near`` (the name-BM25 short list) by WRatio."""
        from rapidfuzz import fuzz

        if len(qn) < 4 or not self.author_names:
            return np.zeros(0, np.int64), 0.0
        pool = {name for name, _, _ in self.author_pool.extract(qn, limit=5,
                                                                score_cutoff=70)}
        if near is not None:
            pool.update(a for r in near[:20].tolist() for a in self.authors[r])
        scored = []
        for name in pool:
            score = fuzz.WRatio(qn, name, score_cutoff=85)
            # the query must look like the name, not just contain a common word of it
            if score and (fuzz.token_set_ratio(qn, name) >= 80 or fuzz.partial_ratio(name, qn) >= 85):
                scored.append((score, name))
        out: list[int] = []
        best = 0.0
        for score, name in sorted(scored, reverse=True)[:3]:
            best = max(best, score / 100)
            out.extend(self.author_rows[name][:depth])
        seen: set[int] = set()
        return np.asarray([r for r in out if not (r in seen or seen.add(r))], np.int64), best

    # ---- ranking ------------------------------------------------------------------------
    def rank(self, query: str, force_type: str | None = None,
             qvec: np.ndarray | None = None, collapse: bool = True) -> Ranked:
        """All candidates of ``query``, best first (learned scores, exact title first), one
        place per work (``collapse=False``: one per record); ``qvec``: the query's MiniLM
        vector when the caller has encoded it already."""
        from coverstory.search.ranker import CANDIDATE_FEATURES

        q, rows, X, qf, exact = self.featurize(query, qvec=qvec)
        probs = self.model.type_probs(qf) if force_type is None else {
            t: float(t == force_type) for t in self.model.types}
        s = self.model.score(X, probs) if len(rows) else np.zeros(0, np.float32)
        s = s + 1e-6 * self.popularity[rows]           # ties: the more read first
        order = np.argsort(-s, kind="stable")
        rows, s, X = rows[order], s[order], X[order]
        # the exact-title guarantee (and an ISBN): that book first, whatever the scores say
        isbn_col = CANDIDATE_FEATURES.index("isbn")
        first = [j for j in range(len(rows)) if X[j, isbn_col] > 0] or [
            j for j in range(len(rows)) if int(rows[j]) in exact]
        if first:
            j = first[0]
            idx = [j] + [i for i in range(len(rows)) if i != j]
            rows, s, X = rows[idx], s[idx], X[idx]
        rk = Ranked(rows, s, probs, q, X, list(CANDIDATE_FEATURES), exact, matched=rows,
                    editions=[[] for _ in range(len(rows))])
        return self.collapse(rk) if collapse else rk

    def collapse(self, rk: Ranked) -> Ranked:
        """One place per work (``search.editions.collapse``)."""
        from coverstory.search.editions import collapse

        return collapse(rk, self.editions, self.ids)

    def search(self, query: str, k: int = 10, exclude: Iterable[int] = (),
               force_type: str | None = None) -> list[Hit]:
        """Top-``k`` books for ``query``."""
        query = (query or "").strip()
        if not query or not self.books:
            return []
        return self.hits(self.rank(query, force_type=force_type), k, exclude)

    def hits(self, rk: Ranked, k: int = 10, exclude: Iterable[int] = ()) -> list[Hit]:
        """The first ``k`` books of a ranking as Hits (reason and details), leaving out a
        work with a record in ``exclude``; ``details``: ``editions`` (the work's other
        records), ``matched`` (the record that matched when another one is shown)."""
        excl = {int(e) for e in exclude}
        kind = max(rk.probs, key=rk.probs.get)
        matched = rk.matched if rk.matched is not None else rk.rows
        hits = []
        for j, row in enumerate(rk.rows.tolist()):
            bid = int(self.ids[row])
            others = rk.editions[j] if j < len(rk.editions) else []
            if bid in excl or (excl and not excl.isdisjoint(others)):
                continue
            m = int(matched[j])
            feats = dict(zip(rk.names, rk.features[j].tolist()))
            details = {"query_type": kind,
                       "type_probs": {t: round(p, 3) for t, p in rk.probs.items()},
                       "features": {n: round(v, 3) for n, v in feats.items() if v}}
            if rk.query.corrections:
                details["corrections"] = rk.query.corrections
            if others:
                details["editions"] = list(others)
            reason = _reason(feats, rk.query, m in rk.exact, self.title_authors[m])
            if m != row:
                details["matched"] = int(self.ids[m])
                if self.books[m].title != self.books[row].title:
                    reason += f" (as '{self.books[m].title}', another edition)"
            hits.append(Hit(bid, round(float(rk.scores[j]), 6), reason, details))
            if len(hits) >= k:
                break
        return hits
