"""Late fusion: one embedding and classifier head per modality, decisions combined with
learned weights (softmax over modalities; absent modalities get weight 0)."""

from __future__ import annotations

import torch
from torch import nn

from coverstory.fusion.base import Fusion, FusionOutput, FusionSpec, masked_softmax, mlp


class LateFusion(Fusion):
    """logits = sum_m w_m * head_m(h_m), vector = sum_m w_m * h_m, w = softmax(alpha)."""

    name = "late"

    def __init__(self, spec: FusionSpec):
        super().__init__(spec)
        gs = spec.modalities
        self.norms = nn.ModuleDict({g: nn.LayerNorm(self.group_dim(g)) for g in gs})
        self.embed = nn.ModuleDict({g: mlp(self.group_dim(g), spec.out_dim, dropout=spec.dropout)
                                    for g in gs})
        self.heads = nn.ModuleDict({g: nn.Linear(spec.out_dim, spec.n_classes) for g in gs})
        self.alpha = nn.Parameter(torch.zeros(len(gs)))

    def forward(self, feats, mask=None) -> FusionOutput:
        gs = self.spec.modalities
        hs = [self.embed[g](self.norms[g](self.vector_of(feats, g))) for g in gs]
        b, dev = len(hs[0]), hs[0].device
        present = torch.stack([self.group_mask(mask, g, b, dev) for g in gs], dim=1)
        w = masked_softmax(self.alpha.expand(b, -1), present)
        logits = sum(w[:, i:i + 1] * self.heads[g](h) for i, (g, h) in enumerate(zip(gs, hs)))
        vector = sum(w[:, i:i + 1] * h for i, h in enumerate(hs))
        return FusionOutput(vector=vector, weights=w, logits=logits)
