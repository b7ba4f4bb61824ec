"""A tiny catalog shared by the search tests of one session (models load once)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_search_home(tmp_path_factory):
    """Same six books as ``tiny_home``, built once per session."""
    from tests.conftest import build_tiny_home

    return build_tiny_home(tmp_path_factory.mktemp("search"), ratings=False)


@pytest.fixture(scope="session")
def tiny_svc(tiny_search_home):
    from coverstory.search.service import SearchService

    return SearchService(tiny_search_home, log=lambda m: None)
