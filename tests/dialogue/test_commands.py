"""coverstory chat (stdin not a TTY), coverstory report, coverstory build intents."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_cli(home, *args, stdin: str = ""):
    env = dict(os.environ, HF_HUB_OFFLINE="1", COVERSTORY_LLM_URL="")
    return subprocess.run([sys.executable, "-m", "coverstory.cli", "--home", str(home), *args],
                          input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_chat_reads_piped_stdin(tiny_home, tmp_path):
    from tests.conftest import draw_cover

    photo = draw_cover(tmp_path / "p.jpg", "Whatever", "Someone")
    out = run_cli(tiny_home, "chat", "--no-services", "--session", "cli1", stdin=(
        "hello\nsomething about mars\n/like 1\n/photo " + str(photo) + "\n/like 9\n/quit\n"
        "never read\n"))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.count("bot> ") == 5
    assert "Red Planet Alone" in text
    assert "Photo search is not available" in text          # --no-services
    assert "say which book" in text                          # /like 9: only 3 were shown
    assert "never read" not in text                          # stopped at /quit


def test_chat_json_and_report(tiny_home):
    from coverstory.catalog import Catalog
    from coverstory.dialogue.engine import DialogueEngine

    out = run_cli(tiny_home, "--json", "chat", "--no-services", "--session", "cli2",
                  "--policy", "popular", stdin="a fantasy book\n/like 2\n")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["session_id"] == "cli2" and d["turns"] == 2
    assert d["replies"][1]["intent"] == "feedback"
    eng = DialogueEngine(tiny_home, policy="default", search=False, recommend=False, llm=False)
    eng.turn("cli3", text="a fantasy book")
    eng.close()
    cat = Catalog.open(tiny_home)
    assert {r["policy"] for r in cat.conn.execute("SELECT policy FROM sessions")} == {"popular", "default"}
    cat.close()
    out = run_cli(tiny_home, "--json", "report")
    rows = {r["policy"]: r for r in json.loads(out.stdout)["policies"]}
    assert rows["popular"]["sessions"] == 1 and rows["popular"]["accepted"] == 1
    assert rows["popular"]["mean_turns_to_accept"] == 2 and rows["popular"]["likes"] == 1
    assert rows["default"]["accepted"] == 0 and rows["default"]["acceptance_rate"] == 0.0
    out = run_cli(tiny_home, "report")
    assert "| popular | 1 |" in out.stdout


def test_build_intents_saves_json_and_npz(tiny_home):
    out = run_cli(tiny_home, "--json", "build", "intents")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)["built"]["intents"]
    assert d["heldout_accuracy"] >= 0.9
    folder = tiny_home / "models" / "intents"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "weights.npz"]
    from coverstory.dialogue import intents

    intents._CACHED.clear()
    clf = intents.load_or_train(tiny_home)
    assert clf.trained_on == intents.data_hash() and clf.predict("hi")[0] == "greeting"
