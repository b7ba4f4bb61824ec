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


def test_semi_hard_picks_the_nearest_negative_past_the_positive():
    # anchor 0 at angle 0; positive 1 at 60 deg (d = 1); negatives at 30 deg (d = 0.134,
    # nearer than the positive: not semi-hard), 75 deg (d = 1.482) and 180 deg (d = 4)
    ang = torch.tensor([0.0, 60.0, 30.0, 75.0, 180.0]) * math.pi / 180
    z = torch.stack([ang.cos(), ang.sin()], 1)
    y = torch.tensor([0, 0, 1, 1, 1])
    d = 2 - 2 * (z @ z.T)
    # pair (0,1): the semi-hard negative is 3 (not 2, nearer than the positive);
    # pair (1,0): d(1,0) = 1, negatives from 1 at 0.268 (2), 0.068 (3), 3 (4) -> 4.
    # A wide margin keeps every term active so the choice shows in the value
    m = 2.5
    a01 = float(torch.relu(d[0, 1] - d[0, 3] + m))
    a10 = float(torch.relu(d[1, 0] - d[1, 4] + m))
    # class-1 anchors, positives within class 1, negatives {0, 1}
    rest = []
    for a in (2, 3, 4):
        for p in (2, 3, 4):
            if a == p:
                continue
            negs = sorted(float(d[a, n]) for n in (0, 1))
            far = [x for x in negs if x > float(d[a, p])]
            rest.append(max(0.0, float(d[a, p]) - (far[0] if far else negs[-1]) + m))
    expected = (a01 + a10 + sum(rest)) / 8
    assert float(triplet_loss(z, y, m, "semi_hard")) == pytest.approx(expected, abs=1e-5)


def test_semi_hard_has_gradients_and_is_fast_on_large_batches():
    import time

    g = torch.Generator().manual_seed(0)
    z = torch.randn(512, 256, generator=g, requires_grad=True)
    y = torch.randint(0, 33, (512,), generator=g)
    t0 = time.time()
    loss = triplet_loss(z, y, 0.2, "semi_hard")
    loss.backward()
    assert loss.item() > 0 and z.grad.abs().sum() > 0
    assert time.time() - t0 < 2.0
