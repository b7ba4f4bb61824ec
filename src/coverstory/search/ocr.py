"""Reading the text on a cover photo (RapidOCR, through the encoders' OCR)."""

from __future__ import annotations

import numpy as np


def read_text(image) -> str:
    """The words read from ``image`` (RGB array or PIL image), in reading order."""
    from PIL import Image

    from coverstory.encoders.ocr import read_text as encoders_read_text

    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    return encoders_read_text(image)
