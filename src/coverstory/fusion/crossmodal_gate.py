"""A cover <-> text projection trained on pairs, optionally with the seed's cover attention.

Two towers map a cover vector v (e.g. the triple-CNN ensemble, 3,840-d) and a text vector t
(e.g. MiniLM of "title by author" beside its TF-IDF) into one space, trained with a symmetric
InfoNCE loss over the in-batch pairs (CLIP-style, learned temperature), optionally plus the
project's genre objective CE + beta * triplet (``fusion.losses.fusion_objective``) on each
tower's vector, and optionally with batches drawn from few genres at a time (harder in-batch
negatives).

**Cover attention** (``gate=True``): the text gives per-feature gates q = sigmoid(W t + b) in
[0, 1]^D over the cover's D features, and the cover is re-weighted as the seed does,
v' = v + q ⊙ v. Since the attended cover depends on the text it is compared with, the cover
tower's gated path is linear (A v') so that every cover x text score is a matrix product:

    s(i, j) = <m(v_i) + A (v_i + q_j ⊙ v_i), u_j>
            = <m(v_i) + A v_i, u_j> + <v_i, q_j ⊙ (Aᵀ u_j)>

with m an (optional) MLP, u_j the text tower's unit vector. ``gates(t)`` returns q: which
cover features (which backbone, which channel) a title raises.

>>> import numpy as np                                           # doctest: +SKIP
>>> m, hist = train_pairs(img, txt, y, img_val, txt_val, PairConfig(gate=True))  # doctest: +SKIP
>>> s = m.score(img_test, txt_test)        # [n_covers, n_texts]  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class PairConfig:
    dim: int = 256                 # shared space
    hidden: int = 512              # hidden width of the MLP towers
    gate: bool = False             # cover attention from the text (v + q ⊙ v)
    image_mlp: bool = True         # the cover tower's MLP m (with gate: beside the linear A)
    epochs: int = 30
    patience: int = 4              # epochs without a better validation mR
    batch: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.1
    genre_batches: bool = False    # batches from few genres at a time (hard negatives)
    ce_weight: float = 0.0         # weight of CE + beta * triplet on genres (0: InfoNCE only)
    beta: float = 0.3
    mining: str = "batch_all"      # triplet mining (fusion.losses.triplet_loss): batch_all
    #                                builds B^3 terms (12 s a step at B = 512); batch_hard and
    #                                semi_hard are B^2
    gate_bias: float = -2.0        # gates start near sigmoid(-2) = 0.12
    seed: int = 0


class PairModel:
    """A trained pair model: ``score(img, txt)``, ``gates(txt)``; numpy in, numpy out."""

    def __init__(self, net, mu: np.ndarray, sd: np.ndarray, config: PairConfig):
        self.net, self.mu, self.sd, self.config = net, mu, sd, config

    def _img(self, x):
        import torch

        return torch.as_tensor((np.asarray(x, np.float32) - self.mu) / self.sd)

    def score(self, img: np.ndarray, txt: np.ndarray, chunk: int = 2048,
              fixed_gate: np.ndarray | None = None) -> np.ndarray:
        """Cover x text scores [n_img, n_txt]. ``fixed_gate`` (q [D]) replaces every text's
        gates by one vector: the ablation that tells whether the text-dependent attention
        matters."""
        import torch

        self.net.eval()
        q = None if fixed_gate is None else torch.as_tensor(np.asarray(fixed_gate, np.float32))
        with torch.no_grad():
            t = torch.as_tensor(np.asarray(txt, np.float32))
            u = self.net.text(t)
            w = self.net.text_parts(t, u, q)
            out = [self.net.pair_scores(self._img(img[s:s + chunk]), u, *w)
                   for s in range(0, len(img), chunk)]
        return torch.cat(out).numpy()

    def gates(self, txt: np.ndarray) -> np.ndarray:
        """q [n_texts, D] (None-gated model: raises)."""
        import torch

        if not self.config.gate:
            raise ValueError("this pair model has no cover attention (trained with gate=False)")
        self.net.eval()
        with torch.no_grad():
            return torch.sigmoid(self.net.gate(self.net.tnorm(
                torch.as_tensor(np.asarray(txt, np.float32))))).numpy()


def _net(d_img: int, d_txt: int, cfg: PairConfig, n_classes: int):
    import torch
    import torch.nn.functional as F
    from torch import nn

    def mlp(d):
        return nn.Sequential(nn.Linear(d, cfg.hidden), nn.GELU(), nn.Dropout(cfg.dropout),
                             nn.Linear(cfg.hidden, cfg.dim))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.tnorm = nn.LayerNorm(d_txt)
            self.tmlp = mlp(d_txt)
            self.imlp = mlp(d_img) if cfg.image_mlp else None
            if cfg.gate:
                self.lin = nn.Linear(d_img, cfg.dim, bias=False)
                self.gate = nn.Linear(d_txt, d_img)
                nn.init.zeros_(self.gate.weight)
                nn.init.constant_(self.gate.bias, cfg.gate_bias)
            self.logit_scale = nn.Parameter(torch.tensor(float(np.log(1 / 0.07))))
            self.head_i = nn.Linear(cfg.dim, max(n_classes, 1))
            self.head_t = nn.Linear(cfg.dim, max(n_classes, 1))

        def text(self, t):
            return F.normalize(self.tmlp(self.tnorm(t)), dim=1)

        def text_parts(self, t, u, q=None):
            """What the gated score needs from the texts: q ⊙ (Aᵀ u) [n_t, D], or None."""
            if not cfg.gate:
                return (None,)
            if q is None:
                q = torch.sigmoid(self.gate(self.tnorm(t)))
            return (q * (u @ self.lin.weight),)

        def image(self, v):
            """The cover's vector without attention [n, dim]."""
            z = self.imlp(v) if self.imlp is not None else 0
            if cfg.gate:
                z = z + self.lin(v)
            return z if cfg.gate else F.normalize(z, dim=1)

        def pair_scores(self, v, u, w):
            s = self.image(v) @ u.T
            if w is not None:
                s = s + v @ w.T
            return s

    return Net()


