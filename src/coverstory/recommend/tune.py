"""Choose the hybrid's blend weights and cold-start settings on a validation split.

``tune(X, feats)`` carves a validation split out of the training ratings it is given
(never anything else; the test ratings never reach it):

- **validation cold books**: ``cold_frac`` of the rated books lose all their ratings (they
  are fitted as books nobody has rated; the content -> factor mapping must place them);
- **validation positives, one held-out rate for warm and cold**: ``val_frac`` of each
  reader's liked books on rated books (warm truth) and the same ``val_frac`` of each reader's
  liked books on the validation cold books (cold truth). The reader's other liked cold books
  are excluded from the validation lists like training positives are (they are what the
  reader "already read"), so a cold and a warm positive weigh the same in the objective and
  cold books are scored at their natural share of a reader's next likes;
- **3-rating readers**: up to 300 readers reduced to 3 liked books (their other liked books
  are the truth), for the new-reader weights.

Search (coordinate ascent from the current defaults; the RP3beta part starts at
``RP3_START``): the warm weights (w_als, w_rp3, w_content) by warm validation NDCG@20; the new-reader weights (w_content_new, w_pop, kappa) by the
3-rating readers' NDCG@20 while warm NDCG@20 stays within 0.001; the cold-start mapper
(ridge / kNN / MLP and its settings) and the cold scale/offset (w_cold, b_cold; a wide grid,
and a choice on its edge is flagged in the log) by NDCG@20 of one list per reader over
*all* books against the reader's validation positives, warm and cold together at the same
held-out rate (so cold books are ranked in among the rated ones, and pushing them up costs
warm hits). Then, only when ``cold_target`` is given, the new-book exposure rule (places
reserved for unrated books, a score floor; :mod:`coverstory.recommend.exposure`): the
setting with the best validation NDCG@20 among those whose validation cold-book recall@20
reaches ``cold_target`` x their warm recall@20, both measured as the benchmark measures
them (every liked book on a validation cold book is the truth, only training positives
excluded); none reaching it: the one closest to it. With ``cold_target`` also a second
cold calibration on merit (``calibrated_cold``: w_cold, b_cold; ``tune_cold_protocol``)
whose objective weighs warm and cold truth at the benchmark's rates (reported beside). ``coverstory bench recommend`` calls ``tune`` on its training split;
``python -m coverstory.recommend.tune --home HOME`` tunes on a catalog's ratings and writes
the packaged defaults (``hybrid_defaults.json``, read by ``Hybrid``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

K = 20
SEARCH = {
    "w_als": [0.0, 0.1, 0.2, 0.4, 0.7, 1.0],
    "w_rp3": [0.0, 0.1, 0.2, 0.3, 0.4, 0.6],
    "w_content": [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8],
    "w_content_new": [0.0, 0.5, 1.0, 2.0, 4.0],
    "w_pop": [0.0, 0.25, 0.5, 1.0, 2.0],
    "kappa": [1.0, 2.0, 5.0, 10.0, 20.0],
}
WARM_KEYS = ("w_als", "w_rp3", "w_content")
RP3_START = 0.3        # the RP3beta part is fitted for tuning; the search may drop it (0)
NEW_KEYS = ("w_content_new", "w_pop", "kappa")
MAPPER_GRID = [("ridge", {"reg_l2": 1.0}), ("ridge", {"reg_l2": 10.0}),
               ("knn", {"cold_k": 10}), ("knn", {"cold_k": 20}), ("knn", {"cold_k": 50}),
               ("mlp", {})]
COLD_W = [0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
COLD_B = [-4.0, -3.0, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]
# the new-book exposure rule (coverstory.recommend.exposure): places reserved, score floor
SLOTS = [0, 1, 2, 3, 4, 5, 6, 8]
FLOORS = [None, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0]


def per_user_sample(users: np.ndarray, mask: np.ndarray, frac: float,
                    rng: np.random.Generator, stochastic: bool = False) -> np.ndarray:
    """bool over rows: a random frac (rounded) of each user's rows where mask holds.
    stochastic: round frac * n up with probability its fraction (unbiased for small n,
    where plain rounding holds out nothing of a reader's 1-4 rows)."""
    out = np.zeros(len(users), bool)
    idx = np.flatnonzero(mask)
    order = idx[np.argsort(users[idx], kind="stable")]
    bounds = np.flatnonzero(np.diff(users[order])) + 1
    for grp in np.split(order, bounds):
        x = frac * len(grp)
        n = int(np.floor(x) + (rng.random() < x - np.floor(x))) if stochastic else int(round(x))
        if n:
            out[rng.choice(grp, n, replace=False)] = True
    return out


def validation_split(X: sp.csr_matrix, seed: int, cold_frac: float = 0.1,
                     val_frac: float = 0.1, threshold: float = 4.0) -> dict:
    """The validation carve of ratings X (see the module docstring)."""
    rng = np.random.default_rng(seed + 1)
    coo = X.tocoo()
    rated = np.flatnonzero(np.diff(X.tocsc().indptr) > 0)
    n_cold = int(round(cold_frac * len(rated)))
    vcold = np.sort(rng.choice(rated, n_cold, replace=False)) if n_cold else np.zeros(0, int)
    is_vc = np.zeros(X.shape[1], bool)
    is_vc[vcold] = True
    pos = coo.data >= threshold
    in_cold = is_vc[coo.col]
    vwarm = per_user_sample(coo.row, pos & ~in_cold, val_frac, rng)
    # the same held-out rate (a reader has few cold positives: unbiased rounding)
    vcpos = per_user_sample(coo.row, pos & in_cold, val_frac, rng, stochastic=True)
    keep = ~in_cold & ~vwarm
    X_fit = sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=X.shape)

    def lists(mask):
        M = sp.csr_matrix((np.ones(mask.sum(), np.float32), (coo.row[mask], coo.col[mask])),
                          shape=X.shape)
        return [M.indices[M.indptr[u]:M.indptr[u + 1]] for u in range(X.shape[0])]

    return {"X_fit": X_fit, "cold_items": vcold, "truth_warm": lists(vwarm),
            "truth_cold": lists(vcpos), "cold_rest": lists(pos & in_cold & ~vcpos)}


