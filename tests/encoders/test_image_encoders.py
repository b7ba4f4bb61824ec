"""Every image encoder through the shared mixin, on tiny images at a small input size."""

from __future__ import annotations

import numpy as np
import pytest

from tests.encoders.mixin import EncoderTestMixin, assert_same, tiny_images


def small(name: str, **overrides):
    from coverstory.encoders.registry import build_encoder, presets

    return build_encoder({**presets()[name], **overrides})


class TestEfficientNetLite0ONNX(EncoderTestMixin):
    def make_encoder(self):
        return small("efficientnet-lite0.imagenet", image_size=64, runtime="torch")

    def test_onnx_runtime_matches_torch(self):
        enc = small("efficientnet-lite0.imagenet", image_size=64)
        assert enc.config["runtime"] == "onnx"
        items = tiny_images(3, seed=5)
        np.testing.assert_allclose(enc.encode(items), enc.torch_encode(items), rtol=1e-3,
                                   atol=1e-3)

    def test_pretrained_weights_are_not_random(self, encoder):
        rnd = small("efficientnet-lite0.random", image_size=64)
        items = tiny_images(2)
        assert not np.allclose(encoder.torch_encode(items), rnd.encode(items), atol=1e-2)


@pytest.mark.slow  # big backbones: seconds to build on an idle CPU
class TestResNet50(EncoderTestMixin):
    def make_encoder(self):
        return small("resnet50.random", image_size=32)


class TestMobileNetV2(EncoderTestMixin):
    def make_encoder(self):
        return small("mobilenetv2.random", image_size=32)


class TestEfficientNetB0(EncoderTestMixin):
    def make_encoder(self):
        return small("efficientnetb0.random", image_size=32)


@pytest.mark.slow  # big backbones: seconds to build on an idle CPU
class TestVGG16(EncoderTestMixin):
    def make_encoder(self):
        return small("vgg16.random", image_size=32)


@pytest.mark.slow  # big backbones: seconds to build on an idle CPU
class TestTripleCNN(EncoderTestMixin):
    def make_encoder(self):
        return small("triple-cnn.random", image_size=32)


@pytest.mark.slow  # big backbones: seconds to build on an idle CPU
class TestVGG16Attention(EncoderTestMixin):
    def make_encoder(self):
        return small("vgg16-attn.random", image_size=32)

    def test_attention_is_residual_reweighting(self, encoder):
        import torch

        items = tiny_images(2)
        q = encoder.attention(items)
        assert q.shape == (2, 512) and (q >= 0).all() and (q <= 1).all()
        with torch.no_grad():
            v = encoder.module.vgg(encoder.prepare(items)).numpy()
        assert_same(encoder.encode(items), v + q * v)


def test_random_names_mean_the_same_weights():
    a = small("mobilenetv2.random", image_size=32)
    b = small("mobilenetv2.random", image_size=32)
    items = tiny_images(2)
    np.testing.assert_array_equal(a.encode(items), b.encode(items))


def test_imagenet_without_weights_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="resnet50.random"):
        small("resnet50.imagenet")


def test_bad_image_item_is_refused():
    enc = small("mobilenetv2.random", image_size=32)
    with pytest.raises(TypeError, match="PIL image, a path or bytes"):
        enc.encode([12345])
    with pytest.raises(FileNotFoundError):
        enc.encode(["/nonexistent/cover.jpg"])
