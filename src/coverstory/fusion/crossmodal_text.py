"""Cover text (OCR) <-> "title by author": lexical score matrices, and hubness correction.

The words printed on a cover are the strongest link between a cover and its title, but OCR of
a 128 px thumbnail drops letters, splits words and reads publisher names and blurbs. Besides
the token-set ratio of ``crossmodal.fuzzy_matrix`` (which scores a short title contained in a
long OCR text as a perfect match, so wordy covers become hubs), these matrices score a cover i
against a text j:

- ``char``: cosine of character n-gram TF-IDF vectors (``char_wb`` 2-4-grams, sublinear tf),
  vocabulary and idf fitted on the *training* titles only: robust to a misread letter, and
  rare words (a surname, an unusual title word) count more than "the" or "book";
- ``partial``: rapidfuzz partial ratio of the main title (no subtitle) against the OCR text:
  the best-matching window of the OCR text, for covers that print only the main title.

``csls`` rescales any score matrix by the cross-domain similarity local scaling of Conneau et
al. (2018): s'(i, j) = 2 s(i, j) - r_row(i) - r_col(j), where r is the mean of a row's
(column's) k best scores. It uses only the candidate set's own scores (no labels), and turns
"cover i reads well against every title" into "cover i against title j compared with its
other titles".

>>> s = np.array([[0.9, 0.8, 0.8], [0.1, 0.7, 0.1], [0.1, 0.1, 0.6]])
>>> s.argmax(0).tolist(), csls(s, k=2).argmax(0).tolist()   # row 0 is a hub
([0, 0, 0], [0, 1, 2])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fit_char_tfidf(train_texts: Sequence[str], ngrams: tuple[int, int] = (2, 4),
                   max_features: int = 200_000):
    """A character n-gram TF-IDF fitted on ``train_texts`` (normalised as for OCR matching)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from coverstory.encoders.ocr import normalize

    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=ngrams, sublinear_tf=True,
                          min_df=2, max_features=max_features, preprocessor=normalize,
                          dtype=np.float32)
    return vec.fit([t for t in train_texts if t])


def char_matrix(vec, ocr: Sequence[str], texts: Sequence[str]) -> np.ndarray:
    """[n_covers, n_texts] cosine of the char TF-IDF vectors (0 where the OCR found nothing)."""
    a = vec.transform([t or "" for t in ocr])
    b = vec.transform([t or "" for t in texts])
    return np.asarray((a @ b.T).todense(), np.float32)


def partial_matrix(ocr: Sequence[str], titles: Sequence[str]) -> np.ndarray:
    """[n_covers, n_titles] partial ratio in [0, 1] of each main title inside each OCR text."""
    from rapidfuzz import fuzz, process

    from coverstory.encoders.ocr import main_title, normalize

    a = [normalize(t) for t in ocr]
    b = [normalize(main_title(t)) for t in titles]
    m = process.cdist(a, b, scorer=fuzz.partial_ratio, workers=1).astype(np.float32) / 100
    m[[not s for s in a]] = 0
    return m


def csls(sim: np.ndarray, k: int = 10) -> np.ndarray:
    """Cross-domain similarity local scaling: 2 s - mean top-k of the row - of the column."""
    sim = np.asarray(sim, np.float32)
    k = max(1, min(k, sim.shape[0], sim.shape[1]))
    r_row = -np.partition(-sim, k - 1, axis=1)[:, :k].mean(1)
    r_col = -np.partition(-sim, k - 1, axis=0)[:k, :].mean(0)
    return 2 * sim - r_row[:, None] - r_col[None, :]


def standardise(sim: np.ndarray) -> np.ndarray:
    """The matrix z-scored over all its cells (so matrices of different scales can be added)."""
    sim = np.asarray(sim, np.float32)
    return (sim - sim.mean()) / (sim.std() + 1e-9)


def tune_weights(scores: dict[str, np.ndarray], metric, grid=(0.0, 0.5, 1.0, 2.0),
                 fixed: dict[str, float] | None = None) -> tuple[dict[str, float], float]:
    """Coordinate ascent over the combination weights of standardised matrices, maximising
    ``metric(sum_k w_k * z(scores[k]))``; starts from all weights 1 (or ``fixed``), sweeps
    each weight over ``grid`` in turn until no change helps (at most 4 rounds). Cheaper than
    the full grid of ``crossmodal.tune_weights`` once there are more than 4 matrices."""
    keys = list(scores)
    z = {k: standardise(scores[k]) for k in keys}

    def value(w):
        if not any(w.values()):
            return -1.0
        return metric(sum(w[k] * z[k] for k in keys if w[k]))

    w = {k: 1.0 for k in keys}
    w.update(fixed or {})
    best = value(w)
    for _ in range(4):
        changed = False
        for k in keys:
            for g in grid:
                if g == w[k]:
                    continue
                trial = {**w, k: g}
                v = value(trial)
                if v > best + 1e-9:
                    w, best, changed = trial, v, True
        if not changed:
            break
    return w, best


def combine(scores: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """sum_k w_k * z(scores[k]) over the non-zero weights."""
    return sum(w * standardise(scores[k]) for k, w in weights.items() if w)
