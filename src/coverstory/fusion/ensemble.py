"""Members that are not trained networks, and a validation-weighted ensemble of per-class
scores (``coverstory bench fusion``, issue 16 part 2).

* :func:`tfidf_logreg`: a multinomial logistic regression on the full sparse TF-IDF of
  "title by author" (word 1-2-grams + char 2-5-grams; vocabulary, idf and weights fitted on
  the training books only), where the networks only see its SVD 256 reduction.
* :func:`author_counts` / :func:`author_log_ratio`: what the training books of the same
  author say about the category: per book, the category counts of the training books that
  share one of its authors, **other works only** (a book's own dedup group never counts, so a
  training book is scored as a new book of a known author, like a validation or test book);
  as scores, log((counts + a·prior) / (n + a)) - log(prior), 0 when the author is unknown.
* :class:`WeightedEnsemble`: scores = Σ w_m · log_softmax(member_m); the weights on a small
  grid by coordinate ascent on validation top-1 (:func:`fit_weights`). Its validation
  figure for model selection is **cross-fitted** (:func:`cross_fit_top1`: weights fitted on
  one half of the validation books, scored on the other, both ways, over a few random
  halvings), so an ensemble does not win the selection by fitting its weights to the very
  books it is scored on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def tfidf_logreg(texts: Sequence[str], y: np.ndarray, train_idx: np.ndarray,
                 n_classes: int, c: float = 2.0, max_iter: int = 300) -> np.ndarray:
    """Log-probabilities [n, n_classes] of every text from a logistic regression fitted on
    ``texts[train_idx]`` (TF-IDF vocabulary and idf from the training texts too)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train_texts = [texts[i] for i in train_idx]
    wv = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(train_texts)
    cv = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True,
                         max_features=100000).fit(train_texts)
    x = hstack([wv.transform(texts), cv.transform(texts)]).tocsr()
    lr = LogisticRegression(C=c, max_iter=max_iter).fit(x[train_idx], y[train_idx])
    out = np.full((len(texts), n_classes), -30.0)
    out[:, lr.classes_] = lr.predict_log_proba(x)
    return out


def author_counts(authors: Sequence[Sequence[str]], groups: Sequence[str], y: np.ndarray,
                  train_idx: np.ndarray, n_classes: int) -> np.ndarray:
    """[n, n_classes]: category counts of the training books sharing an author with each
    book, books of the same group (work) left out. Author names compare case-folded."""
    by_author: dict[str, dict[str, np.ndarray]] = defaultdict(dict)
    for i in train_idx:
        for a in {a.strip().casefold() for a in authors[i] if a.strip()}:
            c = by_author[a].setdefault(groups[i], np.zeros(n_classes))
            c[y[i]] += 1
    out = np.zeros((len(authors), n_classes))
    for i, names in enumerate(authors):
        for a in {a.strip().casefold() for a in names if a.strip()}:
            for g, c in by_author.get(a, {}).items():
                if g != groups[i]:
                    out[i] += c
    return out


def author_log_ratio(counts: np.ndarray, prior: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Smoothed log-likelihood ratio of the category given the author's other books."""
    prior = np.clip(np.asarray(prior, np.float64), 1e-6, None)
    prior = prior / prior.sum()
    p = (counts + alpha * prior) / (counts.sum(1, keepdims=True) + alpha)
    return np.log(p) - np.log(prior)


@dataclass
class WeightedEnsemble:
    """scores = Σ weights[m] · log_softmax(members[m]) (members missing from ``weights``
    count 0)."""

    weights: dict[str, float] = field(default_factory=dict)

    def scores(self, members: dict[str, np.ndarray]) -> np.ndarray:
        used = [m for m, w in self.weights.items() if w]
        if not used:
            raise ValueError("an ensemble with every weight 0")
        return sum(self.weights[m] * log_softmax(members[m]) for m in used)


def _top1(members, w, y, idx) -> float:
    s = sum(w[m] * members[m][idx] for m in members if w[m])
    if isinstance(s, int):
        return 0.0
    return float((s.argmax(1) == y[idx]).mean())


def fit_weights(members: dict[str, np.ndarray], y: np.ndarray, idx: np.ndarray | None = None,
                grid: Sequence[float] = GRID, rounds: int = 3,
                at_least: dict[str, float] | None = None) -> tuple[WeightedEnsemble, float]:
    """Coordinate ascent from equal weights: each member in turn takes the grid value with
    the best top-1 on ``idx`` (strictly better only, so ties keep the earlier value).
    ``at_least[m]``: the smallest weight member m may take (a fusion ensemble keeps its
    image member). Returns the ensemble and its top-1 on ``idx`` (in-sample)."""
    at_least = at_least or {}
    idx = np.arange(len(y)) if idx is None else np.asarray(idx)
    lp = {m: log_softmax(v) for m, v in members.items()}
    w = {m: max(1.0, at_least.get(m, 0.0)) for m in members}
    best = _top1(lp, w, y, idx)
    for _ in range(rounds):
        changed = False
        for m in members:
            for g in grid:
                if g < at_least.get(m, 0.0) or g == w[m]:
                    continue
                trial = {**w, m: g}
                if not any(trial.values()):
                    continue
                acc = _top1(lp, trial, y, idx)
                if acc > best + 1e-12:
                    best, w, changed = acc, trial, True
        if not changed:
            break
    return WeightedEnsemble(w), best


def cross_fit_top1(members: dict[str, np.ndarray], y: np.ndarray, repeats: int = 3,
                   seed: int = 0, **kw) -> float:
    """Mean top-1 of weights fitted on one random half of the rows and scored on the other
    (both ways, ``repeats`` halvings): the ensemble's validation figure for selection."""
    rng = np.random.default_rng(seed)
    lp = {m: log_softmax(v) for m, v in members.items()}
    accs = []
    for _ in range(repeats):
        perm = rng.permutation(len(y))
        a, b = perm[:len(y) // 2], perm[len(y) // 2:]
        for fit_idx, score_idx in ((a, b), (b, a)):
            ens, _ = fit_weights(members, y, fit_idx, **kw)
            accs.append(_top1(lp, ens.weights, y, score_idx))
    return float(np.mean(accs))
