"""Cover attention from the text side (the seed's re-weighting v' = v + q ⊙ v, with q
computed from the book's text instead of from the cover itself).

For every image modality v (a pooled cover vector [B, d]), the text modalities
(LayerNorm'd and concatenated, t) give per-feature gates q = sigmoid(W t + b) in [0, 1]^d;
the attended cover is v' = v + q ⊙ v, so a gate can at most double a feature and never
removes one. The fused vector is an MLP of concat(LN(t), LN(v')). ``gates(feats)``
returns q, which is what explanations read: the cover features a title makes the model
look at.

With ``options["spatial"]`` and an image input given as a map [B, c, h, w], attention is
also spatial: a = softmax over the h·w positions of <P t, K v_hw>/sqrt(k), the map is
pooled with a instead of the plain mean (then gated as above); ``spatial_attention``
returns a [B, h, w].
"""

from __future__ import annotations

import math

import torch
from torch import nn

from coverstory.fusion.base import Fusion, FusionOutput, FusionSpec, mlp


class TextGatedCover(Fusion):
    name = "textgate"

    def __init__(self, spec: FusionSpec):
        super().__init__(spec)
        gs = spec.modalities
        self.text = [g for g in gs if spec.kind(g) == "text"]
        self.image = [g for g in gs if spec.kind(g) == "image"]
        if not self.text or not self.image:
            raise ValueError(f"textgate needs a text and an image modality, got {gs}")
        dt = sum(self.group_dim(g) for g in self.text)
        self.norms = nn.ModuleDict({g: nn.LayerNorm(self.group_dim(g)) for g in gs})
        self.gate = nn.ModuleDict({g: nn.Linear(dt, self.group_dim(g)) for g in self.image})
        # start with gates at sigmoid(-2) ~ 0.12: near the ungated cover, room to open
        for lin in self.gate.values():
            nn.init.zeros_(lin.weight)
            nn.init.constant_(lin.bias, float(spec.options.get("gate_bias", -2.0)))
        self.spatial = bool(spec.options.get("spatial", False))
        k = int(spec.options.get("key_dim", 64))
        self.keys = nn.ModuleDict()
        self.query = nn.ModuleDict()
        if self.spatial:
            for g in self.image:
                c = self.group_dim(g)
                self.keys[g] = nn.Conv2d(c, k, 1)
                self.query[g] = nn.Linear(dt, k)
        d = dt + sum(self.group_dim(g) for g in self.image)
        self.proj = mlp(d, spec.out_dim, hidden=spec.options.get("hidden", 512),
                        dropout=spec.dropout)

    def _text(self, feats, mask):
        parts = []
        for g in self.text:
            x = self.norms[g](self.vector_of(feats, g))
            present = self.group_mask(mask, g, len(x), x.device)
            parts.append(x * present[:, None].to(x.dtype))
        return torch.cat(parts, dim=1)

    def _map(self, feats, g):
        """The image group's single map input [B, c, h, w], or None."""
        names = [n for n in self.spec.inputs if self.spec.group(n) == g]
        if len(names) == 1 and feats[names[0]].dim() == 4:
            return feats[names[0]]
        return None

    def _pooled(self, feats, g, t):
        """(pooled cover vector [B, c], spatial weights [B, h, w] or None)."""
        m = self._map(feats, g) if self.spatial else None
        if m is None:
            return self.vector_of(feats, g), None
        b, c, h, w = m.shape
        keys = self.keys[g](m).flatten(2)                          # [B, k, hw]
        q = self.query[g](t)[:, None, :]                           # [B, 1, k]
        a = torch.softmax((q @ keys).squeeze(1) / math.sqrt(keys.shape[1]), dim=1)
        return (m.flatten(2) * a[:, None, :]).sum(-1), a.view(b, h, w)

    def gates(self, feats, mask=None) -> dict[str, torch.Tensor]:
        """{image group: q [B, d]}: the per-feature attention the text puts on the cover."""
        t = self._text(feats, mask)
        return {g: torch.sigmoid(self.gate[g](t)) for g in self.image}

    def spatial_attention(self, feats, mask=None) -> dict[str, torch.Tensor]:
        t = self._text(feats, mask)
        return {g: a for g in self.image
                for _, a in [self._pooled(feats, g, t)] if a is not None}

    def forward(self, feats, mask=None) -> FusionOutput:
        t = self._text(feats, mask)
        parts = [t]
        for g in self.image:
            v, _ = self._pooled(feats, g, t)
            q = torch.sigmoid(self.gate[g](t))
            v = self.norms[g](v + q * v)
            present = self.group_mask(mask, g, len(v), v.device)
            parts.append(v * present[:, None].to(v.dtype))
        return FusionOutput(vector=self.proj(torch.cat(parts, dim=1)))
