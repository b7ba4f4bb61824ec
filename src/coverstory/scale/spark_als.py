"""ALS on Spark (``pyspark.ml.recommendation.ALS``) behind the ``Recommender`` contract.

For rating logs beyond one machine: fit on a cluster, collect the factor matrices (small:
(users + items) x factors), then score, fold in and serve exactly like ``recommend.als.ALS``.

    from coverstory.scale.spark_als import SparkALS, spark_session, read_ratings
    spark = spark_session(master="spark://head:7077")         # or "local[2]"
    df = read_ratings(spark, "hdfs:///ratings/*.parquet")      # user, item, rating columns
    model = SparkALS(factors=128, alpha=10).fit_dataframe(df, n_users, n_items)

Install: ``pip install pyspark pyarrow 'pandas<3'`` and a Java 17 runtime.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from coverstory.recommend.als import ALS


def spark_session(master: str = "local[2]", app: str = "coverstory-als", **conf):
    """A SparkSession bound to loopback in local mode, UI off, small shuffle partitions."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise ImportError("Spark ALS needs pyspark: pip install pyspark pyarrow 'pandas<3' "
                          "(and Java 17)") from e
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    b = (SparkSession.builder.master(master).appName(app)
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.shuffle.partitions", conf.pop("shuffle_partitions", 8))
         .config("spark.default.parallelism", conf.pop("parallelism", 4))
         .config("spark.driver.memory", conf.pop("driver_memory", "2g"))
         .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    if master.startswith("local"):
        b = b.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress",
                                                              "127.0.0.1")
    for k, v in conf.items():
        b = b.config(k, v)
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def read_ratings(spark, path: str, user_col: str = "user", item_col: str = "item",
                 rating_col: str = "rating"):
    """Ratings from Parquet (a file, a folder or a glob; local, HDFS or S3 paths)."""
    df = spark.read.parquet(path)
    return df.select(df[user_col].cast("int").alias("user"), df[item_col].cast("int").alias("item"),
                     df[rating_col].cast("float").alias("rating"))


class SparkALS(ALS):
    """Implicit-feedback ALS trained by Spark MLlib; scoring and fold-in as ``ALS``.

    ``blocks``: Spark's user/item partitions (raise it with the cluster's cores)."""

    name = "spark-als"

    def __init__(self, factors: int = 128, alpha: float = 10.0, l2: float = 0.01,
                 iterations: int = 15, threshold: float | None = 4.0, seed: int = 0,
                 master: str = "local[2]", blocks: int = 4):
        super().__init__(factors=factors, alpha=alpha, l2=l2, iterations=iterations,
                         threshold=threshold, seed=seed)
        self.master, self.blocks = master, int(blocks)

    def params(self) -> dict:
        return {**super().params(), "master": self.master, "blocks": self.blocks}

    def _estimator(self):
        from pyspark.ml.recommendation import ALS as SparkMLALS

        # Spark's regParam is scaled by the number of ratings per user/item ("ALS-WR");
        # implicit's is not, so the same l2 is not the same model: keep l2 small.
        return SparkMLALS(rank=self.factors, maxIter=self.iterations, regParam=self.l2,
                          implicitPrefs=True, alpha=self.alpha, userCol="user", itemCol="item",
                          ratingCol="rating", seed=self.seed, nonnegative=False,
                          coldStartStrategy="drop", numUserBlocks=self.blocks,
                          numItemBlocks=self.blocks)

    def _fit(self, X: sp.csr_matrix, items=None) -> None:
        spark = spark_session(self.master)
        coo = X.tocoo()
        import pandas as pd

        pdf = pd.DataFrame({"user": coo.row.astype(np.int32), "item": coo.col.astype(np.int32),
                            "rating": coo.data.astype(np.float32)})
        df = spark.createDataFrame(pdf)
        self._fit_dataframe(df, X.shape[0], X.shape[1])

    def _fit_dataframe(self, df, n_users: int, n_items: int) -> None:
        model = self._estimator().fit(df)
        self.user_factors_ = _collect(model.userFactors, n_users, self.factors)
        self.item_factors_ = _collect(model.itemFactors, n_items, self.factors)

    def fit_dataframe(self, df, n_users: int, n_items: int) -> "SparkALS":
        """Fit from a Spark DataFrame (user, item, rating) with 0-based int ids, e.g. from
        ``read_ratings``; only the factors come back to the driver. The binarising threshold
        is applied in Spark."""
        from pyspark.sql import functions as F

        if self.threshold is not None:
            df = df.where(F.col("rating") >= self.threshold).withColumn("rating", F.lit(1.0))
        self._fit_dataframe(df, n_users, n_items)
        # keep a (possibly empty) local training matrix so the contract holds
        self.train_ = sp.csr_matrix((n_users, n_items), dtype=np.float32)
        self.n_users, self.n_items = n_users, n_items
        self.item_counts_ = np.zeros(n_items, np.int64)
        return self


def _collect(factors_df, n: int, d: int) -> np.ndarray:
    out = np.zeros((n, d), dtype=np.float32)
    pdf = factors_df.toPandas()
    if len(pdf):
        ids = pdf["id"].to_numpy()
        out[ids] = np.stack(pdf["features"].to_numpy()).astype(np.float32)
    return out
