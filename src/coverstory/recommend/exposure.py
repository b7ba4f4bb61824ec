"""The new-book exposure rule: a product choice, not a ranking model.

A book nobody has rated yet has only day-one data (title, authors, blurb, cover, year,
pages), so its blended score is less certain than a rated book's, and on a validation
objective that weighs a reader's next likes on new and rated books alike, new books rarely
earn a place in a 20-book list on merit (docs/recommend.md). A shop that wants new books
seen reserves places for them:

- ``slots`` of the first ``length`` places (20) go to new books: the best-scored new books
  (by the hybrid's cold score) fill them when the list earned fewer than ``slots`` on merit;
- only a new book whose blended score is at least ``floor`` may take a reserved place (a
  reader with no good new match keeps the list earned on merit);
- the reserved books displace the lowest-ranked rated books and are spread evenly over
  the list (with 3 places in 20: places 7, 13 and 20), so a reader shown only the first 10
  still sees one; the rated books keep their merit order.

``slots`` and ``floor`` are chosen on validation by :mod:`coverstory.recommend.tune`
(the smallest cost in validation NDCG@20 that reaches the cold-book target there) and
reported with their cost to rated-book recall beside the merit-only figures.
"""

from __future__ import annotations

import numpy as np


def reserve(top: np.ndarray, cold_top: np.ndarray, cold_val: np.ndarray, is_cold: np.ndarray,
            slots: int, floor: float, length: int = 20) -> np.ndarray:
    """Lists with reserved new-book places.

    top: [n, >= length] merit lists (item ids, -1 padding); cold_top / cold_val: [n, m] the
    reader's best new books by score, best first (-1 / -inf padding); is_cold: bool over
    items. Returns [n, length] lists."""
    top = np.asarray(top)[:, :length].copy()
    if slots <= 0:
        return top
    for r in range(len(top)):
        row = top[r]
        valid = row >= 0
        n_cold = int(is_cold[row[valid]].sum())
        need = slots - n_cold
        if need <= 0:
            continue
        have = set(row[valid & is_cold[np.maximum(row, 0)]].tolist())
        extra = [int(i) for i, v in zip(cold_top[r], cold_val[r])
                 if i >= 0 and v >= floor and int(i) not in have][:need]
        if not extra:
            continue
        # drop the lowest-ranked rated books (or empty places) to make room at the end
        keep = list(row)
        for _ in extra:
            for j in range(len(keep) - 1, -1, -1):
                if keep[j] < 0 or not is_cold[keep[j]]:
                    del keep[j]
                    break
        keep = [i for i in keep if i >= 0]
        for j, i in enumerate(extra):          # evenly spread, in their score order
            keep.insert(min(int(round((j + 1) * length / len(extra))) - 1, len(keep)), i)
        top[r] = -1
        top[r, :len(keep)] = keep[:length]
    return top


def apply_to_scores(S: np.ndarray, seen, is_cold: np.ndarray, slots: int, floor: float,
                    length: int = 20) -> np.ndarray:
    """Scores whose ranking is the reserved list: for each row, the ``length`` books of
    :func:`reserve` are lifted above every other book in their list order (other books keep
    their scores and order). ``seen``: CSR of books excluded from the row's list (liked)."""
    from coverstory.recommend.base import rank

    if slots <= 0 or not is_cold.any():
        return S
    Sc = S.copy()
    Sc[:, ~is_cold] = -np.inf
    top, _ = rank(S.copy(), length, seen=seen)          # rank() masks its input in place
    c_top, c_val = rank(Sc, slots + length, seen=seen)
    new = reserve(top, c_top, c_val, is_cold, slots, floor, length)
    S = S.copy()
    for r in range(len(S)):
        ids = new[r][new[r] >= 0]
        if not len(ids):
            continue
        finite = S[r][np.isfinite(S[r])]
        base = (finite.max() if len(finite) else 0.0) + 1.0
        S[r, ids] = base + np.arange(len(ids), 0, -1, dtype=np.float32)
    return S
