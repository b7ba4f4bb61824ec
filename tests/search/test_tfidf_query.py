"""QueryVector gives TfidfVectorizer.transform's query vector bit for bit."""

import random

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from coverstory.search.tfidf import QueryVector

WORDS = ("the boy and a tiger on lifeboat ocean harry potter stone wizard école "
         "brontë jane eyre 1984 big brother watches everyone totalitarian state").split()


def _texts(rng, n):
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 30))) for _ in range(n)]


def test_query_vector_matches_transform():
    rng = random.Random(0)
    docs = _texts(rng, 300)
    for vec in (TfidfVectorizer(ngram_range=(1, 2), stop_words="english",
                                strip_accents="unicode", sublinear_tf=True, min_df=2,
                                dtype=np.float32),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), sublinear_tf=True,
                                dtype=np.float32)):
        vec.fit(docs)
        qv = QueryVector(vec)
        for q in _texts(rng, 200) + ["", "zzz unknown", "harry potter harry potter"]:
            want = vec.transform([q])
            idx, data = qv(q)
            assert idx.tolist() == want.indices.tolist()
            assert data.dtype == want.data.dtype
            assert data.tobytes() == want.data.tobytes()
