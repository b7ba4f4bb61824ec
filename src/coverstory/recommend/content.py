"""Content-based recommenders on multimodal book vectors (text, cover, tags, fused).

The reader's profile is built from the books they liked: either the weighted mean of their
vectors ("mean") or, better on this data, content neighbours ("knn"): each book keeps its m
most similar books by cosine, and a candidate scores the sum of its similarities to the
liked books among its neighbours, which keeps a reader's several tastes apart. Works
for books nobody has rated, and for readers with a single rating.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.base import Recommender, rank
from coverstory.recommend.features import ItemFeatures


def content_neighbours(F: np.ndarray, k: int, chunk: int = 1024) -> sp.csr_matrix:
    """[n, n] sparse: column i holds the cosine similarities of item i's k nearest items."""
    n = F.shape[0]
    k = min(k, n - 1)
    rows, cols, vals = [], [], []
    for a in range(0, n, chunk):
        S = F[a:a + chunk] @ F.T                          # [c, n]
        idx = np.arange(a, min(a + chunk, n))
        S[idx - a, idx] = -np.inf
        top = np.argpartition(-S, k - 1, axis=1)[:, :k]
        v = np.take_along_axis(S, top, 1)
        rows.append(top.ravel())
        cols.append(np.repeat(idx, k))
        vals.append(v.ravel())
    v = np.concatenate(vals)
    keep = np.isfinite(v) & (v > 0)
    return sp.csr_matrix((v[keep], (np.concatenate(rows)[keep], np.concatenate(cols)[keep])),
                         shape=(n, n), dtype=np.float32)


class ContentKNN(Recommender):
    """score(u, i) = aggregate over liked books j of cos(f_i, f_j), f = multimodal vector."""

    name = "content"
    uses_content = True

    def __init__(self, blocks: list[str] | None = None, mode: str = "knn", m: int = 50,
                 threshold: float | None = 4.0):
        if mode not in ("mean", "knn"):
            raise ValueError(f"mode must be 'mean' or 'knn', got {mode!r}")
        self.blocks, self.mode, self.m, self.threshold = blocks, mode, int(m), threshold

    def params(self) -> dict:
        return {"blocks": self.blocks, "mode": self.mode, "m": self.m,
                "threshold": self.threshold}

    def _fit(self, X: sp.csr_matrix, items) -> None:
        if not isinstance(items, ItemFeatures):
            items = ItemFeatures().add("features", items)
        if items.n_items != X.shape[1]:
            raise ValueError(f"item features have {items.n_items} rows, interactions "
                             f"{X.shape[1]} columns")
        self.blocks = self.blocks or list(items.blocks)
        self.features_ = items.subset(np.arange(items.n_items))
        self._prepare()

    def _prepare(self) -> None:
        self.F_ = self.features_.matrix(self.blocks)
        self.has_ = np.linalg.norm(self.F_, axis=1) > 0
        if self.mode == "knn":
            self.sim_ = content_neighbours(self.F_, self.m)

    def can_score(self) -> np.ndarray:
        return self.has_

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        if self.mode == "mean":
            prof = np.asarray(X @ self.F_)
            return prof @ self.F_.T
        return np.asarray((X @ self.sim_).todense(), dtype=np.float32)

    def because_of(self, liked: np.ndarray, item_ids: np.ndarray) -> np.ndarray:
        """For each item, the liked item most similar in content (index into columns)."""
        if len(liked) == 0:
            return np.full(len(item_ids), -1)
        S = self.F_[item_ids] @ self.F_[liked].T
        return np.asarray(liked)[S.argmax(1)]

    def item_vectors(self) -> np.ndarray:
        return self.F_

    def similar_items(self, item_id: int, k: int = 10):
        s = self.F_ @ self.F_[item_id]
        s[item_id] = -np.inf
        s[~self.has_] = -np.inf
        ids, sc = rank(s[None], k)
        return ids[0], sc[0]

    def _state(self) -> dict:
        st = self.features_.to_arrays()
        if self.mode == "knn":          # saved, not recomputed: O(n^2) for a large catalog
            st.update({"sim.data": self.sim_.data, "sim.indices": self.sim_.indices,
                       "sim.indptr": self.sim_.indptr})
        return st

    def _set_state(self, state: dict) -> None:
        self.features_ = ItemFeatures.from_arrays(state, self.blocks)
        if self.mode == "knn" and "sim.data" in state:
            self.F_ = self.features_.matrix(self.blocks)
            self.has_ = np.linalg.norm(self.F_, axis=1) > 0
            n = len(self.F_)
            self.sim_ = sp.csr_matrix((state["sim.data"], state["sim.indices"],
                                       state["sim.indptr"]), shape=(n, n))
        else:
            self._prepare()
