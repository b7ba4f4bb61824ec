"""Spoken queries (optional extra): pocketsphinx with a language model from the catalog.

Install with ``pip install pocketsphinx==5.1.1``. The language model is a small
statistical one built from request phrases plus the catalog's titles, authors and genres.
"""

from __future__ import annotations


class VoiceUnavailable(RuntimeError):
    """pocketsphinx is not installed."""


def transcribe(audio: bytes, home, index) -> str:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError as e:
        raise VoiceUnavailable("voice input needs: pip install pocketsphinx==5.1.1") from e
    raise VoiceUnavailable("voice decoding is not implemented yet")
