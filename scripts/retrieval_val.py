"""Validation-only figures of retrieval (a) (``bench fusion_retrieval``'s choices, without
the test part): the OCR-text score matrices alone and combined on the 1,000-book validation
gallery, then each pair-model setting given as JSON (PairConfig fields) combined with them.

    /work/bin/heavy .venv/bin/python scripts/retrieval_val.py --home HOME \
        '{"epochs": 12, "patience": 3}' '{"epochs": 6, "gate": true, "ce_weight": 0.3}'

Reads the OCR of the validation gallery from the catalog (run the bench, or
``fusion.crossmodal.ensure_ocr``, to read it first); never touches the test split.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace


def main() -> None:
    import torch

    from coverstory.catalog import Catalog
    from coverstory.config import data_dir
    from coverstory.encoders.cache import title_text
    from coverstory.benchmarks import _retrieval_fair as rf
    from coverstory.eval.retrieval import cross_modal, mean_recall
    from coverstory.fusion.crossmodal import combine as old_combine
    from coverstory.fusion.crossmodal import tune_weights as old_tune
    from coverstory.fusion.crossmodal_gate import PairConfig, train_pairs
    from coverstory.fusion.crossmodal_text import csls, fit_char_tfidf
    from coverstory.fusion.datasets import genre_task

    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("settings", nargs="*", help="PairConfig fields as JSON, one per model")
    a = ap.parse_args()
    torch.set_num_threads(1)
    home = Path(a.home)
    ctx = SimpleNamespace(seed=a.seed, quick=False, progress=lambda m: print(m, flush=True))
    cat = Catalog.open(home)
    task = genre_task(cat, data_dir(), seed=a.seed)
    parts = rf.sample(task, a.seed)
    vec = fit_char_tfidf([title_text(task.books[int(task.ids[i])]) for i in parts["train"]])
    lex, cov = rf._lexical(ctx, home, cat, task, parts["val"], vec, read_missing=False)
    print("validation gallery", len(parts["val"]), cov)
    for k, m in lex.items():
        print(f"{k}: val mR {mean_recall(m):.1f}, with CSLS {mean_recall(csls(m)):.1f}")
    two = {k: lex[k] for k in ("fuzzy", "ocr_emb")}
    w, _ = old_tune(two, mean_recall)
    print(f"old combination (fuzzy + OCR MiniLM) {w}: val mR "
          f"{mean_recall(old_combine(two, w)):.1f}")
    w, use_csls, v = rf._choose(lex, None)
    print(f"OCR-text scores combined (CSLS {use_csls}, {w}): val mR {v:.1f}")
    feats = rf._features(ctx, home, task)
    tr, st, va = parts["train"], parts["stop"][:1000], parts["val"]
    for spec in a.settings:
        over = json.loads(spec)
        t0 = time.time()
        cfg = PairConfig(seed=a.seed, **over)
        img, txt = feats["ensemble"], feats["text"]
        model, hist = train_pairs(img[tr], txt[tr], task.y[tr], img[st], txt[st], cfg)
        pv = model.score(img[va], txt[va])
        w, use_csls, v = rf._choose(lex, pv)
        print(f"{spec}: {time.time() - t0:.0f} s, {len(hist)} epochs, projection alone val "
              f"mR {cross_modal(pv)['mR']:.1f}; combined (CSLS {use_csls}, {w}) val mR "
              f"{v:.1f}", flush=True)
        if cfg.gate:
            g = rf.gate_report(model, txt[va], task.y[va], task.labels,
                               tuple(m.split(".")[0].replace("efficientnet-", "")
                                     for m in feats["members"]))
            print("gates on the validation titles:", json.dumps(g), flush=True)


if __name__ == "__main__":
    main()