def day_one_only(feats, items: np.ndarray, cold_blocks: list[str]):
    """A copy of ItemFeatures with every block but ``cold_blocks`` zeroed on ``items``."""
    from coverstory.recommend.features import ItemFeatures

    out = ItemFeatures()
    for k, V in feats.blocks.items():
        if k not in cold_blocks:
            V = V.copy()
            V[items] = 0.0
        out.blocks[k] = V
        out.weights[k] = feats.weights[k]
    return out


def _ndcg(top, truth):
    from coverstory.eval.ranking import ndcg_at_k

    return ndcg_at_k(top, truth, K)


def _recall(top, truth):
    from coverstory.eval.ranking import recall_at_k

    return recall_at_k(top, truth, K)


def merge_top(a_top: np.ndarray, a_val: np.ndarray, b_top: np.ndarray, b_val: np.ndarray,
              k: int = K) -> np.ndarray:
    """Top-k per row of two disjoint candidate lists (columns, scores; -1 / -inf padding)."""
    ids = np.hstack([a_top, b_top])
    vals = np.hstack([a_val, b_val]).astype(np.float32)
    vals[ids < 0] = -np.inf
    order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(ids, order, 1)
    top[~np.isfinite(np.take_along_axis(vals, order, 1))] = -1
    return top


