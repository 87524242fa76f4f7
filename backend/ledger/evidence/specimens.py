"""Images the calibration makes for itself, and the transformed copies that must still match them.

Calibration has to run anywhere, offline and the same way every time, so its data is generated
from seeds: an image is a gradient with a dozen random shapes (distinct seeds give distinct
images), and each transformation takes its parameters from a seeded generator. The same seeds
give byte-identical files on any machine with the same Pillow, which is what lets a test
reproduce the documented precision/recall table exactly.
"""

import io
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

SIZES = ((320, 240), (256, 256), (240, 320), (400, 300))


def image(seed: int) -> Image.Image:
    """A distinct synthetic picture: a two-colour gradient with 6-14 random shapes."""
    r = random.Random(seed)
    w, h = r.choice(SIZES)
    c1 = np.array([r.randrange(256) for _ in range(3)], dtype=float)
    c2 = np.array([r.randrange(256) for _ in range(3)], dtype=float)
    ramp = np.linspace(0, 1, w)[None, :, None] if r.random() < 0.5 else np.linspace(0, 1, h)[:, None, None]
    base = (c1 * (1 - ramp) + c2 * ramp) * np.ones((h, w, 1))
    img = Image.fromarray(base.astype("uint8"), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(r.randint(6, 14)):
        colour = tuple(r.randrange(256) for _ in range(3))
        x0, y0 = r.randrange(w), r.randrange(h)
        x1, y1 = x0 + r.randint(20, w // 2), y0 + r.randint(20, h // 2)
        kind = r.random()
        if kind < 0.35:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        elif kind < 0.7:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        elif kind < 0.9:
            draw.polygon([(r.randrange(w), r.randrange(h)) for _ in range(r.randint(3, 6))], fill=colour)
        else:
            draw.line([(r.randrange(w), r.randrange(h)) for _ in range(4)], fill=colour, width=r.randint(3, 12))
    return img


def _crop(img: Image.Image, keep: float, r: random.Random) -> Image.Image:
    w, h = img.size
    nw, nh = int(w * keep), int(h * keep)
    x, y = r.randint(0, w - nw), r.randint(0, h - nh)
    return img.crop((x, y, x + nw, y + nh))


def crop(img: Image.Image, r: random.Random) -> Image.Image:
    """Removes 10-30 % of the picture's area, at a random position (each side keeps sqrt(1 - c))."""
    return _crop(img, math.sqrt(1 - r.uniform(0.10, 0.30)), r)


def crop_sides(img: Image.Image, r: random.Random) -> Image.Image:
    """The harsher reading of "crop 10-30 %": 10-30 % off each side's length (up to 51 % of the area)."""
    return _crop(img, 1 - r.uniform(0.10, 0.30), r)


def resize(img: Image.Image, r: random.Random) -> Image.Image:
    s = r.uniform(0.3, 1.6)
    return img.resize((max(16, int(img.width * s)), max(16, int(img.height * s))), Image.Resampling.LANCZOS)


def jpeg(img: Image.Image, r: random.Random) -> Image.Image:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=r.randint(50, 90))
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def colour(img: Image.Image, r: random.Random) -> Image.Image:
    """Saturation 0.5-1.5, brightness 0.8-1.2, and each channel shifted by up to 30 levels."""
    img = ImageEnhance.Color(img).enhance(r.uniform(0.5, 1.5))
    img = ImageEnhance.Brightness(img).enhance(r.uniform(0.8, 1.2))
    shifted = np.asarray(img).astype(int) + np.array([r.randint(-30, 30) for _ in range(3)])
    return Image.fromarray(np.clip(shifted, 0, 255).astype("uint8"))


def flip(img: Image.Image, r: random.Random) -> Image.Image:
    return ImageOps.mirror(img)


def text(img: Image.Image, r: random.Random) -> Image.Image:
    """A caption or watermark drawn over the picture (14-28 px, outlined)."""
    img = img.copy()
    font = ImageFont.load_default(size=r.randint(14, 28))
    caption = r.choice(["SAMPLE", "© studio 2026", "preview", "watermark", "ep. 12 key frame"])
    xy = (r.randrange(max(1, img.width // 2)), r.randrange(max(1, img.height - 30)))
    ImageDraw.Draw(img).text(xy, caption, fill=(255, 255, 255), font=font, stroke_width=2, stroke_fill=(0, 0, 0))
    return img


Transform = Callable[[Image.Image, random.Random], Image.Image]


def _then(*steps: Transform) -> Transform:
    def run(img: Image.Image, r: random.Random) -> Image.Image:
        for step in steps:
            img = step(img, r)
        return img

    return run


#: The ten copies made of every original: each transformation the issue names, and three mixes.
COPIES: dict[str, Transform] = {
    "resize": resize,
    "crop": crop,
    "crop+jpeg": _then(crop, jpeg),
    "jpeg": jpeg,
    "colour": colour,
    "flip": flip,
    "text": text,
    "resize+text": _then(resize, text),
    "flip+colour": _then(flip, colour),
    "crop+flip": _then(crop, flip),
}
#: Reported beside the table, not used to choose thresholds: shows where the methods stop working.
HARSH: dict[str, Transform] = {"crop_sides": crop_sides}


@dataclass(frozen=True)
class Specimen:
    """One file of the calibration set: an original (``transform`` None), a copy of original
    ``original``, or a distinct picture that must match nothing (``original`` None)."""

    name: str
    original: int | None
    transform: str | None
    data: bytes


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=False)
    return buf.getvalue()


def originals(count: int, seed: int = 0) -> Iterator[Specimen]:
    for i in range(count):
        yield Specimen(f"original-{i:04d}.png", i, None, png(image(seed * 1_000_003 + i)))


def copies(count: int, seed: int = 0, transforms: dict[str, Transform] = COPIES) -> Iterator[Specimen]:
    """``len(transforms)`` copies of each of the first ``count`` originals, each with its own
    generator seeded by (seed, original, transform) so any subset is reproducible alone."""
    for i in range(count):
        source = image(seed * 1_000_003 + i)
        for k, (name, transform) in enumerate(sorted(transforms.items())):
            r = random.Random(f"{seed}:{i}:{name}")
            yield Specimen(f"copy-{i:04d}-{k:02d}-{name}.png", i, name, png(transform(source, r)))


def distinct(count: int, seed: int = 0) -> Iterator[Specimen]:
    """Pictures that are no copy of any original (seeds far from the originals')."""
    for i in range(count):
        yield Specimen(f"distinct-{i:04d}.png", None, None, png(image(seed * 1_000_003 + 500_000 + i)))


# ---------------------------------------------------------------------------------------------
# Texts: synopses, scripts and captions are works too. A text is sentences drawn from a seeded
# vocabulary; its copies are edited the way texts are copied (reflowed, recased, words changed,
# shortened, sentences reordered, a line added).
# ---------------------------------------------------------------------------------------------

_WORDS = (
    "the a of in on at with from under over her his their our storm night city river light shadow sword dream "
    "memory train station school festival summer winter rain snow sky sea mountain forest garden temple street "
    "window door letter song voice silence promise secret friend rival teacher captain pilot robot spirit cat "
    "runs falls waits remembers forgets finds loses carries opens closes sings fights dreams returns leaves "
    "quietly suddenly slowly again alone together never always bright broken distant ancient hidden gentle"
).split()


def text(seed: int) -> str:
    r = random.Random(f"text:{seed}")
    sentences = []
    for _ in range(r.randint(12, 24)):
        words = [r.choice(_WORDS) for _ in range(r.randint(6, 16))]
        sentences.append(" ".join(words).capitalize() + ".")
    return " ".join(sentences)


def reflow(t: str, r: random.Random) -> str:
    """Line breaks and spacing changed, words intact."""
    words = t.split()
    out, line = [], []
    for w in words:
        line.append(w)
        if len(line) >= r.randint(5, 12):
            out.append(" ".join(line))
            line = []
    return "\n".join(out + [" ".join(line)]) + "\n"


def recase(t: str, r: random.Random) -> str:
    return t.upper() if r.random() < 0.5 else t.lower()


def reword(t: str, r: random.Random) -> str:
    """5-10 % of the words replaced."""
    words = t.split()
    share = r.uniform(0.05, 0.10)
    return " ".join(r.choice(_WORDS) if r.random() < share else w for w in words)


def shorten(t: str, r: random.Random) -> str:
    """The last 10-30 % cut off."""
    words = t.split()
    return " ".join(words[: max(1, int(len(words) * (1 - r.uniform(0.10, 0.30))))])


def reorder(t: str, r: random.Random) -> str:
    """Two sentences swapped."""
    sentences = t.split(". ")
    i, j = r.randrange(len(sentences)), r.randrange(len(sentences))
    sentences[i], sentences[j] = sentences[j], sentences[i]
    return ". ".join(sentences)


def preface(t: str, r: random.Random) -> str:
    return r.choice(["Draft 2 (translated).", "From the series bible:", "Synopsis, episode 12."]) + "\n\n" + t


TextTransform = Callable[[str, random.Random], str]
TEXT_COPIES: dict[str, TextTransform] = {
    "reflow": reflow, "recase": recase, "reword": reword, "shorten": shorten, "reorder": reorder, "preface": preface,
}  # fmt: skip


def text_originals(count: int, seed: int = 0) -> Iterator[Specimen]:
    for i in range(count):
        yield Specimen(f"text-{i:04d}.txt", i, None, text(seed * 1_000_003 + i).encode())


def text_copies(count: int, seed: int = 0) -> Iterator[Specimen]:
    for i in range(count):
        source = text(seed * 1_000_003 + i)
        for k, (name, transform) in enumerate(sorted(TEXT_COPIES.items())):
            r = random.Random(f"{seed}:{i}:{name}")
            yield Specimen(f"text-copy-{i:04d}-{k:02d}-{name}.txt", i, name, transform(source, r).encode())


def text_distinct(count: int, seed: int = 0) -> Iterator[Specimen]:
    for i in range(count):
        yield Specimen(f"text-distinct-{i:04d}.txt", None, None, text(seed * 1_000_003 + 500_000 + i).encode())
