"""Modality-weighted fusion with CBAM (the paper's Section 3), over multi-scale maps.

For every scale s (the image's feature maps C1, C2, C3; a vector input counts as a 1x1 map
and text vectors are tiled over the scale's grid, as the paper's text maps U_s):

1. NIN: a 1x1 convolution compresses each modality's map to ``channels // M`` channels
   (so the fused map has as many channels as one modality's, as in the paper);
2. modality weights: S_m = sigmoid(MLP(GAP(NIN_m))) per row, normalised w_m = S_m / sum S
   (Eq. 4; absent modalities get 0), and L_s = concat_m(w_m * NIN_m);
3. CBAM channel attention D' = D * sigmoid(MLP(AvgPool D) + MLP(MaxPool D)) (shared MLP,
   Eq. 6), then spatial attention D'' = D' * sigmoid(conv([mean_c D'; max_c D'])) (Eq. 7).

Each scale is average-pooled, the scales concatenated and projected to the fused vector.
``weights`` are the modality weights averaged over scales (each row sums to 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from coverstory.fusion.base import Fusion, FusionOutput, FusionSpec, masked_normalise, mlp


class ChannelAttention(nn.Module):
    def __init__(self, channels: int, reduction: int = 8):
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(),
                                 nn.Conv2d(hidden, channels, 1))

    def forward(self, x):
        avg = F.adaptive_avg_pool2d(x, 1)
        mx = F.adaptive_max_pool2d(x, 1)
        return x * torch.sigmoid(self.mlp(avg) + self.mlp(mx))


class SpatialAttention(nn.Module):
    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel, padding=kernel // 2)

    def forward(self, x):
        desc = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(desc))


class CBAM(nn.Module):
    """Channel then spatial attention (Woo et al. 2018)."""

    def __init__(self, channels: int, reduction: int = 8, kernel: int = 7):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel)

    def forward(self, x):
        return self.spatial(self.channel(x))


class CBAMFusion(Fusion):
    name = "cbam"

    def __init__(self, spec: FusionSpec):
        super().__init__(spec)
        gs = spec.modalities
        self.channels = int(spec.options.get("channels", 128))
        per = max(self.channels // len(gs), 8)
        # scales: the map inputs, by suffix after "@" (one 1x1 scale when there are none)
        self.scales: list[tuple[str, int, int]] = []
        for name, shape in spec.inputs.items():
            if len(shape) == 3:
                sc = name.split("@", 1)[1] if "@" in name else name
                if sc not in [s[0] for s in self.scales]:
                    self.scales.append((sc, shape[1], shape[2]))
        if not self.scales:
            self.scales = [("vec", 1, 1)]
        self.nin = nn.ModuleDict()
        self.gate = nn.ModuleDict()
        for sc, _, _ in self.scales:
            for g in gs:
                c_in = self._source(g, sc)[1]
                key = f"{g}|{sc}"
                self.nin[key] = nn.Sequential(nn.Conv2d(c_in, per, 1), nn.BatchNorm2d(per),
                                              nn.ReLU())
                self.gate[key] = nn.Sequential(nn.Linear(per, max(per // 4, 4)), nn.ReLU(),
                                               nn.Linear(max(per // 4, 4), 1))
        self.cbam = nn.ModuleDict({sc: CBAM(per * len(gs), kernel=min(7, 2 * (h // 2) + 1))
                                   for sc, h, _ in self.scales})
        self.out = mlp(per * len(gs) * len(self.scales), spec.out_dim, dropout=spec.dropout)

    def _source(self, group: str, scale: str) -> tuple[str | None, int]:
        """The input giving this group's map at this scale, or (None, vector dim) to tile."""
        for name, shape in self.spec.inputs.items():
            if self.spec.group(name) == group and len(shape) == 3:
                sc = name.split("@", 1)[1] if "@" in name else name
                if sc == scale:
                    return name, shape[0]
        return None, self.group_dim(group)

    def forward(self, feats, mask=None) -> FusionOutput:
        gs = self.spec.modalities
        pooled, weights = [], []
        b = len(next(iter(feats.values())))
        dev = next(iter(feats.values())).device
        present = torch.stack([self.group_mask(mask, g, b, dev) for g in gs], dim=1)
        for sc, h, w in self.scales:
            comp, gates = [], []
            for g in gs:
                name, _ = self._source(g, sc)
                if name is not None:
                    z = self.nin[f"{g}|{sc}"](feats[name].float())
                else:  # a vector tiled over the grid: compress once, then tile (same result)
                    vec = self.vector_of(feats, g)
                    z = self.nin[f"{g}|{sc}"](vec[:, :, None, None]).expand(-1, -1, h, w)
                comp.append(z)
                gates.append(torch.sigmoid(self.gate[f"{g}|{sc}"](z.mean((2, 3)))))
            wts = masked_normalise(torch.cat(gates, dim=1), present)          # [B, M], rows sum 1
            fused = torch.cat([z * wts[:, i, None, None, None] for i, z in enumerate(comp)], 1)
            fused = self.cbam[sc](fused)
            pooled.append(fused.mean((2, 3)))
            weights.append(wts)
        return FusionOutput(vector=self.out(torch.cat(pooled, 1)),
                            weights=torch.stack(weights, 0).mean(0))
