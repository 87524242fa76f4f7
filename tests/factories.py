"""Helpers several test modules share: a registered work, a platform with outputs, a usage
report file and its upload, a fresh folder. Kept here (as the FastAPI template keeps its test
utilities) rather than imported from one test module into another."""

from pathlib import Path

import httpx

from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for


def _work(holder: httpx.Client, seed: int, royalty: int, owners: list[dict[str, object]], reference: bool = False) -> int:
    resp = holder.post("/works", json={"title": f"w{seed}", "content_hash": "0x" + f"{seed:064x}",
                                       "terms": {"training_allowed": True, "royalty_bps": royalty, "reference_allowed": reference},
                                       **({"owners": owners} if owners else {})})  # fmt: skip
    assert resp.status_code == 201, resp.text
    return int(resp.json()["work_id"])


def _platform_with_outputs(ledger: Ledger, server: Server, links: list[list[tuple[int, int]]], seed: int) -> tuple[httpx.Client, str, list[str]]:
    key = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, key.token)
    works = sorted({w for ls in links for w, _ in ls})
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "22" * 32, "work_ids": works}).json()["model_id"]
    hashes = ["0x" + f"{seed + i:064x}" for i in range(len(links))]
    for h, ls in zip(hashes, links):
        body = {"output_hash": h, "model_id": model, "links": [{"work_id": w, "weight_bps": x} for w, x in ls]}
        assert platform.post("/outputs", json=body).status_code == 201
    assert key.holder_address is not None
    return platform, key.holder_address, hashes


def _csv(report_id: str, platform: str, start: str, end: str, currency: str, lines: list[tuple[str, int]]) -> bytes:
    rows = [f"HEAD,{report_id},{platform},{start},{end},{currency}"]
    rows += [f"LINE,{report_id}-{i},{h},ref,generation,subscription,JP,1,{revenue}" for i, (h, revenue) in enumerate(lines)]
    rows.append(f"FOOT,{len(lines)},{sum(r for _, r in lines)}")
    return ("\n".join(rows) + "\n").encode()


def _upload(platform: httpx.Client, body: bytes) -> httpx.Response:
    return platform.post("/usage/reports", files={"file": ("r.csv", body)})


def _fresh(parent: Path, name: str) -> Path:
    (parent / name).mkdir()
    return parent / name
