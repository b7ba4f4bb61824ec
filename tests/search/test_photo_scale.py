"""scripts/photo_scale.py end to end on the tiny catalog (6 covers + 8 distractors, features
cached in two blocks)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "photo_scale.py"


def test_photo_scale_tiny(tiny_search_home, tmp_path):
    out = tmp_path / "r.json"
    subprocess.run([sys.executable, str(SCRIPT), "--home", str(tiny_search_home),
                    "--distractors", "0,8", "--feature-blocks", "5", "--queries", "3", "--bench-val", "0",
                    "--work", str(tmp_path / "w"), "--out", str(out)],
                   check=True, capture_output=True, text=True, timeout=600)
    r = json.loads(out.read_text())
    assert [row["distractors"] for row in r["rows"]] == [0, 8]
    assert r["rows"][1]["covers"] == r["rows"][0]["covers"] + 8 == r["real_covers"] + 8
    for row in r["rows"]:
        assert row["queries"] == 3 and 0 <= row["top1"] <= row["top5"] <= 1
        assert row["p95_ms"] >= row["p50_ms"] > 0 and row["rss_loaded_mb"] > 0
        assert row["index_file_mb"] > 0
    assert "rss_loaded_mb" in r["extrapolation_linear_fit (not measured)"]
