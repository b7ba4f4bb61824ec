"""Item feature blocks: tag vectors, weighting, catalog alignment."""

from __future__ import annotations

import numpy as np
import pytest

from coverstory.recommend.features import ItemFeatures, catalog_item_features, tag_vectors


def test_tag_vectors_group_similar_books():
    docs = [["fantasy", "magic"], ["fantasy", "dragons", "magic"], ["romance", "love"],
            ["romance", "love", "contemporary"], []]
    V = tag_vectors(docs, dim=3)
    F = ItemFeatures().add("tags", V).blocks["tags"]
    assert np.all(F[4] == 0)                       # no tags -> zero row
    assert F[0] @ F[1] > F[0] @ F[2]


def test_matrix_weights_and_missing_blocks():
    f = ItemFeatures().add("a", np.eye(3)).add("b", np.ones((3, 2)), weight=4.0)
    M = f.matrix()
    assert M.shape == (3, 5)
    np.testing.assert_allclose(np.linalg.norm(M, axis=1), 1.0, atol=1e-6)
    assert M[0, 3] > M[0, 0]                       # block b weighs 4x (2x in norm)
    assert f.has(["a"]).all()
    with pytest.raises(KeyError, match="not present"):
        f.matrix(["c"])


def test_catalog_features_align_to_columns(tiny_home):
    from coverstory.catalog import Catalog

    ids = np.array(Catalog.open(tiny_home).book_ids()[::-1])
    logs = []
    f = catalog_item_features(tiny_home, ids, blocks=("text", "tags"), log=logs.append)
    assert "tags" in f.blocks and f.n_items == len(ids)
    assert any("text" in m for m in logs) or "text" in f.blocks
    F = f.blocks["tags"]
    # the two Ann Gray fantasy books (ids 1 and 6) are closer to each other than to gardening (5)
    pos = {int(b): i for i, b in enumerate(ids)}
    assert F[pos[1]] @ F[pos[6]] > F[pos[1]] @ F[pos[5]]