def tune(X: sp.csr_matrix, feats, *, seed: int = 0, cold_blocks: list[str] | None = None,
         content_blocks: list[str] | None = None, base: dict | None = None,
         log=None, mappers=MAPPER_GRID, cold_target: float | None = None
         ) -> tuple[dict, list[dict]]:
    """(chosen Hybrid parameters, log of every trial) on a validation carve of X."""
    from coverstory.recommend.base import rank
    from coverstory.recommend.hybrid import Hybrid, blend

    say = log or (lambda m: None)
    sp_ = validation_split(X, seed)
    X_fit = sp_["X_fit"]
    if cold_blocks is not None and hasattr(feats, "blocks"):
        # a validation cold book is new like a test one: only its day-one blocks survive
        feats = day_one_only(feats, sp_["cold_items"], cold_blocks)
    t0 = time.perf_counter()
    h = Hybrid(seed=seed, cold_blocks=cold_blocks, content_blocks=content_blocks,
               **{"w_rp3": RP3_START, **(base or {})}).fit(X_fit, feats)
    say(f"tune: hybrid fitted on the validation carve in {time.perf_counter() - t0:.0f} s "
        f"({len(sp_['cold_items'])} validation cold books)")
    Xt = h.transform(X_fit)
    n_users = X.shape[0]
    users = np.arange(n_users)
    n_liked = np.diff(Xt.indptr).astype(np.float32)
    truth_w, truth_c = sp_["truth_warm"], sp_["truth_cold"]
    cold_mask = ~h.warm_
    warm_only = h.warm_.copy()
    trials: list[dict] = []

    # ---- warm and new-reader weights (cold books out of the lists, as before) ----------------
    parts = h.parts(Xt, users)

    def top_of(P, nl, w, seen, cold=None, restrict_warm=True):
        S = blend(P, nl, w, cold)
        if restrict_warm:
            S[:, ~warm_only] = -np.inf
        else:
            S[:, ~h.known_] = -np.inf
        return rank(S, K, seen=seen)[0]

    rng3 = np.random.default_rng(seed + 2)
    sub = rng3.choice(n_users, min(300, n_users), replace=False)
    rows3, truth3 = [], []
    for u in sub:
        full = np.union1d(Xt[u].indices, truth_w[u])
        if len(full) < 6:
            continue
        k3 = rng3.choice(full, 3, replace=False)
        rows3.append(k3)
        truth3.append(np.setdiff1d(full, k3))
    H3 = sp.csr_matrix((np.ones(3 * len(rows3), np.float32),
                        (np.repeat(np.arange(len(rows3)), 3), np.concatenate(rows3))),
                       shape=(len(rows3), X.shape[1]))
    parts3 = h.parts(H3, None)
    n3 = np.full(len(rows3), 3.0, np.float32)

    def evaluate_w(w):
        nd = _ndcg(top_of(parts, n_liked, w, Xt), truth_w)
        nd3 = _ndcg(top_of(parts3, n3, w, H3), truth3)
        trials.append({"stage": "weights", **w, "val_ndcg@20": nd, "val3_ndcg@20": nd3})
        return nd, nd3

    w = dict(h.weights)
    cur, cur3 = evaluate_w(w)
    for _ in range(2):
        for key in WARM_KEYS + NEW_KEYS:
            for v in SEARCH[key]:
                if v == w[key]:
                    continue
                trial = {**w, key: v}
                nd, nd3 = evaluate_w(trial)
                if key in WARM_KEYS:
                    better = nd > cur + 1e-4
                else:
                    better = nd3 > cur3 + 1e-4 and nd >= cur - 1e-3
                if better:
                    w, cur, cur3 = trial, nd, nd3
    say(f"tune: weights {w} (validation NDCG@20 {cur:.4f}, 3-rating {cur3:.4f})")

    # ---- cold start: mapper, then scale/offset of cold books in the full list -----------------
    ev_users = np.array([u for u in range(n_users) if len(truth_w[u]) or len(truth_c[u])],
                        np.int64)
    Xe = Xt[ev_users]
    nle = n_liked[ev_users]
    t_all = [np.union1d(truth_w[u], truth_c[u]) for u in ev_users]
    has_c = np.array([len(truth_c[u]) > 0 for u in ev_users], bool)
    has_w = np.array([len(truth_w[u]) > 0 for u in ev_users], bool)
    tc = [truth_c[u] for u in ev_users[has_c]]
    tw = [truth_w[u] for u in ev_users[has_w]]
    # excluded from every list: training positives, and the liked cold books not held out
    rest = sp_["cold_rest"]
    R = sp.csr_matrix((np.ones(sum(len(rest[u]) for u in ev_users), np.float32),
                       (np.repeat(np.arange(len(ev_users)), [len(rest[u]) for u in ev_users]),
                        np.concatenate([rest[u] for u in ev_users] + [np.zeros(0, int)]))),
                      shape=Xe.shape)
    seen_e = ((Xe != 0).astype(np.float32) + R).tocsr()
    best = None
    for kind, extra in mappers:
        h.cold_mapper = kind
        for k_, v_ in extra.items():
            setattr(h, k_, v_)
        try:
            h._fit_cold(Xt)
        except Exception as e:        # noqa: BLE001 - one failing mapper must not stop tuning
            trials.append({"stage": "cold", "mapper": kind, **extra, "error": str(e)})
            continue
        P = h.parts(Xe, ev_users)
        # w_cold > 0 keeps the order among cold books, so one top-K of the rated books and
        # one of the cold books (unscaled) give every (w_cold, b_cold) list by a merge
        S = blend(P, nle, w)
        del P
        cold_ok = cold_mask & h.known_
        Sw = S.copy()
        Sw[:, ~h.warm_] = -np.inf
        w_top, w_val = rank(Sw, K, seen=seen_e)
        del Sw
        S[:, ~cold_ok] = -np.inf
        c_top, c_val = rank(S, K, seen=seen_e)
        del S
        for wc in COLD_W:
            for bc in COLD_B:
                top = merge_top(w_top, w_val, c_top, wc * c_val + bc)
                nd = _ndcg(top, t_all)
                rec = {"stage": "cold", "mapper": kind, **extra, "w_cold": wc, "b_cold": bc,
                       "val_all_ndcg@20": nd, "val_cold_recall@20": _recall(top[has_c], tc),
                       "val_warm_recall@20": _recall(top[has_w], tw),
                       "cold_share@20": float(cold_mask[top[top >= 0]].mean())
                       if (top >= 0).any() else 0.0}
                trials.append(rec)
                if best is None or nd > best["val_all_ndcg@20"] + 1e-6:
                    best = rec
    if best is not None:
        best["at_grid_edge"] = bool(best["w_cold"] in (COLD_W[0], COLD_W[-1])
                                    or best["b_cold"] in (COLD_B[0], COLD_B[-1]))
    chosen = {**w}
    if best is not None:
        chosen.update({"cold_mapper": best["mapper"], "w_cold": best["w_cold"],
                       "b_cold": best["b_cold"]})
        for k_ in ("reg_l2", "cold_k"):
            if k_ in best:
                chosen[k_] = best[k_]
        say(f"tune: cold start {best}")
        if cold_target is not None:      # the benchmark also reports this calibration
            h.cold_mapper = best["mapper"]
            for k_ in ("reg_l2", "cold_k"):
                if k_ in best:
                    setattr(h, k_, best[k_])
            h._fit_cold(Xt)
            cp = tune_cold_protocol(h, w, Xe, ev_users, sp_, trials, seed)
            chosen["calibrated_cold"] = {"w_cold": cp["w_cold"], "b_cold": cp["b_cold"]}
            say(f"tune: cold calibrated to the benchmark's rates {cp}")
        if cold_target is not None:
            h.cold_mapper = best["mapper"]
            for k_ in ("reg_l2", "cold_k"):
                if k_ in best:
                    setattr(h, k_, best[k_])
            h._fit_cold(Xt)
            cw = {**w, "w_cold": best["w_cold"], "b_cold": best["b_cold"]}
            ex = tune_exposure(h, cw, Xe, ev_users, seen_e, t_all, sp_, cold_target, trials)
            chosen.update({"cold_slots": ex["slots"], "cold_floor": ex["floor"]})
            say(f"tune: new-book exposure {ex}")
    return chosen, trials


