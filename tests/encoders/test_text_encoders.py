"""The pretrained MiniLM sentence encoder through the shared mixin."""

from __future__ import annotations

import numpy as np
import pytest

from tests.encoders.mixin import EncoderTestMixin


class TestMiniLM(EncoderTestMixin):
    modality = "text"

    def make_encoder(self):
        from coverstory.encoders.registry import get_encoder

        return get_encoder("minilm-l6.pretrained")

    def test_meaning_not_just_words(self, encoder):
        x = encoder.encode(["a detective solves a murder", "a crime investigation novel",
                            "growing tomatoes in the garden"])
        assert x[0] @ x[1] > x[0] @ x[2] + 0.1
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)

    def test_rejects_non_text(self, encoder):
        with pytest.raises(TypeError, match="strings"):
            encoder.encode([3])
