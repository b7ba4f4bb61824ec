"""Recommenders by name (used by ``Recommender.load`` and the benchmark)."""

from __future__ import annotations

from coverstory.registry import lookup

# name -> "module:Class"
MODELS: dict[str, str] = {
    "popularity": "coverstory.recommend.popularity:Popularity",
    "itemknn": "coverstory.recommend.knn:ItemKNN",
    "itemknn-implicit": "coverstory.recommend.knn:ImplicitItemKNN",
    "userknn": "coverstory.recommend.knn:UserKNN",
    "ease": "coverstory.recommend.ease:EASE",
    "rp3beta": "coverstory.recommend.rp3beta:RP3beta",
    "puresvd": "coverstory.recommend.svd:PureSVD",
    "mf": "coverstory.recommend.svd:BiasedMF",
    "als": "coverstory.recommend.als:ALS",
    "bpr": "coverstory.recommend.als:BPR",
    "content": "coverstory.recommend.content:ContentKNN",
    "rating-model": "coverstory.recommend.rating_model:RatingModel",
    "hybrid": "coverstory.recommend.hybrid:Hybrid",
    "spark-als": "coverstory.scale.spark_als:SparkALS",
}


def model_class(name: str):
    """The Recommender class registered as ``name`` (an unknown name: ``UnknownName``, a
    ``KeyError`` that lists the models)."""
    return lookup(MODELS, name, "recommender")


def list_models() -> list[str]:
    return list(MODELS)
