"""The recommend benchmark's methods and how one is scored (a piece of
benchmarks/recommend.py, whose docstring gives the protocol): the compared recommenders, the
warm and cold evaluations, single-reader latency, and the tuned hybrid's factory."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from coverstory.benchmarks._recommend_data import DAY_ONE, ColdSplit
from coverstory.eval.ranking import evaluate, ndcg_at_k, recall_at_k, rmse

K = 20
KS = (10, 20)


# ---- methods ------------------------------------------------------------------------------------
def methods(quick: bool, seed: int, blocks: list[str]) -> list[tuple[str, callable]]:
    from coverstory.recommend.als import ALS, BPR
    from coverstory.recommend.content import ContentKNN
    from coverstory.recommend.ease import EASE
    from coverstory.recommend.knn import ImplicitItemKNN, ItemKNN, UserKNN
    from coverstory.recommend.popularity import Popularity
    from coverstory.recommend.rating_model import RatingModel
    from coverstory.recommend.rp3beta import RP3beta
    from coverstory.recommend.svd import BiasedMF, PureSVD

    out = [
        ("popularity", lambda: Popularity()),
        ("item-kNN cosine (K=200)", lambda: ItemKNN(k=200)),
        ("item-kNN BM25 (implicit, K=200)", lambda: ImplicitItemKNN("bm25", k=200)),
        ("item-kNN TF-IDF (implicit, K=200)", lambda: ImplicitItemKNN("tfidf", k=200)),
        ("user-kNN cosine (K=100)", lambda: UserKNN(k=100)),
        ("PureSVD (64)", lambda: PureSVD(factors=64, seed=seed)),
        ("MF explicit (ALS, 32)", lambda: BiasedMF(factors=32, seed=seed)),
        ("ALS (implicit, 128, α=10)", lambda: ALS(factors=128, alpha=10, seed=seed)),
        ("BPR (implicit, 100)", lambda: BPR(factors=100, seed=seed)),
        ("EASE (λ=100)", lambda: EASE(l2=100)),
        ("RP3beta (α=0.6, β=0.7, K=100)", lambda: RP3beta(alpha=0.6, beta=0.7, k=100)),
        *[(f"content: {b}", lambda b=b: ContentKNN(blocks=[b])) for b in blocks],
        ("content: fused (mean profile)", lambda: ContentKNN(mode="mean")),
        ("content: fused (neighbours)", lambda: ContentKNN()),
        ("rating model (user emb. + fused features)",
         lambda: RatingModel(epochs=6 if quick else 12, seed=seed)),
    ]
    if not quick:
        try:
            import pyspark  # noqa: F401

            from coverstory.scale.spark_als import SparkALS

            out.append(("ALS (Spark MLlib, 128, α=10)",
                        lambda: SparkALS(factors=128, alpha=10, seed=seed)))
        except ImportError:
            pass
    return out


CF_NAMES = ("item-kNN", "user-kNN", "PureSVD", "MF", "ALS", "BPR", "EASE", "RP3beta")


def top_k(S: np.ndarray, k: int, seen: sp.csr_matrix | None = None,
          candidates: np.ndarray | None = None) -> np.ndarray:
    from coverstory.recommend.base import rank

    return rank(S, k, seen=seen, candidates=candidates)[0]


def scores_batched(model, rows, batch: int = 512) -> np.ndarray:
    """model.score over rows (user indices or a CSR), in batches."""
    n = rows.shape[0] if sp.issparse(rows) else len(rows)
    parts = [model.score(rows[a:a + batch]) for a in range(0, n, batch)]
    return np.vstack(parts) if parts else np.zeros((0, model.n_items), np.float32)


def latency(model, X_rows: sp.csr_matrix, seed: int, n: int = 200) -> dict:
    """One reader's recommend(row, k=10) over all books: wall-clock and CPU-time percentiles
    (on a shared machine the wall-clock tail is mostly time spent waiting for a core)."""
    users = np.random.default_rng(seed + 300).choice(X_rows.shape[0], min(n, X_rows.shape[0]),
                                                     replace=False)
    for u in users[:5]:
        model.recommend(X_rows[u], k=10)                   # warm-up
    wall, cpu = [], []
    for u in users:
        row = X_rows[u]
        t0, c0 = time.perf_counter(), time.process_time()
        model.recommend(row, k=10)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": float(np.percentile(wall, 50)), "p95_ms": float(np.percentile(wall, 95)),
            "cpu_p50_ms": float(np.percentile(cpu, 50)), "cpu_p95_ms": float(np.percentile(cpu, 95)),
            "books": int(X_rows.shape[1]), "readers": int(len(users))}



def fmt_row(row: dict) -> str:
    keys = ["recall@20", "ndcg@20", "cold_recall@20", "cold_ndcg@20", "new1_recall@20",
            "train_s"]
    return ", ".join(f"{k}={row[k]:.3f}" for k in keys if isinstance(row.get(k), float))


def eval_warm(label, make, X_train, feats, R, truth, seen_pos, seen_all, item_users, rmse_mask):
    model = make()
    t0 = time.perf_counter()
    model.fit(X_train, feats if model.uses_content else None)
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    users = np.arange(R.n_users)
    tops, tops_all = [], []
    explicit = model.threshold is None
    pred = []
    for a in range(0, R.n_users, 512):
        u = users[a:a + 512]
        S = model.score(u)
        if explicit:
            m = rmse_mask & (R.users >= a) & (R.users < a + 512)
            pred.append((S[R.users[m] - a, R.items[m]], R.ratings[m]))
        S2 = S.copy()
        tops.append(top_k(S, K, seen=seen_pos[u]))
        tops_all.append(top_k(S2, K, seen=seen_all[u]))
    test_s = time.perf_counter() - t0
    top = np.vstack(tops)
    row = {"method": label, **evaluate(top, truth, ks=KS, n_items=R.n_items,
                                       item_users=item_users, n_users=R.n_users)}
    top_a = np.vstack(tops_all)
    row["recall@20 excl. rated"] = recall_at_k(top_a, truth, K)
    row["ndcg@20 excl. rated"] = ndcg_at_k(top_a, truth, K)
    if explicit:
        p = np.concatenate([x[0] for x in pred])
        t = np.concatenate([x[1] for x in pred])
        row["rmse"] = rmse(np.clip(p, 1, 5), t)
    row["train_s"] = round(train_s, 2)
    row["test_s"] = round(test_s, 2)
    return row, model


def eval_cold(make, X_cold, feats_cold, cs: ColdSplit, new_splits):
    """Fit on the cold split; one list per reader over the full catalog (see the docstring)."""
    model = make()
    t0 = time.perf_counter()
    model.fit(X_cold, feats_cold if model.uses_content else None)
    out = {"cold_train_s": round(time.perf_counter() - t0, 2)}
    ok = model.can_score()
    S = scores_batched(model, cs.users)
    S[:, ~ok] = -np.inf                       # a model cannot recommend what it knows nothing of
    top = top_k(S, K, seen=cs.seen)
    has_c = np.array([len(t) > 0 for t in cs.truth_cold])
    has_w = np.array([len(t) > 0 for t in cs.truth_warm])
    tc = [t for t in cs.truth_cold if len(t)]
    tw = [t for t in cs.truth_warm if len(t)]
    out["cold_recall@20"] = recall_at_k(top[has_c], tc, K)
    out["cold_ndcg@20"] = ndcg_at_k(top[has_c], tc, K)
    out["cold_list_warm_recall@20"] = recall_at_k(top[has_w], tw, K)
    out["cold_share_top20"] = float(cs.is_cold[top[top >= 0]].mean()) if (top >= 0).any() else 0.0
    for n_known, (hist, tr) in new_splits.items():
        S = scores_batched(model, hist)
        S[:, ~ok] = -np.inf
        top = top_k(S, K, seen=hist)
        out[f"new{n_known}_recall@20"] = recall_at_k(top, tr, K)
        out[f"new{n_known}_ndcg@20"] = ndcg_at_k(top, tr, K)
    return out


# ---- hybrid ---------------------------------------------------------------------------------------
SINGLE_BLOCKS = ("d1_text", "cover", "tags", "text")   # content rows, one block each
HYBRID_CONTENT = ["d1_text", "cover", "tags"]            # the hybrid's content neighbours


def hybrid_factory(w: dict, seed: int):
    from coverstory.recommend.hybrid import Hybrid

    return lambda: Hybrid(seed=seed, content_blocks=HYBRID_CONTENT, cold_blocks=list(DAY_ONE),
                          **w)


HYBRID_LABEL = "hybrid (EASE+ALS+RP3beta+content, tuned)"


def hybrid_variants(weights: dict) -> list[tuple[str, dict]]:
    """The tuned hybrid on merit only, and with the new-book exposure rule when tuning
    chose one (places reserved for unrated books: a product choice, docs/recommend.md)."""
    cal = weights.get("calibrated_cold")
    weights = {k: v for k, v in weights.items() if k != "calibrated_cold"}
    out = [(HYBRID_LABEL, {**weights, "cold_slots": 0, "cold_floor": None})]
    if cal:
        out.append((f"{HYBRID_LABEL}, cold books calibrated to the benchmark's rates "
                    f"(w_cold {cal['w_cold']}, b_cold {cal['b_cold']})",
                    {**weights, **cal, "cold_slots": 0, "cold_floor": None}))
    if weights.get("cold_slots", 0) > 0:
        fl = weights.get("cold_floor")
        out.append((f"{HYBRID_LABEL} + new-book places ({weights['cold_slots']} of 20, "
                    f"floor {'none' if fl is None else fl})", weights))
    return out

