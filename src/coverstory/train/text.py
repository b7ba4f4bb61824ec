"""Training the text encoders on a catalog task: genre prediction from book descriptions.

1. Word2Vec (gensim skip-gram) on the catalog's titles, descriptions and shop categories
   (never the goodbooks shelf tags, which are the labels), saved as the encoder
   ``word2vec-mean.<hash>``.
2. An LSTM / BiLSTM / BiGRU / BiLSTM+attention on top (embeddings initialised from
   Word2Vec and fine-tuned), with a linear multi-label head over the canonical genres
   (:mod:`coverstory.train.genres`), trained on descriptions of books outside the
   evaluation split (:func:`coverstory.train.ssl.is_eval_book`); saved (without the head)
   as ``<arch>.genre-<hash>``. Held-out figures go into its config.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from coverstory.errors import UnknownName


def _key(d: dict) -> str:
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:8]


def word2vec_encoder(home: Path, books: list, *, dim: int = 100, epochs: int = 5,
                     seed: int = 0, progress: bool = True):
    """The catalog's Word2Vec encoder (trained once per catalog text, then reused)."""
    from coverstory.encoders.registry import build_encoder, get_encoder, trained_dir
    from coverstory.encoders.text_rnn import train_word2vec

    texts = [". ".join([b.title, b.description or "", " ".join(b.categories)]) for b in books]
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    settings = {"dim": dim, "epochs": epochs, "seed": seed, "texts": digest}
    name = f"word2vec-mean.{_key(settings)}"
    folder = trained_dir(home) / name
    if (folder / "config.json").exists():
        return get_encoder(name, home)
    if progress:
        print(f"word2vec: training on {len(texts)} texts", file=sys.stderr, flush=True)
    t0 = time.time()
    words, vecs = train_word2vec(texts, dim=dim, epochs=epochs, seed=seed)
    vocab = ["<pad>", "<unk>", *words]
    enc = build_encoder({"name": name, "kind": "word2vec_mean", "modality": "text",
                         "dim": dim, "description": (
                             f"mean of Word2Vec (gensim skip-gram, {dim}-d, {len(words)} words) "
                             f"vectors trained on {len(texts)} catalog titles + descriptions"),
                         "word2vec": {**settings, "seconds": round(time.time() - t0, 1)}})
    enc.__init__(enc.config, vocab)
    import torch

    with torch.no_grad():
        w = torch.zeros(len(vocab), dim)
        w[2:] = torch.from_numpy(vecs)
        enc.module.emb.weight.copy_(w)
    enc.save(folder)
    return enc


