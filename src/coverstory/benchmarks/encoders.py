"""Encoder benchmark: speed and nearest-neighbour genre agreement, side by side.

Images: Book Depository covers of the catalog (``--home``; needs the full import) in the
held-out split (book id divisible by 5, never used by self-supervised training), a
seeded sample (600; 200 with --quick). Each cover's 10 nearest neighbours by cosine
similarity among the sample are found; *agreement@10* is the share of neighbours that
share at least one Book Depository category with it. *chance* is the same share for
random pairs. Only books in 5 categories are colour in this data set, so colour alone
predicts category: a 64-bin colour histogram baseline shows how much, and the figures are
repeated on the greyscale covers only (*grey agreement@10*). Throughput: covers per second
of ``encode`` on 64 covers after a warm-up batch, 2 threads, under whatever else runs on
the machine (compare rows of one run, not across runs).

Text: goodbooks descriptions in the same held-out split; agreement@10 = share of the 10
nearest descriptions sharing a canonical genre (from goodbooks shelf tags; see
coverstory.train.genres). Encoders see the description only (never the tags). TF-IDF is
the bag-of-words baseline. As for covers, vectors come from the feature cache
(``description/<encoder>``) when it holds every sampled description unchanged; throughput
is always measured by encoding 96 of them.

Audio (full mode only, when a trained audio encoder exists): spoken genre names by voices
unseen in training; 1-NN accuracy against clips of the training voices.

``--throughput`` measures bulk-encoding speed instead: every preset encoder's runtimes side
by side with the PyTorch path on the same goodbooks texts and covers, their cosine
agreement, and (full mode) retrieval quality with each MiniLM runtime's vectors; see
``_throughput.py``.
"""

from __future__ import annotations

import time

import numpy as np

from coverstory.config import setting
from coverstory.benchmarks._text_cache import cached_encode
from coverstory.benchmarks.runner import BenchContext, BenchResult, md_table

K = 10


def agreement(vecs: np.ndarray, labels: list[set[str]], k: int = K) -> float:
    """Mean share of each item's k nearest neighbours (cosine, self excluded) sharing a label."""
    x = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-30)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    nn = np.argpartition(-sim, k, axis=1)[:, :k]
    hits = [np.mean([bool(labels[i] & labels[j]) for j in row]) for i, row in enumerate(nn)]
    return float(np.mean(hits))


def chance(labels: list[set[str]], seed: int, pairs: int = 20000) -> float:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(labels), pairs)
    b = rng.integers(0, len(labels), pairs)
    ok = a != b
    return float(np.mean([bool(labels[i] & labels[j]) for i, j in zip(a[ok], b[ok])]))


def _throughput(encode, items, batch: int = 32) -> float:
    encode(items[:8])  # warm-up (model load, ONNX export)
    t = time.perf_counter()
    encode(items)
    return len(items) / (time.perf_counter() - t)


def colour_histogram(paths) -> np.ndarray:
    from coverstory.encoders.images import load_image

    out = []
    for p in paths:
        a = np.asarray(load_image(p).resize((64, 64)), np.int32) // 64  # 4 levels per channel
        idx = a[..., 0] * 16 + a[..., 1] * 4 + a[..., 2]
        out.append(np.bincount(idx.ravel(), minlength=64).astype(np.float32))
    return np.sqrt(np.stack(out))


def is_grey(path) -> bool:
    from coverstory.encoders.images import load_image

    a = np.asarray(load_image(path).resize((32, 32)), np.int16)
    return int(np.abs(a - a.mean(axis=2, keepdims=True)).max()) <= 12


