"""Popularity baseline: every reader gets the most-liked books they have not seen."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.base import Recommender


class Popularity(Recommender):
    """Score = number of positive interactions of the item in the training data."""

    name = "popularity"

    def __init__(self, threshold: float | None = 4.0):
        self.threshold = threshold

    def params(self) -> dict:
        return {"threshold": self.threshold}

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        self.counts_ = np.asarray(X.sum(axis=0)).ravel().astype(np.float32)

    def _score(self, X: sp.csr_matrix, users) -> np.ndarray:
        return np.tile(self.counts_, (X.shape[0], 1))

    def _state(self) -> dict:
        return {"counts": self.counts_}

    def _set_state(self, state: dict) -> None:
        self.counts_ = state["counts"]
