"""``coverstory bench dialogue``: a clear error on an empty home, seeded disjoint targets, and
an end-to-end quick run on a slice of the real goodbooks data."""

from __future__ import annotations

import csv
import json

import pytest

from coverstory.cli import main
from coverstory.benchmarks.dialogue import FULL_TARGETS, draw_targets


def test_empty_home_says_what_to_import(tmp_path, capsys):
    rc = main(["--home", str(tmp_path / "empty"), "bench", "dialogue", "--quick",
               "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    assert "catalog is empty" in err and "import goodbooks" in err and "goodbooks10k" in err
    assert not (tmp_path / "out" / "dialogue-quick.json").exists()


def test_reported_and_development_targets_are_disjoint():
    pool = list(range(10, 4700))
    full = draw_targets(pool, 0, FULL_TARGETS)
    quick = draw_targets(pool, 0, 40)
    dev = draw_targets(pool, 1, FULL_TARGETS)
    assert len(full) == len(set(full)) == FULL_TARGETS and quick == full[:40]
    assert len(dev) == FULL_TARGETS and not set(dev) & set(full)
    assert draw_targets(pool, 0, 40) == quick and draw_targets(pool, 1, 40) == dev[:40]
    assert draw_targets(pool, 2, 40) != dev[:40]
    small = list(range(100))                       # a small pool still splits in two
    assert not set(draw_targets(small, 0, 40)) & set(draw_targets(small, 1, 40))


@pytest.mark.slow
def test_quick_bench_end_to_end_on_a_real_slice(tmp_path, shared_data, capsys):
    src = shared_data / "goodbooks10k"
    folder = tmp_path / "goodbooks10k"
    folder.mkdir()
    for name in ("books.csv", "book_genres.csv", "descriptions.csv", "descriptions_more.csv",
                 "pages.csv"):
        if (src / name).is_file():
            with open(src / name, newline="", encoding="utf-8") as f, \
                    open(folder / name, "w", newline="", encoding="utf-8") as g:
                r = csv.DictReader(f)
                w = csv.DictWriter(g, fieldnames=r.fieldnames)
                w.writeheader()
                w.writerows(row for row in r if int(row["book_id"]) <= 400)
    home = tmp_path / "home"
    assert main(["--home", str(home), "import", "goodbooks", str(folder), "--no-progress"]) == 0
    out = tmp_path / "out"
    assert main(["--home", str(home), "bench", "dialogue", "--quick", "--out", str(out)]) == 0
    res = json.loads((out / "dialogue-quick.json").read_text())["results"]
    assert res["targets"] == 40 and set(res["policies"]) == {"default", "random-question",
                                                             "popular"}
    for s in res["policies"].values():
        assert s["n"] == 40 and 0 <= s["success@1"] <= s["success@3"] <= s["success@5"] <= 1
        assert s["p95_ms"] >= s["p50_ms"] > 0
    audit = res["leak_audit"]
    assert audit["conversations"] == 120 and audit["leaks"] == 0, audit["examples"]
    md = (out / "dialogue-quick.md").read_text()
    assert "success@5" in md and "Leak audit" in md and "Example conversations" in md
    # sessions went to a scratch copy, never to the home
    from coverstory.catalog import Catalog

    cat = Catalog.open(home)
    assert cat.conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    cat.close()
