"""Training the MFCC + BiLSTM audio encoder on spoken genre words (espeak-ng clips).

The task: which of the catalog's canonical genres (:mod:`coverstory.train.genres`) was
said, as a spoken query would say it ("science fiction", "romance"). Clips are made with
espeak-ng in several voices, speeds and pitches; the held-out voices are never trained on,
so the accuracy says how well the encoder generalises to a voice it has not heard.
Saved (without the classification head) as ``mfcc-bilstm.spoken-genre-<hash>``.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np

TRAIN_VOICES = ("en-us", "en-gb", "en-us+f3", "en-gb+m3", "en-gb-scotland", "en-us+f2",
                "en-029", "en-gb-x-rp+f4")
TEST_VOICES = ("en-gb-x-gbclan", "en-us+m7", "en-gb+f1")
SPEEDS = (140, 190)
PITCHES = (40, 65)


def phrases() -> list[str]:
    from coverstory.train.genres import GENRES

    return [g.replace("-", " ") for g in GENRES]


def make_clips(voices, labels: list[str]) -> list[tuple[bytes, int]]:
    from coverstory.encoders.audio import speak

    return [(speak(text, v, s, p), i) for i, text in enumerate(labels) for v in voices
            for s in SPEEDS for p in PITCHES]


def train_audio_encoder(home: str | Path, *, epochs: int = 8, seed: int = 0,
                        hidden: int = 64, dim: int = 128, progress: bool = True) -> dict:
    import torch
    from torch import nn

    from coverstory.encoders.base import limit_threads
    from coverstory.encoders.registry import build_encoder, presets, trained_dir

    limit_threads()
    labels = phrases()
    settings = {"epochs": epochs, "seed": seed, "hidden": hidden, "dim": dim,
                "train_voices": TRAIN_VOICES, "labels": labels}
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    name = f"mfcc-bilstm.spoken-genre-{key}"
    t0 = time.time()
    train = make_clips(TRAIN_VOICES, labels)
    test = make_clips(TEST_VOICES, labels)
    enc = build_encoder({**presets()["mfcc-bilstm.random"], "name": name, "hidden": hidden,
                         "dim": dim, "seed": seed})
    xs_train = [enc.prepare([c]) for c, _ in train]  # MFCCs once, not every epoch
    head = nn.Linear(dim, len(labels))
    torch.manual_seed(seed)
    opt = torch.optim.Adam(list(enc.module.parameters()) + list(head.parameters()), lr=3e-3)
    rng = np.random.default_rng(seed)
    history = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=epochs, desc=f"train {name}", unit="epoch", dynamic_ncols=True)
    for epoch in range(epochs):
        enc.module.train()
        losses = []
        order = rng.permutation(len(train))
        for s in range(0, len(order), 32):
            idx = order[s:s + 32]
            x, lengths = _pad([xs_train[i] for i in idx])
            y = torch.tensor([train[i][1] for i in idx])
            loss = nn.functional.cross_entropy(head(enc.module(x, lengths)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        acc = _accuracy(enc, head, test)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                        "heldout_voice_accuracy": acc})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses):.3f}", acc=f"{acc:.3f}")
    if bar is not None:
        bar.close()
    enc.module.eval()
    enc.config.update(description=(
        f"MFCC + BiLSTM trained to recognise {len(labels)} spoken genre names "
        f"(espeak-ng, {len(TRAIN_VOICES)} voices)"),
        train={**settings, "history": history, "train_clips": len(train),
               "test_clips": len(test), "test_voices": TEST_VOICES,
               "seconds": round(time.time() - t0, 1)})
    folder = trained_dir(home) / name
    enc.save(folder)
    last = history[-1]
    return {"name": name, "path": str(folder), "history": history,
            "text": (f"trained {name} on {len(train)} clips in {time.time() - t0:.0f} s; "
                     f"accuracy on {len(test)} clips of unheard voices "
                     f"{last['heldout_voice_accuracy']:.3f} (chance {1 / len(labels):.3f})")}


def _pad(batches):
    import torch

    t = max(int(b[1][0]) for b in batches)
    x = torch.zeros(len(batches), t, batches[0][0].shape[2])
    for i, (xi, li) in enumerate(batches):
        x[i, :int(li[0])] = xi[0, :int(li[0])]
    return x, torch.cat([b[1] for b in batches])


def _accuracy(enc, head, clips) -> float:
    import torch

    enc.module.eval()
    with torch.no_grad():
        x, lengths = enc.prepare([c for c, _ in clips])
        pred = head(enc.module(x, lengths)).argmax(1).numpy()
    return float(np.mean(pred == np.array([y for _, y in clips])))