COLD_KEEP = 0.5


def tune_cold_protocol(h, w: dict, Xe, ev_users, carve: dict, trials: list, seed: int) -> dict:
    """(w_cold, b_cold) by validation NDCG@20 of one list over all books at the benchmark's
    warm:cold truth rates. In ``bench recommend`` a reader's truth is 20% of their positives
    on rated books and ALL of their positives on cold books (1 : 5). On the carve, 10% of
    the training positives (8% of all) are held out on rated books, and a validation cold
    book carries the training 80% of its positives; keeping ``COLD_KEEP`` = 1/2 of them as
    truth (the other half excluded, as read) gives 0.08 : 0.4, the same 1 : 5. On merit (no
    places reserved): only the scale and offset of cold books' scores change."""
    from coverstory.recommend.base import rank
    from coverstory.recommend.hybrid import blend

    rng = np.random.default_rng(seed + 3)
    tw = [carve["truth_warm"][u] for u in ev_users]
    allc = [np.union1d(carve["truth_cold"][u], carve["cold_rest"][u]) for u in ev_users]
    tc = [c[rng.random(len(c)) < COLD_KEEP] for c in allc]
    drop = [np.setdiff1d(a, b) for a, b in zip(allc, tc)]
    Dm = sp.csr_matrix((np.ones(sum(map(len, drop)), np.float32),
                        (np.repeat(np.arange(len(drop)), [len(d) for d in drop]),
                         np.concatenate(drop + [np.zeros(0, int)]))), shape=Xe.shape)
    seen = ((Xe != 0).astype(np.float32) + Dm).tocsr()
    t_all = [np.union1d(a, b) for a, b in zip(tw, tc)]
    has_c = np.array([len(t) > 0 for t in tc])
    has_w = np.array([len(t) > 0 for t in tw])
    cold = ~h.warm_ & h.known_
    S = blend(h.parts(Xe, ev_users), np.diff(Xe.indptr).astype(np.float32), w)
    Sw = np.where(h.warm_[None, :], S, -np.inf)
    w_top, w_val = rank(Sw, K, seen=seen)
    del Sw
    S[:, ~cold] = -np.inf
    c_top, c_val = rank(S, K, seen=seen)
    best = None
    for wc in COLD_W:
        for bc in COLD_B:
            top = merge_top(w_top, w_val, c_top, wc * c_val + bc)
            rec = {"stage": "cold_protocol", "w_cold": wc, "b_cold": bc,
                   "val_all_ndcg@20": _ndcg(top, t_all),
                   "val_cold_recall@20": _recall(top[has_c], [t for t in tc if len(t)]),
                   "val_warm_recall@20": _recall(top[has_w], [t for t in tw if len(t)]),
                   "cold_share@20": float(cold[top[top >= 0]].mean())}
            trials.append(rec)
            if best is None or rec["val_all_ndcg@20"] > best["val_all_ndcg@20"] + 1e-6:
                best = rec
    return best


