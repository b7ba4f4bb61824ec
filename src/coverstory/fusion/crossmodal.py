"""Cross-modal text <-> cover matching: OCR of the cover, and a trained projection.

Three scores between a cover i and a text j (title + author, or a description), combined
with weights tuned on validation books:

- ``fuzzy``: rapidfuzz token-set ratio between the cover's OCR text and the text;
- ``ocr_emb``: cosine of MiniLM(OCR text) and MiniLM(text);
- ``proj``: cosine in a shared space learned from pairs (``CrossModalProjection``: two MLPs
  trained with a symmetric InfoNCE loss, CLIP-style, on the training books' image and text
  features; optionally with the adversarial modality discriminator).
"""

from __future__ import annotations

import numpy as np


def ensure_ocr(cat, books, progress: bool = True, read_missing: bool = True
               ) -> dict[int, str | None]:
    """OCR text of these books' covers, reading (and storing in the catalog, engine
    "rapidocr") the ones not read yet; with ``read_missing=False`` unread covers give None."""
    from coverstory.encoders.ocr import ENGINE, read_text

    done = cat.ocr_texts(ENGINE)
    todo = [b for b in books if b.cover_path and done.get(b.id, (None,))[0] != b.cover_sha256]
    if not read_missing:
        return {b.id: done[b.id][1] if b.id in done else None for b in books}
    if todo:
        from tqdm import tqdm

        rows = []
        for b in tqdm(todo, desc="ocr", disable=not progress, mininterval=10):
            try:
                rows.append((b.id, b.cover_sha256 or "", read_text(b.cover_path)))
            except (OSError, ValueError):
                rows.append((b.id, b.cover_sha256 or "", ""))
            if len(rows) >= 10:
                cat.set_ocr_texts(ENGINE, rows)
                rows = []
        if rows:
            cat.set_ocr_texts(ENGINE, rows)
        done = cat.ocr_texts(ENGINE)
    return {b.id: done.get(b.id, ("", ""))[1] for b in books}


def fuzzy_matrix(ocr: list[str], texts: list[str]) -> np.ndarray:
    """[n_covers, n_texts] token-set ratio in [0, 1] (0 where the OCR found nothing)."""
    from rapidfuzz import fuzz, process

    from coverstory.encoders.ocr import normalize

    a = [normalize(t) for t in ocr]
    b = [normalize(t) for t in texts]
    m = process.cdist(a, b, scorer=fuzz.token_set_ratio, workers=1).astype(np.float32) / 100
    m[[not s for s in a]] = 0
    return m


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-9)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-9)
    return a @ b.T


def train_projection(img: np.ndarray, txt: np.ndarray, img_val: np.ndarray,
                     txt_val: np.ndarray, dim: int = 128, epochs: int = 60, hidden: int = 256,
                     patience: int = 3,
                     batch: int = 512, lr: float = 1e-3, seed: int = 0, adversarial: float = 0.0,
                     progress: bool = True):
    """Two MLP projections trained with symmetric InfoNCE on (image, text) pairs; early
    stopping on validation mean R@1. Returns (project_image, project_text, history)."""
    import torch
    import torch.nn.functional as F
    from torch import nn
    from tqdm import tqdm

    from coverstory.fusion.strategies.adversarial import grad_reverse
    from coverstory.seeds import set_seed

    set_seed(seed)

    def proj(d):
        return nn.Sequential(nn.LayerNorm(d), nn.Linear(d, hidden), nn.GELU(),
                             nn.Dropout(0.1), nn.Linear(hidden, dim))

    pi, pt = proj(img.shape[1]), proj(txt.shape[1])
    logit_scale = nn.Parameter(torch.tensor(np.log(1 / 0.07), dtype=torch.float32))
    disc = nn.Sequential(nn.Linear(dim, 128), nn.ReLU(), nn.Linear(128, 2))
    params = [*pi.parameters(), *pt.parameters(), logit_scale, *disc.parameters()]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    Xi, Xt = torch.as_tensor(img).float(), torch.as_tensor(txt).float()
    Vi, Vt = torch.as_tensor(img_val).float(), torch.as_tensor(txt_val).float()
    rng = np.random.default_rng(seed)
    best, best_state, hist, bad = -1.0, None, [], 0
    for ep in tqdm(range(epochs), desc="cross-modal projection", disable=not progress,
                   leave=False):
        pi.train(), pt.train()
        order = rng.permutation(len(Xi))
        tot = 0.0
        for s in range(0, len(order), batch):
            idx = torch.as_tensor(order[s:s + batch])
            zi = F.normalize(pi(Xi[idx]), dim=1)
            zt = F.normalize(pt(Xt[idx]), dim=1)
            logits = logit_scale.exp().clamp(max=100) * zi @ zt.T
            target = torch.arange(len(idx))
            loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
            if adversarial > 0:
                z = torch.cat([zi, zt])
                lab = torch.cat([torch.zeros(len(idx)), torch.ones(len(idx))]).long()
                loss = loss + adversarial * F.cross_entropy(disc(grad_reverse(z)), lab)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
        pi.eval(), pt.eval()
        with torch.no_grad():
            s = (F.normalize(pi(Vi), dim=1) @ F.normalize(pt(Vt), dim=1).T).numpy()
        r1 = float((s.argmax(1) == np.arange(len(s))).mean() + (s.argmax(0) == np.arange(len(s))
                                                              ).mean()) / 2
        hist.append({"epoch": ep + 1, "train_loss": tot / len(Xi), "val_r1": r1})
        if r1 > best:
            best, bad = r1, 0
            best_state = ({k: v.clone() for k, v in pi.state_dict().items()},
                          {k: v.clone() for k, v in pt.state_dict().items()})
        else:
            bad += 1
            if bad >= patience:
                break
    pi.load_state_dict(best_state[0])
    pt.load_state_dict(best_state[1])
    pi.eval(), pt.eval()

    def run(model, x):
        with torch.no_grad():
            return F.normalize(model(torch.as_tensor(x).float()), dim=1).numpy()

    return (lambda x: run(pi, x)), (lambda x: run(pt, x)), hist


def combine(scores: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted sum of score matrices, each standardised (z-scored over the matrix)."""
    out = None
    for k, w in weights.items():
        if w == 0:
            continue
        m = scores[k]
        m = (m - m.mean()) / (m.std() + 1e-9)
        out = w * m if out is None else out + w * m
    return out


def tune_weights(scores: dict[str, np.ndarray], metric, grid=(0.0, 0.25, 0.5, 1.0, 2.0)
                 ) -> tuple[dict[str, float], float]:
    """Grid search of combination weights maximising ``metric(score_matrix)``."""
    import itertools

    keys = list(scores)
    best = ({k: 1.0 for k in keys}, -1.0)
    for combo in itertools.product(grid, repeat=len(keys)):
        if not any(combo):
            continue
        w = dict(zip(keys, combo))
        v = metric(combine(scores, w))
        if v > best[1]:
            best = (w, v)
    return best
