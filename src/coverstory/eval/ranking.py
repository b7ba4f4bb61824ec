"""Top-N ranking metrics: Recall@K, NDCG@K, HR@K, catalog coverage@K and novelty@K.

``top`` is [n_users, >=K] item indices ranked best first (-1 = empty slot); ``truth`` is one
array of relevant item indices per user. Users without relevant items are skipped.

Definitions (checked by hand in tests/recommend/test_ranking.py):
- Recall@K = |top_K ∩ truth| / |truth|
- NDCG@K   = sum_{r<K, top_r in truth} 1/log2(r+2)  /  sum_{r<min(K,|truth|)} 1/log2(r+2)
- HR@K     = 1 if top_K ∩ truth is non-empty else 0
- coverage@K = |union of top_K over users| / n_items
- novelty@K  = mean over recommended items of -log2(popularity), popularity = fraction of
  training users who interacted with the item (floored at 1/n_users)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _hits(top: np.ndarray, truth: Sequence[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    rows = [i for i, t in enumerate(truth) if len(t)]
    H = np.zeros((len(rows), k), dtype=bool)
    for r, i in enumerate(rows):
        H[r] = np.isin(top[i, :k], truth[i])
    return H, np.array([len(truth[i]) for i in rows])


def recall_at_k(top, truth, k: int) -> float:
    H, n = _hits(np.asarray(top), truth, k)
    return float((H.sum(1) / n).mean()) if len(n) else 0.0


def hit_rate_at_k(top, truth, k: int) -> float:
    H, n = _hits(np.asarray(top), truth, k)
    return float(H.any(1).mean()) if len(n) else 0.0


def ndcg_at_k(top, truth, k: int) -> float:
    H, n = _hits(np.asarray(top), truth, k)
    if not len(n):
        return 0.0
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (H * disc).sum(1)
    idcg = np.cumsum(disc)[np.minimum(n, k) - 1]
    return float((dcg / idcg).mean())


def coverage_at_k(top, n_items: int, k: int) -> float:
    t = np.asarray(top)[:, :k]
    return float(np.unique(t[t >= 0]).size / n_items)


def novelty_at_k(top, item_users: np.ndarray, n_users: int, k: int) -> float:
    t = np.asarray(top)[:, :k]
    t = t[t >= 0]
    if not t.size:
        return 0.0
    p = np.maximum(np.asarray(item_users, dtype=np.float64)[t], 1.0) / n_users
    return float((-np.log2(p)).mean())


def evaluate(top, truth, *, ks: Sequence[int] = (10, 20), n_items: int | None = None,
             item_users: np.ndarray | None = None, n_users: int | None = None) -> dict:
    """All metrics in one dict: recall@K, ndcg@K for each K, hr@min(K), coverage and novelty
    at max(K) (when n_items / item_users are given)."""
    top = np.asarray(top)
    out = {"users": int(sum(1 for t in truth if len(t)))}
    for k in ks:
        out[f"recall@{k}"] = recall_at_k(top, truth, k)
        out[f"ndcg@{k}"] = ndcg_at_k(top, truth, k)
    out[f"hr@{min(ks)}"] = hit_rate_at_k(top, truth, min(ks))
    K = max(ks)
    if n_items:
        out[f"coverage@{K}"] = coverage_at_k(top, n_items, K)
    if item_users is not None and n_users:
        out[f"novelty@{K}"] = novelty_at_k(top, item_users, n_users, K)
    return out


def rmse(pred: np.ndarray, truth: np.ndarray) -> float:
    pred, truth = np.asarray(pred, np.float64), np.asarray(truth, np.float64)
    return float(np.sqrt(np.mean((pred - truth) ** 2)))
