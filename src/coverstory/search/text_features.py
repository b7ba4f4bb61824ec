"""Candidate features of text search: what the learned ranker scores for each candidate
book of a query (retriever scores normalised per query, fuzzy title/author/series
similarity, exact title, series number, ISBN, popularity) and the query-level features
that tell its type. Part of :class:`coverstory.search.text.TextSearch`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from coverstory.search.bm25 import STOPWORDS

DEPTH = 100                      # how deep each retriever's list goes into the candidates
RETRIEVERS = ("bm25", "names", "tfidf", "minilm", "passage")
_SERIES_WORDS = re.compile(r"\b(series|trilogy|saga|sequels?|books|novels|installments?|"
                           r"chronicles|cycle|in order)\b", re.I)
_BY = re.compile(r"(^|\s)(by|author|written)\s", re.I)
_DESC_START = re.compile(r"^\s*(the one|a |an |about |where |it'?s about|story|book about|"
                         r"novel about|something about|there'?s)", re.I)


@dataclass
class Query:
    """A query as the ranker sees it."""

    text: str
    norm: str
    variants: list[str]              # norm, and with spoken numbers as digits
    like: str | None                 # X of "books like X"
    isbn: str | None
    series_num: int | None
    terms: list[str] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    corrections: dict[str, str] = field(default_factory=dict)       # word -> best reading
    candidates: dict[str, list[str]] = field(default_factory=dict)  # word -> every reading


def _top(scores: np.ndarray, depth: int, positive_only: bool = True) -> np.ndarray:
    pos = np.flatnonzero(scores > 0) if positive_only else np.arange(len(scores))
    if len(pos) == 0:
        return np.zeros(0, np.int64)
    if len(pos) > depth:
        part = np.argpartition(-scores[pos], depth)[:depth]
        pos = pos[part]
    return pos[np.argsort(-scores[pos], kind="stable")].astype(np.int64)


class CandidateFeatures:
    """The feature methods of :class:`~coverstory.search.text.TextSearch` (a mixin: they
    read its books, retrievers and indexes)."""

    def _fuzzy(self, q: Query, rows: np.ndarray) -> dict[str, np.ndarray]:
        """rapidfuzz similarities (0-1) of the query to each row's title, authors, series."""
        from rapidfuzz import fuzz, process

        n = len(rows)
        rl = rows.tolist()
        titles = [self.titles[r] for r in rl]
        shorts = [self.shorts[r] for r in rl]
        tas = [self.title_authors[r] for r in rl]
        out = {k: np.zeros(n, np.float32) for k in
               ("title_ratio", "title_wratio", "title_tokenset", "title_in_query",
                "combo_ratio", "author_score", "series_score", "series_cover")}
        if not n or not q.norm:
            return out
        for v in q.variants:
            out["title_ratio"] = np.maximum(out["title_ratio"], np.maximum(
                process.cdist([v], titles, scorer=fuzz.ratio)[0],
                process.cdist([v], shorts, scorer=fuzz.ratio)[0]) / 100)
            out["title_wratio"] = np.maximum(out["title_wratio"], process.cdist(
                [v], titles, scorer=fuzz.WRatio)[0] / 100)
            out["title_tokenset"] = np.maximum(out["title_tokenset"], process.cdist(
                [v], tas, scorer=fuzz.token_set_ratio)[0] / 100)
            # the short title inside the query ("the goldfinch dona tart")
            out["title_in_query"] = np.maximum(out["title_in_query"], process.cdist(
                shorts, [v], scorer=fuzz.partial_ratio)[:, 0] / 100)
        # the whole query against title + series / author, either order, typos and all
        # ("the hunger gaems mockinjay", "the goldfinch dona tart")
        combos = [[every[r] for r in rl] for every in self._combos()]
        for v in q.variants:
            for c in range(4):
                out["combo_ratio"] = np.maximum(out["combo_ratio"], process.cdist(
                    [v], combos[c], scorer=fuzz.ratio)[0] / 100)
        # titles much shorter than the query are matched by partial ratios too easily
        qlen = len(q.norm)
        tlen = np.asarray([len(t) for t in shorts], np.float32)
        out["title_in_query"] *= np.minimum(1.0, (tlen + 4) / (qlen + 4)) ** 0.5
        # an author's name inside the query ("the goldfinch dona tart"), and how much of
        # the query a series name is ("gone" in "gone gurl": half); first two of each
        for key, lists in (("author_score", [self.authors[r][:2] for r in rl]),
                           ("series_score", [[x for x, _ in self.series[r][:2]] for r in rl])):
            flat = [(j, x) for j, xs in enumerate(lists) for x in xs if len(x) >= (
                4 if key == "author_score" else 3)]
            if not flat:
                continue
            owner = np.asarray([j for j, _ in flat])
            names = [x for _, x in flat]
            if key == "author_score":
                sc = process.cdist(names, [q.norm], scorer=fuzz.partial_ratio)[:, 0] / 100
            else:
                sc = process.cdist(names, [q.norm], scorer=fuzz.token_set_ratio)[:, 0] / 100
                part = process.cdist(names, [q.norm], scorer=fuzz.partial_ratio)[:, 0]
                cover = np.where(part >= 90, np.minimum(1.0, np.asarray(
                    [len(x) for x in names], np.float32) / max(len(q.norm), 1)), 0.0)
                np.maximum.at(out["series_cover"], owner, cover.astype(np.float32))
            np.maximum.at(out[key], owner, sc.astype(np.float32))
        return out

    def _combos(self) -> list[list[str]]:
        """Every row's title with its first series and with its first author, either
        order: four lists over all rows (made once, not per candidate and query)."""
        got = getattr(self, "_combo_strings", None)
        if got is None or len(got[0]) != len(self.titles):
            got = [[], [], [], []]
            for t, ser, au in zip(self.titles, self.series, self.authors):
                s = ser[0][0] if ser else ""
                a = au[0] if au else ""
                for c, x in enumerate((f"{t} {s}", f"{s} {t}", f"{t} {a}", f"{a} {t}")):
                    got[c].append(x)
            self._combo_strings = got
        return got

    def featurize(self, query: str, qvec: np.ndarray | None = None
                  ) -> tuple[Query, np.ndarray, np.ndarray, dict[str, float], set[int]]:
        """(parsed query, candidate rows, candidate features [n, F], query features,
        rows whose title is exactly the query) — everything the ranker needs; ``qvec``:
        the query's MiniLM vector if already encoded."""
        from coverstory.search.ranker import CANDIDATE_FEATURES

        q = self.parse(query)
        sc = self.retrieve(q, qvec)
        n = len(self.books)
        pool: set[int] = set()
        ranks: dict[str, np.ndarray] = {}
        for name in RETRIEVERS:
            s = sc[name]
            if s is None:
                continue
            top = _top(s, DEPTH, positive_only=name in ("bm25", "names", "tfidf"))
            rk = np.full(n, DEPTH, np.float32)
            rk[top] = np.arange(len(top), dtype=np.float32)
            ranks[name] = rk
            pool.update(top[: (50 if name == "names" else DEPTH)].tolist())
        name_rows = self._name_candidates(q, None)
        pool.update(name_rows.tolist())
        names_top = _top(sc["names"], 20)
        author_rows, author_best = self._author_candidates(q.norm, near=names_top)
        pool.update(author_rows.tolist())
        isbn_rows = self.isbn.get(q.isbn, []) if q.isbn else []
        pool.update(isbn_rows)
        exact = self._exact_rows(q)
        pool.update(exact)
        rows = np.asarray(sorted(pool), np.int64)
        fz = self._fuzzy(q, rows)
        f: dict[str, np.ndarray] = {}
        for name in RETRIEVERS:
            s = sc[name]
            if s is None or not len(rows):
                for k in ("score", "gap", "lrank"):
                    f[f"{name}_{k}"] = np.zeros(len(rows), np.float32)
                continue
            v = s[rows].astype(np.float32)
            best = float(s.max()) if len(s) else 0.0
            if name in ("bm25", "names"):
                f[f"{name}_score"] = v / best if best > 0 else np.zeros_like(v)
                f[f"{name}_gap"] = np.zeros_like(v)
            else:
                f[f"{name}_score"] = np.maximum(v, 0)
                f[f"{name}_gap"] = np.where(v >= 0, v - best, -1.0).astype(np.float32)
            f[f"{name}_lrank"] = (np.log1p(ranks[name][rows]) / math.log1p(DEPTH)).astype(np.float32)
        lr = np.stack([f[f"{k}_lrank"] for k in ("bm25", "tfidf", "minilm", "passage")
                       if sc[k] is not None], axis=1) if len(rows) else np.zeros((0, 1))
        f["min_lrank"] = lr.min(1) if lr.size else np.ones(len(rows), np.float32)
        top10 = math.log1p(10) / math.log1p(DEPTH)
        f["n_top10"] = (lr < top10).sum(1).astype(np.float32) if lr.size else np.zeros(
            len(rows), np.float32)
        f["has_passage"] = (sc["passage"][rows] > -1).astype(np.float32) if (
            sc["passage"] is not None and len(rows)) else np.zeros(len(rows), np.float32)
        f.update(fz)
        f["exact_title"] = np.asarray([r in exact for r in rows.tolist()], np.float32)
        f["isbn"] = np.asarray([r in isbn_rows for r in rows.tolist()], np.float32)
        author_set = set(author_rows.tolist())
        f["author_named"] = np.asarray([r in author_set for r in rows.tolist()], np.float32)
        f["series_num"] = self._series_num_feature(q, rows, fz["series_score"])
        f["popularity"] = self.pop_feature[rows] if len(rows) else np.zeros(0, np.float32)
        f["rated"] = self.rated[rows] if len(rows) else np.zeros(0, np.float32)
        f["shelves"] = self.shelves[rows] if len(rows) else np.zeros(0, np.float32)
        X = np.stack([f[k] for k in CANDIDATE_FEATURES], axis=1) if len(rows) else np.zeros(
            (0, len(CANDIDATE_FEATURES)), np.float32)
        qf = self._query_features(q, sc, fz, author_best, bool(exact), bool(isbn_rows))
        return q, rows, X.astype(np.float32), qf, set(exact)

    def _series_num_feature(self, q: Query, rows: np.ndarray, series_score: np.ndarray):
        """1 for the book at the position the query asks for ("book 3", "the last") in a
        series the query names; the number must belong to that series, not to a second
        series of the same book ("Moving Pictures (Discworld, #10; Industrial Revolution, #1)")."""
        from rapidfuzz import fuzz

        out = np.zeros(len(rows), np.float32)
        if q.series_num is None:
            return out
        named: list[tuple[int, str, float]] = []        # (candidate, series, number)
        for j, r in enumerate(rows.tolist()):
            if series_score[j] < 0.8:
                continue
            for s, num in self.series[r]:
                try:
                    k = float(num)
                except ValueError:
                    continue
                if len(s) >= 3 and fuzz.token_set_ratio(s, q.norm) >= 80:
                    named.append((j, s, k))
        if q.series_num == -1:             # "the last one": highest whole number per series
            best: dict[str, tuple[float, int]] = {}
            for j, s, k in named:
                if k == int(k) and (s not in best or k > best[s][0]):
                    best[s] = (k, j)
            for _, j in best.values():
                out[j] = 1.0
        else:
            for j, _, k in named:
                if k == q.series_num:
                    out[j] = 1.0
        return out

    def _exact_rows(self, q: Query) -> list[int]:
        """Rows whose title is the query, or the query is that title plus one of its
        authors (either order); the title before a subtitle counts too ("wild" for "Wild:
        From Lost to Found"), unless the query is a series or author name ("harry potter"
        is not "Harry Potter: Film Wizardry", "roald dahl" not "Roald Dahl: Whizzpopping
        Joke Book")."""
        from rapidfuzz import fuzz

        def titled(key: str) -> list[int]:
            rows = list(self.exact.get(key, []))
            if key not in self.series_names and key not in self.author_rows:
                rows += self.short_exact.get(key, [])
            return rows

        out: list[int] = []
        for v in q.variants:
            out += titled(v)
            words = v.split()
            for cut in range(1, len(words)):
                for title, rest in ((" ".join(words[:cut]), " ".join(words[cut:])),
                                    (" ".join(words[cut:]), " ".join(words[:cut]))):
                    for r in titled(title):
                        if any(fuzz.ratio(rest, a) >= 90 or fuzz.ratio(rest, a.split()[-1]) >= 90
                               for a in self.authors[r] if a):
                            out.append(r)
        seen: set[int] = set()
        return [r for r in out if not (r in seen or seen.add(r))]

    def _query_features(self, q: Query, sc: dict, fz: dict, author_best: float,
                        exact: bool, isbn: bool) -> dict[str, float]:
        words = q.norm.split()
        content = [t for t, w in zip(q.terms, q.weights) if w == 1.0]   # not the corrections
        in_names = [t in self.names.vocab for t in content]
        in_bm25 = [t in self.bm25.vocab for t in content]
        bm, nm = sc["bm25"], sc["names"]
        bm_max = float(bm.max()) if len(bm) else 0.0
        nm_max = float(nm.max()) if len(nm) else 0.0

        def mx(a):
            return float(a.max()) if a is not None and len(a) else 0.0

        return {
            "q_words": math.log1p(len(words)),
            "q_stop_frac": (sum(w in STOPWORDS for w in words) / len(words)) if words else 0.0,
            "q_like": float(q.like is not None),
            "q_isbn": float(q.isbn is not None),
            "q_isbn_found": float(isbn),
            "q_series_words": float(bool(_SERIES_WORDS.search(q.text))),
            "q_series_num": float(q.series_num is not None),
            "q_by": float(bool(_BY.search(q.text))),
            "q_desc_start": float(bool(_DESC_START.search(q.text))),
            "q_digits": float(any(c.isdigit() for c in q.text)),
            "q_names_frac": (sum(in_names) / len(in_names)) if in_names else 0.0,
            "q_content_only_frac": (sum(b and not a for a, b in zip(in_names, in_bm25))
                                    / len(in_bm25)) if in_bm25 else 0.0,
            "q_names_vs_bm25": nm_max / (bm_max + 1e-6) if bm_max > 0 else 0.0,
            "q_title_ratio": mx(fz["title_ratio"]),
            "q_title_wratio": mx(fz["title_wratio"]),
            "q_title_tokenset": mx(fz["title_tokenset"]),
            "q_author": author_best,
            "q_series": mx(fz["series_score"]),
            "q_exact": float(exact),
            "q_minilm_max": mx(sc["minilm"]),
            "q_passage_max": mx(sc["passage"]),
            "q_tfidf_max": mx(sc["tfidf"]),
        }
