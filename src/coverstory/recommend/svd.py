"""Matrix factorisation: PureSVD (truncated SVD of the positives; top-N) and biased MF for
explicit ratings (alternating ridge regression; predicts ratings, evaluated by RMSE)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.base import Recommender, single_thread_blas


class PureSVD(Recommender):
    """PureSVD (Cremonesi et al. 2010): X ~ U S V^T, score = x_u V V^T (fold-in for free)."""

    name = "puresvd"

    def __init__(self, factors: int = 64, threshold: float | None = 4.0, seed: int = 0):
        self.factors, self.threshold, self.seed = int(factors), threshold, int(seed)

    def params(self) -> dict:
        return {"factors": self.factors, "threshold": self.threshold, "seed": self.seed}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        from scipy.sparse.linalg import svds

        k = min(self.factors, min(X.shape) - 1)
        rng = np.random.default_rng(self.seed)
        v0 = rng.random(min(X.shape))
        _, s, vt = svds(X.astype(np.float64), k=k, v0=v0)
        order = np.argsort(-s)
        self.V_ = np.ascontiguousarray(vt[order].T, dtype=np.float32)   # [n_items, k]
        self.s_ = s[order].astype(np.float32)

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        return np.asarray(X @ self.V_) @ self.V_.T

    def item_vectors(self) -> np.ndarray:
        return self.V_ * self.s_

    def _state(self) -> dict:
        return {"V": self.V_, "s": self.s_}

    def _set_state(self, state: dict) -> None:
        self.V_, self.s_ = state["V"], state["s"]


def ridge_rows(X: sp.csr_matrix, Y: np.ndarray, target_offset: np.ndarray | None, l2: float,
               offset: float | np.ndarray = 0.0) -> np.ndarray:
    """Per row u of X solve min ||(x_u - offset_u - target_offset[cols]) - Y[cols] w||^2 + l2||w||^2."""
    n, d = X.shape[0], Y.shape[1]
    W = np.zeros((n, d), dtype=np.float64)
    eye = l2 * np.eye(d)
    off = np.broadcast_to(np.asarray(offset, dtype=np.float64), (n,))
    with single_thread_blas():
        _ridge_loop(X, Y, target_offset, eye, off, W)
    return W


def _ridge_loop(X, Y, target_offset, eye, off, W) -> None:
    for u in range(X.shape[0]):
        a, b = X.indptr[u], X.indptr[u + 1]
        if a == b:
            continue
        cols = X.indices[a:b]
        t = X.data[a:b].astype(np.float64) - off[u]
        if target_offset is not None:
            t = t - target_offset[cols]
        Yc = Y[cols]
        W[u] = np.linalg.solve(Yc.T @ Yc + eye, Yc.T @ t)


class BiasedMF(Recommender):
    """r_ui ~ mu + b_u + b_i + p_u . q_i, fitted by alternating least squares on the ratings.

    Scores are predicted ratings (use them for RMSE or ranking). New readers are folded in
    by one ridge solve against the fixed item factors."""

    name = "mf"

    def __init__(self, factors: int = 32, l2: float = 10.0, iterations: int = 12, seed: int = 0):
        self.factors, self.l2, self.iterations, self.seed = int(factors), float(l2), int(iterations), int(seed)
        self.threshold = None

    def params(self) -> dict:
        return {"factors": self.factors, "l2": self.l2, "iterations": self.iterations,
                "seed": self.seed}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        rng = np.random.default_rng(self.seed)
        n_u, n_i = X.shape
        d = self.factors
        self.mu_ = float(X.data.mean()) if X.nnz else 3.0
        P = rng.normal(0, 0.1, (n_u, d))
        Q = rng.normal(0, 0.1, (n_i, d))
        Xt = sp.csr_matrix(X.T)
        for _ in range(self.iterations):
            # users: unknowns [p_u, b_u] against [q_i, 1], target r - mu - b_i
            Qa = np.hstack([Q[:, :d], np.ones((n_i, 1))])
            bi = Q[:, d] if Q.shape[1] > d else np.zeros(n_i)
            Pa = ridge_rows(X, Qa, bi, self.l2, self.mu_)
            Pa_full = np.hstack([Pa[:, :d], np.ones((n_u, 1))])
            Qs = ridge_rows(Xt, Pa_full, Pa[:, d], self.l2, self.mu_)
            P, Q = Pa, Qs                     # P: [p_u, b_u], Q: [q_i, b_i]
        self.P_ = P.astype(np.float32)
        self.Q_ = Q.astype(np.float32)

    def fold_in(self, X: sp.csr_matrix) -> np.ndarray:
        d = self.factors
        Qa = np.hstack([self.Q_[:, :d], np.ones((self.n_items, 1))]).astype(np.float64)
        return ridge_rows(X, Qa, self.Q_[:, d].astype(np.float64), self.l2, self.mu_).astype(np.float32)

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        P = self.P_[users] if users is not None else self.fold_in(X)
        d = self.factors
        S = P[:, :d] @ self.Q_[:, :d].T + P[:, d:d + 1] + self.Q_[:, d][None, :] + self.mu_
        return S

    def item_vectors(self) -> np.ndarray:
        return self.Q_[:, :self.factors]

    def _state(self) -> dict:
        return {"P": self.P_, "Q": self.Q_, "mu": np.array([self.mu_], dtype=np.float32)}

    def _set_state(self, state: dict) -> None:
        self.P_, self.Q_, self.mu_ = state["P"], state["Q"], float(state["mu"][0])
