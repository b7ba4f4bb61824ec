"""Reading the text on a cover photo: the encoders' OCR when present, else RapidOCR."""

from __future__ import annotations

import numpy as np

_ENGINE = None


def read_text(image) -> str:
    """The words read from ``image`` (RGB array or PIL image), in reading order."""
    try:
        from coverstory.encoders.ocr import read_text as encoders_read_text
    except ImportError:
        encoders_read_text = None
    if encoders_read_text is not None:
        if isinstance(image, np.ndarray):
            from PIL import Image

            image = Image.fromarray(image)
        return encoders_read_text(image)
    global _ENGINE
    if _ENGINE is None:
        from rapidocr_onnxruntime import RapidOCR

        _ENGINE = RapidOCR()
    arr = np.asarray(image.convert("RGB")) if hasattr(image, "convert") else np.asarray(image)
    result, _ = _ENGINE(arr[:, :, ::-1].copy())
    return " ".join(r[1] for r in (result or []))
