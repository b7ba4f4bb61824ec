"""``coverstory build fusion --method STRATEGY``: train a fusion model on the genre task and
export the fused vector of every book with a cover to the feature cache as
``fused/<strategy>`` (read it with ``coverstory.encoders.cache.load_features``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from coverstory.artifacts import TITLE_FEATURE as TITLE
from coverstory.artifacts import models_dir


def model_dir(home: Path, strategy: str) -> Path:
    return models_dir(home) / "fusion" / strategy


def build_fusion(args) -> dict:
    """Train ``args.method`` (default cbam) and export fused vectors."""
    import torch

    from coverstory.catalog import Catalog
    from coverstory.config import data_dir, home_dir
    from coverstory.encoders.cache import save_features, update_features
    from coverstory.errors import CommandError, UnknownName
    from coverstory.fusion.base import FusionSpec
    from coverstory.fusion.datasets import Task, assemble, feature_matrix, genre_task
    from coverstory.fusion.maps import extract_cover_maps
    from coverstory.fusion.registry import STRATEGIES
    from coverstory.train.trainer import TrainConfig, predict, save_checkpoint, train

    strategy = getattr(args, "method", None) or "cbam"
    if strategy not in STRATEGIES or strategy == "single":
        raise UnknownName(f"unknown fusion strategy {strategy!r}; choose one of "
                          f"{', '.join(s for s in STRATEGIES if s != 'single')}")
    quick = bool(getattr(args, "quick", False))
    torch.set_num_threads(1)
    home = home_dir(getattr(args, "home", None))
    cat = Catalog.open(home)
    try:
        task = genre_task(cat, data_dir(getattr(args, "data", None)))
    except (ValueError, FileNotFoundError) as e:
        raise CommandError(str(e)) from e
    try:
        _, present = feature_matrix(home, TITLE, task.ids)
        missing = present.mean() < 0.95
    except FileNotFoundError:
        missing = True
    if missing:
        update_features(home, TITLE)
    # every book with a cover gets a fused vector (the model is trained on the genre task)
    all_books = [b for b in cat.books() if b.cover_path]
    extract_cover_maps([b.cover_path for b in all_books], home)
    image = ["cover@c1", "cover@c2", "cover@c3"] if strategy == "cbam" else ["cover"]
    src = {"title": TITLE, "cover": "maps" if strategy == "cbam" else "maps-global"}
    fs = assemble(home, task, src)
    tr, va = task.index("train"), task.index("val")
    if quick:
        rng = np.random.default_rng(0)
        tr, va = rng.choice(tr, 2000, replace=False), rng.choice(va, 400, replace=False)
    names = ["title", *image]
    spec = FusionSpec(fs.subset(tr).select(names).shapes(), len(task.labels),
                      modality={"title": "text", **{n: "image" for n in image}})
    # the settings of `coverstory bench fusion` (docs/fusion.md)
    cfg = TrainConfig(strategy, epochs=3 if quick else 8, patience=2, seed=0, out_dim=128,
                      batch_size=512, lr=2e-3)
    res = train(spec, cfg, fs.subset(tr).select(names), fs.subset(va).select(names))
    out = save_checkpoint(res, spec, model_dir(home, strategy),
                          {"labels": task.labels, "task": "genre", "inputs": src})
    everyone = Task("all", np.array([b.id for b in all_books], np.int64),
                    np.zeros(len(all_books), np.int64), task.labels,
                    [frozenset()] * len(all_books), np.array(["all"] * len(all_books)),
                    {b.id: b for b in all_books})
    fa = assemble(home, everyone, src).select(names)
    vec = predict(res.model, fa)["vectors"]
    feature = f"fused/{strategy}"
    save_features(home, feature, everyone.ids, vec,
                  [b.cover_sha256 or "" for b in all_books],
                  {"strategy": strategy, "model": str(out), "inputs": src,
                   "val_top1": res.best_val_top1})
    text = (f"fusion {strategy}: best validation top-1 {100 * res.best_val_top1:.1f}% "
            f"(epoch {res.best_epoch}, {res.seconds:.0f} s); model in {out}; "
            f"{len(vec)} fused vectors exported as {feature!r}")
    return {"strategy": strategy, "val_top1": res.best_val_top1, "model": str(out),
            "feature": feature, "rows": len(vec), "text": text}
