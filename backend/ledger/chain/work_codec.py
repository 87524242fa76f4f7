"""WorkRegistry's packed batch format, the bytes ``registerWorks`` takes and ``WorksRegistered`` logs.

A record per work, back to back, big-endian, no padding (the contract's NatSpec has the table):
content hash (32), uses (2), royalty bps (2), expiry (5), CID length (1) and CID, constraints
length (2) and constraints, owner count (2), then per owner account (20), payout (20), share
bps (2). ABI encoding padded every field to 32 bytes and gave strings and arrays offsets; at 16
gas a calldata byte and 8 a log byte, that padding was most of a work's cost beyond its storage
word. This module is the one place the backend writes and reads the format; a test compares it
with the contract's reading, both ways.
"""

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from ledger.chain.registry import MAX_OWNERS, Owner, Terms, WorkInput, raw_owners_hash
from ledger_recorder.typed import checksum

MAX_CID_BYTES = 255
MAX_CONSTRAINTS_BYTES = 256
_FIXED = 42  # content hash, uses, royalty, expiry, CID length
_OWNER = 42


class MalformedWorks(ValueError):
    """The bytes are not a batch in WorkRegistry's packed format."""


def storable(text: str) -> str:
    """``text`` as a database can keep it: NUL, which PostgreSQL's text refuses, replaced."""
    return text.replace("\x00", "\ufffd")


def pack_work(work: WorkInput) -> bytes:
    """One work's record; refuses a field the format cannot carry (the contract checks the rest)."""
    cid, constraints = work.metadata_cid.encode(), work.terms.constraints.encode()
    t = work.terms
    if len(work.content_hash) != 32:
        raise ValueError("a content hash is 32 bytes")
    if not 0 < len(cid) <= MAX_CID_BYTES:
        raise ValueError(f"a metadata CID is 1 to {MAX_CID_BYTES} bytes")
    if len(constraints) > MAX_CONSTRAINTS_BYTES:
        raise ValueError(f"constraints are at most {MAX_CONSTRAINTS_BYTES} bytes")
    if not 0 < len(work.owners) <= MAX_OWNERS:
        raise ValueError(f"a work has 1 to {MAX_OWNERS} owners")
    parts = [
        work.content_hash, t.uses.to_bytes(2, "big"), t.royalty_bps.to_bytes(2, "big"), t.expires_at.to_bytes(5, "big"),
        len(cid).to_bytes(1, "big"), cid, len(constraints).to_bytes(2, "big"), constraints, len(work.owners).to_bytes(2, "big"),
    ]  # fmt: skip
    for o in work.owners:
        parts += [bytes.fromhex(o.account[2:]), bytes.fromhex(o.payout[2:]), o.share_bps.to_bytes(2, "big")]
    return b"".join(parts)


def pack_works(works: Iterable[WorkInput]) -> bytes:
    return b"".join(pack_work(w) for w in works)


#: An upper bound on what ``registerWorks`` spends, from the records alone: the call's own work
#: (the id counter, the event), per work its storage word and checks, per byte reading, hashing
#: and logging it (owners are bytes too: about 900 gas each against 1,680 here), and an expiring
#: licence's second word. Measured on 2026-11-29 against eth_estimateGas: a 59-byte-CID work
#: 80k alone and 28k each in a batch of 100, 526k with 512 owners (98k for the first work a registry holds);
#: ``tests/test_work_codec.py``
#: holds the bound above what the relayer asked before (estimate x 1.2 + 50k) for random batches.
_CALL_GAS = 150_000
_WORK_GAS = 45_000
_BYTE_GAS = 40
_EXPIRY_GAS = 30_000
#: Where a record's fixed fields are (``pack_work`` writes them in this order), read by
#: ``registration_gas`` and ``records`` alike.
_USES, _ROYALTY, _EXPIRY, _CID_LENGTH = slice(32, 34), slice(34, 36), slice(36, 41), 41


def registration_gas(records: Iterable[bytes]) -> int:
    """Gas enough for ``registerWorks`` of these records (``pack_work``'s), so the relay needs no
    estimate: over-asking costs nothing, a forwarded call is charged what it uses."""
    return _CALL_GAS + sum(_WORK_GAS + _BYTE_GAS * len(r) + (_EXPIRY_GAS if any(r[_EXPIRY]) else 0) for r in records)


class Record(NamedTuple):
    """One work of a batch as the indexer projects it: owners as (account, payout, share bps),
    checksummed, and the owner list's hash computed from the packed bytes (the contract's
    keccak256(abi.encode(Owner[]))), without building objects per owner."""

    content_hash: bytes
    metadata_cid: str
    uses: int
    royalty_bps: int
    expires_at: int
    constraints: str
    owners: tuple[tuple[str, str, int], ...]
    owners_hash: bytes


def records(data: bytes, strict: bool = True) -> Iterator[Record]:
    """The works of a batch, in order (its ids are consecutive from the event's ``firstId``).

    Refuses what the contract refuses as malformed (a record whose declared lengths run past the
    batch), checked in the contract's order. The chain keeps any bytes as a CID or constraints:
    ``strict`` refuses text that is not UTF-8 (what the ledger sends), otherwise it is read with
    replacement characters, NUL included (PostgreSQL's text refuses it): an indexer must project
    whatever the chain accepted.
    """
    errors = "strict" if strict else "replace"
    at, end = 0, len(data)
    while at < end:
        if at + _FIXED > end:
            raise MalformedWorks(f"the record at byte {at} is cut short")
        p = at + _FIXED + data[at + _CID_LENGTH]
        if p + 2 > end:
            raise MalformedWorks(f"the record at byte {at} is cut short")
        constraints_at = p + 2
        p = constraints_at + int.from_bytes(data[p : p + 2], "big")
        if p + 2 > end:
            raise MalformedWorks(f"the record at byte {at} is cut short")
        n, owners_at = int.from_bytes(data[p : p + 2], "big"), p + 2
        after = owners_at + _OWNER * n
        if after > end:
            raise MalformedWorks(f"the record at byte {at} is cut short")
        raw = [(data[q : q + 20], data[q + 20 : q + 40], int.from_bytes(data[q + 40 : q + 42], "big")) for q in range(owners_at, after, _OWNER)]
        try:
            cid, constraints = data[at + _FIXED : constraints_at - 2].decode(errors=errors), data[constraints_at:p].decode(errors=errors)
        except UnicodeDecodeError as exc:
            raise MalformedWorks(f"the record at byte {at} has text that is not UTF-8") from exc
        if not strict:
            cid, constraints = storable(cid), storable(constraints)
        yield Record(
            bytes(data[at : at + 32]), cid, int.from_bytes(data[at + _USES.start : at + _USES.stop], "big"),
            int.from_bytes(data[at + _ROYALTY.start : at + _ROYALTY.stop], "big"), int.from_bytes(data[at + _EXPIRY.start : at + _EXPIRY.stop], "big"), constraints, tuple((checksum(account), checksum(payout), share) for account, payout, share in raw), raw_owners_hash(raw),
        )  # fmt: skip
        at = after


def unpack_works(data: bytes, strict: bool = True) -> list[WorkInput]:
    """``records`` as the inputs they were packed from."""
    return [
        WorkInput(r.content_hash, r.metadata_cid, Terms(r.uses, r.royalty_bps, r.expires_at, r.constraints), tuple(Owner(*o) for o in r.owners))
        for r in records(data, strict)
    ]
