"""MFCC features and the MFCC + BiLSTM audio encoder, on clips made with espeak-ng."""

from __future__ import annotations

import numpy as np
import pytest

from tests.encoders.mixin import EncoderTestMixin

espeak = pytest.mark.skipif(
    __import__("shutil").which("espeak-ng") is None,
    reason="espeak-ng is not installed (apt-get install -y espeak-ng) - it makes the test clips")

WORDS = ["fantasy", "mystery", "romance", "science fiction", "poetry"]


def clips(n: int) -> list[bytes]:
    from coverstory.encoders.audio import speak

    return [speak(WORDS[i % len(WORDS)], voice="en-us", speed=170 + 10 * i) for i in range(n)]


def test_mfcc_of_a_tone_and_of_silence():
    from coverstory.encoders.audio import mfcc_features

    t = np.arange(8000) / 8000.0
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    f = mfcc_features((tone, 8000))               # resampled to 16 kHz: 1 s = ~99 frames
    assert f.shape[1] == 26 and 95 <= f.shape[0] <= 101 and f.dtype == np.float32
    np.testing.assert_allclose(f.mean(0), 0, atol=1e-4)   # normalised per clip
    assert mfcc_features((np.zeros(100, np.float32), 16000)).shape[0] >= 3  # padded


def test_bad_audio_item():
    from coverstory.encoders.audio import load_audio

    with pytest.raises(TypeError, match="WAV bytes"):
        load_audio(3.5)
    with pytest.raises(FileNotFoundError):
        load_audio("/nonexistent.wav")


@espeak
class TestMFCCBiLSTM(EncoderTestMixin):
    modality = "audio"

    def make_encoder(self):
        from coverstory.encoders.registry import get_encoder

        return get_encoder("mfcc-bilstm.random")

    def make_items(self, n):
        return clips(n)

    def test_wav_bytes_path_and_array_agree(self, encoder, tmp_path):
        from coverstory.encoders.audio import load_audio

        wav = clips(1)[0]
        (tmp_path / "a.wav").write_bytes(wav)
        a = encoder.encode([wav, str(tmp_path / "a.wav"), load_audio(wav)])
        np.testing.assert_allclose(a[0], a[1], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(a[0], a[2], rtol=1e-5, atol=1e-6)


@espeak
def test_espeak_clip_is_speech_length():
    from coverstory.encoders.audio import load_audio

    s, sr = load_audio(clips(1)[0])
    assert sr > 8000 and 0.3 < len(s) / sr < 3 and np.abs(s).max() > 0.05
