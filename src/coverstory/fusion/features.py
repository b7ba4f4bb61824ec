"""``FeatureSet``: the per-book inputs, masks and labels a fusion model is trained on.

Built by :func:`coverstory.fusion.datasets.assemble`, consumed by ``coverstory.train.trainer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class FeatureSet:
    """Inputs of a set of books: ``x[name]`` [n, ...] arrays, ``mask[group]`` bool [n]
    (modality present), ``y`` int [n] labels, ``ids`` int [n] book ids."""

    x: dict[str, np.ndarray]
    y: np.ndarray
    ids: np.ndarray
    mask: dict[str, np.ndarray] = field(default_factory=dict)
    soft: np.ndarray | None = None          # optional soft targets [n, C]

    def __len__(self) -> int:
        return len(self.y)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(v.shape[1:]) for k, v in self.x.items()}

    def subset(self, idx) -> "FeatureSet":
        idx = np.asarray(idx)
        return FeatureSet({k: v[idx] for k, v in self.x.items()}, self.y[idx], self.ids[idx],
                          {k: v[idx] for k, v in self.mask.items()},
                          None if self.soft is None else self.soft[idx])

    def select(self, names: list[str]) -> "FeatureSet":
        groups = {n.split("@", 1)[0] for n in names}
        return FeatureSet({n: self.x[n] for n in names}, self.y, self.ids,
                          {g: m for g, m in self.mask.items() if g in groups}, self.soft)

    @classmethod
    def synthetic(cls, n: int = 256, n_classes: int = 4, seed: int = 0,
                  maps: bool = False) -> "FeatureSet":
        """Two modalities that each carry part of the label (for smoke tests): text tells
        the class pair, the image tells which of the pair."""
        rng = np.random.default_rng(seed)
        y = rng.integers(0, n_classes, n)
        t_cent = rng.normal(size=(n_classes // 2 + 1, 16))
        v_cent = rng.normal(size=(2, 24))
        text = t_cent[y // 2] + 0.3 * rng.normal(size=(n, 16))
        img = v_cent[y % 2] + 0.3 * rng.normal(size=(n, 24))
        x = {"title": text.astype(np.float32)}
        if maps:
            x["cover@c1"] = (img[:, :8, None, None] + 0.1 * rng.normal(size=(n, 8, 3, 3))
                             ).astype(np.float32)
            x["cover@c2"] = np.repeat(img[:, 8:, None, None], 2, 2).repeat(2, 3).astype(
                np.float32)
        else:
            x["cover"] = img.astype(np.float32)
        return cls(x, y.astype(np.int64), np.arange(n, dtype=np.int64))
