"""A tiny catalog shared by the search tests of one session (models load once)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_search_home(tmp_path_factory):
    """Same six books as ``tiny_home``, built once per session."""
    from coverstory.catalog import Catalog
    from coverstory.catalog.store import sha256_file
    from tests.conftest import TINY_BOOKS, draw_cover

    root = tmp_path_factory.mktemp("search")
    home = root / "home"
    cat = Catalog.open(home)
    with cat.transaction():
        for i, (title, author, year, tags, desc, color) in enumerate(TINY_BOOKS):
            cover = draw_cover(root / "covers" / f"{i}.jpg", title, author, color)
            cat.upsert_book("tiny", str(i), {
                "title": title, "authors": [author], "year": year, "description": desc,
                "cover_path": str(cover), "cover_sha256": sha256_file(cover), "language": "eng",
            }, tags=tags)
    cat.close()
    return home


@pytest.fixture(scope="session")
def tiny_svc(tiny_search_home):
    from coverstory.search.service import SearchService

    return SearchService(tiny_search_home, log=lambda m: None)
