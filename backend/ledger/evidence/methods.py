"""Similarity methods behind one interface, each named and versioned.

A method turns a decoded file into binary codes and compares codes by Hamming distance. Evidence
names the method and version that produced it, so a verdict can be recomputed later with the
same files; a new version of a method is a new name in the index, never a silent change.

Two kinds of codes: the codes a registered file is *indexed* under, and the codes a file is
*queried* with. For ``phash`` a registered picture is indexed under its whole frame and 48
windows (4 scales x a 4x4 grid), so a crop of it still lands near one of them; a query is the
whole picture and its mirror image, so a flipped copy matches too. The other methods index the
whole picture only: they are reported as corroboration, and the calibration table shows where
each one stops working.

A semantic image embedding plugs in behind the same interface where its weights are on disk
(``evidence.embedding``: an ONNX model named in settings, its vectors as 64-bit SimHash codes);
none ships here, because no weights can be downloaded at run time.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Literal, Protocol

import imagehash
import iscc_core
import numpy as np
from PIL import Image, ImageOps

from ledger.evidence.media import Media

CODE_BYTES = 8  # every method here makes 64-bit codes
WINDOW_SCALES = (0.9, 0.8, 0.7)
WINDOW_GRID = 4


class SimilarityMethod(Protocol):
    """What the index, the reliance check and the calibration need of a method."""

    name: str
    version: int
    media: Literal["image", "text"]
    bits: int

    def index_codes(self, media: Media) -> list[bytes]: ...

    def query_codes(self, media: Media) -> list[bytes]: ...


def windows(img: Image.Image) -> list[Image.Image]:
    """The whole picture, then WINDOW_GRID x WINDOW_GRID windows at each of WINDOW_SCALES."""
    out = [img]
    w, h = img.size
    for scale in WINDOW_SCALES:
        nw, nh = max(8, int(w * scale)), max(8, int(h * scale))
        for i in range(WINDOW_GRID):
            for j in range(WINDOW_GRID):
                x, y = (w - nw) * i // (WINDOW_GRID - 1), (h - nh) * j // (WINDOW_GRID - 1)
                out.append(img.crop((x, y, x + nw, y + nh)))
    return out


def _bits(h: imagehash.ImageHash, bits: int) -> bytes:
    flat = np.asarray(h.hash, dtype=bool).flatten()[:bits]
    padded = np.zeros(bits, dtype=bool)
    padded[: flat.size] = flat
    return np.packbits(padded).tobytes()


@dataclass(frozen=True)
class PictureMethod:
    """A 64-bit picture code as a method; ``windowed`` indexes crops of the picture too."""

    name: str
    version: int
    code: Callable[[Image.Image], bytes]
    windowed: bool = False
    media: Literal["image", "text"] = "image"
    bits: int = 64

    def index_codes(self, media: Media) -> list[bytes]:
        assert media.image is not None
        frames = windows(media.image) if self.windowed else [media.image]
        return [self.code(f) for f in frames]

    def query_codes(self, media: Media) -> list[bytes]:
        assert media.image is not None
        return [self.code(media.image), self.code(ImageOps.mirror(media.image))]


def iscc_image_pixels(img: Image.Image) -> list[int]:
    """ISCC's image normalisation: greyscale, 32x32, bicubic (transparency already white)."""
    small = ImageOps.grayscale(img).resize((32, 32), Image.Resampling.BICUBIC)
    return [int(v) for v in np.asarray(small).flatten()]


def iscc_body(code: str) -> bytes:
    """The 64-bit body of a single ISCC unit such as ``ISCC:EEA...``."""
    raw = iscc_core.decode_base32(code.removeprefix("ISCC:"))
    return raw[2:10]


def _imagehash(fn: Callable[[Image.Image], imagehash.ImageHash]) -> Callable[[Image.Image], bytes]:
    return lambda img: _bits(fn(img), 64)


def _iscc_image(img: Image.Image) -> bytes:
    """ISO 24138 Image-Code: a DCT hash of the 32x32 greyscale picture."""
    return iscc_body(iscc_core.gen_image_code_v0(iscc_image_pixels(img), bits=64)["iscc"])


@lru_cache(maxsize=8)
def text_code(text: str) -> str:
    """The ISCC Text-Code of a text, kept for the few texts in hand: the method and the ISCC
    units of the same file both need it, and it is the slowest code to compute."""
    return str(iscc_core.gen_text_code_v0(text, bits=64)["iscc"])


@dataclass(frozen=True)
class IsccTextMethod:
    """ISO 24138 Text-Code: a MinHash of the normalised text's character n-grams."""

    name: str = "iscc-text"
    version: int = 1
    media: Literal["image", "text"] = "text"
    bits: int = 64

    def index_codes(self, media: Media) -> list[bytes]:
        assert media.text is not None
        return [iscc_body(text_code(media.text))]

    def query_codes(self, media: Media) -> list[bytes]:
        return self.index_codes(media)


def _colorhash(img: Image.Image) -> imagehash.ImageHash:
    return imagehash.colorhash(img, binbits=4)  # 14 bins x 4 bits = 56 bits, padded to 64


class Methods:
    """The methods this ledger runs, by name; ``decisive`` is the one whose calibrated threshold
    decides a match for each kind of media (the others corroborate)."""

    def __init__(self, methods: list[SimilarityMethod], decisive: dict[str, str]) -> None:
        self.by_name = {m.name: m for m in methods}
        self.decisive = decisive

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.by_name.values())

    def for_media(self, kind: str) -> list[SimilarityMethod]:
        return [m for m in self.by_name.values() if m.media == kind]

    def with_methods(self, extra: list[SimilarityMethod]) -> "Methods":
        """These methods and ``extra`` (which corroborate: the decisive methods stay)."""
        return Methods([*self.by_name.values(), *extra], self.decisive)

    @cached_property
    def keys(self) -> dict[str, str]:
        """``name`` -> ``name@version``: the label stored with every code and index file."""
        return {m.name: f"{m.name}@{m.version}" for m in self.by_name.values()}


DEFAULT = Methods(
    [
        PictureMethod("phash", 1, _imagehash(imagehash.phash), windowed=True),
        PictureMethod("dhash", 1, _imagehash(imagehash.dhash)),
        PictureMethod("whash", 1, _imagehash(imagehash.whash)),
        PictureMethod("colorhash", 1, _imagehash(_colorhash)),
        PictureMethod("iscc-image", 1, _iscc_image),
        IsccTextMethod(),
    ],
    decisive={"image": "phash", "text": "iscc-text"},
)


def hamming(a: bytes, b: bytes) -> int:
    return int.from_bytes(a, "big").__xor__(int.from_bytes(b, "big")).bit_count()
