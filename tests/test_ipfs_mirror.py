"""The Kubo mirror's wiring (add with CIDv1 + raw leaves + pin, cat, CID cross-check), against
FakeKuboRpcServer: no IPFS daemon can be installed on these machines (see ../shared/TOOLCHAIN.md),
so this fake answers the two Kubo RPC calls the adapter uses. It computes CIDs with the independent
multiformats library, for single-block content only (which is all this fake claims to handle)."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, Request, Response
from multiformats import CID, multihash

from ledger.content.store import CidMismatch, IpfsMirroredStore, LocalBlockStore
from tests.conftest import free_port


class FakeKuboRpcServer:
    def __init__(self) -> None:
        self.blocks: dict[str, bytes] = {}
        self.add_params: list[dict[str, str]] = []
        self.lie = False  # answer with a wrong CID, to test the cross-check
        app = FastAPI()

        @app.post("/api/v0/add")
        async def add(request: Request) -> dict[str, str]:
            self.add_params.append(dict(request.query_params))
            form = await request.form()
            data = await form.multi_items()[0][1].read()  # type: ignore[union-attr]
            cid = str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))
            self.blocks[cid] = data
            return {"Name": cid, "Hash": "bafkreiaaaa" + cid[10:] if self.lie else cid, "Size": str(len(data))}

        @app.post("/api/v0/cat")
        async def cat(arg: str) -> Response:
            return Response(self.blocks[arg], media_type="application/octet-stream")

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.port}/http"

    def __enter__(self) -> "FakeKuboRpcServer":
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def kubo() -> Iterator[FakeKuboRpcServer]:
    with FakeKuboRpcServer() as k:
        yield k


def test_put_adds_and_pins_with_the_same_cid(kubo: FakeKuboRpcServer, tmp_path: Path) -> None:
    store = IpfsMirroredStore(LocalBlockStore(tmp_path), kubo.multiaddr)
    data = b'{"title":"cel 1"}'
    cid = store.put(data)
    assert cid in kubo.blocks and kubo.blocks[cid] == data
    assert {"cid-version": "1", "raw-leaves": "true", "pin": "true"}.items() <= kubo.add_params[-1].items()
    assert store.get(cid) == data  # served locally
    remote_only = IpfsMirroredStore(LocalBlockStore(tmp_path / "empty"), kubo.multiaddr)
    assert remote_only.get(cid) == data  # falls back to the node


def test_a_node_that_disagrees_on_the_cid_is_an_error(kubo: FakeKuboRpcServer, tmp_path: Path) -> None:
    kubo.lie = True
    store = IpfsMirroredStore(LocalBlockStore(tmp_path), kubo.multiaddr)
    with pytest.raises(CidMismatch):
        store.put(b"anything")
