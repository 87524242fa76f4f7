"""Decoding a file into what similarity methods look at: a picture or a text, bounded.

Files come from anyone with a key, so decoding refuses what would cost too much before it
costs it: Pillow reads only the header to learn the size, a picture over ``max_pixels`` is not
decoded, and pictures are reduced to at most ``WORKING_SIDE`` pixels a side (every method here
looks at 32x32 or less) before any method runs.
"""

import io
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

#: Every perceptual method downsamples far below this; decoding larger only costs time.
WORKING_SIDE = 512
#: Texts are fingerprinted by their first 64 KiB (a synopsis, a script's opening scenes): the
#: ISCC Text-Code is pure Python, about 0.1 s per 50,000 characters, and a request must not hold
#: a worker for seconds.
MAX_TEXT_BYTES = 64 * 1024


class Undecodable(ValueError):
    """The file claims to be a picture but cannot be read, or is larger than the ledger decodes."""


@dataclass(frozen=True)
class Media:
    """A decoded file: ``image`` (RGB, at most WORKING_SIDE a side) or ``text``."""

    kind: Literal["image", "text"]
    image: Image.Image | None = None
    text: str | None = None
    width: int = 0  # of the original picture, before reduction
    height: int = 0


def _rgb(img: Image.Image) -> Image.Image:
    """Transparent parts become white (as the ISCC reference does), then RGB."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _image(data: bytes, max_pixels: int) -> Media | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Undecodable(f"the picture is larger than the ledger fingerprints at most ({max_pixels} pixels)") from None
    except Exception as exc:  # Pillow parses untrusted bytes; its plugins raise many types on malformed input
        raise Undecodable(f"not a readable picture: {type(exc).__name__}: {exc}") from None
    width, height = img.size
    if width * height > max_pixels:
        raise Undecodable(f"the picture has {width}x{height} pixels; the ledger fingerprints at most {max_pixels}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.draft("RGB", (WORKING_SIDE, WORKING_SIDE))  # JPEG: decode at a reduced scale
            img = ImageOps.exif_transpose(img)
            img.thumbnail((WORKING_SIDE, WORKING_SIDE), Image.Resampling.LANCZOS)
            img = _rgb(img)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise Undecodable(f"the picture is larger than the ledger fingerprints at most ({max_pixels} pixels)") from None
    except Exception as exc:  # as above: any failure to decode is the file's, answered 422
        raise Undecodable(f"not a readable picture: {type(exc).__name__}: {exc}") from None
    return Media("image", image=img, width=width, height=height)


def _text(data: bytes) -> Media | None:
    try:
        text = data[:MAX_TEXT_BYTES].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < MAX_TEXT_BYTES - 4:  # a character cut at the limit is fine
            return None
        text = data[: exc.start].decode("utf-8")
    controls = sum(1 for ch in text[:10_000] if ord(ch) < 32 and ch not in "\n\r\t")
    if not text.strip() or controls > len(text[:10_000]) // 100:
        return None
    return Media("text", text=text)


def decode(data: bytes, max_pixels: int = 64_000_000) -> Media | None:
    """The file as a picture or a text; None when it is neither (audio, video, archives: no
    method here reads them yet). Raises Undecodable for a broken or oversized picture."""
    return _image(data, max_pixels) or _text(data)
