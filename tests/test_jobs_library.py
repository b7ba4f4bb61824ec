"""coverstory.jobs: admin jobs are library calls with a JSON spec (no command line parsed),
in this process or in a child (``python -m coverstory.jobs SPEC``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from coverstory.errors import BadInput, UnknownName
from coverstory.jobs import run


def test_import_job_imports_into_the_given_home(tiny_home, tmp_path):
    from coverstory.catalog import Catalog

    csv = tmp_path / "more.csv"
    csv.write_text("id,title,authors\nx1,The Lighthouse Keeper,Ada North\n")
    before = Catalog.open(tiny_home).count_books()
    out = run({"job": "import", "home": str(tiny_home), "source": "csv", "paths": [str(csv)]})
    assert "text" in out and out["seconds"] >= 0
    assert Catalog.open(tiny_home).count_books() == before + 1


def test_a_bad_import_imports_nothing(tiny_home, tmp_path):
    from coverstory.catalog import Catalog

    before = Catalog.open(tiny_home).count_books()
    with pytest.raises(BadInput, match="nothing was imported"):
        run({"job": "import", "home": str(tiny_home), "source": "csv",
             "paths": [str(tmp_path / "missing.csv")]})
    assert Catalog.open(tiny_home).count_books() == before


@pytest.mark.parametrize("spec, error, words", [
    ({"job": "explode", "home": "h"}, UnknownName, "unknown job 'explode'"),
    ({"job": "build", "target": "index"}, BadInput, "needs the data home"),
    ({"job": "build", "home": "h"}, BadInput, "missing: target"),
    ({"job": "build", "home": "h", "target": "index", "argv": ["--home", "x"]}, BadInput,
     "unknown: argv"),
    ({"job": "build", "home": "h", "target": "everything"}, UnknownName,
     "unknown build target"),
])
def test_specs_are_checked(spec, error, words):
    with pytest.raises(error, match=words):
        run(spec)


def test_the_child_entry_point_prints_one_json_line(tmp_path):
    from tests.conftest import build_tiny_home

    home = build_tiny_home(tmp_path, ratings=False)
    spec = {"job": "build", "home": str(home), "target": "intents", "quick": True}
    proc = subprocess.run([sys.executable, "-m", "coverstory.jobs", json.dumps(spec)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "intents" in got["built"]
    bad = subprocess.run([sys.executable, "-m", "coverstory.jobs",
                          json.dumps({"job": "build", "home": str(home), "target": "x"})],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown build target" in json.loads(bad.stdout)["error"]