def train_text_encoder(home: str | Path, arch: str = "bilstm-attn", *, epochs: int = 4,
                       limit: int | None = None, seed: int = 0, lr: float | None = None,
                       hidden: int = 128, max_len: int = 120, batch_size: int = 32,
                       max_minutes: float | None = None, patience: int | None = 2,
                       progress: bool = True) -> dict:
    """Train one recurrent text encoder on genre prediction; returns figures and its name.

    Early stopping: a validation slice of the training books (book id ending in 1, about
    an eighth of them; never the evaluation split) is scored after every epoch; training
    stops after ``patience`` epochs without a better validation top-1 precision and the
    best epoch's weights are the ones saved (``patience=None``: train every epoch, save
    the last). The evaluation split's figures are recorded per epoch but never used to
    choose anything.
    """
    import copy
    import torch
    from torch import nn

    from coverstory.catalog import Catalog
    from coverstory.encoders.base import limit_threads
    from coverstory.encoders.registry import build_encoder, trained_dir
    from coverstory.encoders.text_rnn import ARCHS, rnn_dim
    from coverstory.train.genres import GENRES, book_genres
    from coverstory.train.ssl import is_eval_book

    if arch not in ARCHS:
        raise UnknownName(f"unknown text arch {arch!r}; choose one of {ARCHS}")
    home = Path(home)
    limit_threads()
    cat = Catalog.open(home)
    try:
        books = cat.books()
    finally:
        cat.close()
    w2v = word2vec_encoder(home, books, seed=seed, progress=progress)
    genre_names = list(GENRES)
    labelled = [(b, book_genres(b.tags)) for b in books if b.description]
    labelled = [(b, g) for b, g in labelled if g]
    train = [x for x in labelled if not is_eval_book(x[0].id)]
    test = [x for x in labelled if is_eval_book(x[0].id)]
    if limit:
        train, test = train[:limit], test[:max(50, limit // 4)]
    val = [x for x in train if x[0].id % 10 == 1] if patience else []
    if val:
        train = [x for x in train if x[0].id % 10 != 1]
    if len(train) < 10 or not test:
        raise ValueError(f"too few described books with genre tags in {home} "
                         f"({len(train)} train, {len(test)} test); import goodbooks first")

    settings = {"arch": arch, "epochs": epochs, "limit": limit, "seed": seed, "lr": lr,
                "hidden": hidden, "max_len": max_len, "w2v": w2v.name}
    if patience:  # names of runs without early stopping stay the same
        settings["patience"] = patience
    name = f"{arch}.genre-{_key(settings)}"
    cfg = {"name": name, "kind": "text_rnn", "modality": "text", "arch": arch,
           "dim": rnn_dim(arch, hidden), "hidden": hidden, "emb_dim": w2v.dim,
           "max_len": max_len, "seed": seed,
           "description": (f"{arch} over Word2Vec embeddings ({w2v.name}), trained on genre "
                           f"prediction from {len(train)} catalog descriptions")}
    enc = build_encoder({**cfg, "vocab_size": len(w2v.vocab)})
    enc.__init__(enc.config, w2v.vocab)
    torch.manual_seed(seed)
    with torch.no_grad():
        enc.module.emb.weight.copy_(w2v.module.emb.weight)
    head = nn.Linear(enc.dim, len(genre_names))

    def batch(items):
        x = enc.prepare([b.description for b, _ in items])
        y = torch.zeros(len(items), len(genre_names))
        for i, (_, g) in enumerate(items):
            y[i, [genre_names.index(n) for n in g]] = 1.0
        return x, y

    opt = torch.optim.Adam(list(enc.module.parameters()) + list(head.parameters()),
                           lr=lr or 2e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(seed)
    t0 = time.time()
    history = []
    bar = None
    steps = epochs * ((len(train) + batch_size - 1) // batch_size)
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps, desc=f"train {name}", unit="batch", dynamic_ncols=True)
    stopped = False
    best: tuple[float, int, dict, dict] | None = None  # (val top-1, epoch, encoder, head)
    for epoch in range(epochs):
        enc.module.train()
        order = rng.permutation(len(train))
        losses = []
        for s in range(0, len(train), batch_size):
            (ids, lengths), y = batch([train[i] for i in order[s:s + batch_size]])
            loss = loss_fn(head(enc.module(ids, lengths)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(enc.module.parameters(), 5.0)
            opt.step()
            losses.append(loss.item())
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(losses[-20:]):.3f}")
            if max_minutes and time.time() - t0 > max_minutes * 60:
                stopped = True
                break
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)),
               **evaluate(enc, head, test, genre_names)}
        if val:
            v = evaluate(enc, head, val, genre_names)
            row.update(val_top1_precision=v["top1_precision"], val_micro_f1=v["micro_f1"])
            if best is None or v["top1_precision"] > best[0]:
                best = (v["top1_precision"], epoch + 1,
                        copy.deepcopy(enc.module.state_dict()), copy.deepcopy(head.state_dict()))
        history.append(row)
        if bar is not None:
            bar.write(f"epoch {epoch + 1}: loss {row['loss']:.4f}, validation top-1 "
                      f"{row.get('val_top1_precision', float('nan')):.3f}, held-out top-1 "
                      f"{row['top1_precision']:.3f}")
        if stopped:
            break
        if best is not None and epoch + 1 - best[1] >= patience:
            break
    if bar is not None:
        bar.close()
    best_epoch = history[-1]["epoch"]
    if best is not None:
        best_epoch = best[1]
        enc.module.load_state_dict(best[2])
        head.load_state_dict(best[3])
    enc.module.eval()
    last = next(h for h in history if h["epoch"] == best_epoch)
    enc.config["train"] = {**settings, "task": "multi-label genre prediction from descriptions",
                           "train_books": len(train), "val_books": len(val),
                           "test_books": len(test), "history": history,
                           "best_epoch": best_epoch, "held_out": {
                               "top1_precision": last["top1_precision"],
                               "micro_f1": last["micro_f1"]},
                           "seconds": round(time.time() - t0, 1),
                           "stopped_early": stopped, "genres": genre_names}
    folder = trained_dir(home) / name
    enc.save(folder)
    return {"name": name, "path": str(folder), "word2vec": w2v.name, "history": history,
            "best_epoch": best_epoch,
            "text": (f"trained {name} on {len(train)} descriptions in "
                     f"{time.time() - t0:.0f} s, {len(history)} epochs, kept epoch "
                     f"{best_epoch} (best validation top-1); held-out ({len(test)} books) "
                     f"top-1 genre precision {last['top1_precision']:.3f}, micro-F1 "
                     f"{last['micro_f1']:.3f}; saved in {folder}")}


def evaluate(enc, head, items, genre_names) -> dict[str, Any]:
    """Held-out top-1 precision (the top genre is one of the book's) and micro-F1 at 0.5."""
    import torch

    enc.module.eval()
    preds, ys = [], []
    with torch.no_grad():
        for s in range(0, len(items), 64):
            chunk = items[s:s + 64]
            ids, lengths = enc.prepare([b.description for b, _ in chunk])
            preds.append(torch.sigmoid(head(enc.module(ids, lengths))).numpy())
            y = np.zeros((len(chunk), len(genre_names)), np.float32)
            for i, (_, g) in enumerate(chunk):
                y[i, [genre_names.index(n) for n in g]] = 1
            ys.append(y)
    p, y = np.concatenate(preds), np.concatenate(ys)
    top1 = float(np.mean(y[np.arange(len(y)), p.argmax(1)]))
    hard = p >= 0.5
    tp, fp, fn = (hard & (y > 0)).sum(), (hard & (y == 0)).sum(), (~hard & (y > 0)).sum()
    f1 = float(2 * tp / max(2 * tp + fp + fn, 1))
    return {"top1_precision": top1, "micro_f1": f1}
