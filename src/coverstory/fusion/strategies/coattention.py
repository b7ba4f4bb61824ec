"""Cross-modal co-attention: text and image tokens attend to each other.

With t' = ReLU(W_t t + b_t) and v' = ReLU(W_v v + b_v) reshaped to k tokens of size d
(k x d each), S = scale * t' v'^T (k x k),

    A_t2v = softmax_rows(S)        A_v2t = softmax_rows(S^T)
    t_fused = t' + A_v2t v'        v_fused = v' + A_t2v^T t'

and the fused vector is an MLP of [t_fused; v_fused] flattened. With k = 3, d = 1 this is
exactly the worked example of the co-attention article (tests/fusion check it by hand).
The text side is every text modality (title, description, OCR) concatenated; the image
side every image modality.
"""

from __future__ import annotations

import torch
from torch import nn

from coverstory.fusion.base import Fusion, FusionOutput, FusionSpec, mlp


def coattend(t: torch.Tensor, v: torch.Tensor, scale: float = 1.0):
    """The co-attention arithmetic on token matrices t, v of shape [..., k, d].

    Returns (t_fused, v_fused, A_t2v, A_v2t)."""
    if t.shape[-2] != v.shape[-2]:
        raise ValueError(f"co-attention needs as many text as image tokens, got "
                         f"{t.shape[-2]} and {v.shape[-2]}")
    s = scale * t @ v.transpose(-1, -2)
    a_t2v = torch.softmax(s, dim=-1)
    a_v2t = torch.softmax(s.transpose(-1, -2), dim=-1)
    t_fused = t + a_v2t @ v
    v_fused = v + a_t2v.transpose(-1, -2) @ t
    return t_fused, v_fused, a_t2v, a_v2t


class CoAttentionFusion(Fusion):
    name = "coattention"

    def __init__(self, spec: FusionSpec):
        super().__init__(spec)
        self.k = int(spec.options.get("tokens", 8))
        self.d = int(spec.options.get("token_dim", 32))
        self.text_groups = [g for g in spec.modalities if spec.kind(g) != "image"]
        self.image_groups = [g for g in spec.modalities if spec.kind(g) == "image"]
        if not self.text_groups or not self.image_groups:
            raise ValueError("co-attention needs at least one text and one image modality; "
                             f"got {spec.modalities}")
        dt = sum(self.group_dim(g) for g in self.text_groups)
        dv = sum(self.group_dim(g) for g in self.image_groups)
        self.norm_t, self.norm_v = nn.LayerNorm(dt), nn.LayerNorm(dv)
        self.proj_t = nn.Sequential(nn.Linear(dt, self.k * self.d), nn.ReLU())
        self.proj_v = nn.Sequential(nn.Linear(dv, self.k * self.d), nn.ReLU())
        self.out = mlp(2 * self.k * self.d, spec.out_dim, dropout=spec.dropout)
        self.scale = float(spec.options.get("scale", self.d ** -0.5))

    def _side(self, feats, mask, groups):
        parts = []
        for g in groups:
            x = self.vector_of(feats, g)
            parts.append(x * self.group_mask(mask, g, len(x), x.device)[:, None].to(x.dtype))
        return torch.cat(parts, dim=1)

    def forward(self, feats, mask=None) -> FusionOutput:
        t = self.proj_t(self.norm_t(self._side(feats, mask, self.text_groups)))
        v = self.proj_v(self.norm_v(self._side(feats, mask, self.image_groups)))
        b = len(t)
        t_f, v_f, _, _ = coattend(t.view(b, self.k, self.d), v.view(b, self.k, self.d),
                                  self.scale)
        return FusionOutput(vector=self.out(torch.cat([t_f.flatten(1), v_f.flatten(1)], 1)))
