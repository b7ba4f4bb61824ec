"""The CLI: instant help, JSON output, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args, home=None):
    cmd = [sys.executable, "-m", "coverstory.cli", *args]
    if home:
        cmd[3:3] = ["--home", str(home)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_help_imports_nothing_heavy():
    code = ("import sys, coverstory.cli as c; c.build_parser(); "
            "heavy = [m for m in ('torch', 'faiss', 'sentence_transformers', 'cv2', 'sklearn', "
            "'implicit', 'pyspark', 'fastapi', 'gensim') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_and_info_json(tmp_path):
    f = tmp_path / "b.jsonl"
    f.write_text('{"id": "1", "title": "A Book", "authors": ["Someone"]}\n{"id": 2}\n')
    r = run("--json", "import", "jsonl", str(f), "--no-progress", home=tmp_path / "h")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["added"] == 1 and rep["skipped"] == 1
    assert rep["problems"] == [f"{f}:2: missing required field(s) title"]
    info = json.loads(run("info", "--json", home=tmp_path / "h").stdout)
    assert info["books"] == 1 and info["schema_version"] >= 2


def test_user_errors_exit_2_with_a_message(tmp_path):
    r = run("import", "csv", str(tmp_path / "missing.csv"), home=tmp_path / "h")
    assert r.returncode == 2 and "no such file" in r.stderr
    r = run("bench", "no-such-bench", "--json", home=tmp_path / "h")
    assert r.returncode == 2 and "unknown benchmark" in json.loads(r.stdout)["error"]


def test_bench_encoders_throughput_on_an_empty_home_says_what_to_import(tmp_path):
    r = run("bench", "encoders", "--throughput", "--quick", "--json", "--out",
            str(tmp_path / "out"), home=tmp_path / "h")
    assert r.returncode == 2, r.stderr
    err = json.loads(r.stdout)["error"]               # exactly one JSON object on stdout
    assert "import goodbooks" in err and "Traceback" not in r.stderr


def test_build_lexical_and_parallel_all_on_an_empty_home_say_what_to_import(tmp_path):
    for args in (("build", "lexical"), ("build", "all", "--jobs", "2")):
        r = run("--json", *args, home=tmp_path / "h")
        assert r.returncode == 2, r.stderr
        assert "import" in json.loads(r.stdout)["error"] and "Traceback" not in r.stderr
