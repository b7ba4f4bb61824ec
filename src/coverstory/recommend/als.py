"""ALS (Hu, Koren & Volinsky 2008) and BPR (Rendle et al. 2009) for implicit feedback, trained
by ``implicit``; we keep and save only their factor arrays. Readers unknown at fit time (or
with new ratings) are folded in against the fixed item factors (one small solve)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.base import Recommender, single_thread_blas


def _threads(X: sp.csr_matrix) -> int:
    """implicit's worker threads: one for small data (threads only contend), else two."""
    return 1 if X.nnz < 50_000 else 2


def als_fold_in(X: sp.csr_matrix, Y: np.ndarray, alpha: float, l2: float,
                YtY: np.ndarray | None = None) -> np.ndarray:
    """Implicit-ALS user factors for rows X given item factors Y (confidence 1 + alpha x)."""
    if YtY is None:
        Y64 = Y.astype(np.float64)
        YtY = Y64.T @ Y64
    d = Y.shape[1]
    out = np.zeros((X.shape[0], d), dtype=np.float64)
    with single_thread_blas():
        _als_rows(X, Y, YtY, alpha, l2, out)
    return out.astype(np.float32)


def _als_rows(X, Y, YtY, alpha, l2, out) -> None:
    d = Y.shape[1]
    for u in range(X.shape[0]):
        a, b = X.indptr[u], X.indptr[u + 1]
        if a == b:
            continue
        cols = X.indices[a:b]
        c = alpha * X.data[a:b].astype(np.float64)          # C - I on the observed items
        Yc = Y[cols].astype(np.float64)
        A = YtY + (Yc.T * c) @ Yc + l2 * np.eye(d)
        out[u] = np.linalg.solve(A, Yc.T @ (1.0 + c))


class ALS(Recommender):
    """Implicit-feedback ALS: score = p_u . q_i; confidence 1 + alpha * x_ui."""

    name = "als"

    def __init__(self, factors: int = 128, alpha: float = 10.0, l2: float = 0.01,
                 iterations: int = 15, threshold: float | None = 4.0, seed: int = 0):
        self.factors, self.alpha, self.l2 = int(factors), float(alpha), float(l2)
        self.iterations, self.threshold, self.seed = int(iterations), threshold, int(seed)

    def params(self) -> dict:
        return {"factors": self.factors, "alpha": self.alpha, "l2": self.l2,
                "iterations": self.iterations, "threshold": self.threshold, "seed": self.seed}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        m = AlternatingLeastSquares(factors=self.factors, regularization=self.l2,
                                    alpha=self.alpha, iterations=self.iterations,
                                    random_state=self.seed, num_threads=_threads(X))
        with threadpool_limits(1, "blas"):
            m.fit(X, show_progress=False)
        self.user_factors_ = np.asarray(m.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(m.item_factors, dtype=np.float32)

    def fold_in(self, X: sp.csr_matrix) -> np.ndarray:
        """User factors for transformed rows X (no refit)."""
        Y = self.item_factors_
        if getattr(self, "_gram", (None, None))[0] is not Y:
            Y64 = Y.astype(np.float64)
            self._gram = (Y, Y64.T @ Y64)
        return als_fold_in(X, Y, self.alpha, self.l2, self._gram[1])

    def user_vectors(self, X: sp.csr_matrix, users) -> np.ndarray:
        return self.user_factors_[users] if users is not None else self.fold_in(X)

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        return self.user_vectors(X, users) @ self.item_factors_.T

    def item_vectors(self) -> np.ndarray:
        return self.item_factors_

    def _state(self) -> dict:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_state(self, state: dict) -> None:
        self.user_factors_ = state["user_factors"]
        self.item_factors_ = state["item_factors"]


class BPR(ALS):
    """Bayesian personalised ranking (implicit); the last item factor is the item bias.

    Fold-in of a new reader uses the ALS solve against BPR's item factors (an approximation:
    BPR itself has no closed-form user update)."""

    name = "bpr"

    def __init__(self, factors: int = 100, learning_rate: float = 0.01, l2: float = 0.01,
                 iterations: int = 100, threshold: float | None = 4.0, seed: int = 0,
                 alpha: float = 10.0):
        self.factors, self.learning_rate, self.l2 = int(factors), float(learning_rate), float(l2)
        self.iterations, self.threshold, self.seed = int(iterations), threshold, int(seed)
        self.alpha = float(alpha)

    def params(self) -> dict:
        return {"factors": self.factors, "learning_rate": self.learning_rate, "l2": self.l2,
                "iterations": self.iterations, "threshold": self.threshold, "seed": self.seed,
                "alpha": self.alpha}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        m = BayesianPersonalizedRanking(factors=self.factors, learning_rate=self.learning_rate,
                                        regularization=self.l2, iterations=self.iterations,
                                        random_state=self.seed, num_threads=_threads(X))
        m.fit(X, show_progress=False)
        self.user_factors_ = np.asarray(m.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(m.item_factors, dtype=np.float32)

    def fold_in(self, X: sp.csr_matrix) -> np.ndarray:
        # user factors carry a constant 1 in the bias column; solve the rest
        d = self.item_factors_.shape[1] - 1
        U = als_fold_in(X, self.item_factors_[:, :d], self.alpha, max(self.l2, 0.1))
        return np.hstack([U, np.ones((U.shape[0], 1), np.float32)])
