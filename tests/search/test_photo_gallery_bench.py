"""``coverstory bench photo --gallery N`` end to end on the tiny catalog: 6 real covers + 0
and 8 distractors, both designs, 3 + 1 test photos (issue 19)."""

import argparse
import json


def test_bench_photo_gallery_tiny(tiny_search_home, shared_data, tmp_path, monkeypatch):
    from coverstory.benchmarks._photo_gallery import run_gallery as run
    from coverstory.benchmarks.runner import run_bench

    monkeypatch.setenv("COVERSTORY_BENCH_PHOTO_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("COVERSTORY_BENCH_PHOTO_QUERIES", "3")
    args = argparse.Namespace(home=str(tiny_search_home), data=str(shared_data), quick=False,
                              seed=0, out=str(tmp_path / "out"), gallery="0,8",
                              photo_index="voting,two-stage")
    got = run_bench("photo", run, args)
    rows = got["results"]["rows"]
    assert [(r["distractors"], r["configuration"]) for r in rows] == [
        (0, "voting"), (0, "two-stage"), (8, "voting"), (8, "two-stage")]
    for r in rows:
        assert r["covers"] == 6 + r["distractors"]
        assert r["test in / out"] == "3 / 1"
        assert 0 <= r["top-1"] <= r["top-5"] <= 1
        assert 0 <= r["not-in-catalog precision"] <= 1 and 0 <= r["not-in-catalog recall"] <= 1
        assert r["p95 ms"] >= r["p50 ms"] > 0 and r["rss_end_mb"] > 0
        assert r["index on disk MB"] > 0 and r["index build s"] >= 0
    assert rows[1]["kind"].startswith("two-stage")
    meta = json.loads((tmp_path / "out" / "photo-gallery.json").read_text())["meta"]
    assert "--gallery 0,8 --photo-index voting,two-stage" in meta["command"]
    # a second run reuses the cached features and indexes
    again = run_bench("photo", run, args)["results"]["rows"]
    assert [r["index build s"] for r in again] == [r["index build s"] for r in rows]
