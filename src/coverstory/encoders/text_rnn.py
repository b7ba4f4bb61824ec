"""Word2Vec (gensim, trained on the catalog's text) and recurrent text encoders on top:
LSTM, BiLSTM, BiGRU and BiLSTM with additive attention pooling.

Tokens come from :func:`coverstory.encoders.text_preprocess.preprocess` (stop words
removed, not stemmed, so attention weights read as words). Each encoder folder holds
``config.json``, ``vocab.json`` (the token list; index 0 = padding, 1 = unknown) and
``weights.safetensors`` (embeddings and recurrent weights).

>>> enc = get_encoder("bilstm-attn.genre-1a2b3c4d", home)          # doctest: +SKIP
>>> enc.attention("A wizard school hidden in Scotland")[:2]        # doctest: +SKIP
[('wizard', 0.41), ('school', 0.22)]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coverstory.encoders.base import TorchEncoder, write_json_atomic
from coverstory.encoders.text_preprocess import preprocess

PAD, UNK = 0, 1
VOCAB_FILE = "vocab.json"
ARCHS = ("lstm", "bilstm", "bigru", "bilstm-attn")


def tokens(text: str, max_len: int = 200) -> list[str]:
    return preprocess(text, stop=True, stemming=False)[:max_len]


def train_word2vec(texts: Sequence[str], dim: int = 100, epochs: int = 5, seed: int = 0,
                   min_count: int | None = None) -> tuple[list[str], np.ndarray]:
    """(vocabulary, vectors [V, dim]) of a Word2Vec skip-gram model trained on ``texts``."""
    from gensim.models import Word2Vec

    sents = [tokens(t, 10_000) for t in texts]
    sents = [s for s in sents if s]
    if not sents:
        raise ValueError("no text to train Word2Vec on")
    if min_count is None:  # rare words are noise in a big corpus, all we have in a tiny one
        min_count = 3 if len(sents) >= 1000 else 1
    model = Word2Vec(sentences=sents, vector_size=dim, window=5, min_count=min_count, sg=1,
                     workers=1, epochs=epochs, seed=seed)
    words = list(model.wv.index_to_key)
    return words, np.asarray(model.wv.vectors, np.float32)


class _TokenEncoder(TorchEncoder):
    """Shared by the text encoders: a vocabulary and padded id batches."""

    def __init__(self, config: dict[str, Any], vocab: list[str] | None = None):
        self.vocab = list(vocab) if vocab is not None else ["<pad>", "<unk>"]
        if vocab is None and config.get("vocab_size"):
            self.vocab += [f"<w{i}>" for i in range(int(config["vocab_size"]) - 2)]
        self.index = {w: i for i, w in enumerate(self.vocab)}
        config = dict(config, vocab_size=len(self.vocab))
        super().__init__(config)

    @property
    def max_len(self) -> int:
        return int(self.config.get("max_len", 200))

    def token_ids(self, text: str) -> tuple[list[str], list[int]]:
        if not isinstance(text, str):
            raise TypeError(f"text encoders take strings, not {type(text).__name__}")
        toks = tokens(text, self.max_len)
        return toks, [self.index.get(t, UNK) for t in toks]

    def prepare(self, items: Sequence[str]):
        import torch

        ids = [self.token_ids(t)[1] or [UNK] for t in items]
        n, t = len(ids), max(len(x) for x in ids)
        batch = torch.full((n, t), PAD, dtype=torch.long)
        for i, x in enumerate(ids):
            batch[i, :len(x)] = torch.tensor(x)
        return batch, torch.tensor([len(x) for x in ids], dtype=torch.long)

    def _save_weights(self, folder: Path) -> None:
        super()._save_weights(folder)
        write_json_atomic(folder / VOCAB_FILE, self.vocab)

    def load_weights(self, folder: Path) -> None:
        vocab = json.loads((Path(folder) / VOCAB_FILE).read_text())
        if len(vocab) != self.config["vocab_size"]:
            raise ValueError(f"{folder}/{VOCAB_FILE} has {len(vocab)} words, the config says "
                             f"{self.config['vocab_size']}")
        self.vocab, self.index = vocab, {w: i for i, w in enumerate(vocab)}
        super().load_weights(folder)


class Word2VecMean(_TokenEncoder):
    """Mean of the Word2Vec vectors of a text's known tokens (the bag-of-words baseline)."""

    def build_module(self):
        import torch
        from torch import nn

        class MeanEmb(nn.Module):
            def __init__(self, v, d):
                super().__init__()
                self.emb = nn.Embedding(v, d, padding_idx=PAD)

            def forward(self, ids, lengths):
                mask = (ids > UNK).float().unsqueeze(-1)
                s = (self.emb(ids) * mask).sum(1)
                return s / mask.sum(1).clamp_min(1.0)

        with torch.random.fork_rng():
            torch.manual_seed(int(self.config.get("seed", 0)))
            return MeanEmb(self.config["vocab_size"], self.dim)


