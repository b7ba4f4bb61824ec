"""The learned part of text search: a query-type classifier and per-type rankers.

* **Query type** — multinomial logistic regression over query-level features (length,
  stop words, "like X" / ISBN / series wording, how well the best title, author and
  series match, how much of the query is title/author vocabulary, the retrievers' best
  scores) into ``known`` (a title, author, series or ISBN, typos included),
  ``description`` (plot, theme, subject) and ``like`` ("books like X").
* **Ranking** — for ``known`` and ``description``, a pairwise logistic regression over
  the standardised candidate features (``CANDIDATE_FEATURES``; differences of a wanted
  and an unwanted candidate of the same query, RankNet-style, no intercept). A
  candidate's score is ``(p_known + p_like) * w_known . x + p_description * w_description . x``
  (a "like X" query is ranked as the known item X; the service then answers with books
  similar to X).

``fit`` chooses the regularisation of both models and the mixing rule (the probability
mixture or the most likely type only) by 5-fold cross-validation over the dev queries
only, then refits on all of them. The model is plain JSON (numbers, no pickle):
``search/data/textsearch_ranker.json`` ships with the package (fitted on the demo
catalog's dev queries by ``coverstory search fit-text``); a home may carry its own in
``<home>/models/textsearch_ranker.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CANDIDATE_FEATURES = (
    "bm25_score", "bm25_lrank", "names_score", "names_lrank",
    "tfidf_score", "tfidf_gap", "tfidf_lrank",
    "minilm_score", "minilm_gap", "minilm_lrank",
    "passage_score", "passage_gap", "passage_lrank", "has_passage", "min_lrank", "n_top10",
    "title_ratio", "title_wratio", "title_tokenset", "title_in_query", "combo_ratio",
    "author_score", "author_named", "series_score", "series_cover", "series_num",
    "exact_title", "isbn", "rated", "shelves", "popularity",
)
QUERY_FEATURES = (
    "q_words", "q_stop_frac", "q_like", "q_isbn", "q_isbn_found", "q_series_words",
    "q_series_num", "q_by", "q_desc_start", "q_digits", "q_names_frac",
    "q_content_only_frac", "q_names_vs_bm25", "q_title_ratio", "q_title_wratio",
    "q_title_tokenset", "q_author", "q_series", "q_exact", "q_minilm_max",
    "q_passage_max", "q_tfidf_max",
)
TYPES = ("known", "description", "like")
RANKED_TYPES = ("known", "description")
PACKAGED = Path(__file__).resolve().parent / "data" / "textsearch_ranker.json"
NO_PRIOR_SUFFIX = ".no-prior.json"          # the ablation: refitted without the prior
PRIOR_FEATURES = ("popularity", "rated")
HOME_MODEL = ("models", "textsearch_ranker.json")
KIND_TYPE = {"typo": "known", "title": "known", "author": "known", "series": "known",
             "isbn": "known", "description": "description", "like": "like"}


@dataclass
class RankerModel:
    cand_mean: np.ndarray
    cand_scale: np.ndarray
    weights: dict[str, np.ndarray]             # ranked type -> [F]
    q_mean: np.ndarray
    q_scale: np.ndarray
    clf_coef: np.ndarray                       # [len(TYPES), Q]
    clf_intercept: np.ndarray                  # [len(TYPES)]
    mixing: str = "mixture"                    # or "argmax"
    meta: dict = field(default_factory=dict)
    types: tuple[str, ...] = TYPES

    # ---- inference --------------------------------------------------------------------
    def type_probs(self, qf: dict[str, float]) -> dict[str, float]:
        x = (np.asarray([qf[k] for k in QUERY_FEATURES], np.float64) - self.q_mean) / self.q_scale
        z = self.clf_coef @ x + self.clf_intercept
        p = np.exp(z - z.max())
        p /= p.sum()
        return {t: float(v) for t, v in zip(self.types, p)}

    def score(self, X: np.ndarray, probs: dict[str, float]) -> np.ndarray:
        Z = (np.asarray(X, np.float64) - self.cand_mean) / self.cand_scale
        pk = probs.get("known", 0.0) + probs.get("like", 0.0)
        pd = probs.get("description", 0.0)
        if self.mixing == "argmax":
            pk, pd = float(pk >= pd), float(pd > pk)
        return (pk * (Z @ self.weights["known"]) + pd * (Z @ self.weights["description"])
                ).astype(np.float32)

    # ---- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"candidate_features": list(CANDIDATE_FEATURES),
                "query_features": list(QUERY_FEATURES), "types": list(self.types),
                "mixing": self.mixing,
                "cand_mean": self.cand_mean.tolist(), "cand_scale": self.cand_scale.tolist(),
                "weights": {t: w.tolist() for t, w in self.weights.items()},
                "q_mean": self.q_mean.tolist(), "q_scale": self.q_scale.tolist(),
                "clf_coef": self.clf_coef.tolist(), "clf_intercept": self.clf_intercept.tolist(),
                "meta": self.meta}

    def save(self, path: str | Path) -> None:
        from coverstory.search.bm25 import _atomic_write

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, (json.dumps(self.to_dict(), indent=1) + "\n").encode())

    @classmethod
    def load(cls, path: str | Path | None = None) -> "RankerModel":
        path = Path(path) if path is not None else PACKAGED
        if not path.is_file():
            raise FileNotFoundError(
                f"no text-search ranker at {path}: run `coverstory search fit-text --package`")
        d = json.loads(path.read_text())
        if (tuple(d["candidate_features"]) != CANDIDATE_FEATURES
                or tuple(d["query_features"]) != QUERY_FEATURES):
            raise ValueError(f"{path} was fitted on other features; refit it with "
                             "`coverstory search fit-text`")
        a = lambda k: np.asarray(d[k], np.float64)  # noqa: E731
        m = cls(a("cand_mean"), a("cand_scale"),
                {t: np.asarray(w, np.float64) for t, w in d["weights"].items()},
                a("q_mean"), a("q_scale"), a("clf_coef"), a("clf_intercept"),
                d.get("mixing", "mixture"), d.get("meta", {}), tuple(d["types"]))
        m.meta["path"] = str(path)
        return m

    def no_prior(self) -> "RankerModel":
        """The ablation fitted beside this model without the popularity prior (popularity
        and rated features), from ``<model>.no-prior.json``."""
        path = Path(self.meta["path"])
        return RankerModel.load(path.with_name(path.name.replace(".json", NO_PRIOR_SUFFIX)))

    @classmethod
    def for_home(cls, home: Path) -> "RankerModel":
        p = Path(home).joinpath(*HOME_MODEL)
        return cls.load(p if p.is_file() else None)


# ---- fitting -----------------------------------------------------------------------------
@dataclass
class Sample:
    """One dev query, featurised: its type, query features, candidates and which are wanted."""

    qid: str
    kind: str                          # the query set's kind (typo, description, ...)
    qf: dict[str, float]
    X: np.ndarray                      # [n, F]
    y: np.ndarray                      # [n] bool: the candidate is an expected book
    n_expected: int = 1

    @property
    def type(self) -> str:
        return KIND_TYPE[self.kind]


def samples_from(ts, queries: list[dict], log=None) -> list[Sample]:
    """Featurise resolved queries (``querysets.resolve``) with a ``TextSearch``."""
    out = []
    for i, q in enumerate(queries):
        if not q.get("ids"):
            continue
        query = q["query"]
        if q["kind"] == "like":          # the ranker's part of "like X" is finding X
            continue
        _, rows, X, qf, _ = ts.featurize(query)
        want = {ts.row[b] for b in q["ids"] if b in ts.row}
        y = np.asarray([r in want for r in rows.tolist()], bool)
        out.append(Sample(q["id"], q["kind"], qf, X, y, len(want)))
        if log and i % 100 == 0:
            log(f"featurised {i}/{len(queries)} queries")
    return out


def like_samples(ts, queries: list[dict]) -> list[Sample]:
    """"Books like X" queries, for the type classifier only (no candidates)."""
    out = []
    for q in queries:
        if q["kind"] == "like":
            _, _, _, qf, _ = ts.featurize(q["query"])
            out.append(Sample(q["id"], "like", qf, np.zeros((0, len(CANDIDATE_FEATURES))),
                              np.zeros(0, bool), 0))
    return out


def _pairs(samples: list[Sample], Z: list[np.ndarray], rng, max_neg: int = 60):
    """Differences wanted - unwanted within each query (both signs), hardest negatives
    (by the retrievers' summed log ranks) plus a random few."""
    lr = [CANDIDATE_FEATURES.index(k) for k in CANDIDATE_FEATURES if k.endswith("_lrank")]
    D = []
    for s, z in zip(samples, Z):
        pos = np.flatnonzero(s.y)
        neg = np.flatnonzero(~s.y)
        if not len(pos) or not len(neg):
            continue
        hard = neg[np.argsort(s.X[neg][:, lr].sum(1), kind="stable")[: max_neg // 2]]
        rest = np.setdiff1d(neg, hard)
        if len(rest):
            hard = np.concatenate([hard, rng.choice(rest, min(len(rest), max_neg // 2),
                                                    replace=False)])
        w = 1.0 / len(pos)                         # each query counts once
        for p in pos:
            D.append((z[p] - z[hard], np.full(len(hard), w / len(hard))))
    if not D:
        return np.zeros((0, Z[0].shape[1] if Z else len(CANDIDATE_FEATURES))), np.zeros(0)
    X = np.concatenate([d for d, _ in D])
    w = np.concatenate([w for _, w in D])
    return np.concatenate([X, -X]), np.concatenate([w, w]), np.r_[np.ones(len(X)), np.zeros(len(X))]


def _fit_ranker(samples: list[Sample], Z: list[np.ndarray], C: float, seed: int) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    got = _pairs(samples, Z, rng)
    if len(got) == 2 or not len(got[0]):
        return np.zeros(len(CANDIDATE_FEATURES))
    D, w, y = got
    m = LogisticRegression(C=C, fit_intercept=False, max_iter=2000)
    m.fit(D, y, sample_weight=w * len(samples))
    return m.coef_[0]


def _fit_classifier(samples: list[Sample], q_mean, q_scale, C: float):
    from sklearn.linear_model import LogisticRegression

    Q = (np.asarray([[s.qf[k] for k in QUERY_FEATURES] for s in samples]) - q_mean) / q_scale
    y = np.asarray([TYPES.index(s.type) for s in samples])
    present = sorted(set(y.tolist()))
    m = LogisticRegression(C=C, max_iter=5000)
    m.fit(Q, y)
    coef = np.full((len(TYPES), Q.shape[1]), 0.0)
    icpt = np.full(len(TYPES), -30.0)              # a type absent from training: never
    for j, c in enumerate(m.classes_.tolist()):
        if len(present) == 2:                       # binary: sklearn keeps one row
            sign = 1.0 if j == 1 else -1.0
            coef[c] = sign * m.coef_[0] / 2
            icpt[c] = sign * m.intercept_[0] / 2
        else:
            coef[c] = m.coef_[j]
            icpt[c] = m.intercept_[j]
    return coef, icpt


def _standardizer(arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    A = np.concatenate(arrays) if arrays else np.zeros((1, len(CANDIDATE_FEATURES)))
    mean = A.mean(0)
    scale = A.std(0)
    scale[scale < 1e-6] = 1.0
    return mean, scale


def build(samples: list[Sample], C_rank: float, C_clf: float, mixing: str,
          seed: int = 0) -> RankerModel:
    """Fit the classifier and the per-type rankers on ``samples``."""
    cand_mean, cand_scale = _standardizer([s.X for s in samples])
    Q = np.asarray([[s.qf[k] for k in QUERY_FEATURES] for s in samples], np.float64)
    q_mean, q_scale = Q.mean(0), Q.std(0)
    q_scale[q_scale < 1e-6] = 1.0
    Z = [(s.X - cand_mean) / cand_scale for s in samples]
    weights = {}
    for t in RANKED_TYPES:
        idx = [i for i, s in enumerate(samples) if s.type == t]
        weights[t] = _fit_ranker([samples[i] for i in idx], [Z[i] for i in idx], C_rank, seed)
    coef, icpt = _fit_classifier(samples, q_mean, q_scale, C_clf)
    return RankerModel(cand_mean, cand_scale, weights, q_mean, q_scale, coef, icpt, mixing)


def without_prior(samples: list[Sample]) -> list[Sample]:
    """Copies of ``samples`` with the prior features (popularity, rated) set to 0."""
    cols = [CANDIDATE_FEATURES.index(k) for k in PRIOR_FEATURES]
    out = []
    for s in samples:
        X = s.X.copy()
        X[:, cols] = 0.0
        out.append(Sample(s.qid, s.kind, s.qf, X, s.y, s.n_expected))
    return out


def ranked_positions(model: RankerModel, s: Sample) -> tuple[int | None, str]:
    """(0-based position of the first expected book, predicted type) for one sample, with
    the exact-title / ISBN guarantee applied as ``TextSearch.rank`` does."""
    probs = model.type_probs(s.qf)
    if not len(s.y):
        return None, max(probs, key=probs.get)
    sc = model.score(s.X, probs) + 1e-6 * s.X[:, CANDIDATE_FEATURES.index("popularity")]
    order = list(np.argsort(-sc, kind="stable"))
    isbn = [j for j in order if s.X[j, CANDIDATE_FEATURES.index("isbn")] > 0]
    exact = [j for j in order if s.X[j, CANDIDATE_FEATURES.index("exact_title")] > 0]
    first = (isbn or exact)[:1]
    if first:
        order = first + [j for j in order if j != first[0]]
    pos = [i for i, j in enumerate(order) if s.y[j]]
    return (pos[0] if pos else None), max(probs, key=probs.get)


def evaluate(model: RankerModel, samples: list[Sample]) -> dict:
    """Hit@1 / Hit@5 per type (like queries: finding X is not scored here) and type accuracy."""
    out: dict[str, list] = {}
    acc = []
    for s in samples:
        pos, pred = ranked_positions(model, s)
        acc.append(pred == s.type)
        if s.type == "like":
            continue
        out.setdefault(s.type, []).append(pos)
    res = {t: {"n": len(v), "hit@1": float(np.mean([p == 0 for p in v])),
               "hit@5": float(np.mean([p is not None and p < 5 for p in v]))}
           for t, v in out.items()}
    res["type_accuracy"] = float(np.mean(acc)) if acc else None
    return res


def cross_validate(samples: list[Sample], C_rank: float, C_clf: float, mixing: str,
                   folds: int = 5, seed: int = 0) -> dict:
    """Out-of-fold Hit@1/@5 per type over the dev samples (folds by a seeded shuffle of
    the query ids: the same query featurised on two catalogs stays in one fold)."""
    rng = np.random.default_rng(seed)
    qids = sorted({s.qid for s in samples})          # one query on several catalogs: one fold
    of = dict(zip(qids, rng.permutation(len(qids)) % folds))
    fold = np.asarray([of[s.qid] for s in samples])
    per: dict[str, list] = {}
    acc = []
    for f in range(folds):
        train = [s for s, g in zip(samples, fold) if g != f]
        test = [s for s, g in zip(samples, fold) if g == f]
        m = build(train, C_rank, C_clf, mixing, seed)
        for s in test:
            pos, pred = ranked_positions(m, s)
            acc.append(pred == s.type)
            if s.type != "like":
                per.setdefault(s.type, []).append(pos)
    res = {t: {"n": len(v), "hit@1": float(np.mean([p == 0 for p in v])),
               "hit@5": float(np.mean([p is not None and p < 5 for p in v]))}
           for t, v in per.items()}
    res["type_accuracy"] = float(np.mean(acc))
    # the objective: mean Hit@1 over the two ranked types, Hit@5 breaking ties
    res["objective"] = float(np.mean([res[t]["hit@1"] for t in RANKED_TYPES if t in res])
                             + 0.1 * np.mean([res[t]["hit@5"] for t in RANKED_TYPES if t in res]))
    return res


def fit(samples: list[Sample], log=print, seed: int = 0,
        grid_rank=(0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 3.0), grid_clf=(0.1, 1.0, 10.0),
        mixings=("mixture", "argmax")) -> tuple[RankerModel, dict]:
    """Choose C's and the mixing by 5-fold CV on ``samples`` (dev only), refit on all."""
    t0 = time.time()
    rows = []
    for mixing in mixings:
        for cr in grid_rank:
            for cc in grid_clf:
                r = cross_validate(samples, cr, cc, mixing, seed=seed)
                rows.append({"C_rank": cr, "C_clf": cc, "mixing": mixing, **r})
                log(f"fit: C_rank={cr} C_clf={cc} {mixing}: objective {r['objective']:.3f} "
                    f"known {r.get('known', {}).get('hit@1', 0):.3f} description "
                    f"{r.get('description', {}).get('hit@1', 0):.3f} "
                    f"type accuracy {r['type_accuracy']:.3f}")
    best = max(rows, key=lambda r: (r["objective"], -abs(np.log10(r["C_rank"]))))
    model = build(samples, best["C_rank"], best["C_clf"], best["mixing"], seed)
    model.meta = {"fitted": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "seed": seed,
                  "dev_queries": len({s.qid for s in samples}), "dev_samples": len(samples),
                  "dev_by_type": {t: sum(s.type == t for s in samples) for t in TYPES},
                  "chosen": {k: best[k] for k in ("C_rank", "C_clf", "mixing")},
                  "cv": best, "grid": rows, "seconds": round(time.time() - t0, 1)}
    # the ablation: same settings, no popularity prior (its CV on the same folds)
    bare = without_prior(samples)
    ablation = build(bare, best["C_rank"], best["C_clf"], best["mixing"], seed)
    ablation.meta = {"fitted": model.meta["fitted"], "ablation_of": "textsearch ranker",
                     "without": list(PRIOR_FEATURES), "chosen": model.meta["chosen"],
                     "cv": cross_validate(bare, best["C_rank"], best["C_clf"], best["mixing"],
                                          seed=seed)}
    model.meta["no_prior_cv"] = ablation.meta["cv"]
    model.ablation = ablation
    return model, model.meta
