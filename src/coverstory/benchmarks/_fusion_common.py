"""``coverstory bench fusion`` and ``fusion_paper``: the shared pieces (training settings,
features a task needs, one model trained and scored, the classification rows and tables; a
pure move out of fusion.py, whose docstring has the protocols)."""

from __future__ import annotations

import time

import numpy as np

from coverstory.artifacts import DESCRIPTION_FEATURE, TITLE_FEATURE
from coverstory.benchmarks.runner import md_table

TITLE = TITLE_FEATURE
DESC = DESCRIPTION_FEATURE
STRATEGIES = ["early", "late", "coattention", "cbam", "transformer", "adversarial"]
BETAS = [0.0, 0.2, 0.3, 0.5, 1.0]


def _cfg(ctx, strategy, beta=0.3, small=False, **kw):
    """Bench training settings; ``small`` tasks (about 1k books) get small batches and more
    epochs so they see as many steps."""
    from coverstory.train.trainer import TrainConfig

    if small:
        return TrainConfig(strategy, beta=beta, epochs=10 if ctx.quick else 30, patience=5,
                           seed=ctx.seed, progress=False, out_dim=128, batch_size=64,
                           lr=1e-3, **kw)
    return TrainConfig(strategy, beta=beta, epochs=5 if ctx.quick else 8,
                       patience=2, seed=ctx.seed, progress=False, out_dim=128,
                       batch_size=512, lr=2e-3, **kw)


def _ensure(ctx, home, task, feature):
    from coverstory.encoders.cache import update_features
    from coverstory.fusion.datasets import feature_matrix

    try:
        _, present = feature_matrix(home, feature, task.ids)
        if present.mean() > 0.95:
            return
    except FileNotFoundError:
        pass
    ctx.progress(f"building feature {feature}")
    update_features(home, feature, progress=False)


def _ensure_maps(ctx, home, task):
    from coverstory.fusion.maps import extract_cover_maps

    paths = [task.books[int(i)].cover_path for i in task.ids]
    r = extract_cover_maps(paths, home, progress=False)
    if r["extracted"]:
        ctx.progress(f"extracted cover maps of {r['extracted']} covers")


def _image_features(home, task) -> dict[str, str]:
    """Image inputs to compare: the cover maps' global vector plus every cover/* feature in
    the cache that covers >= 95% of the task's books."""
    return {"efficientnet-lite0 (maps, global avg)": "maps-global",
            **_cached_features(home, task, "cover")}


def _cached_features(home, task, prefix: str) -> dict[str, str]:
    """Every cached ``prefix/*`` feature that covers >= 95% of the task's books."""
    from coverstory.encoders.cache import built_features
    from coverstory.fusion.datasets import feature_matrix

    out = {}
    for f in built_features(home):
        name = f.get("feature", "")
        if name.startswith(prefix + "/"):
            try:
                _, present = feature_matrix(home, name, task.ids)
            except FileNotFoundError:
                continue
            if present.mean() >= 0.95:
                out[name] = name
    return out


def _parts(task, fs, quick: bool, seed: int):
    tr, va, te = task.index("train"), task.index("val"), task.index("test")
    if quick:
        rng = np.random.default_rng(seed)
        tr = np.sort(rng.choice(tr, min(len(tr), 2000), replace=False))
        va = np.sort(rng.choice(va, min(len(va), 400), replace=False))
        te = np.sort(rng.choice(te, min(len(te), 600), replace=False))
    return {"train": fs.subset(tr), "val": fs.subset(va), "test": fs.subset(te),
            "test_idx": te}


def _run_cache(ctx, key: dict):
    """Where a finished run's report is kept, so an interrupted bench resumes (same seed,
    config and data give the same run; delete <home>/fusion/bench_runs to start over)."""
    import hashlib
    import json

    h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:16]
    d = ctx.home / "fusion" / "bench_runs"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{h}.json", d / f"{h}.npz"


