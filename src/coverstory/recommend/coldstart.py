"""Content -> collaborative-factor mappings for books nobody has rated yet.

A cold book has only what a shop knows on day one (title, authors, blurb, cover, year,
pages). Each mapper learns, on the rated books, to predict a book's collaborative item
factors (ALS) from its content vector, then places cold books in the collaborative space
(the linear / non-linear halves of DropoutNet- and LightFM-style hybrids):

- ``ridge``: a linear map (closed-form ridge regression, bias column unpenalised only in
  spirit: a column of ones penalised like the rest);
- ``knn``: the similarity-weighted mean of the factors of the ``k`` rated books nearest in
  content (cosine), similarities raised to ``power``;
- ``mlp``: a one-hidden-layer network (scikit-learn ``MLPRegressor``, early stopping on a
  10% slice of the rated books).

Which mapper (and its settings) serves is chosen on a validation split by
:mod:`coverstory.recommend.tune`; all three are measured by ``coverstory bench recommend``.
"""

from __future__ import annotations

import numpy as np

from coverstory.errors import UnknownName

MAPPERS = ("ridge", "knn", "mlp")


class FactorMapper:
    """Predict item factors [n, d] from content vectors [n, f] (rows L2-normalised)."""

    def __init__(self, kind: str = "ridge", l2: float = 10.0, k: int = 50, power: float = 2.0,
                 hidden: int = 256, seed: int = 0):
        if kind not in MAPPERS:
            raise UnknownName(f"unknown cold-start mapper {kind!r}; choose one of {MAPPERS}")
        self.kind, self.l2, self.k, self.power = kind, float(l2), int(k), float(power)
        self.hidden, self.seed = int(hidden), int(seed)

    def fit(self, F: np.ndarray, V: np.ndarray) -> "FactorMapper":
        F = np.asarray(F, np.float32)
        V = np.asarray(V, np.float32)
        if len(F) != len(V) or len(F) < 2:
            raise ValueError(f"mapper needs >= 2 rated books with content, got {len(F)} "
                             f"content rows and {len(V)} factor rows")
        if self.kind == "ridge":
            A = np.hstack([F, np.ones((len(F), 1), np.float32)]).astype(np.float64)
            self.W_ = np.linalg.solve(A.T @ A + self.l2 * np.eye(A.shape[1]),
                                      A.T @ V.astype(np.float64)).astype(np.float32)
        elif self.kind == "knn":
            self.F_, self.V_ = F, V
        else:
            from sklearn.neural_network import MLPRegressor

            self.mu_, self.sd_ = V.mean(0), V.std(0) + 1e-6
            self.net_ = MLPRegressor(hidden_layer_sizes=(self.hidden,), alpha=1e-3,
                                     learning_rate_init=1e-3, max_iter=200,
                                     early_stopping=True, validation_fraction=0.1,
                                     n_iter_no_change=10, random_state=self.seed)
            self.net_.fit(F, (V - self.mu_) / self.sd_)
        return self

    def predict(self, F: np.ndarray, chunk: int = 2048) -> np.ndarray:
        F = np.asarray(F, np.float32)
        if self.kind == "ridge":
            return np.hstack([F, np.ones((len(F), 1), np.float32)]) @ self.W_
        if self.kind == "mlp":
            return (self.net_.predict(F) * self.sd_ + self.mu_).astype(np.float32)
        out = np.zeros((len(F), self.V_.shape[1]), np.float32)
        k = min(self.k, len(self.F_))
        for a in range(0, len(F), chunk):
            S = F[a:a + chunk] @ self.F_.T
            top = np.argpartition(-S, k - 1, axis=1)[:, :k]
            s = np.clip(np.take_along_axis(S, top, 1), 0, None) ** self.power
            s /= np.maximum(s.sum(1, keepdims=True), 1e-9)
            out[a:a + chunk] = np.einsum("nk,nkd->nd", s, self.V_[top])
        return out
