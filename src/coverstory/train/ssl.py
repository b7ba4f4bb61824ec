"""Self-supervised fine-tuning of an image encoder on the catalog's own covers.

Two random augmentations of the same cover are pulled together and the other covers of
the batch pushed apart (InfoNCE / NT-Xent, SimCLR-style, with a small projection head
that is thrown away afterwards). From-scratch torchvision backbones become useful this
way, and the pretrained EfficientNet-Lite0 learns to tell covers apart.

The result is saved as a new encoder ``<base>.ssl-<hash>`` under
``<home>/models/encoders/`` (``config.json`` with the training settings and loss curve,
``weights.safetensors``), after every epoch; the hash is of the training settings, so the
same command gives the same name. Covers whose book id is in the evaluation split
(:func:`is_eval_book`) are never trained on, so benchmarks on that split stay honest.

>>> train_ssl(home, "mobilenetv2.random", epochs=2, limit=2000)   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EVAL_MODULUS = 5


def is_eval_book(book_id: int) -> bool:
    """The held-out evaluation split of covers: book ids divisible by 5 (20%)."""
    return int(book_id) % EVAL_MODULUS == 0


@dataclass
class SSLConfig:
    base: str                       # encoder to start from, e.g. "resnet50.random"
    epochs: int = 2
    limit: int = 3000               # covers to train on (seeded sample, eval split excluded)
    image_size: int = 96
    batch_size: int = 64
    lr: float | None = None         # default: 1e-3 from random weights, 1e-4 pretrained
    temperature: float = 0.2
    proj_dim: int = 128
    augment: str = "standard"       # "standard" or "phone" (one view a simulated phone photo)
    seed: int = 0
    max_minutes: float | None = None  # stop early (after a batch) when over the budget
    covers: str = "all"             # "all" or "bookdepository" (covers from that source only)
    encode_size: int | None = None  # input size of the saved encoder (default: image_size)

    def key(self) -> str:
        d = asdict(self)
        d.pop("max_minutes")
        if d["encode_size"] is None:  # names from before the option stay the same
            d.pop("encode_size")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]


@dataclass
class SSLResult:
    name: str
    path: str
    epochs_done: int
    steps: int
    seconds: float
    losses: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _covers(home: Path, cfg: SSLConfig) -> list[str]:
    import random

    from coverstory.catalog import Catalog

    cat = Catalog.open(home)
    try:
        books = [b for b in cat.books() if b.cover_path and Path(b.cover_path).exists()
                 and not is_eval_book(b.id)]
    finally:
        cat.close()
    if cfg.covers != "all":
        books = [b for b in books if any(s.startswith(cfg.covers + ":") for s in b.sources)]
    if not books:
        raise ValueError(f"no covers to train on in {home} (import a catalog with covers "
                         "first: `coverstory import`)")
    random.Random(cfg.seed).shuffle(books)
    return [b.cover_path for b in books[:cfg.limit]]


def _augmenter(size: int, mean, std, kind: str):
    import numpy as np
    from torchvision import transforms as T

    base = T.Compose([
        T.RandomResizedCrop(size, scale=(0.35, 1.0), ratio=(0.6, 1.5)),
        T.RandomHorizontalFlip(),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(5, sigma=(0.1, 2.0))], p=0.3),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])
    if kind == "standard":
        return lambda img, rng: (base(img), base(img))
    if kind != "phone":
        raise ValueError(f"augment must be 'standard' or 'phone', got {kind!r}")
    from coverstory.train.phone_photo import phone_photo

    plain = T.Compose([T.Resize((size, size)), T.ToTensor(), T.Normalize(mean, std)])

    def two_views(img, rng: np.random.Generator):
        photo = phone_photo(img, seed=int(rng.integers(1 << 31)), level="mild")
        return base(img), plain(photo)

    return two_views


def train_ssl(home: str | Path, base: str, *, progress: bool = True,
              **settings: Any) -> SSLResult:
    """Fine-tune ``base`` with InfoNCE on the home's covers; returns the saved encoder."""
    import numpy as np
    import torch
    from PIL import Image
    from torch import nn
    from torch.nn import functional as F

    from coverstory.encoders.base import limit_threads
    from coverstory.encoders.images import IMAGENET_MEAN, IMAGENET_STD, load_image
    from coverstory.encoders.registry import encoder_config, get_encoder, trained_dir

    home = Path(home)
    cfg = SSLConfig(base=base, **settings)
    base_cfg = encoder_config(base, home)
    if base_cfg["modality"] != "image" or not base_cfg["kind"] in (
            "torchvision", "efficientnet_lite0", "triple_cnn", "vgg16_attention"):
        raise ValueError(f"{base} is not a trainable image encoder")
    pretrained = base_cfg.get("weights") == "imagenet" or ".ssl-" in base
    lr = cfg.lr or (1e-4 if pretrained else 1e-3)
    arch = base.split(".")[0]
    name = f"{arch}.ssl-{cfg.key()}"
    limit_threads()
    _keep_freed_memory()
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)

    enc = get_encoder(base, home)
    encode_size = cfg.encode_size or cfg.image_size
    new_cfg = {**enc.config, "name": name, "weights": "ssl", "image_size": encode_size,
               "runtime": "onnx", "description": (
                   f"{base} fine-tuned self-supervised (InfoNCE, two augmented views) on "
                   f"{cfg.limit} catalog covers, trained at {cfg.image_size} px, "
                   f"encodes at {encode_size} px")}
    mean, std = enc.config.get("mean", IMAGENET_MEAN), enc.config.get("std", IMAGENET_STD)
    paths = _covers(home, cfg)
    pre = int(cfg.image_size * 1.15)
    images = [load_image(p).resize((pre, pre), Image.BILINEAR) for p in paths]
    augment = _augmenter(cfg.image_size, mean, std, cfg.augment)

    backbone = enc.module
    head = nn.Sequential(nn.Linear(enc.dim, 512), nn.ReLU(), nn.Linear(512, cfg.proj_dim))
    params = list(backbone.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    steps_per_epoch = max(1, len(images) // cfg.batch_size)
    total_steps = cfg.epochs * steps_per_epoch
    budget = cfg.max_minutes * 60 if cfg.max_minutes else None
    out_dir = trained_dir(home) / name
    t0 = time.time()
    losses: list[float] = []
    loss_log: list[list[float]] = []  # [step, minutes, mean loss of the last LOG_EVERY steps]
    step, epochs_done, stop = 0, 0, False
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.epochs * steps_per_epoch, desc=f"ssl {name}", unit="batch",
                   dynamic_ncols=True)
    for epoch in range(cfg.epochs):
        backbone.train()
        head.train()
        order = rng.permutation(len(images))
        epoch_loss = []
        for s in range(steps_per_epoch):
            # warm-up then cosine decay over the run; with --max-minutes the run is
            # whichever is shorter, steps or time, so the rate is annealed when time is up
            done = budget_progress(step, total_steps, time.time() - t0, budget)
            for g in opt.param_groups:
                g["lr"] = lr * lr_factor(done)
            idx = order[s * cfg.batch_size:(s + 1) * cfg.batch_size]
            views = [augment(images[i], rng) for i in idx]
            x = torch.stack([v[0] for v in views] + [v[1] for v in views])
            z = F.normalize(head(backbone(x)), dim=1)
            loss = info_nce(z, cfg.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            epoch_loss.append(loss.item())
            if step % LOG_EVERY == 0:
                loss_log.append([step, round((time.time() - t0) / 60, 2),
                                 round(float(np.mean(epoch_loss[-LOG_EVERY:])), 4)])
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(epoch_loss[-20:]):.3f}",
                                lr=f"{opt.param_groups[0]['lr']:.1e}")
            if budget and time.time() - t0 > budget:
                stop = True
                break
        losses.append(float(np.mean(epoch_loss)))
        epochs_done = epoch + 1
        _save(enc, backbone, new_cfg, cfg, losses, step, time.time() - t0, out_dir, stop,
              loss_log)
        if stop:
            print(f"ssl: stopped after {cfg.max_minutes} minutes (epoch {epoch + 1}, "
                  f"step {step})", file=sys.stderr)
            break
    if bar is not None:
        bar.close()
    return SSLResult(name=name, path=str(out_dir), epochs_done=epochs_done, steps=step,
                     seconds=round(time.time() - t0, 1), losses=losses)