def image_encoders(ctx: BenchContext) -> list[str]:
    from coverstory.encoders.registry import list_encoders

    names = ["efficientnet-lite0.imagenet", "efficientnet-lite1.imagenet",
             "efficientnet-lite2.imagenet", "triple-cnn.imagenet", "triple-cnn-mean.imagenet",
             "efficientnet-lite0.random", "mobilenetv2.random",
             "efficientnetb0.random", "resnet50.random", "vgg16.random", "triple-cnn.random",
             "vgg16-attn.random"]
    if ctx.quick:
        names = ["efficientnet-lite0.imagenet", "mobilenetv2.random"]
    trained = [e["name"] for e in list_encoders(ctx.home)
               if e["modality"] == "image" and e.get("source") == "trained"]
    return names + sorted(trained)


def _kind(name: str) -> str:
    if ".ssl-" in name:
        return "self-supervised"
    if name.endswith(".random"):
        return "from scratch (random)"
    return "pretrained"


def run_images(ctx: BenchContext) -> tuple[list[dict], dict]:
    from coverstory.catalog import Catalog
    from coverstory.encoders.cache import feature_path, stored_hashes
    from coverstory.encoders.registry import get_encoder
    from coverstory.train.ssl import is_eval_book

    cat = Catalog.open(ctx.home)
    try:
        books = [b for b in cat.books() if b.cover_path and b.categories and
                 is_eval_book(b.id) and any(s.startswith("bookdepository:") for s in b.sources)]
    finally:
        cat.close()
    if len(books) < 50:
        raise SystemExit(f"bench encoders needs the Book Depository covers imported in the "
                         f"home ({ctx.home} has {len(books)} usable); run with --home "
                         f"pointing at a full import")
    rng = np.random.default_rng(ctx.seed)
    n = 200 if ctx.quick else 600
    books = [books[i] for i in sorted(rng.choice(len(books), min(n, len(books)), replace=False))]
    paths = [b.cover_path for b in books]
    labels = [set(b.categories) for b in books]
    grey = np.array([is_grey(p) for p in paths])
    grey_labels = [lab for lab, g in zip(labels, grey) if g]
    info = {"covers": len(books), "greyscale_covers": int(grey.sum()),
            "chance": chance(labels, ctx.seed), "grey_chance": chance(grey_labels, ctx.seed)}
    rows = []

    def add(name, kind, vecs, speed, dim, note=""):
        rows.append({"encoder": name, "kind": kind, "dim": dim,
                     "agreement@10": agreement(vecs, labels),
                     "grey agreement@10": agreement(vecs[grey], grey_labels),
                     "covers/s": speed, "note": note})

    t = time.perf_counter()
    hist = colour_histogram(paths)
    add("colour-histogram", "baseline", hist, len(paths) / (time.perf_counter() - t), 64)
    for name in image_encoders(ctx):
        ctx.progress(f"image encoder {name}")
        try:
            enc = get_encoder(name, ctx.home)
        except (FileNotFoundError, KeyError) as e:
            ctx.progress(f"skipping {name}: {e}")
            continue
        feature = f"cover/{name}"
        note = ""
        vecs = None
        if feature_path(ctx.home, feature).exists():  # reuse the feature cache when it covers
            from coverstory.encoders.cache import load_features

            have = stored_hashes(ctx.home, feature)
            if all(b.id in have and have[b.id] == b.cover_sha256 for b in books):
                ids, allv = load_features(ctx.home, feature)
                pos = {int(i): r for r, i in enumerate(ids)}
                vecs = allv[[pos[b.id] for b in books]]
                note = "vectors from the feature cache"
        if vecs is None:
            vecs = enc.encode(paths, batch_size=32, progress=False)
        speed = _throughput(lambda xs: enc.encode(xs, batch_size=32), paths[:64])
        runtime = enc.config.get("runtime", "torch")
        add(name, _kind(name), vecs, speed, enc.dim,
            (note + "; " if note else "") + f"{enc.config.get('image_size', 224)} px, {runtime}")
    return rows, info


