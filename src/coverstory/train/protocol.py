"""The fair protocol for the genre benchmark (``coverstory bench fusion``, issue 16 part 2).

Per seed (a fresh split by book each time):

1. every candidate model (image-only, text-only, fusion) is trained on the training books
   for each value of the hyper-parameter grid (the triplet weight β) and early-stopped on
   the validation books; the grid value with the best **validation** top-1 is kept;
2. the image input of the fusion models is the image-only candidate with the best
   validation top-1 (so fusion uses the best image representation only where validation
   says so);
3. "best single modality" and "best fusion" are chosen by validation top-1;
4. only then is every kept model evaluated once on the test books (all test books, and the
   greyscale-cover test books alone).

Two kinds of candidate are not trained networks: ``strategy="scores"`` reads per-class
scores computed beforehand from the training books (an input of that name, e.g. a sparse
logistic regression's log-probabilities), and ``strategy="ensemble"`` weights the
validation-kept candidates of its families (``Candidate.members``; a fusion ensemble keeps
the best image model with a weight >= 0.25) with weights fitted on the validation books
(``coverstory.fusion.ensemble``); its validation top-1 for selection is cross-fitted
(weights fitted on one half of the validation books, scored on the other).

Nothing in steps 1-3 reads a test label or a test feature: :func:`run_seed` receives the
test split only in step 4, and ``tests/eval/test_fusion_protocol.py`` checks that
scrambling the test labels changes no choice. :func:`paired` compares two rows over the
same seeds (same splits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class Candidate:
    label: str
    family: str                 # "image" | "text" | "fusion"
    strategy: str
    inputs: list[str] | None    # None: fusion candidates take TEXT_INPUTS + the best image
    members: tuple[str, ...] = ()   # ensembles: the families whose kept rows it weights

    def names(self, best_image: list[str] | None, text_inputs: list[str]) -> list[str]:
        if self.inputs is not None:
            return list(self.inputs)
        if best_image is None:
            raise ValueError(f"{self.label}: a fusion candidate needs an image candidate first")
        return list(text_inputs) + list(best_image)


def fit_candidate(cand: Candidate, names: list[str], parts: dict, betas, make_cfg,
                  n_classes: int, kinds: Callable[[str], str], run=None) -> dict:
    """Train ``cand`` for every β in ``betas`` on parts["train"], early-stopped on
    parts["val"]; keep the β with the best validation top-1 (the first on ties).

    ``run(label, strategy, names, beta, train, val) -> (val_top1, model, extra)`` may
    replace the default trainer (the bench uses it to resume finished runs)."""
    if cand.strategy == "scores":
        return _scores_row(cand, names, parts)
    tried = {}
    for beta in betas:
        if run is not None:
            v, model, extra = run(cand.label, cand.strategy, names, beta,
                                  parts["train"].select(names), parts["val"].select(names))
        else:
            v, model, extra = _train(cand.strategy, names, beta, parts, make_cfg, n_classes,
                                     kinds)
        tried[float(beta)] = (float(v), model, extra)
    best_beta = max(tried, key=lambda b: (tried[b][0], -list(tried).index(b)))
    v, model, extra = tried[best_beta]
    return {"label": cand.label, "family": cand.family, "strategy": cand.strategy,
            "inputs": names, "beta": best_beta, "val_top1": v,
            "val_top1_by_beta": {str(b): t[0] for b, t in tried.items()},
            "model": model, **(extra or {})}


def _train(strategy, names, beta, parts, make_cfg, n_classes, kinds):
    from coverstory.fusion.base import FusionSpec
    from coverstory.train.trainer import train

    tr = parts["train"].select(names)
    spec = FusionSpec(tr.shapes(), n_classes, modality={n: kinds(n) for n in names})
    res = train(spec, make_cfg(strategy, beta), tr, parts["val"].select(names))
    return res.best_val_top1, res.model, {"best_epoch": res.best_epoch,
                                          "epochs_run": len(res.history)}


class ScoresModel:
    """A "model" whose logits are a precomputed input of the feature set."""

    def __init__(self, name: str):
        self.name = name

    def logits_of(self, fs) -> np.ndarray:
        return np.asarray(fs.x[self.name], np.float64)


class EnsembleModel:
    """Σ w_m log_softmax(logits of member m) over kept candidates (model, input names)."""

    def __init__(self, members: dict[str, tuple[object, list[str]]], weights: dict):
        self.members, self.weights = members, weights

    def member_logits(self, fs) -> dict[str, np.ndarray]:
        return {k: candidate_logits(m, fs, names) for k, (m, names) in self.members.items()
                if self.weights.get(k)}

    def logits_of(self, fs) -> np.ndarray:
        from coverstory.fusion.ensemble import WeightedEnsemble

        return WeightedEnsemble(self.weights).scores(self.member_logits(fs))


def candidate_logits(model, fs, names: list[str]) -> np.ndarray:
    """Per-class scores [n, C] of a kept candidate on a FeatureSet."""
    if hasattr(model, "logits_of"):
        return model.logits_of(fs)
    from coverstory.train.trainer import predict

    return predict(model, fs.select(names))["logits"]


def _scores_row(cand: Candidate, names: list[str], parts: dict) -> dict:
    model = ScoresModel(names[0])
    v = float((model.logits_of(parts["val"]).argmax(1) == parts["val"].y).mean())
    return {"label": cand.label, "family": cand.family, "strategy": cand.strategy,
            "inputs": names, "beta": 0.0, "val_top1": v, "val_top1_by_beta": {},
            "model": model}


def fit_ensemble(cand: Candidate, rows: list[dict], val, best_image: dict | None,
                 seed: int = 0) -> dict:
    """An ``ensemble`` candidate over the kept rows of ``cand.members`` (see the module
    doc); the best image row is added to a fusion ensemble with a weight >= 0.25."""
    from coverstory.fusion.ensemble import cross_fit_top1, fit_weights

    pool = [r for r in rows if r["family"] in cand.members and r["strategy"] != "ensemble"]
    at_least = {}
    if cand.family == "fusion" and best_image is not None:
        if best_image not in pool:
            pool.append(best_image)
        at_least[best_image["label"]] = 0.25
    members = {r["label"]: (r["model"], r["inputs"]) for r in pool}
    scores = {k: candidate_logits(m, val, names) for k, (m, names) in members.items()}
    ens, in_sample = fit_weights(scores, val.y, at_least=at_least)
    v = cross_fit_top1(scores, val.y, seed=seed, at_least=at_least)
    return {"label": cand.label, "family": cand.family, "strategy": "ensemble",
            "inputs": sorted({n for _, names in members.values() for n in names}),
            "beta": 0.0, "val_top1": v, "val_top1_in_sample": in_sample,
            "val_top1_by_beta": {}, "weights": ens.weights,
            "model": EnsembleModel(members, ens.weights)}


def best_by_val(rows: list[dict], families: tuple[str, ...]) -> dict:
    """The row of one of ``families`` with the best validation top-1 (first on ties)."""
    pool = [r for r in rows if r["family"] in families]
    if not pool:
        raise ValueError(f"no candidate of {families}")
    return max(pool, key=lambda r: (r["val_top1"], -pool.index(r)))


def run_seed(parts: dict, candidates: list[Candidate], text_inputs: list[str], betas,
             make_cfg, n_classes: int, kinds: Callable[[str], str],
             test_eval: Callable[[dict, list[str]], dict], run=None,
             progress: Callable[[str], None] = lambda m: None) -> dict:
    """Steps 1-4 of the module doc on one split. ``parts`` holds "train" and "val"
    FeatureSets (and "test", which only ``test_eval(row, names)`` is given, after every
    choice is made). Returns {"rows": [...], "choice": {...}}."""
    rows: list[dict] = []
    sel = {"train": parts["train"], "val": parts["val"]}   # what selection may read
    plain = [c for c in candidates if c.strategy != "ensemble"]
    for cand in [c for c in plain if c.family != "fusion"]:
        rows.append(fit_candidate(cand, cand.names(None, text_inputs), sel, betas, make_cfg,
                                  n_classes, kinds, run))
        progress(f"{cand.label}: val top-1 {rows[-1]['val_top1']:.3f} (β {rows[-1]['beta']})")
    best_image = best_by_val(rows, ("image",))
    for cand in [c for c in plain if c.family == "fusion"]:
        names = cand.names(best_image["inputs"], text_inputs)
        rows.append(fit_candidate(cand, names, sel, betas, make_cfg, n_classes, kinds, run))
        progress(f"{cand.label}: val top-1 {rows[-1]['val_top1']:.3f} (β {rows[-1]['beta']})")
    for cand in [c for c in candidates if c.strategy == "ensemble"]:
        rows.append(fit_ensemble(cand, rows, sel["val"], best_image))
        progress(f"{cand.label}: val top-1 {rows[-1]['val_top1']:.3f} (cross-fitted), "
                 f"weights {rows[-1]['weights']}")
    choice = {"best_image": best_image["label"],
              "best_single": best_by_val(rows, ("image", "text"))["label"],
              "best_text": best_by_val(rows, ("text",))["label"],
              "best_fusion": best_by_val(rows, ("fusion",))["label"],
              "betas": {r["label"]: r["beta"] for r in rows}}
    # step 4: the test split, once per kept model
    for r in rows:
        r.update(test_eval(r, r["inputs"]))
    for r in rows:
        r.pop("model", None)
    return {"rows": rows, "choice": choice}


def paired(a: list[float], b: list[float]) -> dict:
    """Paired comparison of two rows over the same seeds: b - a per seed, its mean and
    standard deviation, wins of b, and the paired t-test (two-sided)."""
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    out = {"diff": d.tolist(), "mean_diff": float(d.mean()),
           "sd_diff": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
           "wins": int((d > 0).sum()), "n": int(len(d))}
    if len(d) > 1 and d.std() > 0:
        t = stats.ttest_rel(b, a)
        out.update({"t": float(t.statistic), "p": float(t.pvalue)})
    return out


def mean_sd(xs) -> tuple[float, float]:
    xs = np.asarray(list(xs), float)
    return float(xs.mean()), float(xs.std(ddof=1)) if len(xs) > 1 else 0.0
