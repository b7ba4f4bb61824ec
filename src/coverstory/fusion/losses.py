"""Training objective: cross-entropy on categories + beta * triplet loss on the
L2-normalised fused vectors (same-category positives, other-category negatives)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def triplet_loss(vectors: torch.Tensor, labels: torch.Tensor, margin: float = 0.2,
                 mining: str = "batch_all") -> torch.Tensor:
    """Triplet loss over every (anchor, positive, negative) in the batch.

    Distances are squared Euclidean between L2-normalised vectors (in [0, 4]).
    ``batch_all``: mean of max(0, d(a,p) - d(a,n) + margin) over the triplets that are
    still active (> 0); ``batch_hard``: per anchor, hardest positive vs hardest negative.
    Returns 0 (with a gradient path) when the batch has no valid triplet.
    """
    z = F.normalize(vectors, dim=1)
    d = (2 - 2 * z @ z.T).clamp_min(0)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    pos = same & ~eye
    neg = ~same
    if mining == "batch_hard":
        hp = (d * pos).amax(1)
        hn = d.masked_fill(~neg, float("inf")).amin(1)
        valid = pos.any(1) & neg.any(1)
        if not valid.any():
            return vectors.sum() * 0
        return F.relu(hp - hn + margin)[valid].mean()
    if mining != "batch_all":
        raise ValueError(f"mining must be 'batch_all' or 'batch_hard', not {mining!r}")
    t = d[:, :, None] - d[:, None, :] + margin          # [a, p, n]
    valid = pos[:, :, None] & neg[:, None, :]
    t = F.relu(t) * valid
    active = (t > 1e-12).sum()
    if active == 0:
        return vectors.sum() * 0
    return t.sum() / active


def fusion_objective(logits: torch.Tensor, vectors: torch.Tensor, labels: torch.Tensor,
                     beta: float = 0.3, margin: float = 0.2, mining: str = "batch_all",
                     soft_targets: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """{"loss", "ce", "triplet"}: loss = CE + beta * triplet.

    With ``soft_targets`` [B, C] (rows summing to 1, e.g. spread over a book's several
    categories) the CE is taken against them instead of the hard labels."""
    if soft_targets is not None:
        ce = -(soft_targets * F.log_softmax(logits, 1)).sum(1).mean()
    else:
        ce = F.cross_entropy(logits, labels)
    tri = triplet_loss(vectors, labels, margin, mining) if beta > 0 else logits.sum() * 0
    return {"loss": ce + beta * tri, "ce": ce, "triplet": tri}