def tune_exposure(h, w: dict, Xe, ev_users, seen_fair, t_all, carve: dict, target: float,
                  trials: list) -> dict:
    """Choose (slots, floor) of the exposure rule (see the module docstring)."""
    from coverstory.recommend.base import rank
    from coverstory.recommend.exposure import reserve
    from coverstory.recommend.hybrid import blend

    cold = ~h.warm_ & h.known_
    S = blend(h.parts(Xe, ev_users), np.diff(Xe.indptr).astype(np.float32), w, ~h.warm_)
    S[:, ~h.known_] = -np.inf
    tc = [np.union1d(carve["truth_cold"][u], carve["cold_rest"][u]) for u in ev_users]
    has_c = np.array([len(t) > 0 for t in tc])
    tw = [carve["truth_warm"][u] for u in ev_users]
    has_w = np.array([len(t) > 0 for t in tw])
    seen_bench = (Xe != 0).astype(np.float32).tocsr()
    lists = {}
    for name, seen in (("fair", seen_fair), ("bench", seen_bench)):
        Sc = np.where(cold[None, :], S, -np.inf)       # rank() masks its input in place
        lists[name] = (rank(S.copy(), K, seen=seen)[0], *rank(Sc, 2 * K, seen=seen))
    best = None
    for slots in SLOTS:
        for floor in FLOORS if slots else [None]:
            fl = -np.inf if floor is None else floor
            top_f = reserve(*lists["fair"], cold, slots, fl, K)
            top_b = reserve(*lists["bench"], cold, slots, fl, K)
            rec = {"stage": "exposure", "slots": slots, "floor": floor,
                   "val_all_ndcg@20": _ndcg(top_f, t_all),
                   "val_cold_recall@20": _recall(top_b[has_c], [t for t in tc if len(t)]),
                   "val_warm_recall@20": _recall(top_b[has_w], [t for t in tw if len(t)]),
                   "cold_share@20": float(cold[top_b[top_b >= 0]].mean())}
            rec["ratio"] = rec["val_cold_recall@20"] / max(rec["val_warm_recall@20"], 1e-9)
            trials.append(rec)
            ok, ok_b = rec["ratio"] >= target, best is not None and best["ratio"] >= target
            if (best is None or (ok and not ok_b)
                    or (ok == ok_b and (rec["val_all_ndcg@20"] > best["val_all_ndcg@20"]
                                        if ok else rec["ratio"] > best["ratio"]))):
                best = rec
    return best


def write_defaults(params: dict, source: str, path: Path | None = None) -> Path:
    """Write the packaged defaults read by ``Hybrid`` (hybrid_defaults.json)."""
    from coverstory.recommend.hybrid import DEFAULTS_FILE

    path = path or Path(__file__).with_name(DEFAULTS_FILE)
    keep = ("w_ease", "w_als", "w_rp3", "w_content", "w_content_new", "w_pop", "kappa", "w_cold",
            "b_cold", "cold_mapper", "cold_k", "reg_l2", "cold_slots", "cold_floor")
    out = {"params": {k: params[k] for k in keep if k in params}, "source": source}
    path.write_text(json.dumps(out, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m coverstory.recommend.tune --home HOME [--seed N] [--write]``: tune on the
    catalog's ratings and item features; --write updates the packaged defaults."""
    import argparse

    from coverstory.recommend.features import catalog_item_features
    from coverstory.recommend.service import catalog_matrix

    ap = argparse.ArgumentParser(prog="python -m coverstory.recommend.tune")
    ap.add_argument("--home", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="write hybrid_defaults.json")
    a = ap.parse_args(argv)
    X, _, book_ids = catalog_matrix(a.home)
    if X.nnz == 0:
        raise SystemExit(f"the catalog in {a.home} has no ratings to tune on")
    feats = catalog_item_features(a.home, book_ids, blocks=("text", "title", "cover", "tags"),
                                  weights={"cover": 0.25}, log=print)
    params, trials = tune(X, feats, seed=a.seed, log=print)
    print(json.dumps(params, indent=2))
    if a.write:
        p = write_defaults(params, f"python -m coverstory.recommend.tune --home {a.home} "
                                   f"--seed {a.seed} ({X.nnz} ratings; {len(trials)} trials)")
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
