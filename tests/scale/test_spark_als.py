"""Spark MLlib ALS behind the Recommender contract, in local mode (slow: starts a JVM)."""

from __future__ import annotations

import os

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark", reason="pip install pyspark pyarrow 'pandas<3'")

from tests.recommend.mixin import HALF, N, block_ratings  # noqa: E402


@pytest.mark.slow
def test_spark_als_block_and_parquet(tmp_path, shared_data):
    import pandas as pd

    from coverstory.recommend.base import Recommender
    from coverstory.scale.spark_als import SparkALS, read_ratings, spark_session

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    spark = spark_session("local[2]", shuffle_partitions=2)
    try:
        # known answer: the checkerboard's held-out own-block books come first
        X, held = block_ratings()
        m = SparkALS(factors=2, iterations=6, l2=0.1).fit(X)
        ids, _ = m.recommend(np.arange(N), k=2)
        assert sum(set(ids[u].tolist()) == held[u] for u in range(N)) >= N - 2
        m.save(tmp_path / "spark")
        assert np.array_equal(Recommender.load(tmp_path / "spark").recommend([0], k=2)[0], ids[:1])

        # a slice of the real ratings, written to Parquet and read back through Spark
        df = pd.read_csv(shared_data / "goodbooks10k" / "ratings_sample.csv", nrows=5000)
        users = {u: i for i, u in enumerate(sorted(df.user_id.unique()))}
        df = pd.DataFrame({"user": df.user_id.map(users), "item": df.book_id - 1,
                           "rating": df.rating.astype("float32")})
        df.to_parquet(tmp_path / "ratings.parquet")
        sdf = read_ratings(spark, str(tmp_path / "ratings.parquet"))
        assert sdf.count() == 5000
        m2 = SparkALS(factors=8, iterations=3).fit_dataframe(sdf, len(users), 10000)
        liked = df[df.rating >= 4]
        u0 = int(liked.user.iloc[0])
        row = np.zeros(10000, np.float32)
        row[liked[liked.user == u0].item.to_numpy()] = 5
        import scipy.sparse as sp

        top, _ = m2.recommend(sp.csr_matrix(row[None, :]), k=10)   # fold-in
        assert (top >= 0).all()
        assert m2.user_factors_.shape == (len(users), 8)
    finally:
        spark.stop()
