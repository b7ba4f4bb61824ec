"""coverstory.registry: the one helper behind the encoder, fusion, recommender and service
registries."""

from __future__ import annotations

import pytest

from coverstory.errors import BadInput, UnknownName
from coverstory.registry import accepts, load, lookup


def test_load_and_accepts():
    from coverstory.results import Hit

    assert load("coverstory.results:Hit") is Hit
    assert accepts(Hit) == {"book_id", "score", "reason", "details"}
    assert accepts(len) == set() or "obj" in accepts(len)       # a builtin: no failure


def test_lookup_names_the_choices_and_is_both_a_value_and_a_key_error():
    table = {"hit": "coverstory.results:Hit"}
    assert lookup(table, "hit", "record").__name__ == "Hit"
    with pytest.raises(UnknownName, match=r"unknown record 'miss'; known: hit") as e:
        lookup(table, "miss", "record")
    assert isinstance(e.value, (BadInput, ValueError)) and isinstance(e.value, KeyError)


def test_the_registries_use_it():
    from coverstory.encoders.registry import UnknownEncoder, encoder_class
    from coverstory.fusion.registry import get_strategy
    from coverstory.recommend.registry import model_class

    with pytest.raises(UnknownName, match="early"):
        get_strategy("nope")
    with pytest.raises(UnknownName, match="ease"):
        model_class("nope")
    with pytest.raises(UnknownEncoder, match="minilm"):
        encoder_class("nope")
    assert model_class("ease").__name__ == "EASE"
