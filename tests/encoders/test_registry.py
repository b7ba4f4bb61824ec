"""Presets as JSON data, lookups with helpful errors, the `coverstory encoders` listing."""

from __future__ import annotations

import json

import pytest


def test_presets_are_json_files_with_required_fields():
    from coverstory.encoders.registry import KINDS, PRESETS_DIR, presets

    files = sorted(PRESETS_DIR.glob("*.json"))
    assert len(files) == len(presets()) >= 10
    for f in files:
        cfg = json.loads(f.read_text())
        assert f.stem == cfg["name"]
        assert cfg["kind"] in KINDS and cfg["modality"] in ("image", "text", "audio")
        assert cfg["dim"] > 0 and cfg["description"]


def test_defaults_named_in_the_api_exist():
    from coverstory.encoders.registry import presets

    p = presets()
    assert p["efficientnet-lite0.imagenet"]["dim"] == 1280
    assert p["minilm-l6.pretrained"]["dim"] == 384


def test_unknown_encoder_lists_known_names():
    from coverstory.encoders.registry import UnknownEncoder, get_encoder

    with pytest.raises(UnknownEncoder, match="minilm-l6.pretrained"):
        get_encoder("no-such-encoder")


def test_trained_encoders_are_found_in_the_home(tmp_path):
    from coverstory.encoders.registry import build_encoder, get_encoder, list_encoders, presets

    enc = build_encoder({**presets()["mobilenetv2.random"], "image_size": 32,
                         "name": "mobilenetv2.ssl-test"})
    enc.save(tmp_path / "models" / "encoders" / "mobilenetv2.ssl-test")
    names = {e["name"]: e for e in list_encoders(tmp_path)}
    assert names["mobilenetv2.ssl-test"]["source"] == "trained"
    assert get_encoder("mobilenetv2.ssl-test", home=tmp_path).name == "mobilenetv2.ssl-test"


def test_encoders_command_lists_and_marks_unavailable(tmp_path, monkeypatch):
    from coverstory.cli import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--home", str(tmp_path / "h"), "--json", "encoders"]) == 0
    got = json.loads(out.getvalue())
    by = {e["name"]: e for e in got["encoders"]}
    assert by["efficientnet-lite0.imagenet"]["available"]
    assert not by["resnet50.imagenet"]["available"]
    assert got["built"] == []
