"""Spoken queries (optional extra): pocketsphinx with a language model built from the catalog.

``pip install pocketsphinx==5.1.1`` (it ships the US English acoustic model and CMU
dictionary). The language model is a bigram ARPA model, written here with absolute
discounting, over request phrases (the intent templates filled with catalog values) and
the catalog's most-read titles, authors and genres; words without a pronunciation in the
CMU dictionary are left out. It is built once per catalog state under
``<home>/dialogue/voice/`` and reused.
"""

from __future__ import annotations

import io
import math
import random
import re
import threading
import wave
from collections import Counter
from pathlib import Path

import numpy as np

from coverstory.errors import BadInput

_WORD = re.compile(r"[a-z']+")
_LOCK = threading.Lock()
_DECODERS: dict[str, object] = {}
LM_VERSION = 2          # bump when corpus() or write_arpa() change


class VoiceUnavailable(RuntimeError):
    """pocketsphinx is not installed."""


def _pocketsphinx():
    try:
        import pocketsphinx
    except ImportError as e:
        raise VoiceUnavailable("voice input needs the optional extra: "
                               "pip install pocketsphinx==5.1.1") from e
    return pocketsphinx


def corpus(index, n_titles: int = 500, seed: int = 0) -> list[str]:
    """Sentences a reader might say to coverstory, from templates and the catalog."""
    from coverstory.dialogue import utterances
    from coverstory.dialogue.lexicon import FACETS

    rng = random.Random(seed)
    order = np.argsort(-index.popularity)[:n_titles]
    titles = [re.sub(r"\s*\(.*?\)", "", index.titles[i]).split(":")[0] for i in order]
    authors = sorted({a for i in order[:1500] for a in index.authors[i][:1]}) or ["unknown"]
    genres = [p for f in FACETS.values() for v in f.values for p in (v.name, *v.say)]
    themes = [t.replace("-", " ") for t in index.tag_names] or genres
    fill = {"genre": genres, "mood": [p for v in FACETS["mood"].values for p in v.say],
            "theme": themes, "title": titles, "author": authors,
            "audience": utterances.AUDIENCES, "era": utterances.ERAS,
            "length": utterances.LENGTHS, "ref": utterances.REFS, "plot": utterances.PLOTS,
            **utterances.CMP}
    out = []
    for templates in utterances.TEMPLATES.values():
        for t in templates:
            for _ in range(8 if "{" in t else 1):
                text = t
                while "{" in text:
                    a = text.index("{")
                    b = text.index("}", a)
                    text = text[:a] + rng.choice(fill[text[a + 1:b]]) + text[b + 1:]
                out.append(text)
    out += titles + [f"something like {t}" for t in titles]
    out += [f"books by {a}" for a in authors] + genres + themes
    return [s.lower() for s in out]


def write_arpa(sentences: list[str], vocab: set[str], path: Path, discount: float = 0.5) -> int:
    """A bigram ARPA model (absolute discounting with back-off); returns the vocabulary size."""
    uni, bi = Counter(), Counter()
    for s in sentences:
        words = ["<s>"] + [w for w in _WORD.findall(s) if w in vocab] + ["</s>"]
        if len(words) <= 2:
            continue
        uni.update(words)
        bi.update(zip(words, words[1:]))
    total = sum(c for w, c in uni.items() if w != "<s>")
    p_uni = {w: (c / total if w != "<s>" else 0.0) for w, c in uni.items()}
    follow: dict[str, list[tuple[str, int]]] = {}
    for (a, b), c in bi.items():
        follow.setdefault(a, []).append((b, c))
    ctx = Counter()
    for (a, _), c in bi.items():
        ctx[a] += c
    backoff, p_bi = {}, {}
    for a, nxt in follow.items():
        ca = ctx[a]
        mass = discount * len(nxt) / ca
        seen = sum(p_uni[b] for b, _ in nxt)
        backoff[a] = mass / max(1e-9, 1.0 - seen)
        for b, c in nxt:
            p_bi[(a, b)] = (c - discount) / ca + mass * p_uni[b]
    lg = lambda p: math.log10(p) if p > 0 else -99.0  # noqa: E731
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"\\data\\\nngram 1={len(uni)}\nngram 2={len(p_bi)}\n\n\\1-grams:\n")
        for w in sorted(uni):
            bo = backoff.get(w)
            f.write(f"{lg(p_uni[w]):.4f}\t{w}" + (f"\t{lg(bo):.4f}" if bo else "") + "\n")
        f.write("\n\\2-grams:\n")
        for (a, b), p in sorted(p_bi.items()):
            f.write(f"{lg(p):.4f}\t{a} {b}\n")
        f.write("\n\\end\\\n")
    return len(uni)


def _dict_words(dict_path: Path) -> set[str]:
    words = set()
    with open(dict_path, encoding="utf-8", errors="ignore") as f:
        for line in f:
            w = line.split(" ", 1)[0]
            if "(" not in w:
                words.add(w)
    return words


def decoder_for(home, index):
    """A pocketsphinx Decoder with the catalog's language model (built once, then cached)."""
    ps = _pocketsphinx()
    from coverstory.dialogue.bookindex import _key
    from coverstory.catalog import Catalog

    model = Path(ps.get_model_path())
    hmm, dic = model / "en-us" / "en-us", model / "en-us" / "cmudict-en-us.dict"
    folder = Path(home) / "dialogue" / "voice"
    key = _key(Catalog.open(home)) + f"|lm{LM_VERSION}"
    with _LOCK:
        if key in _DECODERS:
            return _DECODERS[key]
        lm = folder / "catalog.lm"
        stamp = folder / "key.txt"
        if not lm.is_file() or not stamp.is_file() or stamp.read_text() != key:
            folder.mkdir(parents=True, exist_ok=True)
            write_arpa(corpus(index), _dict_words(dic), lm)
            stamp.write_text(key)
        config = ps.Config(hmm=str(hmm), lm=str(lm), dict=str(dic), loglevel="FATAL")
        dec = ps.Decoder(config)
        _DECODERS.clear()
        _DECODERS[key] = dec
        return dec


def pcm16k(audio: bytes) -> bytes:
    """16 kHz mono 16-bit PCM from a WAV file's bytes (resampled when needed)."""
    try:
        with wave.open(io.BytesIO(audio)) as w:
            rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as e:
        raise BadInput(f"audio must be a WAV file (16-bit PCM): {e}") from e
    if width != 2:
        raise BadInput(f"audio must be 16-bit PCM WAV, not {8 * width}-bit")
    x = np.frombuffer(frames, dtype="<i2").astype(np.float32)
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1)
    if rate != 16000:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, 16000)
        x = resample_poly(x, 16000 // g, rate // g)
    return np.clip(x, -32768, 32767).astype("<i2").tobytes()


def transcribe(audio: bytes, home, index) -> str:
    """The words spoken in a WAV recording, as text."""
    dec = decoder_for(home, index)
    pcm = pcm16k(audio)
    with _LOCK:
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        hyp = dec.hyp()
    return hyp.hypstr if hyp is not None else ""
