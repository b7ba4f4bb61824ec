"""Retrieval (a) of ``coverstory bench fusion_retrieval`` under the fair protocol (issues 16.2
and 17): cover <-> "title by author" on 1,000 test Book Depository covers.

Protocol
- One split by book (``fusion.datasets.genre_task``, split seed = the bench seed): train /
  val / test disjoint by book and by normalised title + author. Candidates: 1,000 random test
  books (every compared row and every seed ranks the same 1,000 covers against the same
  1,000 texts); a validation gallery of 1,000 random validation books (the same size as the
  test gallery) for every choice; the other validation books for the projections' early
  stopping.
- Everything is chosen on the validation gallery: the projection's settings (candidates
  below, trained once with the bench seed), whether scores are rescaled by CSLS, the
  combination weights (per seed). The test gallery is scored only after that.
- 5 training seeds (bench seed + 0..4): they change the projections' initialisation, batches
  and the old row's 8,000-pair sample; the split and the candidates stay fixed. The best
  plain projection and the best one with cover attention (each chosen on validation) both
  run on every seed (the OCR of
  every candidate cover is read once; a new split per seed would need ~5x the OCR).
- The old row (the method of 2026-11-23: fuzzy + OCR MiniLM + a Lite0 projection, weights
  grid-tuned on 100 validation books) runs on the same candidates and seeds.
"""

from __future__ import annotations

import time

import numpy as np

from coverstory.benchmarks._fusion_common import TITLE, _title_lexical

N_CANDIDATES = 1000
MEMBERS = ("cover/efficientnet-lite0.imagenet", "cover/efficientnet-lite1.imagenet",
           "cover/efficientnet-lite2.imagenet")
# projection settings compared on validation (the bench seed); keys are PairConfig fields
PAIR_CANDIDATES = {
    "InfoNCE": {},
    "InfoNCE + CE/triplet (semi-hard)": {"ce_weight": 0.3, "mining": "semi_hard"},
    # the seed's cover attention v + q * v (q from the title side), InfoNCE + 0.3 (CE + beta *
    # triplet) on genres. The triplet is mined (B^2 per step): batch-all over 512-book batches
    # built 512^3 terms, 12 s a step on one core; mined, a gated step is ~0.5 s
    "attention + CE/triplet (semi-hard)": {"gate": True, "ce_weight": 0.3,
                                           "mining": "semi_hard"},
    "attention + CE/triplet (batch-hard)": {"gate": True, "ce_weight": 0.3,
                                            "mining": "batch_hard"},
}


def _features(ctx, home, task) -> dict[str, np.ndarray]:
    """Cover and text inputs. The ensemble concatenates the L2-normalised Lite backbones whose
    features are built for >= 95% of the books (Lite0 and the title's MiniLM are required);
    ``members`` says which went in."""
    from coverstory.encoders.image_ensemble import combine_members, l2n
    from coverstory.fusion.datasets import feature_matrix

    mats, missing = {}, {}
    for f in (*MEMBERS, TITLE):
        try:
            x, present = feature_matrix(home, f, task.ids)
        except FileNotFoundError:
            missing[f] = 1.0
            continue
        if present.mean() < 0.95:
            missing[f] = round(float(1 - present.mean()), 3)
        else:
            mats[f] = x
    if MEMBERS[0] in missing or TITLE in missing:
        raise FileNotFoundError(
            f"features missing for the retrieval bench: {missing}; run `coverstory build "
            "features --encoder title/minilm-l6.pretrained --encoder efficientnet-lite0.imagenet "
            "--encoder efficientnet-lite1.imagenet --encoder efficientnet-lite2.imagenet`")
    members = [f for f in MEMBERS if f in mats]
    if missing:
        ctx.progress(f"ensemble without {sorted(missing)} (not built)")
    lex = _title_lexical(ctx, task)             # fitted on the training titles only
    return {"lite0": mats[MEMBERS[0]],
            "ensemble": combine_members([mats[f] for f in members], "concat"),
            "members": [f.split("/", 1)[1] for f in members],
            "title": mats[TITLE], "text": np.hstack([l2n(mats[TITLE]), l2n(lex)])}


