"""Cross-modal retrieval metrics: Recall@K in both directions and mR.

``sim[i, j]`` scores cover i against text j, and cover i belongs with text i (the diagonal).
Image -> text ranks each row; text -> image ranks each column. R@K is the share of queries
whose partner is among the top K (in percent); mR is the mean of the six R@{1,5,10}.
Ties are broken against the query (a tied partner counts as ranked below its ties).
"""

from __future__ import annotations

import numpy as np


def ranks(sim: np.ndarray) -> np.ndarray:
    """0-based rank of the diagonal partner in each row (ties counted as worse)."""
    sim = np.asarray(sim, np.float64)
    diag = np.diag(sim)[:, None]
    return (sim >= diag).sum(1) - 1


def recall_at(sim: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    r = ranks(sim)
    return {f"R@{k}": float(100 * (r < k).mean()) for k in ks}


def cross_modal(sim: np.ndarray, ks=(1, 5, 10)) -> dict[str, float]:
    """{"i2t": {R@K}, "t2i": {R@K}, "mR", "median_rank_i2t", "median_rank_t2i", "n"}."""
    sim = np.asarray(sim)
    if sim.shape[0] != sim.shape[1]:
        raise ValueError(f"need a square cover x text matrix, got {sim.shape}")
    i2t, t2i = recall_at(sim, ks), recall_at(sim.T, ks)
    return {"n": int(len(sim)), "i2t": i2t, "t2i": t2i,
            "mR": float(np.mean([*i2t.values(), *t2i.values()])),
            "median_rank_i2t": float(np.median(ranks(sim)) + 1),
            "median_rank_t2i": float(np.median(ranks(sim.T)) + 1)}


def mean_recall(sim: np.ndarray) -> float:
    return cross_modal(sim)["mR"]
