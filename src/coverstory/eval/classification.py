"""Classification metrics: top-k accuracy, macro-F1 and per-category sensitivity,
specificity, PPV, IoU and Dice (one-vs-rest from the single-label confusion matrix).

For category c with TP, FP, FN, TN counted one-vs-rest over the predictions:
sensitivity = TP/(TP+FN), specificity = TN/(TN+FP), PPV = TP/(TP+FP),
IoU = TP/(TP+FP+FN), Dice = 2TP/(2TP+FP+FN) (= F1 of the category). A ratio with a zero
denominator is reported as 0.
"""

from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """[n_classes, n_classes] counts, rows = truth, columns = prediction."""
    m = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def _ratio(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def per_class(y_true, y_pred, n_classes: int) -> dict[str, np.ndarray]:
    """{"support","tp","fp","fn","tn","sensitivity","specificity","ppv","iou","dice"} arrays."""
    m = confusion(y_true, y_pred, n_classes)
    tp = np.diag(m)
    fn = m.sum(1) - tp
    fp = m.sum(0) - tp
    tn = m.sum() - tp - fn - fp
    return {"support": m.sum(1), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "sensitivity": _ratio(tp, tp + fn), "specificity": _ratio(tn, tn + fp),
            "ppv": _ratio(tp, tp + fp), "iou": _ratio(tp, tp + fp + fn),
            "dice": _ratio(2 * tp, 2 * tp + fp + fn)}


def top_k(scores: np.ndarray, y_true: np.ndarray, k: int = 1) -> float:
    """Share of rows whose true label is among the k highest scores."""
    top = np.argsort(-scores, axis=1)[:, :k]
    return float((top == np.asarray(y_true)[:, None]).any(1).mean())


def top1_any(scores: np.ndarray, label_sets) -> float:
    """Share of rows whose top prediction is any of the row's labels (multi-label books)."""
    pred = scores.argmax(1)
    return float(np.mean([p in s for p, s in zip(pred, label_sets)]))


def macro_f1(y_true, y_pred, n_classes: int) -> float:
    """Mean over the categories that occur in y_true of the per-category F1 (= Dice)."""
    pc = per_class(y_true, y_pred, n_classes)
    present = pc["support"] > 0
    return float(pc["dice"][present].mean()) if present.any() else 0.0


def report(scores: np.ndarray, y_true: np.ndarray, names: list[str],
           label_sets=None) -> dict:
    """Everything the benchmarks print for one model on one test set."""
    y_true = np.asarray(y_true)
    pred = scores.argmax(1)
    pc = per_class(y_true, pred, len(names))
    out = {"n": int(len(y_true)), "top1": top_k(scores, y_true, 1),
           "top3": top_k(scores, y_true, 3), "macro_f1": macro_f1(y_true, pred, len(names))}
    if label_sets is not None:
        out["top1_any"] = top1_any(scores, label_sets)
    for k in ("sensitivity", "specificity", "ppv", "iou", "dice"):
        out[f"mean_{k}"] = float(pc[k][pc["support"] > 0].mean())
    out["per_class"] = [{"category": n, "support": int(pc["support"][i]),
                         **{k: float(pc[k][i]) for k in
                            ("sensitivity", "specificity", "ppv", "iou", "dice")}}
                        for i, n in enumerate(names)]
    return out
