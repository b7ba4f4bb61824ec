"""Fusion strategies by name, and their default options (``data/presets.json``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from coverstory.registry import lookup

STRATEGIES: dict[str, str] = {
    "single": "coverstory.fusion.strategies.single:SingleModality",
    "early": "coverstory.fusion.strategies.early:EarlyFusion",
    "late": "coverstory.fusion.strategies.late:LateFusion",
    "coattention": "coverstory.fusion.strategies.coattention:CoAttentionFusion",
    "cbam": "coverstory.fusion.strategies.cbam:CBAMFusion",
    "transformer": "coverstory.fusion.strategies.transformer:TransformerFusion",
    "adversarial": "coverstory.fusion.strategies.adversarial:AdversarialFusion",
    "textgate": "coverstory.fusion.strategies.textgate:TextGatedCover",
}


def list_strategies() -> list[str]:
    return [s for s in STRATEGIES if s != "single"]


@cache
def presets() -> dict:
    return json.loads((Path(__file__).parent / "data" / "presets.json").read_text())


def get_strategy(name: str):
    """The Fusion subclass registered as ``name`` (an unknown name: ``UnknownName``, a
    ``ValueError`` that lists the strategies)."""
    return lookup(STRATEGIES, name, "fusion strategy")


def build_fusion_module(name: str, spec):
    """Instantiate strategy ``name`` for ``spec`` (preset options filled in)."""
    opts = dict(presets().get(name, {}).get("options", {}))
    opts.update(spec.options)
    spec.options = opts
    return get_strategy(name)(spec)
