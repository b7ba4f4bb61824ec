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


@pytest.fixture
def engine_over(tiny_home):
    """engine_over(books): an engine over the tiny catalog plus ``books``, a list of
    (external id, fields) upserted from the "tiny" source."""
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    made = []

    def make(books):
        cat = Catalog.open(tiny_home)
        with cat.transaction():
            for ext, fields in books:
                cat.upsert_book("tiny", ext, fields)
        cat.close()
        made.append(DialogueEngine(tiny_home, search=False, recommend=False, llm=False))
        return made[-1]

    yield make
    for eng in made:
        eng.close()
