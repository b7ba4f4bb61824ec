"""Early fusion: the modalities' vectors concatenated, then projected."""

from __future__ import annotations

import torch
from torch import nn

from coverstory.fusion.base import Fusion, FusionOutput, FusionSpec, mlp


class EarlyFusion(Fusion):
    """concat(LayerNorm(x_m) for each modality) -> MLP -> out_dim. No modality weights."""

    name = "early"

    def __init__(self, spec: FusionSpec):
        super().__init__(spec)
        self.norms = nn.ModuleDict({g: nn.LayerNorm(self.group_dim(g)) for g in spec.modalities})
        d = sum(self.group_dim(g) for g in spec.modalities)
        self.proj = mlp(d, spec.out_dim, hidden=spec.options.get("hidden", 512),
                        dropout=spec.dropout)

    def forward(self, feats, mask=None) -> FusionOutput:
        parts = []
        for g in self.spec.modalities:
            x = self.norms[g](self.vector_of(feats, g))
            present = self.group_mask(mask, g, len(x), x.device)
            parts.append(x * present[:, None].to(x.dtype))
        return FusionOutput(vector=self.proj(torch.cat(parts, dim=1)))
