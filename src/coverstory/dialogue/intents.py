"""The intent classifier: TF-IDF word + character n-grams and a logistic regression.

Trained on data/utterances_generated.jsonl + data/utterances_handwritten.jsonl, checked on
the hand-written held-out data/intents_test.jsonl. Saved as JSON (vocabularies, idf) and
npz (weights) — no pickle. ``coverstory build intents`` trains and saves it; when no saved
model matches the training data, the engine trains one in memory (about a second).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from coverstory.dialogue import utterances

MODEL_DIR = "models/intents"


def data_hash() -> str:
    h = hashlib.sha1()
    for name in ("utterances_generated.jsonl", "utterances_handwritten.jsonl"):
        h.update((utterances.DATA / name).read_bytes())
    return h.hexdigest()[:16]


@dataclass
class IntentClassifier:
    """predict(text) -> (intent, probability)."""

    labels: list[str]
    word_vocab: dict[str, int]
    word_idf: np.ndarray
    char_vocab: dict[str, int]
    char_idf: np.ndarray
    coef: np.ndarray            # [n_labels, n_word + n_char]
    intercept: np.ndarray       # [n_labels]
    trained_on: str = ""

    # ---- training -------------------------------------------------------------------
    @classmethod
    def train(cls, rows: list[dict] | None = None, seed: int = 0) -> "IntentClassifier":
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        rows = rows if rows is not None else utterances.training_set()
        texts = [r["text"] for r in rows]
        y = [r["intent"] for r in rows]
        wv = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                             token_pattern=r"(?u)\b\w+\b|\?", lowercase=True)
        cv = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                             lowercase=True, min_df=2)
        import scipy.sparse as sp

        x = sp.hstack([wv.fit_transform(texts), cv.fit_transform(texts)]).tocsr()
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        clf = LogisticRegression(C=8.0, solver="saga", max_iter=100, tol=1e-3, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(x, y)
        return cls(labels=[str(c) for c in clf.classes_],
                   word_vocab={k: int(v) for k, v in wv.vocabulary_.items()},
                   word_idf=wv.idf_.astype(np.float32),
                   char_vocab={k: int(v) for k, v in cv.vocabulary_.items()},
                   char_idf=cv.idf_.astype(np.float32),
                   coef=clf.coef_.astype(np.float32), intercept=clf.intercept_.astype(np.float32),
                   trained_on=data_hash())

    # ---- inference ------------------------------------------------------------------
    def _vectorizers(self):
        v = getattr(self, "_vec", None)
        if v is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            wv = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                 token_pattern=r"(?u)\b\w+\b|\?", vocabulary=self.word_vocab)
            wv.idf_ = self.word_idf
            cv = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                 vocabulary=self.char_vocab)
            cv.idf_ = self.char_idf
            v = self._vec = (wv, cv)
        return v

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Class probabilities; features computed in numpy exactly as scikit-learn's
        TfidfVectorizer would (checked in tests), so inference needs no sklearn import."""
        z = np.stack([self._features_dot(t) for t in texts]) + self.intercept
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def _features_dot(self, text: str) -> np.ndarray:
        out = np.zeros(len(self.labels), np.float32)
        nw = len(self.word_vocab)
        for grams, vocab, idf, offset in ((word_ngrams(text), self.word_vocab, self.word_idf, 0),
                                          (char_wb_ngrams(text), self.char_vocab, self.char_idf, nw)):
            counts: dict[int, int] = {}
            for g in grams:
                j = vocab.get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            cols = np.fromiter(counts.keys(), np.int64)
            vals = (1.0 + np.log(np.fromiter(counts.values(), np.float32))) * idf[cols]
            vals /= np.linalg.norm(vals) + 1e-12
            out += self.coef[:, offset + cols] @ vals
        return out

    def predict(self, text: str) -> tuple[str, float]:
        p = self.probabilities([text])[0]
        i = int(p.argmax())
        return self.labels[i], float(p[i])

    def accuracy(self, rows: list[dict]) -> dict:
        p = self.probabilities([r["text"] for r in rows])
        pred = [self.labels[i] for i in p.argmax(axis=1)]
        ok = [a == r["intent"] for a, r in zip(pred, rows)]
        per = {}
        for r, o in zip(rows, ok):
            per.setdefault(r["intent"], []).append(o)
        return {"accuracy": float(np.mean(ok)), "n": len(rows),
                "per_intent": {k: float(np.mean(v)) for k, v in sorted(per.items())},
                "errors": [(r["text"], r["intent"], a) for r, a, o in zip(rows, pred, ok) if not o]}

    # ---- persistence ----------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps({
            "labels": self.labels, "word_vocab": self.word_vocab, "char_vocab": self.char_vocab,
            "trained_on": self.trained_on, "model": "tfidf(word1-2 + char_wb2-4) + logreg"}))
        np.savez(folder / "weights.npz", word_idf=self.word_idf, char_idf=self.char_idf,
                 coef=self.coef, intercept=self.intercept)

    @classmethod
    def load(cls, folder: Path) -> "IntentClassifier":
        cfg = json.loads((folder / "config.json").read_text())
        w = np.load(folder / "weights.npz", allow_pickle=False)
        return cls(labels=cfg["labels"], word_vocab=cfg["word_vocab"], word_idf=w["word_idf"],
                   char_vocab=cfg["char_vocab"], char_idf=w["char_idf"], coef=w["coef"],
                   intercept=w["intercept"], trained_on=cfg.get("trained_on", ""))