LOG_EVERY = 25


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory instead of returning it to the system after every
    step: training allocates and frees the same large activation buffers each batch, and
    the page faults of getting them back cost about a third of the CPU time (measured on a
    one-thread Lite0 step: 27 s of system time in 64 s without this, 15 s with it)."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-1, 1 << 30)   # M_TRIM_THRESHOLD
        libc.mallopt(-2, 1 << 28)   # M_TOP_PAD
        libc.mallopt(-3, 1 << 25)   # M_MMAP_THRESHOLD (the maximum glibc accepts)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def budget_progress(step: int, total_steps: int, elapsed: float,
                    budget: float | None) -> float:
    """How far through the run we are, 0..1: by steps, or by time when that is further."""
    done = step / max(total_steps, 1)
    if budget:
        done = max(done, elapsed / budget)
    return min(done, 1.0)


def lr_factor(done: float, warmup: float = 0.05) -> float:
    """Linear warm-up over the first ``warmup`` of the run, then cosine decay to 0."""
    import math

    if done < warmup:
        return max(done / warmup, 0.02)
    return 0.5 * (1 + math.cos(math.pi * (done - warmup) / (1 - warmup)))


def info_nce(z, temperature: float):
    """NT-Xent over 2B unit vectors: row i's positive is row (i + B) mod 2B."""
    import torch
    from torch.nn import functional as F

    n = z.shape[0] // 2
    sim = z @ z.t() / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def _save(enc, backbone, new_cfg, cfg: SSLConfig, losses, steps, seconds, out_dir: Path,
          stopped_early: bool, loss_log=()) -> None:
    backbone.eval()
    enc.module = backbone
    enc.config = dict(new_cfg, ssl={**asdict(cfg), "epoch_losses": losses, "steps": steps,
                                    "loss_log": list(loss_log),
                                    "train_seconds": round(seconds, 1),
                                    "stopped_early": stopped_early})
    enc.name = new_cfg["name"]
    enc.save(out_dir)
