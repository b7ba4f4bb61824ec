"""Names of what a data home holds, written once: feature names, index files, model
folders, the benchmark reports' folder.

The search, the build plan and the benchmarks refer to the same cached features and saved
indexes; they take the names from here instead of repeating the strings.

>>> TEXT_FEATURE
'text/minilm-l6.pretrained'
"""

from __future__ import annotations

from pathlib import Path

TEXT_ENCODER = "minilm-l6.pretrained"          # the sentence encoder of text search
TEXT_FEATURE = f"text/{TEXT_ENCODER}"          # a book's full text (title, authors, description)
TITLE_FEATURE = f"title/{TEXT_ENCODER}"
DESCRIPTION_FEATURE = f"description/{TEXT_ENCODER}"
COVER_ENCODER = "efficientnet-lite0.imagenet"  # the cover encoder of photo search
COVER_FEATURE = f"cover/{COVER_ENCODER}"

INDEX_DIR = "indexes"                          # <home>/indexes/
PASSAGES_FILE = "passages.npz"                 # description-passage vectors
COVER_FEATURES_FILE = "cover_features.npz"     # local features of every cover (photo search)
BENCHMARKS_DIR = "benchmarks"                  # <home>/benchmarks/: benchmark reports by default
MODELS_DIR = "models"                          # <home>/models/: trained models
RECOMMENDER_DIR = f"{MODELS_DIR}/recommender"  # the saved recommender (config.json + weights)


def index_dir(home: str | Path) -> Path:
    return Path(home) / INDEX_DIR


def models_dir(home: str | Path) -> Path:
    return Path(home) / MODELS_DIR


def recommender_saved(home: str | Path) -> bool:
    """Whether ``coverstory build recommender`` has saved a recommender in the home."""
    return (Path(home) / RECOMMENDER_DIR / "config.json").exists()


def benchmarks_dir(home: str | Path) -> Path:
    """Where ``coverstory bench`` writes its reports when no ``--out`` is given (the
    repository's docs/benchmarks/ only when asked: ``--out docs/benchmarks``)."""
    return Path(home) / BENCHMARKS_DIR


def fused_feature(home: str | Path) -> str | None:
    """The fused feature exported by ``coverstory build fusion`` (the first one), or None."""
    d = Path(home) / "features" / "fused"
    if not d.is_dir():
        return None
    files = sorted(d.glob("*.safetensors"))
    return f"fused/{files[0].stem}" if files else None
