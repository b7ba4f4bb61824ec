"""Tests every encoder gets for free: shape, dtype, determinism in eval mode, save/load.

A test class sets ``make_encoder()`` (a small, fast configuration of the encoder) and
``make_items(n)`` (tiny inputs of the encoder's modality) and inherits the tests.
"""

from __future__ import annotations

import numpy as np
import pytest


def tiny_images(n: int, size=(40, 56), seed: int = 0):
    """``n`` small PIL images with random blocks of colour (distinct from each other)."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = Image.new("RGB", size, tuple(int(c) for c in rng.integers(0, 255, 3)))
        d = ImageDraw.Draw(img)
        for _ in range(4):
            x0, y0 = int(rng.integers(0, size[0] - 8)), int(rng.integers(0, size[1] - 8))
            d.rectangle([x0, y0, x0 + int(rng.integers(4, 20)), y0 + int(rng.integers(4, 20))],
                        fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        out.append(img)
    return out


SENTENCES = [
    "A boy discovers he is a wizard and goes to a boarding school of magic.",
    "An astronaut stranded on Mars must grow food and survive alone.",
    "A cosy mystery: a retired teacher solves a murder in Venice.",
    "Two rivals fall in love while saving a family farm.",
    "A practical guide to growing vegetables and flowers.",
]


def perturb(encoder, seed: int = 1) -> None:
    """Change a trainable encoder's weights, so a reload that re-initialises is caught."""
    module = getattr(encoder, "module", None)
    if module is None:
        return
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))


def assert_same(a: np.ndarray, b: np.ndarray, tol: float = 1e-4) -> None:
    """Equal up to ``tol`` relative to the largest value (random nets can have tiny outputs)."""
    scale = max(float(np.abs(a).max()), 1e-30)
    np.testing.assert_allclose(a / scale, b / scale, rtol=0, atol=tol)


class EncoderTestMixin:
    modality: str = "image"

    def make_encoder(self):
        raise NotImplementedError

    def make_items(self, n: int):
        if self.modality == "image":
            return tiny_images(n)
        if self.modality == "text":
            return [SENTENCES[i % len(SENTENCES)] for i in range(n)]
        raise NotImplementedError("audio test classes define make_items")

    @pytest.fixture(scope="class")
    @classmethod
    def encoder(cls):
        return cls().make_encoder()

    def test_contract_fields(self, encoder):
        assert isinstance(encoder.name, str) and encoder.name
        assert encoder.modality == self.modality
        assert encoder.dim > 0

    def test_shape_and_dtype(self, encoder):
        x = encoder.encode(self.make_items(3), batch_size=2)
        assert x.shape == (3, encoder.dim)
        assert x.dtype == np.float32
        assert np.isfinite(x).all()

    def test_empty_input(self, encoder):
        x = encoder.encode([])
        assert x.shape == (0, encoder.dim) and x.dtype == np.float32

    def test_deterministic_in_eval_mode(self, encoder):
        items = self.make_items(3)
        a = encoder.encode(items, batch_size=3)
        b = encoder.encode(items, batch_size=1)  # batch size must not change a row
        assert_same(a, b)

    def test_distinct_inputs_give_distinct_vectors(self, encoder):
        x = encoder.encode(self.make_items(2))
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
        assert np.abs(x[0] - x[1]).max() > 1e-3

    def test_save_load_round_trip(self, encoder, tmp_path):
        from coverstory.encoders.registry import load_encoder

        items = self.make_items(2)
        perturb(encoder)
        before = encoder.encode(items)
        encoder.save(tmp_path / "enc")
        loaded = load_encoder(tmp_path / "enc")
        assert loaded.name == encoder.name and loaded.dim == encoder.dim
        assert_same(loaded.encode(items), before)