def _train_eval(ctx, label, strategy, fs_parts, task, names, beta=0.3, options=None,
                single_modality=None):
    import json
    from dataclasses import asdict

    from coverstory.eval.classification import report
    from coverstory.fusion.base import FusionSpec
    from coverstory.train.trainer import predict, train

    tr = fs_parts["train"].select(names)
    small = len(tr) < 3000 and task.name != "genre"
    cfg = _cfg(ctx, strategy, beta, small)
    key = {"task": task.name, "label": label, "names": names, "cfg": asdict(cfg),
           "options": options, "n": [len(fs_parts[p]) for p in ("train", "val", "test")],
           "ids": int(fs_parts["test"].ids.sum()), "quick": ctx.quick, "v": 1}
    jpath, npath = _run_cache(ctx, key)
    if jpath.exists() and npath.exists():
        rep = json.loads(jpath.read_text())
        with np.load(npath) as z:
            pred = {"logits": z["logits"], "vectors": z["vectors"], "weights": None}
        rep.setdefault("single_modality", strategy == "single")
        ctx.progress(f"{task.name} {label}: reused finished run (top1 {rep['top1']:.3f})")
        return rep, None, pred
    kinds = {n: ("text" if n.split("@")[0] in ("title", "description", "ocr", "lex")
                  or n.startswith("txt") else "image") for n in names}
    spec = FusionSpec(tr.shapes(), len(task.labels), modality=kinds, options=options or {})
    t0 = time.time()
    res = train(spec, cfg, tr, fs_parts["val"].select(names))
    te = fs_parts["test"].select(names)
    pred = predict(res.model, te)
    sets = [task.label_sets[i] for i in fs_parts["test_idx"]]
    rep = report(pred["logits"], te.y, task.labels, sets)
    w = pred["weights"]
    if single_modality is None:
        single_modality = len({kinds[n] for n in names}) == 1
    rep.update({"model": label, "strategy": strategy, "beta": beta, "inputs": names,
                "single_modality": bool(single_modality),
                "best_epoch": res.best_epoch, "epochs_run": len(res.history),
                "train_seconds": round(time.time() - t0, 1), "history": res.history,
                "mean_modality_weights": None if w is None or w.shape[1] < 2 else
                dict(zip(spec.modalities, np.round(w.mean(0), 3).tolist()))})
    ctx.progress(f"{task.name} {label}: top1 {rep['top1']:.3f} macroF1 {rep['macro_f1']:.3f} "
                 f"({rep['train_seconds']} s)")
    jpath.write_text(json.dumps(rep, default=float))
    np.savez(npath, logits=pred["logits"], vectors=pred["vectors"])
    return rep, res, pred


def _classification_eval(ctx, home, task, text_prefix, text_name):
    """Single-modal baselines + every fusion strategy on one task; returns rows and runs."""
    from coverstory.fusion.datasets import assemble

    images = _image_features(home, task)
    texts = _cached_features(home, task, text_prefix)
    if not texts:
        raise FileNotFoundError(f"no {text_prefix}/* feature covers this task; run "
                                f"`coverstory build features --encoder minilm-l6.pretrained`")
    main_text = next(iter(texts)) if text_name not in texts else text_name
    inputs = {"cover": "maps"}
    for i, (lab, src) in enumerate(images.items()):
        inputs[f"img{i}"] = src
    for i, (lab, src) in enumerate(texts.items()):
        inputs[f"txt{i}"] = src
    fs = assemble(home, task, inputs)
    # readable input names for the fusion runs
    t_in = f"txt{list(texts).index(main_text)}"
    fs.x[text_prefix] = fs.x[t_in]
    fs.mask[text_prefix] = fs.mask[t_in]
    fs.x["image"] = fs.x["img0"]
    fs.mask["image"] = fs.mask["img0"]
    parts = _parts(task, fs, ctx.quick, ctx.seed)
    rows, runs = [], {}
    for i, lab in enumerate(images):
        rep, res, _ = _train_eval(ctx, f"image-only: {lab}", "single",
                                  parts, task, [f"img{i}"])
        rows.append(rep)
        runs[f"image-only: {lab}"] = rep
    for i, lab in enumerate(texts):
        rep, res, _ = _train_eval(ctx, f"text-only: {lab}", "single", parts, task, [f"txt{i}"])
        rows.append(rep)
        runs[f"text-only: {lab}"] = rep
    strategies = ["early", "cbam"] if ctx.quick else STRATEGIES
    preds = {}
    if task.name == "genre":
        # a lexical title modality (TF-IDF word + char n-grams -> SVD 256, fit on train titles)
        fs_lex = _title_lexical(ctx, task)
        row_of = {int(b): r for r, b in enumerate(task.ids)}
        for k in ("train", "val", "test"):
            parts[k].x["lex"] = fs_lex[[row_of[int(b)] for b in parts[k].ids]]
        extra = [("text-only: title TF-IDF (SVD 256)", "single", ["lex"]),
                 ("text-only: MiniLM + TF-IDF (early, text only)", "early", ["title", "lex"]),
                 ("fusion: adversarial + TF-IDF title", "adversarial", ["title", "lex", "image"]),
                 ("fusion: late + TF-IDF title", "late", ["title", "lex", "image"])]
        for lab, s_, names in extra:
            rep, res, pred = _train_eval(ctx, lab, s_, parts, task, names)
            rows.append(rep)
            runs[lab] = rep
    for s in strategies:
        names = ([text_prefix, "cover@c1", "cover@c2", "cover@c3"] if s == "cbam"
                 else [text_prefix, "image"])
        rep, res, pred = _train_eval(ctx, f"fusion: {s}", s, parts, task, names)
        rows.append(rep)
        runs[f"fusion: {s}"] = rep
        preds[s] = (pred, res)
    return rows, runs, parts, preds, main_text


