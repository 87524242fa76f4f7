"""CIDv1 computation that matches ``ipfs add --cid-version=1 --raw-leaves`` with Kubo's defaults.

Content up to one chunk (256 KiB) is a single ``raw`` block. Larger content is split into 256 KiB
raw leaves under a balanced UnixFS tree of ``dag-pb`` nodes with at most 174 links each, the
layout Kubo uses by default. Computing CIDs locally means the ledger can anchor a CID on chain
without trusting, or even having, an IPFS node.
"""

import base64
import hashlib
from dataclasses import dataclass

CHUNK_SIZE = 256 * 1024
MAX_LINKS = 174
RAW = 0x55
DAG_PB = 0x70
SHA2_256 = 0x12


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def cid_bytes(codec: int, block: bytes) -> bytes:
    digest = hashlib.sha256(block).digest()
    return _varint(1) + _varint(codec) + bytes([SHA2_256, len(digest)]) + digest


def cid_string(binary_cid: bytes) -> str:
    """Multibase base32 (lower case, no padding, prefix 'b'): the canonical CIDv1 text form."""
    return "b" + base64.b32encode(binary_cid).decode().lower().rstrip("=")


def parse_cid(text: str) -> bytes:
    """Binary form of a base32 CIDv1; raises ValueError on anything else."""
    if not text.startswith("b") or len(text) < 10:
        raise ValueError(f"not a base32 CIDv1: {text!r}")
    body = text[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except Exception as exc:  # binascii.Error
        raise ValueError(f"not a base32 CIDv1: {text!r}") from exc
    if raw[0] != 1 or raw[1] not in (RAW, DAG_PB) or raw[2] != SHA2_256 or raw[3] != 32 or len(raw) != 36:
        raise ValueError(f"unsupported CID (want CIDv1, raw or dag-pb, sha2-256): {text!r}")
    return raw


def is_cid(text: object) -> bool:
    """Whether ``text`` is a CID this ledger can hold (base32 CIDv1, raw or dag-pb, sha2-256)."""
    if not isinstance(text, str) or len(text) > 100:
        return False
    try:
        parse_cid(text)
    except ValueError:
        return False
    return True


def _field(num: int, wire: int) -> bytes:
    return _varint((num << 3) | wire)


def _bytes_field(num: int, value: bytes) -> bytes:
    return _field(num, 2) + _varint(len(value)) + value


@dataclass(frozen=True)
class Block:
    cid: bytes
    data: bytes
    file_size: int  # bytes of file content below this block
    tree_size: int  # Tsize: serialized size of this block and all blocks below it


def _unixfs_file(file_size: int, blocksizes: list[int]) -> bytes:
    out = _field(1, 0) + _varint(2)  # Type = File
    out += _field(3, 0) + _varint(file_size)
    for size in blocksizes:
        out += _field(4, 0) + _varint(size)
    return out


def _dag_pb_node(children: list[Block]) -> Block:
    links = b""
    for child in children:
        link = _bytes_field(1, child.cid) + _bytes_field(2, b"") + _field(3, 0) + _varint(child.tree_size)
        links += _bytes_field(2, link)
    file_size = sum(c.file_size for c in children)
    data = links + _bytes_field(1, _unixfs_file(file_size, [c.file_size for c in children]))
    return Block(cid_bytes(DAG_PB, data), data, file_size, len(data) + sum(c.tree_size for c in children))


def build_dag(content: bytes) -> list[Block]:
    """All blocks of ``content``'s DAG, root last. Empty content is refused by callers, not here."""
    leaves = [
        Block(cid_bytes(RAW, chunk), chunk, len(chunk), len(chunk))
        for chunk in (content[i : i + CHUNK_SIZE] for i in range(0, max(len(content), 1), CHUNK_SIZE))
    ]
    blocks = list(leaves)
    level = leaves
    while len(level) > 1:
        level = [_dag_pb_node(level[i : i + MAX_LINKS]) for i in range(0, len(level), MAX_LINKS)]
        blocks.extend(level)
    return blocks


def compute_cid(content: bytes) -> str:
    return cid_string(build_dag(content)[-1].cid)


def dag_pb_links(data: bytes) -> list[bytes]:
    """The child CIDs of a dag-pb node we wrote (enough protobuf to walk our own DAGs back)."""
    links, i = [], 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7

    while i < len(data):
        key = varint()
        length = varint()
        chunk = data[i : i + length]
        i += length
        if key >> 3 == 2:  # PBLink
            j = 0
            # PBLink starts with field 1 (Hash): tag 0x0a, length, bytes
            if chunk[j] != 0x0A:
                raise ValueError("malformed dag-pb link")
            hash_len = chunk[j + 1]
            links.append(chunk[j + 2 : j + 2 + hash_len])
    return links
