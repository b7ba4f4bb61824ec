"""RP3beta (Paudel, Christoffel, Newell and Bernstein 2016, "Updatable, accurate, diverse, and
scalable recommendations for interactive applications"): a three-step random walk on the
reader-book graph, item -> reader -> item, with each book's arrival probability divided by
its popularity to the power ``beta`` (popular books are reached by every walk; beta takes
back part of that advantage).

    P_ui = rows of X normalised to sum 1 (reader -> book), P_iu = the same for X^T
    W = (P_iu ** alpha) @ (P_ui ** alpha) / pop_j ** beta        (elementwise powers)
    keep the ``k`` largest entries of each row of W, zero the diagonal, rows summing to 1
    score = x_u @ W

None of the libraries the project installs ships it (``implicit``: item-kNN, ALS, BPR;
Dacrema et al.'s RecSys2019 evaluation code has one but is a research repository, not a
package), so this is the short vectorised scipy version, computed in row chunks (memory: chunk x n_items floats, and the
kept k entries per book). Like EASE it is fitted on rated books only.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.base import Recommender


def rp3beta_matrix(X: sp.csr_matrix, alpha: float = 0.6, beta: float = 0.5, k: int = 100,
                   normalize: bool = True, chunk: int = 1024) -> sp.csr_matrix:
    """The item-item matrix W [n_items, n_items] (CSR, float32) of binary interactions X."""
    X = sp.csr_matrix(X, dtype=np.float32)
    n = X.shape[1]
    ru = np.asarray(X.sum(1)).ravel()
    Pui = sp.diags(1.0 / np.maximum(ru, 1e-12)).astype(np.float32) @ X
    Xt = X.T.tocsr()
    ri = np.asarray(Xt.sum(1)).ravel()
    Piu = sp.diags(1.0 / np.maximum(ri, 1e-12)).astype(np.float32) @ Xt
    if alpha != 1.0:
        Pui = Pui.power(alpha)
        Piu = Piu.power(alpha)
    Pui = sp.csr_matrix(Pui, dtype=np.float32)
    Piu = sp.csr_matrix(Piu, dtype=np.float32)
    inv_pop = np.power(np.maximum(ri, 1.0), -beta).astype(np.float32)
    k = max(1, min(int(k), n - 1)) if n > 1 else 1
    rows, cols, vals = [], [], []
    for a in range(0, n, chunk):
        b = min(a + chunk, n)
        W = (Piu[a:b] @ Pui).toarray()
        W *= inv_pop[None, :]
        W[np.arange(b - a), np.arange(a, b)] = 0.0
        if k < n:
            top = np.argpartition(-W, k - 1, axis=1)[:, :k]
        else:
            top = np.tile(np.arange(n), (b - a, 1))
        v = np.take_along_axis(W, top, 1)
        if normalize:
            v = v / np.maximum(v.sum(1, keepdims=True), 1e-12)
        keep = v > 0
        rows.append(np.repeat(np.arange(a, b), keep.sum(1)))
        cols.append(top[keep])
        vals.append(v[keep])
    return sp.csr_matrix((np.concatenate(vals).astype(np.float32),
                          (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


class RP3beta(Recommender):
    """Item graph walk with popularity penalty; score = x_u W. Fold-in is free."""

    name = "rp3beta"

    def __init__(self, alpha: float = 0.6, beta: float = 0.5, k: int = 100,
                 normalize: bool = True, threshold: float | None = 4.0):
        self.alpha, self.beta, self.k = float(alpha), float(beta), int(k)
        self.normalize, self.threshold = bool(normalize), threshold

    def params(self) -> dict:
        return {"alpha": self.alpha, "beta": self.beta, "k": self.k,
                "normalize": self.normalize, "threshold": self.threshold}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        active = np.flatnonzero(np.diff(X.tocsc().indptr) > 0)
        W = rp3beta_matrix(X[:, active], self.alpha, self.beta, self.k, self.normalize)
        self.active_ = active.astype(np.int64)
        self.W_ = W

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        S = np.zeros((X.shape[0], self.n_items), dtype=np.float32)
        S[:, self.active_] = (X[:, self.active_] @ self.W_).toarray()
        return S

    def _state(self) -> dict:
        W = self.W_
        return {"active": self.active_, "W.data": W.data, "W.indices": W.indices,
                "W.indptr": W.indptr}

    def _set_state(self, state: dict) -> None:
        self.active_ = state["active"]
        n = len(self.active_)
        self.W_ = sp.csr_matrix((state["W.data"], state["W.indices"], state["W.indptr"]),
                                shape=(n, n))
