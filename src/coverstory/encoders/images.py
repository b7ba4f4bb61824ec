"""Loading cover images and turning them into normalised arrays; the image-encoder base."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coverstory.encoders.base import TorchEncoder, limit_threads

ONNX_BATCH = 4       # images per ONNX Runtime call (small batches were faster in trials)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_image(item: Any):
    """A PIL RGB image from a PIL image, a path or raw bytes (clear error otherwise)."""
    from PIL import Image

    if isinstance(item, Image.Image):
        img = item
    elif isinstance(item, (bytes, bytearray, memoryview)):
        img = Image.open(io.BytesIO(bytes(item)))
    elif isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if not path.exists():
            raise FileNotFoundError(f"cover image not found: {path}")
        img = Image.open(path)
    else:
        raise TypeError(f"an image item must be a PIL image, a path or bytes, not {type(item)}")
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img


def image_array(images: Sequence[Any], size: int, mean=IMAGENET_MEAN,
                std=IMAGENET_STD) -> np.ndarray:
    """float32 [n, 3, size, size]: each image squashed to size x size, scaled, normalised."""
    from PIL import Image

    out = np.empty((len(images), 3, size, size), np.float32)
    m = np.asarray(mean, np.float32).reshape(3, 1, 1)
    s = np.asarray(std, np.float32).reshape(3, 1, 1)
    for i, item in enumerate(images):
        img = load_image(item).resize((size, size), Image.BILINEAR)
        a = np.asarray(img, np.float32).transpose(2, 0, 1) / 255.0
        out[i] = (a - m) / s
    return out


class TorchImageEncoder(TorchEncoder):
    """Image encoder on a torch module taking [n, 3, S, S] normalised images.

    Config: ``image_size``, ``mean``, ``std`` and ``runtime`` ("torch" or "onnx": the
    same module exported to ONNX and run by ONNX Runtime, checked against torch once).
    """

    @property
    def image_size(self) -> int:
        return int(self.config.get("image_size", 224))

    def prepare(self, items: Sequence[Any]):
        import torch

        return torch.from_numpy(self.arrays(items))

    def arrays(self, items: Sequence[Any]) -> np.ndarray:
        return image_array(items, self.image_size, self.config.get("mean", IMAGENET_MEAN),
                           self.config.get("std", IMAGENET_STD))

    def encode(self, items: Sequence[Any], batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        if self.config.get("runtime", "torch") != "onnx":
            return super().encode(items, batch_size, progress)
        from coverstory.encoders.onnx_runtime import onnx_session, run_parallel

        session = onnx_session(self)
        items = list(items)
        if not items:
            return np.zeros((0, self.dim), np.float32)
        # small batches (decoded in the worker threads), several sessions at once
        step = max(1, min(int(batch_size), ONNX_BATCH))
        chunks = [items[s:s + step] for s in range(0, len(items), step)]
        out = run_parallel(lambda c: session.run(None, {"images": self.arrays(c)})[0], chunks)
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)

    def torch_encode(self, items: Sequence[Any], batch_size: int = 32) -> np.ndarray:
        """Always through eager torch (for checks against ONNX Runtime)."""
        limit_threads()
        return TorchEncoder.encode(self, items, batch_size)
