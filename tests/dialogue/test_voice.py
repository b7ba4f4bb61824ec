"""Voice: espeak-ng speaks a request, pocketsphinx (catalog language model) hears it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytest.importorskip("pocketsphinx", reason="optional voice extra: pip install pocketsphinx==5.1.1")


@pytest.fixture(scope="module")
def espeak():
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.fail("espeak-ng is needed to make test audio: apt-get install -y espeak-ng")
    return exe


def say(espeak, text: str, path) -> bytes:
    subprocess.run([espeak, "-v", "en-us+m3", "-s", "130", "-w", str(path), text], check=True,
                   capture_output=True)
    return path.read_bytes()


def test_arpa_model_is_well_formed(tmp_path):
    from coverstory.dialogue.voice import write_arpa

    n = write_arpa(["a fantasy book", "a mystery book", "fantasy with dragons"],
                   {"a", "fantasy", "book", "mystery", "with", "dragons"}, tmp_path / "x.lm")
    text = (tmp_path / "x.lm").read_text()
    assert n == 8 and text.startswith("\\data\\") and text.rstrip().endswith("\\end\\")
    assert "fantasy book" in text and "with dragons" in text


@pytest.mark.slow
def test_spoken_request_becomes_a_turn(engine, espeak, tmp_path):
    audio = say(espeak, "I want a fantasy book with dragons", tmp_path / "q.wav")
    r = engine.turn("voice", audio=audio)
    st = engine.store.load("voice")
    assert "dragons" in st.prefs.get("tag", {}) or "fantasy" in st.prefs.get("genre", {})
    assert "Dragons of the North" in [b["title"] for b in r.books]


def test_bad_audio_is_refused():
    from coverstory.dialogue.voice import pcm16k

    with pytest.raises(ValueError, match="WAV"):
        pcm16k(b"not a wav file")
