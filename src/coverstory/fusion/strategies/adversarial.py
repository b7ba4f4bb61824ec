"""Adversarial alignment: per-modality projections into one space, and a discriminator
that tries to tell which modality an embedding came from while the projections learn
(through a gradient-reversal layer) to fool it.

The fused vector is the weighted sum of the projections, w = softmax(alpha) over the
present modalities. ``aux_loss`` = lambda * cross-entropy of the discriminator; minimising
it trains the discriminator and, reversed, pushes the projections to be indistinguishable.
``embed(feats, group)`` gives one modality's projection alone (cross-modal retrieval).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from coverstory.fusion.base import Fusion, FusionOutput, FusionSpec, masked_softmax, mlp


class _GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lam):
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return -ctx.lam * g, None


def grad_reverse(x: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    return _GradReverse.apply(x, lam)


class AdversarialFusion(Fusion):
    name = "adversarial"

    def __init__(self, spec: FusionSpec):
        super().__init__(spec)
        gs = spec.modalities
        self.lam = float(spec.options.get("adv_weight", 0.1))
        self.proj = nn.ModuleDict({g: nn.Sequential(nn.LayerNorm(self.group_dim(g)),
                                                    mlp(self.group_dim(g), spec.out_dim,
                                                        dropout=spec.dropout))
                                   for g in gs})
        self.disc = nn.Sequential(nn.Linear(spec.out_dim, 128), nn.ReLU(),
                                  nn.Linear(128, len(gs)))
        self.alpha = nn.Parameter(torch.zeros(len(gs)))

    def embed(self, feats, group: str) -> torch.Tensor:
        return self.proj[group](self.vector_of(feats, group))

    def forward(self, feats, mask=None) -> FusionOutput:
        gs = self.spec.modalities
        ps = [self.embed(feats, g) for g in gs]
        b, dev = len(ps[0]), ps[0].device
        present = torch.stack([self.group_mask(mask, g, b, dev) for g in gs], dim=1)
        w = masked_softmax(self.alpha.expand(b, -1), present)
        vector = sum(w[:, i:i + 1] * p for i, p in enumerate(ps))
        aux = None
        if self.training and len(gs) > 1:
            z = torch.cat([F.normalize(p, dim=1) for p in ps])
            y = torch.arange(len(gs), device=dev).repeat_interleave(b)
            keep = present.T.reshape(-1)
            logits = self.disc(grad_reverse(z[keep], 1.0))
            aux = self.lam * F.cross_entropy(logits, y[keep])
        return FusionOutput(vector=vector, weights=w, aux_loss=aux)
