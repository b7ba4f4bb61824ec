"""The ``Fusion`` contract: per-modality features in, one fused book vector out.

Every strategy is a ``torch.nn.Module`` built from ``FusionSpec`` (the input modalities and
their shapes, the fused size and the number of classes) and returns a ``FusionOutput``:

- ``vector``   float [B, out_dim], the fused book vector (the trainer L2-normalises it for
  the triplet loss; the exported cache holds it normalised);
- ``weights``  float [B, M] or None, per-modality weights in ``spec.modalities`` order; where
  given they are non-negative and sum to 1 over the modalities of each row;
- ``logits``   float [B, n_classes] or None: strategies that decide per modality (late
  fusion) give their own logits, the others leave it to the shared classifier head;
- ``aux_loss`` scalar tensor or None, an extra training loss (the adversarial
  discriminator's), added by the trainer.

Inputs are a dict ``{modality: tensor}``: vectors [B, d] or, for image modalities of the
CBAM strategy, maps [B, c, h, w] per scale (``"cover@c1"`` ...). A modality whose feature is
missing for a row (no OCR text, say) is passed as zeros with ``mask[modality]`` False; the
strategies that weight modalities give a masked modality weight 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class FusionSpec:
    """What a fusion module is built for.

    ``inputs`` maps each input name to its shape without the batch axis: ``(d,)`` for a
    vector, ``(c, h, w)`` for a feature map. ``modality`` maps each input to its modality
    (``"image"`` or ``"text"``; OCR text is ``"text"``); several inputs may share a
    modality (the scales of one image). ``groups`` maps each input to its modality group
    name (default: the input name up to ``@``), which is what weights are given over.
    """

    inputs: dict[str, tuple[int, ...]]
    n_classes: int
    out_dim: int = 256
    modality: dict[str, str] = field(default_factory=dict)
    dropout: float = 0.2
    options: dict = field(default_factory=dict)

    def group(self, name: str) -> str:
        return name.split("@", 1)[0]

    @property
    def modalities(self) -> list[str]:
        """Modality groups in input order (``cover@c1``, ``cover@c2`` -> ``cover``)."""
        seen: list[str] = []
        for name in self.inputs:
            g = self.group(name)
            if g not in seen:
                seen.append(g)
        return seen

    def kind(self, group: str) -> str:
        for name in self.inputs:
            if self.group(name) == group:
                default = ("image" if len(self.inputs[name]) == 3
                           or group.startswith(("cover", "image", "img")) else "text")
                return self.modality.get(name, default)
        raise KeyError(group)

    def to_dict(self) -> dict:
        return {"inputs": {k: list(v) for k, v in self.inputs.items()},
                "n_classes": self.n_classes, "out_dim": self.out_dim,
                "modality": self.modality, "dropout": self.dropout, "options": self.options}

    @classmethod
    def from_dict(cls, d: dict) -> "FusionSpec":
        return cls(inputs={k: tuple(v) for k, v in d["inputs"].items()},
                   n_classes=d["n_classes"], out_dim=d["out_dim"],
                   modality=d.get("modality", {}), dropout=d.get("dropout", 0.2),
                   options=d.get("options", {}))


@dataclass
class FusionOutput:
    vector: torch.Tensor
    weights: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    aux_loss: torch.Tensor | None = None


class Fusion(nn.Module):
    """Base class: subclasses implement ``forward(feats, mask=None) -> FusionOutput``."""

    name = "fusion"

    def __init__(self, spec: FusionSpec):
        super().__init__()
        self.spec = spec

    def forward(self, feats: dict[str, torch.Tensor],
                mask: dict[str, torch.Tensor] | None = None) -> FusionOutput:
        raise NotImplementedError

    # helpers shared by the strategies -------------------------------------------------
    def vector_of(self, feats: dict[str, torch.Tensor], group: str) -> torch.Tensor:
        """One vector per row for a modality group: maps are global-average pooled, the
        scales of one group concatenated."""
        parts = []
        for name in self.spec.inputs:
            if self.spec.group(name) == group:
                x = feats[name]
                parts.append(x.flatten(2).mean(-1) if x.dim() == 4 else x)
        return torch.cat(parts, dim=1)

    def group_dim(self, group: str) -> int:
        return sum(s[0] for n, s in self.spec.inputs.items() if self.spec.group(n) == group)

    def group_mask(self, mask: dict[str, torch.Tensor] | None, group: str,
                   batch: int, device) -> torch.Tensor:
        """bool [B]: True where this modality is present (all True without a mask)."""
        if mask is not None and group in mask:
            return mask[group].to(device=device, dtype=torch.bool)
        return torch.ones(batch, dtype=torch.bool, device=device)


def masked_normalise(w: torch.Tensor, present: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Zero the weights of absent modalities and renormalise each row to sum to 1."""
    w = w * present.to(w.dtype)
    return w / w.sum(dim=1, keepdim=True).clamp_min(eps)


def masked_softmax(scores: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
    """Softmax over modalities with absent ones excluded (rows with none present -> uniform)."""
    present = present.clone()
    present[present.sum(1) == 0] = True
    scores = scores.masked_fill(~present, float("-inf"))
    return torch.softmax(scores, dim=1)


def mlp(d_in: int, d_out: int, hidden: int | None = None, dropout: float = 0.2) -> nn.Sequential:
    hidden = hidden or max(d_out, 256)
    return nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(hidden, d_out))