def _batches(rng, n: int, batch: int, labels: np.ndarray | None):
    if labels is None:
        order = rng.permutation(n)
        return [order[s:s + batch] for s in range(0, n, batch)]
    # genre batches: the books of each genre in random order, genres in random order, cut
    # into batches (so most batches hold one or two genres), batches shuffled
    order = np.concatenate([rng.permutation(np.flatnonzero(labels == c))
                            for c in rng.permutation(np.unique(labels))])
    out = [order[s:s + batch] for s in range(0, n, batch)]
    return [out[i] for i in rng.permutation(len(out))]


def _val_mr(scores: np.ndarray) -> float:
    from coverstory.eval.retrieval import mean_recall

    return float(mean_recall(scores))


def train_pairs(img: np.ndarray, txt: np.ndarray, labels: np.ndarray | None,
                img_val: np.ndarray, txt_val: np.ndarray, cfg: PairConfig | None = None,
                progress: bool = False) -> tuple[PairModel, list[dict]]:
    """Train on (img[i], txt[i]) pairs; early stopping on the validation pairs' mR (their
    covers x texts matrix). ``labels`` (genre ids) are needed for ``ce_weight > 0`` and
    ``genre_batches``. Returns (model, history)."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from coverstory.fusion.losses import fusion_objective
    from coverstory.seeds import set_seed

    cfg = cfg or PairConfig()
    if (cfg.ce_weight > 0 or cfg.genre_batches) and labels is None:
        raise ValueError("ce_weight > 0 and genre_batches need the books' genre labels")
    set_seed(cfg.seed)
    mu = img.mean(0).astype(np.float32)
    sd = (img.std(0) + 1e-6).astype(np.float32)
    n_classes = int(labels.max()) + 1 if labels is not None else 1
    net = _net(img.shape[1], txt.shape[1], cfg, n_classes)
    model = PairModel(net, mu, sd, cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    Xi = torch.as_tensor((img - mu) / sd).float()
    Xt = torch.as_tensor(np.asarray(txt, np.float32))
    Y = torch.as_tensor(labels).long() if labels is not None else None
    rng = np.random.default_rng(cfg.seed)
    best, best_state, hist, bad = -1.0, None, [], 0
    for ep in tqdm(range(cfg.epochs), desc="pair model", disable=not progress, leave=False):
        net.train()
        tot = 0.0
        for idx in _batches(rng, len(Xi), cfg.batch, labels if cfg.genre_batches else None):
            if len(idx) < 2:
                continue
            idx = torch.as_tensor(idx)
            v, t = Xi[idx], Xt[idx]
            u = net.text(t)
            s = net.pair_scores(v, u, *net.text_parts(t, u))
            logits = net.logit_scale.exp().clamp(max=100) * s
            target = torch.arange(len(idx))
            loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
            if cfg.ce_weight > 0:
                zi = net.image(v)
                yi = Y[idx]
                oi = fusion_objective(net.head_i(zi), zi, yi, beta=cfg.beta, mining=cfg.mining)
                ot = fusion_objective(net.head_t(u), u, yi, beta=cfg.beta, mining=cfg.mining)
                loss = loss + cfg.ce_weight * (oi["loss"] + ot["loss"]) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
        v_mr = _val_mr(model.score(img_val, txt_val))
        hist.append({"epoch": ep + 1, "train_loss": tot / len(Xi), "val_mR": v_mr})
        if v_mr > best:
            best, bad = v_mr, 0
            best_state = {k: x.detach().clone() for k, x in net.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    net.load_state_dict(best_state)
    net.eval()
    return model, hist


def config_dict(cfg: PairConfig) -> dict:
    return asdict(cfg)
