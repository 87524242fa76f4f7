"""A file's ISCC (ISO 24138): the units and the composite code, as identifiers that travel.

The ISCC is what other registries and tools exchange, so a work's evidence carries it as well as
the ledger's own perceptual hashes: Meta-Code (from the title), Content-Code (Image or Text),
Data-Code (content-defined chunks of the bytes) and Instance-Code (a checksum of the bytes).
"""

import io

import iscc_core

from ledger.evidence.media import Media
from ledger.evidence.methods import iscc_image_pixels, text_code


#: The Data-Code chunks and hashes the whole file in Python (about 1 s per 20 MiB): above this
#: size a file gets its Instance-Code only, and no composite.
MAX_DATA_CODE_BYTES = 32 * 1024 * 1024


def iscc_units(data: bytes, media: Media | None, title: str | None = None) -> dict[str, str]:
    """The units that apply to this file, and ``iscc`` (their composite) when a Content-Code
    and a Data-Code exist; a file no method reads still gets its Data- and Instance-Codes."""
    units: dict[str, str] = {}
    if title and title.strip():
        units["meta"] = iscc_core.gen_meta_code_v0(title.strip()[:128], bits=64)["iscc"]
    if media is not None and media.image is not None:
        units["content"] = iscc_core.gen_image_code_v0(iscc_image_pixels(media.image), bits=64)["iscc"]
    elif media is not None and media.text is not None:
        units["content"] = text_code(media.text)
    if len(data) <= MAX_DATA_CODE_BYTES:
        units["data"] = iscc_core.gen_data_code_v0(io.BytesIO(data), bits=64)["iscc"]
    units["instance"] = iscc_core.gen_instance_code_v0(io.BytesIO(data), bits=64)["iscc"]
    parts = [units[k] for k in ("meta", "content", "data", "instance") if k in units]
    if "content" in units and "data" in units:
        units["iscc"] = iscc_core.gen_iscc_code_v0(parts)["iscc"]
    return units
