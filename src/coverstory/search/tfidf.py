"""TF-IDF cosine over word 1-2 grams of title + authors + description + genres.

The issue's ten-line baseline scores with it (alone, and as MiniLM + 0.5 x TF-IDF); the
fused search uses it as one of its retrievers. scikit-learn's ``TfidfVectorizer``
(English stop words removed, accents stripped, sublinear tf, l2 rows; terms in at least
two books once the catalog has 1,000 books) is fitted when the search loads: ~4 s for
10k books.
"""

from __future__ import annotations

import numpy as np


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
        q = self.vectorizer.transform([query])
        out = np.zeros(self.X.shape[0], np.float32)
        for j, w in zip(q.indices.tolist(), q.data.tolist()):
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
        q = self.vectorizer.transform([query]).T.tocsc()          # [n_terms, 1]
        out = np.zeros(self.n, np.float32)
        for X in self.mats:
            np.maximum(out, (X @ q).toarray().ravel(), out=out)
        return out