def sample(task, seed: int, n: int = N_CANDIDATES) -> dict[str, np.ndarray]:
    """Test candidates, validation gallery, early-stopping books (indices into the task)."""
    rng = np.random.default_rng(seed)
    te, va = task.index("test"), task.index("val")
    # always draw N_CANDIDATES and cut, so --quick uses a prefix of the full run's candidates
    test = rng.choice(te, min(N_CANDIDATES, len(te)), replace=False)[:n]
    val = rng.choice(va, min(N_CANDIDATES, len(va) // 2), replace=False)[:n]
    stop = np.setdiff1d(task.index("val"), val)
    return {"test": test, "val": val, "stop": stop, "train": task.index("train")}


def _lexical(ctx, home, cat, task, idx, vec, read_missing) -> tuple[dict, dict]:
    """Score matrices that read the cover's OCR text, and OCR coverage."""
    from coverstory.encoders.cache import title_text
    from coverstory.benchmarks._fusion_paper import _minilm
    from coverstory.fusion.crossmodal import cosine, ensure_ocr, fuzzy_matrix
    from coverstory.fusion.crossmodal_text import char_matrix, partial_matrix

    books = [task.books[int(task.ids[i])] for i in idx]
    ctx.progress(f"OCR of {len(books)} covers (cached in the catalog once read)")
    ocr = ensure_ocr(cat, books, progress=False, read_missing=read_missing)
    o = [ocr[b.id] or "" for b in books]
    texts = [title_text(b) for b in books]
    s = {"fuzzy": fuzzy_matrix(o, texts),
         "ocr_emb": cosine(_minilm(home, [t or "-" for t in o]), _minilm(home, texts)),
         "char": char_matrix(vec, o, texts),
         "partial": partial_matrix(o, [b.title for b in books])}
    s["ocr_emb"][[not t for t in o]] = 0
    cov = {"ocr_read": sum(ocr[b.id] is not None for b in books) / len(books),
           "ocr_nonempty": sum(bool(t.strip()) for t in o) / len(o)}
    return s, cov


def _old_row(ctx, feats, lex_val, lex_test, parts, seed) -> dict:
    """The 2026-11-23 method on these candidates: Lite0 -> title MiniLM projection (8,000
    training pairs, 12 epochs), fuzzy + OCR MiniLM + projection, weights on 100 val books."""
    from coverstory.eval.retrieval import cross_modal, mean_recall
    from coverstory.fusion.crossmodal import combine, train_projection, tune_weights

    rng = np.random.default_rng(seed)
    tr = np.sort(rng.choice(parts["train"], min(len(parts["train"]), 8000), replace=False))
    pv = parts["stop"][:1000]
    img, txt = feats["lite0"], feats["title"]
    p_img, p_txt, _ = train_projection(img[tr], txt[tr], img[pv], txt[pv],
                                       epochs=5 if ctx.quick else 12, seed=seed, progress=False)
    v100 = parts["val"][:100]
    s_val = {"fuzzy": lex_val["fuzzy"][:100, :100], "ocr_emb": lex_val["ocr_emb"][:100, :100],
             "proj": p_img(img[v100]) @ p_txt(txt[v100]).T}
    w, _ = tune_weights(s_val, mean_recall)
    te = parts["test"]
    s_test = {"fuzzy": lex_test["fuzzy"], "ocr_emb": lex_test["ocr_emb"],
              "proj": p_img(img[te]) @ p_txt(txt[te]).T}
    return {"weights": w, "combined": cross_modal(combine(s_test, w)),
            "proj": cross_modal(s_test["proj"])}


def _pair(feats, parts, seed, overrides, quick):
    from coverstory.fusion.crossmodal_gate import PairConfig, train_pairs

    cfg = PairConfig(seed=seed, epochs=1 if quick else 12, patience=3, **overrides)
    tr, st = parts["train"], parts["stop"][:1000]
    img, txt = feats["ensemble"], feats["text"]
    model, hist = train_pairs(img[tr], txt[tr], parts["labels"][tr], img[st], txt[st], cfg)
    return model, hist


def _mats(lex, proj, use_csls):
    from coverstory.fusion.crossmodal_text import csls

    s = dict(lex)
    if proj is not None:
        s["proj"] = proj
    return {k: csls(m) for k, m in s.items()} if use_csls else s


def _choose(lex_val, proj_val):
    """(weights, use_csls, val mR): the combination chosen on the validation gallery."""
    from coverstory.eval.retrieval import mean_recall
    from coverstory.fusion.crossmodal_text import tune_weights

    best = None
    for use_csls in (False, True):
        w, v = tune_weights(_mats(lex_val, proj_val, use_csls), mean_recall)
        if best is None or v > best[2]:
            best = (w, use_csls, v)
    return best


def _evaluate(lex_test, proj_test, choice):
    from coverstory.eval.retrieval import cross_modal
    from coverstory.fusion.crossmodal_text import combine

    w, use_csls, _ = choice
    return cross_modal(combine(_mats(lex_test, proj_test, use_csls), w))


def gate_report(model, txt: np.ndarray, y: np.ndarray, labels: list[str],
                members: tuple[str, ...] = ("lite0", "lite1", "lite2"), width: int = 1280
                ) -> dict:
    """What the cover attention raises, on these texts: the mean gate per backbone (the
    ensemble's blocks), how much gates differ between texts, the share of their variance
    the genre explains, and the channels raised most often."""
    q = model.gates(txt)
    edges = np.arange(len(members) + 1) * width
    per_member = {name: float(q[:, a:b].mean()) for name, a, b in
                  zip(members, edges[:-1], edges[1:])}
    total = q.var(axis=0).sum()
    cs = np.unique(y)
    means = np.stack([q[y == c].mean(0) for c in cs])
    counts = np.array([(y == c).sum() for c in cs])
    between = (counts[:, None] * (means - q.mean(0)) ** 2).sum() / len(y)
    spread = (means - q.mean(0))
    top_cat = np.argsort(-np.abs(spread).mean(1))[:3]
    ch = np.argsort(-q.mean(0))[:10]
    return {"mean_gate": float(q.mean()), "per_backbone_mean": per_member,
            "sd_across_texts": float(q.std(axis=0).mean()),
            "sd_within_text": float(q.std(axis=1).mean()),
            "genre_share_of_variance": float(between / max(total, 1e-12)),
            "most_distinct_genres": [labels[int(cs[i])] for i in top_cat],
            "top_channels": [{"channel": int(c), "backbone": members[int(c) // width],
                              "mean_gate": float(q[:, c].mean())} for c in ch]}


def run_fair(ctx, home, cat, task, read_missing: bool = True) -> tuple[dict, str]:
    """Retrieval (a) under the fair protocol: results and Markdown."""
    from coverstory.encoders.cache import title_text
    from coverstory.eval.retrieval import cross_modal
    from coverstory.fusion.crossmodal_text import fit_char_tfidf

    feats = _features(ctx, home, task)
    n = 200 if ctx.quick else N_CANDIDATES
    parts = sample(task, ctx.seed, n)
    parts["labels"] = task.y
    vec = fit_char_tfidf([title_text(task.books[int(task.ids[i])]) for i in parts["train"]])
    lex_val, cov_val = _lexical(ctx, home, cat, task, parts["val"], vec, read_missing)
    lex_test, cov_test = _lexical(ctx, home, cat, task, parts["test"], vec, read_missing)
    img, txt = feats["ensemble"], feats["text"]

    # 1. choices on the validation gallery (bench seed)
    ctx.progress("choosing the projection on validation")
    chosen = {"lexical only": _choose(lex_val, None)}
    cand, models = {}, {}
    for label, over in PAIR_CANDIDATES.items():
        t0 = time.time()
        model, hist = _pair(feats, parts, ctx.seed, over, ctx.quick)
        models[label] = (model, hist)
        pv = model.score(img[parts["val"]], txt[parts["val"]])
        c = _choose(lex_val, pv)
        if over.get("gate"):        # ablation: every title's gates fixed at their mean
            q = model.gates(txt[parts["val"]]).mean(0)
            fixed = cross_modal(model.score(img[parts["val"]], txt[parts["val"]],
                                            fixed_gate=q))["mR"]
        cand[label] = {"val_mR_fixed_gate": fixed if over.get("gate") else None,"settings": over, "val_mR_projection": cross_modal(pv)["mR"],
                       "seconds": round(time.time() - t0),
                       "val_mR_combined": c[2], "epochs": len(hist),
                       "use_csls": c[1], "weights": c[0]}
        ctx.progress(f"{label}: val mR projection {cand[label]['val_mR_projection']:.1f}, "
                     f"combined {c[2]:.1f}")
    best_plain = max((k for k in cand if not PAIR_CANDIDATES[k].get("gate")),
                     key=lambda k: cand[k]["val_mR_combined"])
    best_gate = max((k for k in cand if PAIR_CANDIDATES[k].get("gate")),
                    key=lambda k: cand[k]["val_mR_combined"], default=None)
    kinds = [k for k in (best_plain, best_gate) if k is not None]
    final = max(kinds, key=lambda k: cand[k]["val_mR_combined"])

    # 2. seeds: train, choose weights on validation, score the test gallery once; the best
    # plain and the best attention candidate both run on every seed
    seeds = [ctx.seed + k for k in range(2 if ctx.quick else 5)]
    runs, gates = [], None
    te = parts["test"]
    members = tuple(m.split(".")[0].replace("efficientnet-", "") for m in feats["members"])
    for s in seeds:
        ctx.progress(f"seed {s}")
        r = {"seed": s, "rows": {}}
        old = _old_row(ctx, feats, lex_val, lex_test, parts, s)
        r["rows"]["old: combined (fuzzy + OCR MiniLM + Lite0 projection; 100 val books)"] = \
            old["combined"]
        r["rows"]["old: Lite0 projection (InfoNCE, 8,000 pairs)"] = old["proj"]
        r["old_weights"] = old["weights"]
        ch = _choose(lex_val, None)
        r["rows"]["lexical: combined (no projection)"] = _evaluate(lex_test, None, ch)
        for key in kinds:
            label = ("projection with cover attention" if PAIR_CANDIDATES[key].get("gate")
                     else "projection")
            model, hist = (models[key] if s == ctx.seed else
                           _pair(feats, parts, s, PAIR_CANDIDATES[key], ctx.quick))
            pv = model.score(img[parts["val"]], txt[parts["val"]])
            pt = model.score(img[te], txt[te])
            ch = _choose(lex_val, pv)
            r["rows"][f"{label} alone ({key})"] = cross_modal(pt)
            r["rows"][f"combined: lexical + {label}"] = _evaluate(lex_test, pt, ch)
            r[f"choice {label}"] = {"weights": ch[0], "use_csls": ch[1], "val_mR": ch[2],
                                    "epochs": len(hist)}
            if PAIR_CANDIDATES[key].get("gate") and s == ctx.seed:
                gates = gate_report(model, txt[te], task.y[te], task.labels, members)
        runs.append(r)
    for k in ("fuzzy", "ocr_emb", "char", "partial"):
        runs[0]["rows"][f"single: {k}"] = cross_modal(lex_test[k])
    res = {"n": int(len(te)), "n_val_gallery": int(len(parts["val"])),
           "n_train_pairs": int(len(parts["train"])), "coverage_val": cov_val,
           "ensemble_members": feats["members"],
           "coverage_test": cov_test, "candidates": cand, "best_plain": best_plain,
           "best_attention": best_gate, "final": final, "seeds": seeds, "runs": runs,
           "gates": gates}
    return res, _markdown(res)


def _markdown(res) -> str:
    from coverstory.benchmarks.runner import md_table
    from coverstory.train.protocol import mean_sd

    keys = [("i2t", "R@1"), ("i2t", "R@5"), ("i2t", "R@10"), ("t2i", "R@1"), ("t2i", "R@5"),
            ("t2i", "R@10")]
    names = list(dict.fromkeys(k for r in res["runs"] for k in r["rows"]))
    rows = []
    for name in names:
        rs = [r["rows"][name] for r in res["runs"] if name in r["rows"]]
        row = {"method": name, "seeds": len(rs)}
        for d, k in keys:
            m, _ = mean_sd([x[d][k] for x in rs])
            row[f"{d} {k}"] = m
        m, s = mean_sd([x["mR"] for x in rs])
        row["mR"] = f"{m:.1f} ± {s:.1f}" if len(rs) > 1 else f"{m:.1f}"
        rows.append(row)
    cand = [{"projection": k, "settings": str(v["settings"]) if v["settings"] else "-",
             "val mR alone": v["val_mR_projection"], "val mR combined": v["val_mR_combined"],
             "val mR alone, gates fixed at their mean": (
                 "-" if v.get("val_mR_fixed_gate") is None else v["val_mR_fixed_gate"]),
             "CSLS": "yes" if v["use_csls"] else "no", "epochs": v["epochs"],
             "train s": v.get("seconds", "-")}
            for k, v in res["candidates"].items()]
    cv, ct = res["coverage_val"], res["coverage_test"]
    md = ["\n## 3. Cross-modal retrieval (a), fair protocol (issues 16.2 and 17)\n",
          f"{res['n']} test Book Depository covers vs their \"title by author\" (the same "
          f"candidates for every row and seed); choices on a validation gallery of "
          f"{res['n_val_gallery']} books; projections trained on {res['n_train_pairs']} "
          f"training pairs. OCR read on {100 * ct['ocr_read']:.0f}% of the test covers, text "
          f"found on {100 * ct['ocr_nonempty']:.0f}% (validation: {100 * cv['ocr_nonempty']:.0f}"
          f"%). Test R@K are means over seeds {res['seeds']}; mR mean ± sd. Split seed "
          f"{res['seeds'][0]} for all seeds (the seeds change training, not the candidates). "
          "Rows with one seed: the single lexical scores (deterministic).\n",
          md_table(rows, floatfmt="{:.1f}"),
          f"\nProjection settings compared on validation (bench seed): cover = ensemble of "
          f"{' + '.join(res['ensemble_members'])} (each L2-normalised, concatenated); text = "
          "MiniLM of \"title by author\" beside its TF-IDF (SVD 256, fitted on training "
          "titles).\n",
          md_table(cand, floatfmt="{:.1f}"),
          f"\nChosen: plain {res['best_plain']!r}, with attention {res['best_attention']!r}; "
          f"final {res['final']!r} (best validation mR of the combination).\n"]
    if res["best_attention"] is None:
        md.append("\nNo cover-attention candidate was run (none in PAIR_CANDIDATES).\n")
    g = res.get("gates")
    if g:
        md.append(f"\nCover attention on the test titles (seed {res['seeds'][0]}): mean gate "
                  f"{g['mean_gate']:.3f} (per backbone {_fmt(g['per_backbone_mean'])}); sd "
                  f"across titles {g['sd_across_texts']:.3f}, within a title "
                  f"{g['sd_within_text']:.3f}; genre explains "
                  f"{100 * g['genre_share_of_variance']:.0f}% of the gates' variance (most "
                  f"distinct: {', '.join(g['most_distinct_genres'])}).\n")
    return "\n".join(md)


def _fmt(d: dict) -> str:
    return ", ".join(f"{k} {v:.3f}" for k, v in d.items())
