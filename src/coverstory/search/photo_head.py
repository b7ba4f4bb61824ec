"""A projection head trained so that phone photos land next to their clean covers.

Lite0 vectors of photo crops (found by :mod:`coverstory.search.rectify` in photos made by
the phone-photo pipeline) and of the clean covers are both mapped by one linear layer
(1280 -> ``dim``, then L2 norm) trained with a symmetric InfoNCE loss: each photo must
pick its own cover among the batch's covers plus ``negatives`` random gallery covers.
The same map applies to the gallery, so the index of projected gallery vectors is
rebuilt when a head is trained. Weights in safetensors, config in JSON.

Train: ``coverstory build index --photo-head`` (uses the cover feature cache; photos are
made with seeds disjoint from the benchmark's).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from coverstory.artifacts import COVER_FEATURE

TRAIN_SEED_BASE = 10_000_000     # photo seeds used for training (the benchmark uses < 10M)


class PhotoHead:
    def __init__(self, W: np.ndarray, b: np.ndarray, config: dict):
        self.W = np.ascontiguousarray(W, np.float32)     # [d_in, d_out]
        self.b = np.ascontiguousarray(b, np.float32)
        self.config = dict(config)

    @property
    def name(self) -> str:
        """The gallery feature it consumes (its projection is computed on the fly)."""
        return self.config.get("base_feature", COVER_FEATURE)

    def project(self, x: np.ndarray) -> np.ndarray:
        from coverstory.index import normalize

        return normalize(np.asarray(x, np.float32) @ self.W + self.b)

    @staticmethod
    def exists(folder: str | os.PathLike) -> bool:
        f = Path(folder)
        return (f / "config.json").exists() and (f / "weights.safetensors").exists()

    def save(self, folder: str | os.PathLike) -> Path:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".weights.{os.getpid()}.tmp"
        save_file({"W": self.W, "b": self.b}, str(tmp))
        os.replace(tmp, folder / "weights.safetensors")
        tmpc = folder / f".config.{os.getpid()}.tmp"
        tmpc.write_text(json.dumps(self.config, indent=2))
        os.replace(tmpc, folder / "config.json")
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "PhotoHead":
        from safetensors.numpy import load_file

        folder = Path(folder)
        t = load_file(str(folder / "weights.safetensors"))
        return cls(t["W"], t["b"], json.loads((folder / "config.json").read_text()))


def photo_crop_vectors(covers: list[str], embed, seeds: list[int], level: str = "full",
                       log=None) -> tuple[np.ndarray, np.ndarray]:
    """Lite0 vectors of the rectify candidates of one phone photo per cover.

    Returns (vectors [m, d], owner index into ``covers`` [m]).
    """
    from PIL import Image

    from coverstory.search.rectify import cover_candidates
    from coverstory.train.phone_photo import phone_photo

    vecs, owner = [], []
    t0 = time.time()
    for n, (path, seed) in enumerate(zip(covers, seeds)):
        photo = np.asarray(phone_photo(Image.open(path), seed, level))
        crops = [c.image for c in cover_candidates(photo)]
        vecs.append(embed(crops))
        owner += [n] * len(crops)
        if log and (n + 1) % 200 == 0:
            log(f"photo crops: {n + 1}/{len(covers)} ({time.time() - t0:.0f} s)")
    return np.concatenate(vecs), np.asarray(owner, np.int64)


def train_head(photo_vecs: np.ndarray, owner: np.ndarray, cover_vecs: np.ndarray,
               gallery: np.ndarray, dim: int = 512, epochs: int = 40, negatives: int = 2048,
               temperature: float = 0.05, seed: int = 0, log=None) -> PhotoHead:
    """Fit the linear head (torch, CPU) on photo crops -> own cover, InfoNCE.

    ``photo_vecs[i]`` belongs to ``cover_vecs[owner[i]]``; ``gallery`` supplies extra
    negatives. Every crop is a positive (the wrong crops of a photo teach the head which
    parts of a photo to ignore only weakly; the search keeps the best crop anyway).
    """
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    d_in = photo_vecs.shape[1]
    # start from the identity-like map: top principal directions of the gallery
    g = torch.from_numpy(np.asarray(gallery, np.float32))
    mean = g.mean(0, keepdim=True)
    _, _, V = torch.linalg.svd(g[: min(len(g), 8000)] - mean, full_matrices=False)
    lin = torch.nn.Linear(d_in, dim)
    with torch.no_grad():
        lin.weight.copy_(V[:dim])
        lin.bias.copy_(-(mean @ V[:dim].T).ravel())
    opt = torch.optim.AdamW(lin.parameters(), lr=2e-3, weight_decay=1e-4)
    P = torch.from_numpy(np.asarray(photo_vecs, np.float32))
    C = torch.from_numpy(np.asarray(cover_vecs, np.float32))
    own = torch.from_numpy(owner)
    rng = np.random.default_rng(seed)
    bs = 256
    for ep in range(epochs):
        perm = torch.from_numpy(rng.permutation(len(P)))
        tot = 0.0
        for s in range(0, len(P), bs):
            idx = perm[s:s + bs]
            owners = own[idx]
            uniq, inv = torch.unique(owners, return_inverse=True)
            neg = g[torch.from_numpy(rng.integers(0, len(g), negatives))]
            q = torch.nn.functional.normalize(lin(P[idx]), dim=1)
            keys = torch.nn.functional.normalize(lin(torch.cat([C[uniq], neg])), dim=1)
            logits = q @ keys.T / temperature
            loss = torch.nn.functional.cross_entropy(logits, inv)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss) * len(idx)
        if log and (ep % 10 == 9 or ep == epochs - 1):
            log(f"head epoch {ep + 1}/{epochs}: loss {tot / len(P):.3f}")
    W = lin.weight.detach().numpy().T.copy()
    b = lin.bias.detach().numpy().copy()
    cfg = {"kind": "linear", "dim_in": d_in, "dim": dim, "epochs": epochs,
           "negatives": negatives, "temperature": temperature, "seed": seed,
           "train_pairs": int(len(P)), "train_covers": int(len(C)),
           "base_feature": COVER_FEATURE}
    return PhotoHead(W, b, cfg)


def _log(msg: str) -> None:
    print(f"[photo-head] {msg}", file=sys.stderr, flush=True)
