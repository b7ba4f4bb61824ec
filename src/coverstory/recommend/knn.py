"""Neighbourhood models: item-kNN and user-kNN (cosine), and item-kNN with BM25 / TF-IDF
weighting through ``implicit``. Fold-in is free: a new rating changes the user's row, and the
next score uses it (incremental neighbours: nothing to refit for a new reader)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.base import Recommender


def _topk_sparse(S: np.ndarray, k: int) -> sp.csr_matrix:
    """Keep the k largest entries of each column of a dense square matrix (as CSR)."""
    n = S.shape[0]
    k = min(k, n)
    idx = np.argpartition(-S, k - 1, axis=0)[:k] if k < n else np.tile(np.arange(n)[:, None], (1, n))
    vals = np.take_along_axis(S, idx, 0)
    cols = np.tile(np.arange(n), (k, 1))
    M = sp.csr_matrix((vals.ravel(), (idx.ravel(), cols.ravel())), shape=S.shape)
    M.eliminate_zeros()
    return M


class ItemKNN(Recommender):
    """Item-based CF: score(u, i) = sum_j x_uj sim(j, i) over i's K most similar items.

    sim = cosine of item columns (shrunk by ``shrink``)."""

    name = "itemknn"

    def __init__(self, k: int = 200, shrink: float = 0.0, threshold: float | None = 4.0):
        self.k, self.shrink, self.threshold = int(k), float(shrink), threshold

    def params(self) -> dict:
        return {"k": self.k, "shrink": self.shrink, "threshold": self.threshold}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        G = np.asarray((X.T @ X).todense(), dtype=np.float32)
        norms = np.sqrt(np.diag(G)).copy()
        G /= np.outer(norms, norms) + self.shrink + 1e-9
        G[np.diag_indices_from(G)] = 0.0
        self.sim_ = _topk_sparse(G, self.k)

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        return np.asarray((X @ self.sim_).todense(), dtype=np.float32)

    def similar_items(self, item_id: int, k: int = 10):
        from coverstory.recommend.base import rank

        self._check()
        col = np.asarray(self.sim_[:, item_id].todense()).ravel()
        row = np.asarray(self.sim_[item_id].todense()).ravel()
        s = np.maximum(col, row).astype(np.float32)
        s[s <= 0] = -np.inf
        s[item_id] = -np.inf
        ids, sc = rank(s[None], k)
        return ids[0], sc[0]

    def _state(self) -> dict:
        m = self.sim_
        return {"sim.data": m.data, "sim.indices": m.indices, "sim.indptr": m.indptr}

    def _set_state(self, state: dict) -> None:
        self.sim_ = sp.csr_matrix((state["sim.data"], state["sim.indices"], state["sim.indptr"]),
                                  shape=(self.n_items, self.n_items))


class ImplicitItemKNN(ItemKNN):
    """Item-kNN with BM25 or TF-IDF weighting, similarities computed by ``implicit``."""

    name = "itemknn-implicit"

    def __init__(self, weighting: str = "bm25", k: int = 200, k1: float = 1.2, b: float = 0.75,
                 threshold: float | None = 4.0):
        if weighting not in ("bm25", "tfidf", "cosine"):
            raise ValueError(f"weighting must be 'bm25', 'tfidf' or 'cosine', got {weighting!r}")
        self.weighting, self.k, self.k1, self.b = weighting, int(k), float(k1), float(b)
        self.threshold = threshold
        self.shrink = 0.0

    def params(self) -> dict:
        return {"weighting": self.weighting, "k": self.k, "k1": self.k1, "b": self.b,
                "threshold": self.threshold}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        from implicit.nearest_neighbours import (BM25Recommender, CosineRecommender,
                                                 TFIDFRecommender)

        if self.weighting == "bm25":
            m = BM25Recommender(K=self.k, K1=self.k1, B=self.b, num_threads=1)
        elif self.weighting == "tfidf":
            m = TFIDFRecommender(K=self.k, num_threads=1)
        else:
            m = CosineRecommender(K=self.k, num_threads=1)
        m.fit(X, show_progress=False)
        # implicit scores a user as x_u @ similarity (rows: source item, columns: target)
        self.sim_ = sp.csr_matrix(m.similarity, dtype=np.float32)


class UserKNN(Recommender):
    """User-based CF: score(u, i) = sum over u's K most similar readers v of cos(u, v) x_vi."""

    name = "userknn"

    def __init__(self, k: int = 100, threshold: float | None = 4.0):
        self.k, self.threshold = int(k), threshold

    def params(self) -> dict:
        return {"k": self.k, "threshold": self.threshold}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        self.X_ = X
        n = np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel())
        self.Xn_ = sp.csr_matrix(sp.diags(1.0 / np.maximum(n, 1e-9)) @ X, dtype=np.float32)

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        n = np.sqrt(np.asarray(X.multiply(X).sum(1)).ravel())
        Q = sp.diags(1.0 / np.maximum(n, 1e-9)) @ X
        sims = np.asarray((Q @ self.Xn_.T).todense(), dtype=np.float32)
        if users is not None:
            sims[np.arange(len(users)), users] = 0.0      # not your own neighbour
        k = min(self.k, sims.shape[1])
        if k < sims.shape[1]:
            drop = np.argpartition(-sims, k - 1, axis=1)[:, k:]
            np.put_along_axis(sims, drop, 0.0, axis=1)
        return np.asarray((sp.csr_matrix(sims) @ self.X_).todense(), dtype=np.float32)

    def _set_state(self, state: dict) -> None:
        self._fit(self.transform(self.train_), None)
