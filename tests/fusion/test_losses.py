"""Triplet loss and the fusion objective against values worked by hand."""

import math

import pytest
import torch

from coverstory.fusion.losses import fusion_objective, triplet_loss


def test_triplet_batch_all_by_hand():
    # unit vectors at angles 0, 90 (class 0) and 60 deg (class 1); squared distance 2-2cos
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, math.sqrt(3) / 2]])
    y = torch.tensor([0, 0, 1])
    # d(0,1)=2, d(0,2)=1, d(1,2)=2-sqrt(3)=0.267949; margin 0.2
    # triplets (a,p,n): (0,1,2): 2-1+0.2=1.2 ; (1,0,2): 2-0.267949+0.2=1.932051
    expected = (1.2 + 1.932051) / 2
    assert abs(float(triplet_loss(z, y, 0.2)) - expected) < 1e-5
    # batch-hard gives the same here (one positive, one negative per anchor)
    assert abs(float(triplet_loss(z, y, 0.2, "batch_hard")) - expected) < 1e-5


def test_triplet_zero_when_classes_are_separated_and_scale_free():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.01], [-1.0, 0.0], [-1.0, 0.02]])
    y = torch.tensor([0, 0, 1, 1])
    assert float(triplet_loss(z, y, 0.2)) == 0.0
    assert float(triplet_loss(10 * z, y, 0.2)) == 0.0        # L2-normalised first


def test_objective_is_ce_plus_beta_triplet():
    g = torch.Generator().manual_seed(0)
    logits, vec = torch.randn(6, 3, generator=g), torch.randn(6, 4, generator=g)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    p = fusion_objective(logits, vec, y, beta=0.5)
    ce = torch.nn.functional.cross_entropy(logits, y)
    assert torch.allclose(p["ce"], ce)
    assert torch.allclose(p["loss"], ce + 0.5 * triplet_loss(vec, y, 0.2))
    assert float(fusion_objective(logits, vec, y, beta=0.0)["loss"]) == pytest.approx(float(ce))
