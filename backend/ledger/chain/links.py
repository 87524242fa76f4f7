"""Attribution links as OutputRegistry packs them: one word, ``workId << 24 | weightBps << 8 | kind``.

One word instead of a three-word struct is what brings a link under 2k gas in batches of a
thousand outputs (calldata, event data and the forwarder's copy of the request shrink to a third);
this module is the one place the backend packs and unpacks it, mirroring the contract's
``linkOf``/``unpackLink`` (a test compares them).
"""

from collections.abc import Iterable, Sequence

KINDS = 2  # OutputRegistry.LinkKind: 0 training, 1 reference
_WORK_BITS, _WEIGHT_BITS = 64, 16


def pack_link(work_id: int, weight_bps: int, kind: int) -> int:
    """The contract's word for one link; refuses a field that does not fit, as the contract would."""
    if not 0 < work_id < 1 << _WORK_BITS or not 0 <= weight_bps < 1 << _WEIGHT_BITS or not 0 <= kind < KINDS:
        raise ValueError(f"link ({work_id}, {weight_bps}, {kind}) does not fit OutputRegistry's word")
    return work_id << 24 | weight_bps << 8 | kind


def unpack_link(word: int) -> tuple[int, int, int]:
    """(work id, weight in basis points, kind) of a word read from an event."""
    if word >> 88 or word & 0xFF >= KINDS:
        raise ValueError(f"{word:#x} is not an OutputRegistry link")
    return word >> 24 & (1 << _WORK_BITS) - 1, word >> 8 & (1 << _WEIGHT_BITS) - 1, word & 0xFF


def pack_links(links: Iterable[Sequence[int]]) -> list[int]:
    return [pack_link(*link) for link in links]
