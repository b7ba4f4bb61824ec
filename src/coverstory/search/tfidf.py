"""TF-IDF cosine over word 1-2 grams of title + authors + description + genres.

The issue's ten-line baseline scores with it (alone, and as MiniLM + 0.5 x TF-IDF); the
fused search uses it as one of its retrievers. scikit-learn's ``TfidfVectorizer``
(English stop words removed, accents stripped, sublinear tf, l2 rows; terms in at least
two books once the catalog has 1,000 books) is fitted when the search loads: ~4 s for
10k books.
"""

from __future__ import annotations

import math

import numpy as np


class QueryVector:
    """``vectorizer.transform([text])`` of a fitted ``TfidfVectorizer`` (sublinear tf, idf,
    l2 norm or none) as (term indices ascending, float32 weights), bit for bit, without
    scikit-learn's input checks and sparse-matrix plumbing (~1 ms a query of 31k books'
    search, more than the arithmetic)."""

    def __init__(self, vectorizer):
        self.analyze = vectorizer.build_analyzer()
        self.vocab = vectorizer.vocabulary_
        self.idf = vectorizer.idf_ if vectorizer.use_idf else None
        self.sublinear, self.norm = vectorizer.sublinear_tf, vectorizer.norm
        self.binary = vectorizer.binary
        self.dtype = vectorizer.dtype
        if self.norm not in (None, "l2"):
            raise ValueError(f"QueryVector: norm {self.norm!r} is not supported")

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts: dict[int, int] = {}
        for f in self.analyze(text):
            j = self.vocab.get(f)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        idx = np.asarray(sorted(counts), np.int64)
        data = np.asarray([1 if self.binary else counts[j] for j in idx.tolist()], self.dtype)
        if self.sublinear:
            np.log(data, data)
            data += 1.0
        if self.idf is not None:
            data *= self.idf[idx]
        if self.norm == "l2":
            # as sklearn's _inplace_csr_row_normalize_l2: products in the data's type,
            # summed in double in index order, divided in double
            s = 0.0
            for x in (data * data).tolist():
                s += x
            if s != 0.0:
                data = (data.astype(np.float64) / math.sqrt(s)).astype(data.dtype)
        return idx, data


def tfidf_text(book) -> str:
    """The text TF-IDF sees: title, authors, description, genres (tags and categories)."""
    return " ".join([book.title or "", " ".join(book.authors), book.description or "",
                     " ".join(t.replace("-", " ") for t in book.tags + book.categories)])


class TfidfIndex:
    def __init__(self, texts: list[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), stop_words="english",
                                          strip_accents="unicode", sublinear_tf=True,
                                          min_df=2 if len(texts) >= 1000 else 1,
                                          dtype=np.float32)
        self.X = self.vectorizer.fit_transform(texts).tocsr()      # [n_docs, n_terms], l2 rows
        self.XT = self.X.T.tocsr()                                  # term -> docs, for queries

    def scores(self, query: str) -> np.ndarray:
        """Cosine of the query with every document (float32 [n_docs])."""
        if getattr(self, "_query", None) is None:
            self._query = QueryVector(self.vectorizer)
        idx, data = self._query(query)
        out = np.zeros(self.X.shape[0], np.float32)
        for j, w in zip(idx.tolist(), data.tolist()):
            a, b = self.XT.indptr[j], self.XT.indptr[j + 1]
            out[self.XT.indices[a:b]] += w * self.XT.data[a:b]
        return out


class CharGrams:
    """Character 3-gram TF-IDF over each row's title and "title series authors" (the row
    scores the better of the two): the typo-tolerant short list of titles for a query."""

    def __init__(self, long: list[str], short: list[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3),
                                          sublinear_tf=True, dtype=np.float32)
        self.vectorizer.fit(long)
        self.mats = [self.vectorizer.transform(x).tocsc() for x in (long, short)]
        self.n = len(long)

    def scores(self, query: str) -> np.ndarray:
        from scipy import sparse

        if getattr(self, "_query", None) is None:
            self._query = QueryVector(self.vectorizer)
        idx, data = self._query(query)
        q = sparse.csc_matrix((data, idx.astype(np.int32), np.asarray([0, len(idx)], np.int32)),
                              shape=(len(self.vectorizer.vocabulary_), 1))   # [n_terms, 1]
        out = np.zeros(self.n, np.float32)
        for X in self.mats:
            np.maximum(out, (X @ q).toarray().ravel(), out=out)
        return out
