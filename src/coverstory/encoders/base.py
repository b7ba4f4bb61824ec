"""The ``Encoder`` contract: items in, one float32 vector per item out.

An encoder has a stable ``name`` that says which weights it carries
(``resnet50.random``, ``resnet50.ssl-1a2b3c4d``, ``efficientnet-lite0.imagenet``); the
feature cache is keyed by it. Every encoder can be saved to a folder (``config.json`` +
``weights.safetensors`` when it has trainable weights) and loaded back with
:func:`coverstory.encoders.registry.load_encoder`.

>>> from coverstory.encoders.registry import get_encoder      # doctest: +SKIP
>>> enc = get_encoder("minilm-l6.pretrained")                  # doctest: +SKIP
>>> enc.encode(["a cosy mystery in Venice"]).shape             # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import json
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

MODALITIES = ("image", "text", "audio")
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"


class Encoder(ABC):
    """Turns a list of items (images, texts or audio clips) into float32 vectors [n, dim]."""

    name: str
    dim: int
    modality: str

    def __init__(self, config: dict[str, Any]):
        self.config = dict(config)
        self.name = str(config["name"])
        self.dim = int(config["dim"])
        self.modality = str(config["modality"])
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")

    @abstractmethod
    def encode(self, items: Sequence[Any], batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        """float32 array [len(items), self.dim]."""

    @classmethod
    def identity_of(cls, config: dict[str, Any]) -> str:
        """What the vectors of an encoder with this config mean; the feature cache keeps its
        rows only while it stays the same (see ``encoders/cache.py``). The default is the
        name. Runtimes that give the same numbers (eager torch and an fp32 ONNX export
        checked against it) share an identity; a quantised model has its own."""
        return str(config["name"])

    @property
    def identity(self) -> str:
        return type(self).identity_of(self.config)

    # ---- persistence -----------------------------------------------------------------------
    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``config.json`` (and weights, for trainable encoders) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._save_weights(folder)
        write_json_atomic(folder / CONFIG_FILE, self.config)
        return folder

    def _save_weights(self, folder: Path) -> None:  # pretrained-only encoders keep none
        return None

    def load_weights(self, folder: Path) -> None:
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, modality={self.modality!r})"


class TorchEncoder(Encoder):
    """An encoder whose work is done by a torch ``nn.Module`` (``self.module``).

    Subclasses build the module in ``build_module`` and turn a batch of items into the
    module's input in ``prepare``; ``encode`` runs it in eval mode without gradients.
    """

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self.module = self.build_module()
        self.module.eval()

    @abstractmethod
    def build_module(self):
        """The torch module: input batch -> [n, dim] features."""

    @abstractmethod
    def prepare(self, items: Sequence[Any]):
        """A batch of items -> the module's input (a tensor or a tuple of tensors)."""

    def forward(self, batch):
        return self.module(*batch) if isinstance(batch, tuple) else self.module(batch)

    def encode(self, items: Sequence[Any], batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        import torch

        limit_threads()
        was_training = self.module.training
        self.module.eval()
        out = []
        try:
            with torch.no_grad():
                for chunk in batched(items, batch_size, progress=progress, desc=self.name):
                    out.append(self.forward(self.prepare(chunk)).float().cpu().numpy())
        finally:
            self.module.train(was_training)
        if not out:
            return np.zeros((0, self.dim), np.float32)
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)

    def _save_weights(self, folder: Path) -> None:
        from safetensors.torch import save_model

        tmp = folder / (WEIGHTS_FILE + ".tmp")
        save_model(self.module, str(tmp))
        os.replace(tmp, folder / WEIGHTS_FILE)

    def load_weights(self, folder: Path) -> None:
        from safetensors.torch import load_model

        path = Path(folder) / WEIGHTS_FILE
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing; the encoder folder is incomplete")
        load_model(self.module, str(path), strict=True, device="cpu")
        self.module.eval()
        self.__dict__.pop("_onnx_session", None)  # a stale export must not be reused


# ---- helpers shared by the implementations ------------------------------------------------
def default_threads() -> int:
    """Threads for inference: $COVERSTORY_THREADS when set, else the CPUs this process may
    run on (``os.sched_getaffinity``; 2 on the project's machines). Build steps run side by
    side set it to their share of the cores."""
    from coverstory.config import threads

    return threads()


def limit_threads(n: int | None = None) -> None:
    """At most ``n`` torch threads (default :func:`default_threads`; the machines are
    shared, and on an oversubscribed machine 1 thread is often faster than 2)."""
    import torch

    n = n or default_threads()
    if torch.get_num_threads() > n:
        torch.set_num_threads(n)


def batched(items: Sequence[Any], size: int, progress: bool = False,
            desc: str = "") -> Iterator[list]:
    items = list(items)
    starts = range(0, len(items), max(1, size))
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc=desc, unit="item", dynamic_ncols=True)
        for s in starts:
            yield items[s:s + size]
            bar.update(len(items[s:s + size]))
        bar.close()
    else:
        for s in starts:
            yield items[s:s + size]


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(n, eps)).astype(np.float32)
