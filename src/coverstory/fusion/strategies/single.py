"""Single-modality baseline through the same trainer: one modality group, an MLP."""

from __future__ import annotations

import torch
from torch import nn

from coverstory.fusion.base import Fusion, FusionOutput, FusionSpec, mlp


class SingleModality(Fusion):
    """Uses only ``options["group"]`` (default: the first modality). Weight is 1."""

    name = "single"

    def __init__(self, spec: FusionSpec):
        super().__init__(spec)
        self.group = spec.options.get("group") or spec.modalities[0]
        if self.group not in spec.modalities:
            raise ValueError(f"group {self.group!r} not among inputs {spec.modalities}")
        d = self.group_dim(self.group)
        self.norm = nn.LayerNorm(d)
        self.proj = mlp(d, spec.out_dim, dropout=spec.dropout)

    def forward(self, feats, mask=None) -> FusionOutput:
        x = self.vector_of(feats, self.group)
        v = self.proj(self.norm(x))
        return FusionOutput(vector=v, weights=torch.ones(len(x), 1, device=x.device))
