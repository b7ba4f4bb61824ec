"""What the cover attention of retrieval (a) looks at, on the validation gallery only
(issue 17, item 2): trains one pair model with attention as ``bench fusion_retrieval`` does
(training books, early stopping on the other validation books) and reads it against
- lettering: per cover feature (channel), its correlation across the gallery's covers with
  how much text OCR finds on the cover (log 1 + characters); do the gates raise the
  channels that follow lettering more than the others?
- genre: the share of the gates' variance between the titles' genres;
- the score: the share of the cover x title scores' variance that the gated term
  <v_i, q_j ⊙ Aᵀ u_j> carries, and the validation mR with every title's gates fixed at
  their mean (does the text-dependence matter?).

    COVERSTORY_THREADS=1 /work/bin/heavy .venv/bin/python scripts/attention_explain.py \
        --home HOME '{"gate": true, "ce_weight": 0.3, "mining": "semi_hard"}'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def _corr_cols(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    xs = (x - x.mean(0)) / (x.std(0) + 1e-9)
    ys = (y - y.mean()) / (y.std() + 1e-9)
    return xs.T @ ys / len(y)


def main() -> None:
    import torch

    from coverstory.catalog import Catalog
    from coverstory.config import data_dir
    from coverstory.benchmarks import _retrieval_fair as rf
    from coverstory.eval.retrieval import cross_modal
    from coverstory.fusion.crossmodal import ensure_ocr
    from coverstory.fusion.crossmodal_gate import PairConfig, train_pairs
    from coverstory.fusion.datasets import genre_task

    ap = argparse.ArgumentParser()
    ap.add_argument("--home", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("settings", help="PairConfig fields as JSON (gate: true)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    home = Path(a.home)
    ctx = SimpleNamespace(seed=a.seed, quick=False, progress=lambda m: print(m, flush=True))
    cat = Catalog.open(home)
    task = genre_task(cat, data_dir(), seed=a.seed)
    parts = rf.sample(task, a.seed)
    feats = rf._features(ctx, home, task)
    img, txt = feats["ensemble"], feats["text"]
    tr, st, va = parts["train"], parts["stop"][:1000], parts["val"]
    cfg = PairConfig(seed=a.seed, epochs=12, patience=3, **json.loads(a.settings))
    model, hist = train_pairs(img[tr], txt[tr], task.y[tr], img[st], txt[st], cfg)
    books = [task.books[int(task.ids[i])] for i in va]
    ocr = ensure_ocr(cat, books, progress=False, read_missing=False)
    letters = np.log1p([len((ocr[b.id] or "").replace(" ", "")) for b in books])

    q = model.gates(txt[va])                                   # [n_titles, D]
    v = (img[va] - model.mu) / model.sd                         # the model's cover input
    r = _corr_cols(v, letters)                                  # per channel
    g = q.mean(0)
    top = np.argsort(-np.abs(r))[: len(r) // 20]                # 5% most lettering-bound
    rest = np.setdiff1d(np.arange(len(r)), top)
    net = model.net
    with torch.no_grad():
        t = torch.as_tensor(txt[va].astype(np.float32))
        u = net.text(t)
        w = net.text_parts(t, u)[0]
        vv = torch.as_tensor(v.astype(np.float32))
        base = (net.image(vv) @ u.T).numpy()
        gated = (vv @ w.T).numpy()
    full = base + gated
    fixed = model.score(img[va], txt[va], fixed_gate=g)
    rep = rf.gate_report(model, txt[va], task.y[va], task.labels)
    out = {
        "settings": json.loads(a.settings), "epochs": len(hist),
        "val_mR": cross_modal(full)["mR"], "val_mR_gates_fixed_at_mean": cross_modal(fixed)["mR"],
        "val_mR_without_gated_term": cross_modal(base)["mR"],
        "gated_term_share_of_score_variance": float(gated.var() / full.var()),
        "covers_with_ocr_text": float((letters > 0).mean()),
        "corr(mean gate, |corr with lettering|) over channels":
            float(np.corrcoef(g, np.abs(r))[0, 1]),
        "mean gate on the 5% channels most bound to lettering": float(g[top].mean()),
        "mean gate on the other channels": float(g[rest].mean()),
        "max |corr with lettering| of a channel": float(np.abs(r).max()),
        "per title: corr(mean gate on lettering channels - others, own cover's lettering)":
            float(np.corrcoef(q[:, top].mean(1) - q[:, rest].mean(1), letters)[0, 1]),
        "gate_report": rep}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