class TextRNN(_TokenEncoder):
    """LSTM / BiLSTM / BiGRU / BiLSTM+attention over Word2Vec-initialised embeddings.

    The vector is the final hidden state (both directions concatenated for the
    bidirectional ones) or, for ``bilstm-attn``, the attention-weighted sum of the outputs.
    """

    def build_module(self):
        import torch

        arch = self.config["arch"]
        if arch not in ARCHS:
            raise ValueError(f"unknown text arch {arch!r}; known: {ARCHS}")
        with torch.random.fork_rng():
            torch.manual_seed(int(self.config.get("seed", 0)))
            return RNNModule(self.config["vocab_size"], int(self.config.get("emb_dim", 100)),
                             int(self.config.get("hidden", 128)), arch)

    def attention(self, text: str) -> list[tuple[str, float]]:
        """(token, weight) per token of ``text`` (weights sum to 1); only bilstm-attn."""
        import torch

        if self.config["arch"] != "bilstm-attn":
            raise ValueError(f"{self.name} has no attention (arch {self.config['arch']}); "
                             "use a bilstm-attn encoder")
        toks, ids = self.token_ids(text)
        if not toks:
            return []
        self.module.eval()
        with torch.no_grad():
            _, w = self.module.pool(torch.tensor([ids]), torch.tensor([len(ids)]))
        return [(t, float(x)) for t, x in zip(toks, w[0, :len(toks)].tolist())]


def _rnn_module_class():
    from torch import nn
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    class _RNN(nn.Module):
        def __init__(self, vocab_size: int, emb_dim: int, hidden: int, arch: str):
            super().__init__()
            self.arch = arch
            self.emb = nn.Embedding(vocab_size, emb_dim, padding_idx=PAD)
            bidir = arch != "lstm"
            cls = nn.GRU if arch == "bigru" else nn.LSTM
            self.rnn = cls(emb_dim, hidden, batch_first=True, bidirectional=bidir)
            out = hidden * (2 if bidir else 1)
            self.out_dim = out
            if arch == "bilstm-attn":
                self.att = nn.Sequential(nn.Linear(out, 64), nn.Tanh(),
                                         nn.Linear(64, 1, bias=False))

        def pool(self, ids, lengths):
            """(vector [n, out], attention weights [n, T] or None)."""
            import torch

            packed = pack_padded_sequence(self.emb(ids), lengths.cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, h = self.rnn(packed)
            if self.arch != "bilstm-attn":
                h = h[0] if isinstance(h, tuple) else h        # LSTM: (h, c)
                return (torch.cat([h[-2], h[-1]], dim=1) if self.arch != "lstm"
                        else h[-1]), None
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
            scores = self.att(out).squeeze(-1)
            mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
            w = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
            return (w.unsqueeze(-1) * out).sum(1), w

        def forward(self, ids, lengths):
            return self.pool(ids, lengths)[0]

    return _RNN


def RNNModule(vocab_size: int, emb_dim: int, hidden: int, arch: str):  # noqa: N802
    """The recurrent module (built lazily so importing this file stays light)."""
    return _rnn_module_class()(vocab_size, emb_dim, hidden, arch)


def rnn_dim(arch: str, hidden: int) -> int:
    return hidden * (1 if arch == "lstm" else 2)
