"""Preprocessing, Word2Vec and the recurrent text encoders (mixin + genre training)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.encoders.mixin import SENTENCES, EncoderTestMixin


def test_preprocess_pipeline():
    from coverstory.encoders.text_preprocess import clean, preprocess, stop_words, tokenize

    assert tokenize("Don't panic: 42 towels.") == ["don't", "panic", "42", "towels"]
    assert preprocess("The wizards were <b>flying</b> over Hogwarts!") == [
        "wizard", "fli", "hogwart"]
    assert preprocess("The running dogs", stemming=False) == ["running", "dogs"]
    assert "the" in stop_words() and "wizard" not in stop_words()
    assert clean("A story. Librarian's note: an alternate cover edition. More book description"
                 ) == "a story."
    assert tokenize("Café Noël") == ["cafe", "noel"]


def _vocab():
    from coverstory.encoders.text_rnn import tokens

    words = sorted({t for s in SENTENCES for t in tokens(s)})
    return ["<pad>", "<unk>", *words]


def _rnn(arch):
    from coverstory.encoders.text_rnn import TextRNN, rnn_dim

    vocab = _vocab()
    return TextRNN({"name": f"{arch}.test", "kind": "text_rnn", "modality": "text",
                    "arch": arch, "dim": rnn_dim(arch, 16), "hidden": 16, "emb_dim": 8,
                    "vocab_size": len(vocab)}, vocab)


class TestLSTM(EncoderTestMixin):
    modality = "text"

    def make_encoder(self):
        return _rnn("lstm")


class TestBiLSTM(EncoderTestMixin):
    modality = "text"

    def make_encoder(self):
        return _rnn("bilstm")


class TestBiGRU(EncoderTestMixin):
    modality = "text"

    def make_encoder(self):
        return _rnn("bigru")


class TestBiLSTMAttention(EncoderTestMixin):
    modality = "text"

    def make_encoder(self):
        return _rnn("bilstm-attn")

    def test_attention_weights_per_token(self, encoder):
        att = encoder.attention("A cosy mystery: a retired teacher solves a murder in Venice.")
        assert [t for t, _ in att] == ["cosy", "mystery", "retired", "teacher", "solves",
                                       "murder", "venice"]
        assert abs(sum(w for _, w in att) - 1.0) < 1e-5 and all(w > 0 for _, w in att)
        assert encoder.attention("the and of") == []  # only stop words: nothing to weigh

    def test_padding_does_not_change_a_text(self, encoder):
        short, long_ = SENTENCES[4], SENTENCES[0] + " " + SENTENCES[1]
        alone = encoder.encode([short])
        with_long = encoder.encode([short, long_])[:1]
        np.testing.assert_allclose(alone, with_long, rtol=1e-5, atol=1e-6)


class TestWord2VecMean(EncoderTestMixin):
    modality = "text"

    def make_encoder(self):
        from coverstory.encoders.text_rnn import Word2VecMean, train_word2vec

        words, vecs = train_word2vec(SENTENCES * 5, dim=8, epochs=2)
        vocab = ["<pad>", "<unk>", *words]
        enc = Word2VecMean({"name": "word2vec-mean.test", "kind": "word2vec_mean",
                            "modality": "text", "dim": 8, "vocab_size": len(vocab)}, vocab)
        import torch

        with torch.no_grad():
            enc.module.emb.weight[2:] = torch.from_numpy(vecs)
        return enc


def test_lstm_attention_refuses_without_attention():
    with pytest.raises(ValueError, match="bilstm-attn"):
        _rnn("bigru").attention("a wizard")


@pytest.mark.slow
def test_train_bilstm_attention_on_real_descriptions(shared_data, tmp_path):
    """A short genre-training run on 100 real goodbooks descriptions: loss falls, the
    encoder is saved, reloads by name and its attention can be read."""
    from coverstory.encoders.registry import get_encoder
    from coverstory.train.text import train_text_encoder
    from tests.encoders.realslice import goodbooks_text_home

    home = goodbooks_text_home(shared_data, tmp_path / "home", n=100)
    r = train_text_encoder(home, "bilstm-attn", epochs=3, hidden=16, max_len=40,
                           progress=False)
    losses = [h["loss"] for h in r["history"]]
    assert losses[-1] < losses[0]
    enc = get_encoder(r["name"], home=home)
    tr = enc.config["train"]
    assert tr["train_books"] > 40 and tr["val_books"] > 0  # early-stopping slice
    # the saved weights are those of the best validation epoch; the held-out figures too
    best = max(r["history"], key=lambda h: h["val_top1_precision"])
    assert r["best_epoch"] == tr["best_epoch"] == best["epoch"]
    assert tr["held_out"]["top1_precision"] == best["top1_precision"]
    x = enc.encode(["A young wizard at a school of magic"])
    assert x.shape == (1, 32) and x.dtype == np.float32
    att = enc.attention("A young wizard at a school of magic")
    assert [t for t, _ in att] == ["young", "wizard", "school", "magic"]
    w2v = get_encoder(r["word2vec"], home=home)
    assert w2v.encode(["magic"]).shape == (1, 100)
