"""Where content-addressed blocks live: a local block store, optionally mirrored to an IPFS node.

The local store is always written, so the ledger can serve and re-verify content without a
daemon; with ``LEDGER_IPFS_API_URL`` set, the same bytes are also added (and pinned) on a Kubo
node through ipfshttpclient, and the node's CID must equal the one computed here.
"""

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from ledger.content.cid import DAG_PB, build_dag, cid_string, dag_pb_links, is_cid, parse_cid


class ContentStore(Protocol):
    def put(self, content: bytes) -> str: ...

    def put_private(self, content: bytes) -> str:
        """Stores ``content`` here only: never mirrored to a public node (statement documents)."""
        ...
    def get(self, cid: str) -> bytes: ...
    def has(self, cid: str) -> bool: ...
    def iter_chunks(self, cid: str) -> Iterator[bytes]: ...


class CidMismatch(RuntimeError):
    """An IPFS node computed another CID than ours for the same bytes."""


class LocalBlockStore:
    """One file per block under ``root``, named by its CID; writes are atomic (rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, cid: str) -> Path:
        """Only a well-formed CID names a file here: anything else (``../``, an absolute path, a
        CID of another kind) would reach outside the store, so it is refused before any join."""
        binary = parse_cid(cid)
        canonical = cid_string(binary)
        return self.root / canonical[-2:] / canonical

    def put(self, content: bytes) -> str:
        blocks = build_dag(content)
        for block in blocks:
            name = cid_string(block.cid)
            path = self._path(name)
            if path.exists():
                continue
            path.parent.mkdir(exist_ok=True)
            tmp = path.with_name(f"{name}.{secrets.token_hex(8)}.tmp")  # one per writer: threads of one process too
            tmp.write_bytes(block.data)
            tmp.replace(path)
        return cid_string(blocks[-1].cid)

    def put_private(self, content: bytes) -> str:
        return self.put(content)

    def has(self, cid: str) -> bool:
        return is_cid(cid) and self._path(cid).exists()

    def get(self, cid: str) -> bytes:
        return b"".join(self.iter_chunks(cid))

    def iter_chunks(self, cid: str) -> Iterator[bytes]:
        """The content, one leaf block at a time (256 KiB): what streams a large file without
        holding it whole."""
        binary = parse_cid(cid)
        data = self._path(cid).read_bytes()
        if binary[1] != DAG_PB:
            yield data
            return
        for child in dag_pb_links(data):
            yield from self.iter_chunks(cid_string(child))


class IpfsMirroredStore:
    """Local blocks plus add-and-pin on a Kubo node (ipfshttpclient; the version check is skipped
    because ipfshttpclient 0.7 refuses every Kubo newer than 0.8)."""

    def __init__(self, local: LocalBlockStore, api_url: str) -> None:
        import ipfshttpclient  # imported lazily: only needed when an IPFS node is configured

        self.local = local
        self.client = ipfshttpclient.Client(api_url)

    def put(self, content: bytes) -> str:
        cid = self.local.put(content)
        added = self.client.add_bytes(content, opts={"cid-version": 1, "raw-leaves": "true", "pin": "true"})
        if added != cid:
            raise CidMismatch(f"IPFS node returned {added}, ledger computed {cid}")
        return cid

    def put_private(self, content: bytes) -> str:
        return self.local.put(content)

    def has(self, cid: str) -> bool:
        return self.local.has(cid)

    def get(self, cid: str) -> bytes:
        parse_cid(cid)
        return self.local.get(cid) if self.local.has(cid) else self.client.cat(cid)

    def iter_chunks(self, cid: str) -> Iterator[bytes]:
        if self.local.has(cid):
            yield from self.local.iter_chunks(cid)
        else:
            yield self.get(cid)


def open_store(blocks_dir: Path, ipfs_api_url: str | None) -> ContentStore:
    local = LocalBlockStore(blocks_dir)
    return IpfsMirroredStore(local, ipfs_api_url) if ipfs_api_url else local
