"""Transformer fusion: one token per modality (plus a [CLS] token) through self-attention.

Each modality's vector is projected to a d_model token and gets a learned modality
embedding; absent modalities are masked out of attention. The fused vector is the [CLS]
output; ``weights`` are the [CLS] token's attention over the modality tokens in the last
layer (heads averaged, renormalised without [CLS] itself, so each row sums to 1).
"""

from __future__ import annotations

import torch
from torch import nn

from coverstory.fusion.base import Fusion, FusionOutput, FusionSpec, masked_normalise


class _Layer(nn.Module):
    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(2 * d, d))

    def forward(self, x, pad):
        h = self.n1(x)
        a, w = self.attn(h, h, h, key_padding_mask=pad, need_weights=True,
                         average_attn_weights=True)
        x = x + a
        return x + self.ff(self.n2(x)), w


class TransformerFusion(Fusion):
    name = "transformer"

    def __init__(self, spec: FusionSpec):
        super().__init__(spec)
        d = int(spec.options.get("d_model", 128))
        gs = spec.modalities
        self.tokens = nn.ModuleDict({g: nn.Sequential(nn.LayerNorm(self.group_dim(g)),
                                                      nn.Linear(self.group_dim(g), d))
                                     for g in gs})
        self.type_emb = nn.Parameter(torch.randn(len(gs), d) * 0.02)
        self.cls = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.layers = nn.ModuleList(_Layer(d, int(spec.options.get("heads", 4)), spec.dropout)
                                    for _ in range(int(spec.options.get("layers", 2))))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, spec.out_dim)

    def forward(self, feats, mask=None) -> FusionOutput:
        gs = self.spec.modalities
        toks = [self.tokens[g](self.vector_of(feats, g)) for g in gs]
        b, dev = len(toks[0]), toks[0].device
        x = torch.stack(toks, 1) + self.type_emb[None]
        x = torch.cat([self.cls.expand(b, -1, -1), x], 1)
        present = torch.stack([self.group_mask(mask, g, b, dev) for g in gs], dim=1)
        pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool, device=dev), ~present], 1)
        w = None
        for layer in self.layers:
            x, w = layer(x, pad)
        weights = masked_normalise(w[:, 0, 1:], present)
        return FusionOutput(vector=self.out(self.norm(x[:, 0])), weights=weights)
