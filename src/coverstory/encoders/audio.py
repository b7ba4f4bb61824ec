"""Audio: MFCC features and an MFCC + BiLSTM encoder for short clips (spoken queries,
audiobook samples).

MFCCs come from ``python_speech_features`` (13 cepstra + deltas, 25 ms windows, 10 ms
hop, at 16 kHz), normalised per clip (cepstral mean and variance normalisation). Clips are
WAV bytes, WAV paths, or ``(samples, sample_rate)`` tuples.

>>> enc = get_encoder("mfcc-bilstm.spoken-genre-1a2b3c4d", home)   # doctest: +SKIP
>>> enc.encode(["query.wav"]).shape                                # doctest: +SKIP
(1, 128)
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from coverstory.encoders.base import TorchEncoder

SAMPLE_RATE = 16_000
N_MFCC = 13


def load_audio(item: Any) -> tuple[np.ndarray, int]:
    """(mono float32 samples in [-1, 1], sample rate) from WAV bytes, a path or a tuple."""
    from scipy.io import wavfile

    if isinstance(item, tuple) and len(item) == 2:
        samples, sr = item
        samples = np.asarray(samples)
    elif isinstance(item, (bytes, bytearray, memoryview)):
        sr, samples = wavfile.read(io.BytesIO(bytes(item)))
    elif isinstance(item, (str, os.PathLike)):
        if not Path(item).exists():
            raise FileNotFoundError(f"audio file not found: {item}")
        sr, samples = wavfile.read(str(item))
    else:
        raise TypeError(f"an audio item is WAV bytes, a WAV path or (samples, rate), "
                        f"not {type(item).__name__}")
    if samples.dtype.kind == "i":
        samples = samples.astype(np.float32) / np.iinfo(samples.dtype).max
    samples = samples.astype(np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return samples, int(sr)


def resample(samples: np.ndarray, sr: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Linear-interpolation resampling (enough for 13 MFCCs under 8 kHz; polyphase filtering
    with scipy was ~100x slower per clip)."""
    if sr == target:
        return samples
    n = int(round(len(samples) * target / sr))
    t = np.arange(n) * (sr / target)
    return np.interp(t, np.arange(len(samples)), samples).astype(np.float32)


def mfcc_features(item: Any, *, deltas: bool = True) -> np.ndarray:
    """float32 [frames, 26] (13 MFCC + 13 deltas), mean/variance normalised per clip."""
    from python_speech_features import delta, mfcc

    samples, sr = load_audio(item)
    samples = resample(samples, sr)
    if len(samples) < SAMPLE_RATE // 20:  # under 50 ms: pad so there are a few frames
        samples = np.pad(samples, (0, SAMPLE_RATE // 20 - len(samples)))
    feats = mfcc(samples, samplerate=SAMPLE_RATE, numcep=N_MFCC, nfft=512,
                 winfunc=np.hamming)
    if deltas:
        feats = np.hstack([feats, delta(feats, 2)])
    feats = (feats - feats.mean(0)) / (feats.std(0) + 1e-5)
    return feats.astype(np.float32)


class MFCCLSTM(TorchEncoder):
    """MFCC frames -> BiLSTM -> final states of both directions -> linear -> ``dim``."""

    def build_module(self):
        import torch
        from torch import nn
        from torch.nn.utils.rnn import pack_padded_sequence

        hidden = int(self.config.get("hidden", 64))
        dim = self.dim

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.rnn = nn.LSTM(2 * N_MFCC, hidden, batch_first=True, bidirectional=True)
                self.out = nn.Linear(2 * hidden, dim)

            def forward(self, x, lengths):
                packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                              enforce_sorted=False)
                _, (h, _) = self.rnn(packed)
                return self.out(torch.cat([h[-2], h[-1]], dim=1))

        with torch.random.fork_rng():
            torch.manual_seed(int(self.config.get("seed", 0)))
            return Net()

    def prepare(self, items: Sequence[Any]):
        import torch

        feats = [mfcc_features(i) for i in items]
        t = max(len(f) for f in feats)
        x = torch.zeros(len(feats), t, 2 * N_MFCC)
        for i, f in enumerate(feats):
            x[i, :len(f)] = torch.from_numpy(f)
        return x, torch.tensor([len(f) for f in feats], dtype=torch.long)


# ---- test and training clips --------------------------------------------------------------
def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> bytes:
    """WAV bytes of ``text`` spoken by espeak-ng (``apt-get install espeak-ng``)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise FileNotFoundError("espeak-ng is not installed: `apt-get install -y espeak-ng`")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # --stdout leaves the WAV length unset
        path = Path(tmp) / "clip.wav"
        subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(path),
                        text], check=True, capture_output=True, timeout=30)
        return path.read_bytes()