def _title_lexical(ctx, task, dim: int = 256) -> np.ndarray:
    """TF-IDF (word 1-2-grams + char 2-5-grams) of "title by author", reduced to ``dim`` by a
    truncated SVD; vocabulary, idf and SVD are fitted on the training books only."""
    from scipy.sparse import hstack
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    from coverstory.encoders.cache import title_text

    titles = [title_text(task.books[int(i)]) for i in task.ids]
    tr = task.index("train")
    wv = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    cv = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=3, sublinear_tf=True,
                         max_features=100000)
    wv.fit([titles[i] for i in tr])
    cv.fit([titles[i] for i in tr])
    x = hstack([wv.transform(titles), cv.transform(titles)]).tocsr()
    svd = TruncatedSVD(dim, random_state=ctx.seed, n_iter=4).fit(x[tr])
    out = svd.transform(x).astype(np.float32)
    ctx.progress(f"title TF-IDF -> SVD {dim}: {x.shape[1]} terms")
    return out


def _row(r):
    return {"model": r["model"], "top-1": 100 * r["top1"], "top-1 (any cat.)":
            100 * r.get("top1_any", float("nan")), "top-3": 100 * r["top3"],
            "macro-F1": 100 * r["macro_f1"], "sens.": r["mean_sensitivity"],
            "spec.": r["mean_specificity"], "PPV": r["mean_ppv"], "IoU": r["mean_iou"],
            "Dice": r["mean_dice"], "epochs": r["epochs_run"], "train s": r["train_seconds"],
            "modality weights": r["mean_modality_weights"] or ""}


def _per_class_table(rep) -> str:
    rows = [{"category": p["category"], "n": p["support"], "sensitivity": p["sensitivity"],
             "specificity": p["specificity"], "PPV": p["ppv"], "IoU": p["iou"],
             "Dice": p["dice"]} for p in rep["per_class"]]
    return md_table(rows, floatfmt="{:.4f}")


def _beta_sweep(ctx, task, parts, strategy, n_train=6000):
    """Train ``strategy`` for each beta on a fixed random subset of the training books."""
    rng = np.random.default_rng(ctx.seed)
    keep = np.sort(rng.choice(len(parts["train"]), min(n_train, len(parts["train"])),
                              replace=False))
    parts = {**parts, "train": parts["train"].subset(keep)}
    out = {}
    names = (["title", "cover@c1", "cover@c2", "cover@c3"] if strategy == "cbam"
             else ["title", "image"])
    for b in BETAS:
        rep, res, _ = _train_eval(ctx, f"{strategy} beta={b}", strategy, parts, task, names,
                                  beta=b)
        out[b] = rep
    return out
