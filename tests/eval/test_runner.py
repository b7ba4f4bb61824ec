"""``coverstory bench`` writes where ``--out`` says; without it into the data home's
benchmarks/ folder, never into the package or the repository; the report's command says
``--out`` when one was given (relative to the repository when inside it)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from coverstory.config import PROJECT_ROOT
from coverstory.benchmarks.runner import BenchResult, run_bench


def _bench(ctx):
    (ctx.out / "figure.txt").write_text("x")
    return BenchResult(results={"answer": 42}, markdown="| a |\n|---|\n| 1 |\n")


def _args(tmp_path, **kw):
    return SimpleNamespace(**{"home": str(tmp_path / "home"), "data": str(tmp_path), "seed": 0,
                              **kw})


def test_default_output_is_the_data_homes_benchmarks_folder(tmp_path):
    repo_reports = sorted((PROJECT_ROOT / "docs" / "benchmarks").glob("probe*"))
    got = run_bench("probe", _bench, _args(tmp_path, quick=True))
    out = tmp_path / "home" / "benchmarks"
    assert got["json"] == str(out / "probe-quick.json")
    meta = json.loads((out / "probe-quick.json").read_text())["meta"]
    assert meta["command"] == "coverstory bench probe --quick"
    assert (out / "probe-quick" / "figure.txt").is_file()
    assert "Command: `coverstory bench probe --quick`" in (out / "probe-quick.md").read_text()
    assert sorted((PROJECT_ROOT / "docs" / "benchmarks").glob("probe*")) == repo_reports == []


def test_out_is_obeyed_and_recorded(tmp_path):
    target = tmp_path / "elsewhere"
    got = run_bench("probe", _bench, _args(tmp_path, out=str(target), seed=3))
    meta = json.loads((target / "probe.json").read_text())["meta"]
    assert meta["command"] == f"coverstory bench probe --seed 3 --out {target}"
    assert got["markdown"] == str(target / "probe.md")
    assert not (tmp_path / "home" / "benchmarks").exists()


def test_an_out_inside_the_repository_is_recorded_relative_to_it():
    from coverstory.benchmarks.runner import _shown

    assert _shown(PROJECT_ROOT / "docs" / "benchmarks") == "docs/benchmarks"
    assert _shown("/somewhere/else") == "/somewhere/else"
