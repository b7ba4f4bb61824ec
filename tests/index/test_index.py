"""The Index contract, checked the same way for every implementation."""

from __future__ import annotations

import numpy as np
import pytest

from coverstory.index import KINDS, Index, load_index, make_index, normalize
import coverstory.index.base as base

DIM = 32
PARAMS = {"exact": {}, "hnsw": {"m": 16, "ef_construction": 64, "ef_search": 200},
          "ivf": {"nlist": 16, "nprobe": 16}, "fastscan": {"m": 16, "k_factor": 20}}
TRAINED = ("ivf", "fastscan")          # kinds whose first add() trains a quantiser


def data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.permutation(10 * n)[:n].astype(np.int64), normalize(rng.standard_normal((n, DIM)))


def brute(ids, x, q, k):
    s = q @ x.T
    order = np.argsort(-s, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(s, order, 1), ids[order]


@pytest.fixture(params=sorted(KINDS))
def kind(request):
    return request.param


def built(kind, n=2000, seed=0):
    ids, x = data(n, seed)
    idx = make_index(DIM, n, kind, **PARAMS[kind])
    idx.add(ids, x)
    return idx, ids, x


def test_search_matches_brute_force(kind):
    idx, ids, x = built(kind)
    q = normalize(np.random.default_rng(1).standard_normal((50, DIM)))
    s, got = idx.search(q, 10)
    bs, want = brute(ids, x, q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, want)])
    if kind == "exact":
        np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(s, bs, rtol=1e-5, atol=1e-5)
    else:
        assert recall >= 0.9, recall      # all lists / wide beam on 2k points: near exact
    assert got.dtype == np.int64 and s.shape == (50, 10)


def test_self_query_finds_itself(kind):
    idx, ids, x = built(kind)
    _, got = idx.search(x[:100], 1)
    assert (got[:, 0] == ids[:100]).mean() >= 0.98


def test_remove_and_incremental_add(kind):
    idx, ids, x = built(kind)
    gone = ids[:10]
    assert idx.remove(gone) == 10
    assert idx.remove(gone) == 0 and len(idx) == len(ids) - 10
    _, got = idx.search(x[:10], 20)
    assert not set(got.ravel()) & set(gone.tolist())
    # add new books later, and replace a vector (same id) without a rebuild
    new_ids = np.array([10**9, 10**9 + 1])
    rng = np.random.default_rng(5)
    new_x = normalize(rng.standard_normal((2, DIM)))
    idx.add(new_ids, new_x)
    idx.add(ids[20:21], new_x[:1])           # id 20 now points at new_x[0]
    _, got = idx.search(new_x[1:], 1)
    assert got[0, 0] == 10**9 + 1
    _, got = idx.search(new_x[:1], 2)
    assert set(got[0]) == {10**9, ids[20]}
    assert len(idx) == len(ids) - 10 + 2


def test_pads_when_fewer_than_k(kind):
    idx = make_index(DIM, 3, "exact" if kind in TRAINED else kind,
                     **({} if kind in TRAINED else PARAMS[kind]))
    ids, x = data(3)
    idx.add(ids, x)
    s, got = idx.search(x[:1], 5)
    assert (got[0, 3:] == -1).all() and np.isneginf(s[0, 3:]).all()
    assert set(got[0, :3]) == set(ids)


def test_save_load_round_trip(kind, tmp_path):
    idx, ids, x = built(kind)
    idx.remove(ids[:5])
    q = x[100:120]
    before = idx.search(q, 10)
    path = idx.save(tmp_path / "books.npz")
    back = load_index(path)
    assert type(back) is type(idx) and len(back) == len(idx) and back.params == idx.params
    after = back.search(q, 10)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_allclose(before[0], after[0], rtol=1e-6)
    back.add([10**9], x[:1])                 # a loaded index keeps taking adds
    assert 10**9 in back and ids[0] not in back


def test_crash_during_save_keeps_old_index(kind, tmp_path, monkeypatch):
    idx, ids, x = built(kind)
    path = idx.save(tmp_path / "books.npz")
    old = path.read_bytes()
    idx.add([10**9], x[:1])

    def crash(f, data):
        f.write(bytes(data)[: len(data) // 2])
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(base, "_write", crash)
    with pytest.raises(KeyboardInterrupt):
        idx.save(path)
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["books.npz"]    # no temp file left
    back = load_index(path)
    assert len(back) == len(ids) and 10**9 not in back
    assert back.search(x[:1], 1)[1][0, 0] == ids[0]


def test_errors_name_the_problem(tmp_path):
    idx = make_index(DIM, 10, "exact")
    with pytest.raises(ValueError, match="dimension"):
        idx.add([1], np.zeros((1, DIM + 1), np.float32))
    with pytest.raises(ValueError, match="duplicate"):
        idx.add([1, 1], np.zeros((2, DIM), np.float32))
    with pytest.raises(FileNotFoundError, match="coverstory build index"):
        Index.load(tmp_path / "nothing.npz")
    ivf = make_index(DIM, 10, "ivf", nlist=64)
    with pytest.raises(ValueError, match="at least 64"):
        ivf.add([1, 2], np.zeros((2, DIM), np.float32))
    fs = make_index(DIM, 10, "fastscan")
    with pytest.raises(ValueError, match="at least 1000"):
        fs.add([1, 2], np.zeros((2, DIM), np.float32))
    with pytest.raises(ValueError, match="must divide"):
        make_index(DIM, 10, "fastscan", m=5)


def test_auto_choice():
    assert make_index(384, 25_000).kind == "exact"
    assert make_index(384, 100_000).kind == "exact"
    big = make_index(384, 1_000_000)
    assert big.kind == "fastscan" and big.params["m"] == 192
    assert make_index(384, 1_000_000, "hnsw").kind == "hnsw"


def test_fastscan_tombstones_and_compaction():
    idx, ids, x = built("fastscan")
    q = x[:50]
    # remove the exact top hit of every query: the next best live rows must come back
    gone = idx.search(q, 1)[1][:, 0]
    idx.remove(gone)
    assert not idx._alive.all()                       # below the threshold: tombstones
    keep = ~np.isin(ids, gone)
    s, got = idx.search(q, 10)
    _, want = brute(ids[keep], x[keep], q, 10)
    assert not set(got.ravel()) & set(gone.tolist())
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, want)]) >= 0.9
    # enough removals compact the index: rows rebuilt, results unchanged, no retraining
    more = ids[keep][: int(0.2 * len(ids))]
    idx.remove(more)
    assert idx._alive.all() and len(idx._ids) == len(idx) == len(ids) - len(gone) - len(more)
    keep &= ~np.isin(ids, more)
    s, got = idx.search(q, 10)
    bs, want = brute(ids[keep], x[keep], q, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, want)]) >= 0.9
    np.testing.assert_allclose(idx.reconstruct(int(ids[keep][0])), x[keep][0], atol=1e-6)


def test_fastscan_k_factor_is_the_knob(tmp_path):
    ids, x = data(4000)
    idx = make_index(DIM, len(ids), "fastscan", m=8, k_factor=1)
    idx.add(ids, x)
    q = normalize(np.random.default_rng(3).standard_normal((100, DIM)))
    _, want = brute(ids, x, q, 10)

    def recall():
        got = idx.search(q, 10)[1]
        return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, want)])

    low = recall()
    idx.set_k_factor(400)                   # 10 x 400 = every vector re-ranked: exact
    assert recall() == 1.0 > low
    back = load_index(idx.save(tmp_path / "fs.npz"))
    assert back.params["k_factor"] == 400 and back._faiss.k_factor == 400
