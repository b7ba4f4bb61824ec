"""Dialogue fixtures: an engine over the tiny catalog, without the heavy services."""

from __future__ import annotations

import pytest


@pytest.fixture
def engine(tiny_home):
    from coverstory.dialogue.engine import DialogueEngine

    eng = DialogueEngine(tiny_home, search=False, recommend=False, llm=False)
    yield eng
    eng.close()


@pytest.fixture
def ids(engine) -> dict[str, int]:
    """Title -> catalog id of the tiny books."""
    return {t: int(i) for t, i in zip(engine.index.titles, engine.index.ids)}
