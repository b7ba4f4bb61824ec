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
    still active (> 0); it builds a [B, B, B] tensor (12 s a step for B = 512 on one core).
    ``batch_hard``: per anchor, hardest positive vs hardest negative. ``semi_hard`` (FaceNet):
    per (anchor, positive), the nearest negative farther than the positive (the farthest
    negative if none is), mean over the pairs; [B, B] memory, B² log B time.
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
    if mining == "semi_hard":
        return _semi_hard(vectors, d, pos, neg, margin)
    if mining != "batch_all":
        raise ValueError(
            f"mining must be 'batch_all', 'batch_hard' or 'semi_hard', not {mining!r}")
    t = d[:, :, None] - d[:, None, :] + margin          # [a, p, n]
    valid = pos[:, :, None] & neg[:, None, :]
    t = F.relu(t) * valid
    active = (t > 1e-12).sum()
    if active == 0:
        return vectors.sum() * 0
    return t.sum() / active


def _semi_hard(vectors, d, pos, neg, margin):
    n_neg = neg.sum(1)                                           # [B]
    valid = pos & (n_neg > 0)[:, None]
    if not valid.any():
        return vectors.sum() * 0
    dn, _ = d.masked_fill(~neg, float("inf")).sort(1)            # negatives first, ascending
    # first negative strictly farther than each positive; past the last one: the farthest
    k = torch.searchsorted(dn.detach().contiguous(), d.detach().contiguous(), right=True)
    k = torch.minimum(k, (n_neg - 1).clamp_min(0)[:, None])
    an = dn.gather(1, k)                                         # [a, p]
    return F.relu(d - an + margin)[valid].mean()


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
