"""BM25 over a scipy sparse matrix (Okapi BM25, k1=1.5, b=0.75), with field weights.

The per-(document, term) BM25 weights are computed once at build time, so a query is a
sum of a few sparse columns: about 1 ms for 31k books (rank-bm25 scores every document
in Python for each query term, ~100x slower here; see docs/search.md). Saved as one
``.npz`` (sparse arrays + vocabulary as a JSON string), no pickle.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import threading
from pathlib import Path

import numpy as np

STOPWORDS = frozenset("""a an and are as at be but by for from has have he her his i in into is
it its me my of on or our she so that the their them then there these they this to was we were
what when which who will with you your""".split())
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def raw_tokens(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits), stopwords kept."""
    return _TOKEN.findall((text or "").lower())


_STEM_CACHE: dict[str, str] = {}


_STEMMERS = threading.local()   # a Snowball stemmer keeps state while stemming: one per thread


def stem(word: str) -> str:
    s = _STEM_CACHE.get(word)
    if s is None:
        st = getattr(_STEMMERS, "english", None)
        if st is None:
            import snowballstemmer

            st = _STEMMERS.english = snowballstemmer.stemmer("english")
        s = _STEM_CACHE[word] = st.stemWord(word)
    return s


def analyze(text: str) -> list[str]:
    """Tokens for BM25: lower-cased, stopwords dropped, Snowball-stemmed."""
    return [stem(t) for t in raw_tokens(text) if t not in STOPWORDS]


class BM25:
    """Okapi BM25 with precomputed weights: ``W[doc, term]``; a query sums its columns."""

    def __init__(self, k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0, np.float32)
        self.W = None            # scipy.sparse.csc_matrix [n_docs, n_terms]

    def fit(self, docs: list[list[str]], weights: list[list[float]] | None = None) -> "BM25":
        """``docs``: analysed token lists (repeat a field's tokens to weight it up, or give
        each token a weight: BM25F-style field weights such as 0.3 for title words)."""
        from scipy import sparse

        vocab: dict[str, int] = {}
        rows, cols = [], []
        for d, toks in enumerate(docs):
            for t in toks:
                cols.append(vocab.setdefault(t, len(vocab)))
                rows.append(d)
        n = len(docs)
        w = (np.ones(len(rows), np.float32) if weights is None else
             np.asarray([x for ws in weights for x in ws], np.float32))
        tf = sparse.csr_matrix((w, (rows, cols)), shape=(n, len(vocab)))
        tf.sum_duplicates()
        dl = np.asarray(tf.sum(1)).ravel()
        avgdl = float(dl.mean()) if n else 1.0
        df = np.bincount(tf.indices, minlength=len(vocab))
        idf = self.idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = self.k1 * (1 - self.b + self.b * dl / max(avgdl, 1e-9))
        row_of = np.repeat(np.arange(n), np.diff(tf.indptr))
        f = tf.data
        tf.data = (idf[tf.indices] * f * (self.k1 + 1) / (f + norm[row_of])).astype(np.float32)
        self.W = tf.tocsc()
        self.vocab = vocab
        return self

    def scores(self, query_terms: list[str], weights: list[float] | None = None) -> np.ndarray:
        """BM25 score of every document for the analysed query (float32 [n_docs])."""
        n = self.W.shape[0]
        out = np.zeros(n, np.float32)
        for i, t in enumerate(query_terms):
            j = self.vocab.get(t)
            if j is None:
                continue
            a, b = self.W.indptr[j], self.W.indptr[j + 1]
            out[self.W.indices[a:b]] += self.W.data[a:b] * (1.0 if weights is None else weights[i])
        return out

    # ---- persistence -----------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        terms = sorted(self.vocab, key=self.vocab.get)
        np.savez(buf, data=self.W.data, indices=self.W.indices, indptr=self.W.indptr,
                 shape=np.asarray(self.W.shape), k1b=np.asarray([self.k1, self.b]),
                 idf=np.asarray(getattr(self, "idf", np.zeros(0)), np.float32),
                 vocab=np.frombuffer(json.dumps(terms).encode(), np.uint8))
        _atomic_write(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "BM25":
        from scipy import sparse

        with np.load(path, allow_pickle=False) as z:
            k1, b = z["k1b"].tolist()
            m = cls(k1, b)
            m.W = sparse.csc_matrix((z["data"], z["indices"], z["indptr"]),
                                    shape=tuple(z["shape"].tolist()))
            terms = json.loads(z["vocab"].tobytes().decode())
            if "idf" in z.files and len(z["idf"]) == len(terms):
                m.idf = z["idf"]
        m.vocab = {t: i for i, t in enumerate(terms)}
        return m


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