_TOKEN = re.compile(r"(?u)\b\w+\b|\?")
_SPACES = re.compile(r"\s\s+")


def word_ngrams(text: str) -> list[str]:
    """scikit-learn's word analyzer: lower case, token_pattern, 1- and 2-grams."""
    toks = _TOKEN.findall(text.lower())
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]


def char_wb_ngrams(text: str, lo: int = 2, hi: int = 4) -> list[str]:
    """scikit-learn's 'char_wb' analyzer: n-grams inside words padded with spaces."""
    out = []
    for w in _SPACES.sub(" ", text.lower()).split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            offset = 0
            out.append(w[offset:offset + n])
            while offset + n < len(w):
                offset += 1
                out.append(w[offset:offset + n])
            if offset == 0:
                break
    return out


_CACHED: dict[str, IntentClassifier] = {}


def load_or_train(home: Path | None) -> IntentClassifier:
    """The saved classifier of a home when it was trained on the current data, else one
    trained now (about a second) and kept for the rest of the process."""
    want = data_hash()
    key = f"{home}|{want}"
    if key in _CACHED:
        return _CACHED[key]
    clf = None
    if home is not None:
        folder = Path(home) / MODEL_DIR
        if (folder / "config.json").is_file():
            try:
                clf = IntentClassifier.load(folder)
            except (OSError, ValueError, KeyError):
                clf = None
            if clf is not None and clf.trained_on != want:
                clf = None
    if clf is None:
        clf = _CACHED.get(f"trained|{want}")
        if clf is None:
            clf = _CACHED[f"trained|{want}"] = IntentClassifier.train()
    _CACHED[key] = clf
    return clf


def build(home: Path) -> dict:
    """Train on the repo's utterance set, evaluate on the held-out set, save under the home."""
    t0 = time.time()
    clf = IntentClassifier.train()
    seconds = time.time() - t0
    folder = Path(home) / MODEL_DIR
    clf.save(folder)
    test = clf.accuracy(utterances.load("intents_test.jsonl"))
    _CACHED.pop(f"{home}|{clf.trained_on}", None)
    return {"path": str(folder), "train_seconds": round(seconds, 2),
            "train_utterances": len(utterances.training_set()),
            "heldout_accuracy": round(test["accuracy"], 3), "heldout_n": test["n"],
            "text": f"intent classifier saved to {folder} ({seconds:.1f} s); held-out accuracy "
                    f"{test['accuracy']:.3f} on {test['n']} hand-written utterances"}