def run_text(ctx: BenchContext) -> tuple[list[dict], dict]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from coverstory.catalog import Catalog
    from coverstory.encoders.registry import get_encoder, list_encoders
    from coverstory.train.genres import book_genres
    from coverstory.train.ssl import is_eval_book

    cat = Catalog.open(ctx.home)
    try:
        books = [b for b in cat.books() if b.description and is_eval_book(b.id)
                 and book_genres(b.tags)]
    finally:
        cat.close()
    if len(books) < 30:
        return [], {"skipped": f"only {len(books)} described books with genre tags"}
    rng = np.random.default_rng(ctx.seed)
    n = 150 if ctx.quick else 2000
    books = [books[i] for i in sorted(rng.choice(len(books), min(n, len(books)), replace=False))]
    texts = [b.description for b in books]
    labels = [set(book_genres(b.tags)) for b in books]
    info = {"descriptions": len(books), "chance": chance(labels, ctx.seed)}
    rows = []
    t = time.perf_counter()
    tfidf = TfidfVectorizer(min_df=2, stop_words="english", sublinear_tf=True).fit_transform(texts)
    speed = len(texts) / (time.perf_counter() - t)
    rows.append({"encoder": "tf-idf (fit on the eval texts)", "kind": "baseline",
                 "dim": tfidf.shape[1], "agreement@10": agreement(tfidf.toarray(), labels),
                 "texts/s": speed, "note": ""})
    names = ["minilm-l6.pretrained"] + sorted(
        e["name"] for e in list_encoders(ctx.home)
        if e["modality"] == "text" and e.get("source") == "trained")
    minilm_vecs = None
    for name in names:
        ctx.progress(f"text encoder {name}")
        enc = get_encoder(name, ctx.home)
        vecs, cached = _cached_text_vectors(ctx.home, f"description/{name}", books), True
        if vecs is None:
            vecs, cached = enc.encode(texts, batch_size=32), False
        speed = _throughput(lambda xs: enc.encode(xs, batch_size=32), texts[:96])
        tr = enc.config.get("train") or {}
        held = tr.get("held_out") or (tr["history"][-1] if tr.get("history") else None)
        note = (f"trained on {tr.get('train_books')} descriptions, "
                f"{len(tr['history'])} epochs (kept {tr.get('best_epoch', len(tr['history']))}), "
                f"held-out top-1 genre {held['top1_precision']:.3f}" if held else "")
        if cached:
            note = "; ".join(x for x in (note, "vectors from the feature cache") if x)
        if name == "minilm-l6.pretrained":
            minilm_vecs, minilm_speed = vecs, speed
            note = "; ".join(x for x in (note, "never saw the genre labels") if x)
        rows.append({"encoder": name, "kind": "pretrained" if name.endswith(".pretrained")
                     else "trained on the catalog (genre labels)", "dim": enc.dim,
                     "agreement@10": agreement(vecs, labels), "texts/s": speed, "note": note})
    if minilm_vecs is not None:
        ctx.progress("minilm-l6.pretrained + genre head: training on the RNNs' training books")
        try:
            head_rows = minilm_head_rows(ctx, minilm_vecs, labels, books, minilm_speed)
        except ValueError as e:
            ctx.progress(f"minilm + head skipped: {e}")
            head_rows = []
        rows[2:2] = head_rows
    return rows, info


HEAD_DIM = 256          # the recurrent encoders' vector size (hidden 128, both directions)


