"""The one trainer for every fusion strategy (and the single-modality baselines).

Objective: cross-entropy on the categories + beta * triplet loss on the L2-normalised fused
vectors (see ``coverstory.fusion.losses``). AdamW, cosine learning rate, progress bars,
early stopping on validation top-1 (the best epoch's weights are kept), fixed seeds,
checkpoints as safetensors weights + a JSON config.

>>> fs = FeatureSet.synthetic(n=200, n_classes=4)                 # doctest: +SKIP
>>> res = train(FusionSpec(fs.shapes(), 4), TrainConfig("early"), fs, fs)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from coverstory.fusion.features import FeatureSet  # noqa: F401  (re-exported)
from coverstory.seeds import set_seed  # noqa: F401  (re-exported)


@dataclass
class TrainConfig:
    strategy: str
    beta: float = 0.3                 # weight of the triplet loss
    margin: float = 0.2
    mining: str = "batch_hard"
    epochs: int = 40
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 6                 # epochs without a better validation top-1
    seed: int = 0
    threads: int = 1                  # 1 is faster than 2 on a busy shared machine
    out_dim: int = 256
    dropout: float = 0.2
    options: dict = field(default_factory=dict)
    progress: bool = True


@dataclass
class TrainResult:
    model: object                     # FusionClassifier
    history: list[dict]
    best_epoch: int
    best_val_top1: float
    seconds: float
    config: TrainConfig


def _torch_model(spec, strategy: str):
    import torch
    from torch import nn

    from coverstory.fusion.registry import build_fusion_module

    class FusionClassifier(nn.Module):
        """A fusion module and the shared classifier head (used unless the strategy gives
        its own logits)."""

        def __init__(self):
            super().__init__()
            self.fusion = build_fusion_module(strategy, spec)
            self.head = nn.Linear(spec.out_dim, spec.n_classes)

        def forward(self, feats, mask=None):
            out = self.fusion(feats, mask)
            if out.logits is None:
                out.logits = self.head(out.vector)
            return out

    torch.manual_seed(0)
    return FusionClassifier()


def _batch(fs: FeatureSet, idx, device="cpu"):
    import torch

    feats = {k: torch.as_tensor(v[idx]).float() for k, v in fs.x.items()}
    mask = {k: torch.as_tensor(v[idx]) for k, v in fs.mask.items()}
    y = torch.as_tensor(fs.y[idx])
    soft = None if fs.soft is None else torch.as_tensor(fs.soft[idx]).float()
    return feats, mask, y, soft


def predict(model, fs: FeatureSet, batch_size: int = 1024) -> dict[str, np.ndarray]:
    """{"logits" [n,C], "vectors" [n,D] (L2-normalised), "weights" [n,M] or None}."""
    import torch
    import torch.nn.functional as F

    model.eval()
    logits, vecs, wts = [], [], []
    with torch.no_grad():
        for s in range(0, len(fs), batch_size):
            idx = np.arange(s, min(s + batch_size, len(fs)))
            feats, mask, _, _ = _batch(fs, idx)
            out = model(feats, mask)
            logits.append(out.logits.numpy())
            vecs.append(F.normalize(out.vector, dim=1).numpy())
            if out.weights is not None:
                wts.append(out.weights.numpy())
    return {"logits": np.concatenate(logits), "vectors": np.concatenate(vecs),
            "weights": np.concatenate(wts) if wts else None}


def train(spec, cfg: TrainConfig, train_set: FeatureSet, val_set: FeatureSet,
          log=None) -> TrainResult:
    """Train strategy ``cfg.strategy`` on ``train_set``, early-stopping on ``val_set``."""
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    from coverstory.fusion.losses import fusion_objective

    torch.set_num_threads(cfg.threads)
    set_seed(cfg.seed)
    spec.out_dim, spec.dropout = cfg.out_dim, cfg.dropout
    spec.options = {**cfg.options, **spec.options}
    model = _torch_model(spec, cfg.strategy)
    set_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(train_set) / cfg.batch_size))
    total = cfg.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
    rng = np.random.default_rng(cfg.seed)
    history: list[dict] = []
    best = (-1.0, 0, None)
    bad = 0
    t0 = time.time()
    bar = tqdm(range(1, cfg.epochs + 1), desc=f"train {cfg.strategy} b={cfg.beta}",
               disable=not cfg.progress, leave=False)
    for epoch in bar:
        model.train()
        order = rng.permutation(len(train_set))
        sums = {"loss": 0.0, "ce": 0.0, "triplet": 0.0, "aux": 0.0}
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            if len(idx) < 2:
                continue
            feats, mask, y, soft = _batch(train_set, idx)
            out = model(feats, mask)
            parts = fusion_objective(out.logits, out.vector, y, cfg.beta, cfg.margin,
                                     cfg.mining, soft)
            loss = parts["loss"]
            if out.aux_loss is not None:
                loss = loss + out.aux_loss
                sums["aux"] += float(out.aux_loss.detach()) * len(idx)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            for k in ("loss", "ce", "triplet"):
                sums[k] += float(parts[k].detach()) * len(idx)
        row = {"epoch": epoch, **{f"train_{k}": v / len(train_set) for k, v in sums.items()}}
        pv = predict(model, val_set)
        yv = torch.as_tensor(val_set.y)
        vparts = fusion_objective(torch.as_tensor(pv["logits"]), torch.as_tensor(pv["vectors"]),
                                  yv, cfg.beta, cfg.margin, cfg.mining)
        row["val_loss"] = float(vparts["loss"])
        row["val_ce"] = float(F.cross_entropy(torch.as_tensor(pv["logits"]), yv))
        row["val_top1"] = float((pv["logits"].argmax(1) == val_set.y).mean())
        history.append(row)
        if log:
            log(row)
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val=f"{row['val_top1']:.3f}")
        if row["val_top1"] > best[0]:
            best = (row["val_top1"], epoch,
                    {k: v.detach().clone() for k, v in model.state_dict().items()})
            bad = 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    bar.close()
    if best[2] is not None:
        model.load_state_dict(best[2])
    model.eval()
    return TrainResult(model, history, best[1], best[0], time.time() - t0, cfg)


def save_checkpoint(result: TrainResult, spec, path: Path, extra: dict | None = None) -> Path:
    """Write ``path``/model.safetensors and ``path``/config.json."""
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in result.model.state_dict().items()}
    save_file(state, str(path / "model.safetensors"))
    cfg = {"strategy": result.config.strategy, "spec": spec.to_dict(),
           "train": asdict(result.config), "best_epoch": result.best_epoch,
           "best_val_top1": result.best_val_top1, "seconds": round(result.seconds, 1),
           "history": result.history, **(extra or {})}
    (path / "config.json").write_text(json.dumps(cfg, indent=2, default=str))
    return path


def load_checkpoint(path: Path):
    """(model, config dict) from a folder written by ``save_checkpoint``."""
    from safetensors.torch import load_file

    from coverstory.fusion.base import FusionSpec

    path = Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"no fusion checkpoint at {path}; run "
                                "`coverstory build fusion --method STRATEGY`")
    cfg = json.loads((path / "config.json").read_text())
    spec = FusionSpec.from_dict(cfg["spec"])
    model = _torch_model(spec, cfg["strategy"])
    model.load_state_dict(load_file(str(path / "model.safetensors")))
    model.eval()
    return model, cfg
