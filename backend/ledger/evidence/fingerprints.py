"""All of a file's fingerprints at once: what the ledger stores for a registered work or output.

A file is decoded once; every method for its kind of media (picture or text) gives the codes it
is indexed under and the codes it is queried with, and the ISCC units name it the way other
registries do. A file no method reads (audio, video, an archive) still gets its ISCC Data- and
Instance-Codes, and no perceptual codes: it can only match by its exact hash.
"""

from dataclasses import dataclass, field

from ledger.evidence.iscc import iscc_units
from ledger.evidence.media import Media, decode
from ledger.evidence.methods import DEFAULT, Methods


@dataclass(frozen=True)
class FileFingerprints:
    media: str | None  # "image", "text", or None (no method reads it)
    width: int = 0
    height: int = 0
    iscc: dict[str, str] = field(default_factory=dict)
    #: name@version -> codes the file is indexed under (first: the whole file)
    indexed: dict[str, list[bytes]] = field(default_factory=dict)
    #: name@version -> codes a search for this file uses
    queries: dict[str, list[bytes]] = field(default_factory=dict)


def fingerprint(data: bytes, methods: Methods = DEFAULT, title: str | None = None, max_pixels: int = 64_000_000) -> FileFingerprints:
    """Raises ``media.Undecodable`` for a broken or oversized picture."""
    media: Media | None = decode(data, max_pixels)
    units = iscc_units(data, media, title)
    if media is None:
        return FileFingerprints(None, iscc=units)
    indexed, queries = {}, {}
    for m in methods.for_media(media.kind):
        label = methods.keys[m.name]
        indexed[label] = m.index_codes(media)
        queries[label] = m.query_codes(media)
    return FileFingerprints(media.kind, media.width, media.height, units, indexed, queries)