def minilm_head_rows(ctx, eval_vecs, eval_labels, eval_books, speed) -> list[dict]:
    """MiniLM (frozen) + a supervised head trained exactly as the recurrent encoders are
    (coverstory.train.text): the same labelled training books (described goodbooks books
    outside the evaluation split, never the evaluated ones), the same validation slice
    (book id ending in 1) for early stopping (patience 2), the same labels (canonical
    genres, multi-label BCE), Adam lr 2e-3, batch 32, at most 15 epochs (the RNNs' budget).
    The head: Linear(384 -> 256) + tanh (the 256-d vector scored by agreement@10, as the
    RNNs' 256-d vectors are) + Linear(256 -> genres)."""
    import torch
    from torch import nn

    from coverstory.catalog import Catalog
    from coverstory.train.genres import GENRES, book_genres
    from coverstory.train.ssl import is_eval_book

    cat = Catalog.open(ctx.home)
    try:
        labelled = [(b, book_genres(b.tags)) for b in cat.books() if b.description]
    finally:
        cat.close()
    labelled = [(b, g) for b, g in labelled if g]
    train = [x for x in labelled if not is_eval_book(x[0].id)]
    test = [x for x in labelled if is_eval_book(x[0].id)]
    eval_ids = {b.id for b in eval_books}
    if any(b.id in eval_ids for b, _ in train):
        raise ValueError("a training book is in the evaluated sample")
    if ctx.quick:
        train, test = train[:400], test[:100]
    val = [x for x in train if x[0].id % 10 == 1]
    train = [x for x in train if x[0].id % 10 != 1]
    if len(train) < 10 or not val:
        raise ValueError(f"too few labelled training books ({len(train)})")
    names = list(GENRES)

    def xy(items):
        X = torch.from_numpy(cached_encode([b.description for b, _ in items]))
        Y = torch.zeros(len(items), len(names))
        for i, (_, g) in enumerate(items):
            Y[i, [names.index(n) for n in g]] = 1.0
        return X, Y

    (Xtr, Ytr), (Xva, Yva), (Xte, Yte) = xy(train), xy(val), xy(test)
    torch.manual_seed(ctx.seed)
    proj = nn.Sequential(nn.Linear(Xtr.shape[1], HEAD_DIM), nn.Tanh())
    head = nn.Linear(HEAD_DIM, len(names))
    opt = torch.optim.Adam(list(proj.parameters()) + list(head.parameters()), lr=2e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    rng = np.random.default_rng(ctx.seed)

    def top1(X, Y):
        with torch.no_grad():
            p = head(proj(X)).argmax(1)
        return float(Y[torch.arange(len(Y)), p].mean())

    best, epochs = None, 0
    t0 = time.perf_counter()
    for epoch in range(15):
        epochs = epoch + 1
        order = rng.permutation(len(Xtr))
        for a in range(0, len(order), 32):
            i = torch.from_numpy(order[a:a + 32])
            loss = loss_fn(head(proj(Xtr[i])), Ytr[i])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        v = top1(Xva, Yva)
        if best is None or v > best[0]:
            import copy

            best = (v, epochs, copy.deepcopy(proj.state_dict()), copy.deepcopy(head.state_dict()))
        if epochs - best[1] >= 2:
            break
    secs = time.perf_counter() - t0
    proj.load_state_dict(best[2])
    head.load_state_dict(best[3])
    with torch.no_grad():
        V = proj(torch.from_numpy(np.asarray(eval_vecs, np.float32))).numpy()
    note = (f"MiniLM frozen + head trained on {len(train)} descriptions (same books, labels "
            f"and budget as the RNNs), {epochs} epochs (kept {best[1]}), {secs:.0f} s; "
            f"held-out top-1 genre {top1(Xte, Yte):.3f}")
    return [{"encoder": "minilm-l6.pretrained + genre head", "kind":
             "pretrained + head trained on the genre labels", "dim": HEAD_DIM,
             "agreement@10": agreement(V, eval_labels), "texts/s": speed, "note": note}]


def _cached_text_vectors(home, feature: str, books) -> np.ndarray | None:
    """The feature cache's vectors for these books' descriptions, when it holds every one
    of them for the same text (same content hash); otherwise None."""
    from coverstory.encoders.cache import feature_path, load_features, stored_hashes, text_hash

    if not feature_path(home, feature).exists():
        return None
    have = stored_hashes(home, feature)
    if not all(have.get(b.id) == text_hash(b.description) for b in books):
        return None
    ids, allv = load_features(home, feature)
    pos = {int(i): r for r, i in enumerate(ids)}
    return allv[[pos[b.id] for b in books]]


def run_audio(ctx: BenchContext) -> tuple[list[dict], dict]:
    from coverstory.encoders.audio import espeak_available
    from coverstory.encoders.registry import get_encoder, list_encoders
    from coverstory.train.audio import TEST_VOICES, TRAIN_VOICES, make_clips, phrases

    trained = sorted(e["name"] for e in list_encoders(ctx.home)
                     if e["modality"] == "audio" and e.get("source") == "trained")
    if ctx.quick or not trained or not espeak_available():
        return [], {"skipped": "quick mode, no trained audio encoder, or no espeak-ng"}
    labels = phrases()
    ref = make_clips(TRAIN_VOICES[:3], labels)
    test = make_clips(TEST_VOICES, labels)
    rows = []
    for name in ["mfcc-bilstm.random", *trained]:
        enc = get_encoder(name, ctx.home)
        r = enc.encode([c for c, _ in ref])
        q = enc.encode([c for c, _ in test])
        r /= np.linalg.norm(r, axis=1, keepdims=True) + 1e-30
        q /= np.linalg.norm(q, axis=1, keepdims=True) + 1e-30
        nn = (q @ r.T).argmax(1)
        acc = float(np.mean([ref[j][1] == test[i][1] for i, j in enumerate(nn)]))
        speed = _throughput(lambda xs: enc.encode(xs), [c for c, _ in test[:32]])
        rows.append({"encoder": name, "1-NN accuracy (unheard voices)": acc,
                     "clips/s": speed})
    return rows, {"reference_clips": len(ref), "test_clips": len(test),
                  "chance": 1 / len(labels)}


def run(ctx: BenchContext) -> BenchResult:
    import os

    if ctx.throughput:
        from coverstory.benchmarks._throughput import run_throughput

        return run_throughput(ctx)
    load_before = os.getloadavg()[0]
    text_only = setting("bench_text_only") == "1"   # a home without covers
    img_rows, img_info = ([], {}) if text_only else run_images(ctx)
    txt_rows, txt_info = run_text(ctx)
    aud_rows, aud_info = ([], {}) if text_only else run_audio(ctx)
    load = (round(load_before, 1), round(os.getloadavg()[0], 1))
    md = [f"Machine load average (1 min) at start / end: {load[0]} / {load[1]} on "
          f"{os.cpu_count()} CPUs: throughputs are under that load; compare rows, not runs."]
    if img_rows:
        md += [f"\n\n## Cover encoders (Book Depository, held-out split)\n\n"
               f"{img_info['covers']} covers ({img_info['greyscale_covers']} greyscale), seed "
               f"{ctx.seed}; chance agreement {img_info['chance']:.3f} (greyscale only: "
               f"{img_info['grey_chance']:.3f}).\n\n",
               md_table(img_rows, ["encoder", "kind", "dim", "agreement@10",
                                   "grey agreement@10", "covers/s", "note"])]
    if txt_rows:
        md += [f"\n## Text encoders (goodbooks descriptions, held-out split)\n\n"
               f"{txt_info['descriptions']} descriptions; chance agreement "
               f"{txt_info['chance']:.3f}. The trained rows learned the very genre labels "
               "agreement@10 scores (on other books); `minilm-l6.pretrained` never saw them. "
               "The fair comparison for the trained RNNs is `minilm-l6.pretrained + genre "
               "head`: MiniLM frozen, a head trained on the same books, labels and budget "
               "(see minilm_head_rows).\n\n",
               md_table(txt_rows, ["encoder", "kind", "dim", "agreement@10", "texts/s",
                                   "note"])]
    if aud_rows:
        md += [f"\n## Audio encoders (spoken genre names, unheard voices)\n\n"
               f"{aud_info['test_clips']} test clips vs {aud_info['reference_clips']} "
               f"reference clips; chance {aud_info['chance']:.3f}.\n\n", md_table(aud_rows)]
    return BenchResult(results={"images": {"rows": img_rows, **img_info},
                                "text": {"rows": txt_rows, **txt_info},
                                "audio": {"rows": aud_rows, **aud_info},
                                "load_average": load},
                       markdown="".join(md))
