"""Every fusion strategy on random tensors: shapes, gradients, modality weights."""

from __future__ import annotations

import pytest
import torch

from coverstory.fusion.base import FusionSpec
from coverstory.fusion.registry import STRATEGIES, build_fusion_module

VEC_INPUTS = {"title": (12,), "cover": (20,), "ocr": (12,)}
MAP_INPUTS = {"title": (12,), "cover@c1": (6, 4, 4), "cover@c2": (10, 2, 2)}
KINDS = {"title": "text", "ocr": "text", "cover": "image", "cover@c1": "image",
         "cover@c2": "image"}


def make(name, inputs, n_classes=5, out_dim=16):
    torch.manual_seed(0)
    spec = FusionSpec(dict(inputs), n_classes, out_dim, modality=dict(KINDS), dropout=0.0,
                      options={"group": "cover"} if name == "single" else {})
    return build_fusion_module(name, spec), spec


def batch(inputs, b=8):
    g = torch.Generator().manual_seed(1)
    return {k: torch.randn(b, *s, generator=g, requires_grad=True) for k, s in inputs.items()}


@pytest.mark.parametrize("inputs", [VEC_INPUTS, MAP_INPUTS], ids=["vectors", "maps"])
@pytest.mark.parametrize("name", list(STRATEGIES))
def test_shapes_and_gradients(name, inputs):
    model, spec = make(name, inputs)
    model.train()
    feats = batch(inputs)
    out = model(feats)
    assert out.vector.shape == (8, 16)
    if out.logits is not None:
        assert out.logits.shape == (8, 5)
    loss = out.vector.pow(2).sum() + (out.logits.sum() if out.logits is not None else 0)
    if out.aux_loss is not None:
        assert out.aux_loss.dim() == 0
        loss = loss + out.aux_loss
    loss.backward()
    used = [k for k in inputs if name != "single" or k.startswith("cover")]
    for k in used:
        assert feats[k].grad is not None and feats[k].grad.abs().sum() > 0, f"no gradient to {k}"
    for n, p in model.named_parameters():
        if name == "adversarial" and n.startswith("disc") and out.aux_loss is None:
            continue
        assert p.grad is not None, f"parameter {n} got no gradient"


@pytest.mark.parametrize("name", ["late", "cbam", "transformer", "adversarial"])
def test_weights_are_a_distribution_and_respect_masks(name):
    model, spec = make(name, VEC_INPUTS)
    model.eval()
    feats = batch(VEC_INPUTS)
    out = model(feats)
    w = out.weights.detach()
    assert w.shape == (8, len(spec.modalities))
    assert torch.all(w >= 0)
    assert torch.allclose(w.sum(1), torch.ones(8), atol=1e-5)
    mask = {"ocr": torch.tensor([True, False] * 4)}
    w = model(feats, mask).weights.detach()
    j = spec.modalities.index("ocr")
    assert torch.all(w[1::2, j] == 0) and torch.all(w[0::2, j] > 0)
    assert torch.allclose(w.sum(1), torch.ones(8), atol=1e-5)


def test_adversarial_discriminator_gradient_is_reversed():
    from coverstory.fusion.strategies.adversarial import grad_reverse

    x = torch.ones(3, requires_grad=True)
    (grad_reverse(x, 0.5) * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_coattention_requires_both_sides():
    with pytest.raises(ValueError, match="text and one image"):
        make("coattention", {"title": (4,), "ocr": (4,)})


def test_unknown_strategy_names_the_choices():
    from coverstory.fusion.registry import get_strategy

    with pytest.raises(ValueError, match="early"):
        get_strategy("nope")
