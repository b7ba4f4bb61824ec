"""Uploads, checked before anything else sees them.

* multipart bodies are parsed in memory (never spooled to a temp file, so nothing is
  written outside the data home; the body size limit bounds the memory);
* the file type is sniffed from its first bytes, not taken from the name or header;
* images larger than ``max_image_pixels`` are refused before they are decoded
  (decompression bombs); EXIF orientation is applied; the result is RGB;
* big photos are decoded small: JPEGs at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling,
  PIL ``draft``) and every image shrunk to ``max_side`` on its long side, so a 36-megapixel
  photo costs a few MB, not hundreds. The routes decode under the photo slots.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from coverstory.serve.errors import ApiError

IMAGE_FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
                 "gif": "image/gif", "bmp": "image/bmp"}


def sniff_image(data: bytes) -> str | None:
    """The image format named by the first bytes ("jpeg", "png", ...), or None."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc", b"ftypavif"):
        return "heic"
    return None


def sniff_audio(data: bytes) -> str | None:
    head = data[:16]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "webm"
    if head[:3] == b"ID3" or head[:2] in (b"\xff\xfb", b"\xff\xf3"):
        return "mp3"
    return None


@dataclass
class CheckedImage:
    image: "object"      # PIL.Image.Image, RGB, upright
    format: str          # sniffed: jpeg, png, webp, gif, bmp
    size: tuple[int, int]

    def jpeg_bytes(self, quality: int = 92) -> bytes:
        buf = io.BytesIO()
        self.image.save(buf, "JPEG", quality=quality)
        return buf.getvalue()


def check_image(data: bytes, *, max_bytes: int, max_pixels: int,
                max_side: int | None = None) -> CheckedImage:
    """Validate an uploaded image; raises ApiError (4xx) with what to fix. With
    ``max_side``, the image comes back at most that long on its long side."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise ApiError(400, "the uploaded file is empty; attach a photo (JPEG, PNG or WebP)")
    if len(data) > max_bytes:
        raise ApiError(413, f"photo too large ({len(data) / 1e6:.1f} MB); the limit is "
                            f"{max_bytes // (1024 * 1024)} MB")
    fmt = sniff_image(data)
    if fmt == "heic":
        raise ApiError(415, "HEIC/AVIF photos are not supported; send JPEG or PNG (on an "
                            "iPhone: Settings > Camera > Formats > Most Compatible)")
    if fmt is None:
        raise ApiError(415, "the upload is not an image this service reads; send a JPEG, PNG, "
                            "WebP, GIF or BMP file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels or w <= 0 or h <= 0:
                raise ApiError(413, f"image of {w}x{h} pixels is too large to decode safely; "
                                    f"the limit is {max_pixels // 1_000_000} megapixels")
            if (img.format or "").lower() not in (fmt, "mpo" if fmt == "jpeg" else fmt):
                raise ApiError(415, f"the file's bytes say {fmt} but it does not decode as "
                                    f"{fmt}; send an unmodified photo")
            if max_side and fmt == "jpeg" and max(w, h) > max_side:
                img.draft("RGB", _fit((w, h), max_side))   # decode at 1/2, 1/4 or 1/8 scale
            img.load()
            if max_side and max(img.size) > max_side:
                img.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
            img = ImageOps.exif_transpose(img)
            img = img.convert("RGB")
    except ApiError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(413, f"image is too large to decode safely; the limit is "
                            f"{max_pixels // 1_000_000} megapixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
        raise ApiError(400, f"the {fmt} image could not be decoded ({type(e).__name__}); "
                            "it may be truncated or corrupt, send the photo again") from None
    return CheckedImage(image=img, format=fmt, size=img.size)


def _fit(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    w, h = size
    scale = max_side / max(w, h)
    return max(1, int(w * scale)), max(1, int(h * scale))


class _InMemoryParser(MultiPartParser):
    spool_max_size = 64 * 1024 * 1024  # never roll over to a temp file (body size is capped)


async def read_form(request: Request, *, max_fields: int = 10,
                    max_field_bytes: int = 64 * 1024) -> FormData:
    """Parse a multipart/form-data body in memory; 4xx with a clear message on bad input."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("multipart/form-data"):
        raise ApiError(415, "send the upload as multipart/form-data with the file in the "
                            "'file' field")
    try:
        parser = _InMemoryParser(request.headers, request.stream(), max_files=1,
                                 max_fields=max_fields, max_part_size=max_field_bytes)
        return await parser.parse()
    except MultiPartException as e:
        raise ApiError(400, f"malformed multipart body: {e}") from None
    except KeyError:
        raise ApiError(400, "malformed multipart body: missing boundary") from None


async def form_file(form: FormData, name: str = "file") -> bytes:
    item = form.get(name)
    if not isinstance(item, UploadFile):
        raise ApiError(422, f"invalid request: {name}: is required (a file in the "
                            f"multipart field '{name}')")
    return await item.read()


def form_text(form: FormData, name: str, *, max_chars: int, required: bool = False) -> str | None:
    item = form.get(name)
    if item is None or (isinstance(item, str) and not item.strip()):
        if required:
            raise ApiError(422, f"invalid request: {name}: is required")
        return None
    if not isinstance(item, str):
        raise ApiError(422, f"invalid request: {name}: must be a text field, not a file")
    if len(item) > max_chars:
        raise ApiError(422, f"invalid request: {name}: at most {max_chars} characters")
    return item


def form_bool(form: FormData, name: str, default: bool = False) -> bool:
    """A yes/no form field: true/false, 1/0, yes/no, on/off (any case)."""
    item = form.get(name)
    if item is None or item == "":
        return default
    value = item.strip().lower() if isinstance(item, str) else None
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise ApiError(422, f"invalid request: {name}: must be true or false")


def form_int(form: FormData, name: str, default: int, lo: int, hi: int) -> int:
    item = form.get(name)
    if item is None or item == "":
        return default
    if not isinstance(item, str):
        raise ApiError(422, f"invalid request: {name}: must be an integer")
    try:
        value = int(item)
    except ValueError:
        raise ApiError(422, f"invalid request: {name}: must be an integer") from None
    if not lo <= value <= hi:
        raise ApiError(422, f"invalid request: {name}: must be between {lo} and {hi}")
    return value
