"""The pretrained MiniLM sentence encoder through the shared mixin."""

from __future__ import annotations

import numpy as np
import pytest

from tests.encoders.mixin import EncoderTestMixin


class TestMiniLM(EncoderTestMixin):
    modality = "text"

    def make_encoder(self):
        from coverstory.encoders.registry import get_encoder

        return get_encoder("minilm-l6.pretrained")

    def test_meaning_not_just_words(self, encoder):
        x = encoder.encode(["a detective solves a murder", "a crime investigation novel",
                            "growing tomatoes in the garden"])
        assert x[0] @ x[1] > x[0] @ x[2] + 0.1
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)

    def test_rejects_non_text(self, encoder):
        with pytest.raises(TypeError, match="strings"):
            encoder.encode([3])

    def test_preset_runs_int8_onnx_with_its_own_identity(self, encoder):
        assert encoder.config["runtime"] == "onnx" and encoder.quantize == "int8"
        assert encoder.identity == "minilm-l6.pretrained[onnx-int8]"
        assert encoder.max_seq_length == 256


def test_onnx_runtimes_agree_with_sentence_transformers():
    """fp32 ONNX gives the reference's vectors; int8 keeps their meaning (mean cosine >=
    0.98 here; the benchmark measures it on real book texts). Mixed lengths, one text longer
    than max_seq_length, odd batch sizes: padding must not change a row."""
    from coverstory.encoders.registry import build_encoder, presets
    from coverstory.encoders.text_minilm import CHECK_TEXTS
    from tests.encoders.mixin import SENTENCES

    texts = SENTENCES + CHECK_TEXTS + ["ok", "x " * 400]
    cfg = presets()["minilm-l6.pretrained"]
    ref = build_encoder({**cfg, "runtime": "torch"})
    want = ref.encode(texts, batch_size=4)
    assert ref.identity == "minilm-l6.pretrained"
    fp32 = build_encoder({**cfg, "quantize": None})
    assert fp32.identity == ref.identity                   # same numbers: caches shared
    for bs in (1, 3, 32):
        np.testing.assert_allclose(fp32.encode(texts, batch_size=bs), want, atol=1e-4)
    int8 = build_encoder(cfg)
    got = int8.encode(texts)
    cos = np.sum(got * want, axis=1)
    assert cos.mean() >= 0.98 and cos.min() >= 0.95
    np.testing.assert_array_equal(int8.encode(texts[::-1])[::-1], got)  # no batch effects
    short = build_encoder({**cfg, "max_seq_length": 16})
    assert short.identity == "minilm-l6.pretrained[onnx-int8,max16]"
    assert np.sum(short.encode([texts[-1]]) * got[-1:]) > 0.5


def test_the_export_is_made_once_in_a_child_and_the_user_never_loads_torch(tmp_path):
    """Two processes needing MiniLM at once with an empty export cache (build steps side by
    side, the server): one export, made by a child process; neither process loads torch."""
    import json
    import os
    import subprocess
    import sys

    code = ("import json, sys\n"
            "from coverstory.encoders.registry import get_encoder\n"
            "enc = get_encoder('minilm-l6.pretrained')\n"
            "check = enc.export_in_child()\n"
            "v = enc.encode(['a boy wizard at a school of magic'])\n"
            "print(json.dumps({'check': check, 'torch': 'torch' in sys.modules,\n"
            "                  'norm': float((v * v).sum())}))\n")
    env = dict(os.environ, COVERSTORY_CACHE=str(tmp_path / "cache"), COVERSTORY_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    made = [o["check"] for o in outs if o["check"]]
    assert len(made) == 1, outs                               # exported once
    assert made[0]["fp32_max_abs_diff"] <= 1e-4 and made[0]["int8_mean_cosine"] >= 0.98
    assert not any(o["torch"] for o in outs)
    assert all(abs(o["norm"] - 1.0) < 1e-4 for o in outs)
    onnx = sorted(p.name for p in (tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert len(onnx) == 2 and onnx[0].endswith("fp32.onnx") and onnx[1].endswith("int8.onnx")


def test_a_text_given_twice_is_encoded_once(monkeypatch):
    from coverstory.encoders.registry import get_encoder
    from coverstory.encoders.text_minilm import MiniLM

    enc = get_encoder("minilm-l6.pretrained")
    seen: list[list[str]] = []
    real = MiniLM._onnx_encode_unique

    def spy(self, items, batch_size):
        seen.append(list(items))
        return real(self, items, batch_size)

    monkeypatch.setattr(MiniLM, "_onnx_encode_unique", spy)
    texts = ["a detective solves a murder", "dragons", "a detective solves a murder", "x"]
    got = enc.encode(texts)
    assert seen == [["a detective solves a murder", "dragons", "x"]]
    np.testing.assert_array_equal(got[0], got[2])
    np.testing.assert_array_equal(got[[0, 1, 3]], enc.encode([texts[0], texts[1], texts[3]]))


def test_the_export_uses_eager_attention():
    """MiniLM is exported with the plain attention (its int8 graph runs faster than the
    scaled_dot_product_attention one), and the export cache name changes with it."""
    from transformers import BertConfig, BertModel

    from coverstory.encoders import text_minilm

    bert = BertModel(BertConfig(vocab_size=30, hidden_size=8, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=16))
    assert text_minilm._eager_attention(bert) is bert
    assert bert.config._attn_implementation == "eager"
    assert text_minilm.EXPORT_VERSION >= 2
