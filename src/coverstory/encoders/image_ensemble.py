"""An ensemble of pretrained cover encoders: each member's vector L2-normalised, then
combined.

``combine``:

- ``"concat"``: ``[w_1^½ v_1, ..., w_k^½ v_k]`` with the member weights ``w`` (default equal,
  1/k), so the ensemble vector has unit length and the cosine of two covers is
  ``Σ w_i cos_i`` — the weighted mean of the members' cosines. ``member_weights`` learned on
  a validation split (``fit_member_weights``) give the "weighted" variant;
- ``"mean"``: ``Σ w_i v_i`` (all members must have the same size; the three EfficientNet-Lite
  heads are 1280-d), then L2-normalised.

Each member runs as its own encoder (ONNX Runtime for the Lite presets), at its own input
size, so ``triple-cnn.imagenet`` = Lite0 (224 px) + Lite1 (240) + Lite2 (260).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from coverstory.encoders.base import Encoder

COMBINES = ("concat", "mean")


def l2n(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def combine_members(parts: Sequence[np.ndarray], combine: str = "concat",
                    weights: Sequence[float] | None = None) -> np.ndarray:
    """Combine member vectors [n, d_i] (each L2-normalised here) into [n, D]."""
    if combine not in COMBINES:
        raise ValueError(f"combine must be one of {COMBINES}, got {combine!r}")
    k = len(parts)
    w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, np.float64)
    if len(w) != k or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"need {k} non-negative member weights, got {list(w)}")
    w = w / w.sum()
    parts = [l2n(p) for p in parts]
    if combine == "concat":
        return np.ascontiguousarray(np.concatenate(
            [np.sqrt(wi) * p for wi, p in zip(w, parts)], axis=1), dtype=np.float32)
    dims = {p.shape[1] for p in parts}
    if len(dims) != 1:
        raise ValueError(f"combine 'mean' needs members of one size, got {sorted(dims)}")
    return l2n(sum(wi * p for wi, p in zip(w, parts)))


def simplex_grid(k: int, step: float = 0.1) -> np.ndarray:
    """Every weight vector of ``k`` non-negative multiples of ``step`` summing to 1."""
    n = int(round(1 / step))
    out = []

    def rec(prefix, left, slots):
        if slots == 1:
            out.append(prefix + [left])
            return
        for i in range(left + 1):
            rec(prefix + [i], left - i, slots - 1)

    rec([], n, k)
    return np.asarray(out, np.float64) / n


def knn_top1(gallery: np.ndarray, g_y: np.ndarray, queries: np.ndarray, q_y: np.ndarray,
             k: int = 10) -> float:
    """Share of queries whose k nearest gallery covers (cosine) vote their label."""
    sims = l2n(queries) @ l2n(gallery).T
    nn_idx = np.argpartition(-sims, kth=min(k, sims.shape[1] - 1), axis=1)[:, :k]
    votes = np.zeros((len(queries), int(max(g_y.max(), q_y.max())) + 1))
    rows = np.repeat(np.arange(len(queries)), nn_idx.shape[1])
    np.add.at(votes, (rows, g_y[nn_idx].ravel()),
              np.take_along_axis(sims, nn_idx, axis=1).ravel())
    return float((votes.argmax(1) == q_y).mean())


def fit_member_weights(train_parts: Sequence[np.ndarray], train_y: np.ndarray,
                       val_parts: Sequence[np.ndarray], val_y: np.ndarray,
                       step: float = 0.1, k: int = 10) -> tuple[list[float], float]:
    """Member weights for ``concat`` chosen on a validation split: the grid point of the
    simplex whose cosine kNN (training covers as gallery, validation covers as queries)
    labels the most validation covers correctly. Returns (weights, validation accuracy).
    Ties go to the most even weights (the first grid point closest to uniform)."""
    cos_parts = [l2n(q) @ l2n(g).T for g, q in zip(train_parts, val_parts)]
    best, best_w = -1.0, None
    uniform = np.full(len(train_parts), 1 / len(train_parts))
    grid = sorted(simplex_grid(len(train_parts), step),
                  key=lambda w: float(np.abs(w - uniform).sum()))
    n_cls = int(max(train_y.max(), val_y.max())) + 1
    for w in grid:
        sims = sum(wi * c for wi, c in zip(w, cos_parts))
        nn_idx = np.argpartition(-sims, kth=min(k, sims.shape[1] - 1), axis=1)[:, :k]
        votes = np.zeros((len(val_y), n_cls))
        rows = np.repeat(np.arange(len(val_y)), nn_idx.shape[1])
        np.add.at(votes, (rows, train_y[nn_idx].ravel()),
                  np.take_along_axis(sims, nn_idx, axis=1).ravel())
        acc = float((votes.argmax(1) == val_y).mean())
        if acc > best + 1e-12:
            best, best_w = acc, w
    return [round(float(x), 4) for x in best_w], best


class ImageEnsemble(Encoder):
    """Config: ``members`` (encoder names, each an image encoder), ``combine`` ("concat" |
    "mean"), optional ``member_weights`` (non-negative, normalised to sum 1) and
    ``runtime`` (when set, every member runs on it instead of its own)."""

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        if self.modality != "image":
            raise ValueError("an image ensemble has modality 'image'")
        self.members = list(config["members"])
        if len(self.members) < 2:
            raise ValueError("an ensemble needs at least two members")
        self.combine = config.get("combine", "concat")
        if self.combine not in COMBINES:
            raise ValueError(f"combine must be one of {COMBINES}, got {self.combine!r}")
        self.member_weights = config.get("member_weights")
        self._encoders = None

    @property
    def encoders(self) -> list[Encoder]:
        if self._encoders is None:
            from coverstory.encoders.registry import build_encoder, encoder_config

            cfgs = [encoder_config(m) for m in self.members]
            if self.config.get("runtime"):   # e.g. "torch" for checks against ONNX Runtime
                cfgs = [{**c, "runtime": self.config["runtime"]} for c in cfgs]
            self._encoders = [build_encoder(c) for c in cfgs]
            dims = [e.dim for e in self._encoders]
            want = sum(dims) if self.combine == "concat" else dims[0]
            if want != self.dim:
                raise ValueError(f"{self.name}: dim {self.dim} but members give {want}")
        return self._encoders

    def encode_members(self, items: Sequence[Any], batch_size: int = 32,
                       progress: bool = False) -> list[np.ndarray]:
        """Each member's raw vectors (not normalised), in ``members`` order."""
        items = list(items)
        return [e.encode(items, batch_size, progress) for e in self.encoders]

    def encode(self, items: Sequence[Any], batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        items = list(items)
        if not items:
            return np.zeros((0, self.dim), np.float32)
        return combine_members(self.encode_members(items, batch_size, progress),
                               self.combine, self.member_weights)
