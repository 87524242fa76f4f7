"""Forks of a chosen depth on a local anvil, and the check that follows each: every projected
table equals what a fresh database indexed from the same chain holds, row for row."""

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlmodel import Session, select

from ledger.config import Settings
from ledger.indexer.runner import PROJECTION_TABLES
from ledger.reliability.load import TERMS
from ledger.runtime import Ledger, open_ledger


def projection(ledger: Ledger) -> dict[str, list[str]]:
    """Every projected row, without surrogate keys and local timestamps, in a stable order."""
    out = {}
    with Session(ledger.engine) as s:
        for table in PROJECTION_TABLES:
            rows = [{k: v for k, v in row.model_dump().items() if k != "id" and not isinstance(v, datetime)} for row in s.exec(select(table)).all()]
            out[table.__name__] = sorted(repr(sorted(r.items())) for r in rows)
    return out


def fresh_index(ledger: Ledger, directory: Path, blocks: bool = True) -> Ledger:
    """A second ledger on the same chain and deployment, with a new database indexed from the
    chain's logs alone (and, with ``blocks``, a copy of the content store, as IPFS would give)."""
    directory.mkdir()
    if blocks:
        shutil.copytree(ledger.settings.blocks_dir, directory / "blocks")
    settings = Settings(data_dir=directory, rpc_url=ledger.settings.rpc_url, database_url=f"sqlite:///{directory / 'fresh.db'}")
    record = settings.deployment_record(ledger.deployment.chain_id)
    record.parent.mkdir(parents=True)
    shutil.copy(ledger.deployment_path, record)
    settings.operator_key = SecretStr(ledger.operator.key.to_0x_hex())
    fresh = open_ledger(settings, deploy=False)
    fresh.indexer.sync()
    return fresh


def fork(ledger: Ledger, holder: httpx.Client, platform: httpx.Client, depth: int, tag: int) -> None:
    """Registers on a branch ``depth`` blocks deep (a work, a model, an output), indexes it, then
    replaces the branch with another (other registrations, at least as many blocks) and indexes
    again. ``tag`` keeps content hashes apart between calls."""

    def rpc(method: str, *params: Any) -> Any:
        return ledger.w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]

    def work(n: int, title: str) -> int:
        resp = holder.post("/works", json={"title": title, "terms": TERMS, "content_hash": "0x" + f"{tag:032x}{n:032x}"})
        assert resp.status_code == 201, resp.text
        return int(resp.json()["work_id"])

    base = work(0, "before the fork")
    ledger.indexer.sync()
    fork_point = rpc("evm_snapshot")
    lost = work(1, "abandoned")
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [base, lost]}).json()["model_id"]
    out = {"output_hash": "0x" + f"{tag:032x}{2:032x}", "model_id": model, "links": [{"work_id": lost, "weight_bps": 10_000}]}
    assert platform.post("/outputs", json=out).status_code == 201
    rpc("anvil_mine", hex(depth))
    ledger.indexer.sync()
    abandoned_head = ledger.w3.eth.block_number
    assert rpc("evm_revert", fork_point)
    other = work(3, "kept")
    platform.post("/models", json={"name": "m2", "weights_hash": "0x" + "22" * 32, "work_ids": [base, other]})
    rpc("anvil_mine", hex(max(1, abandoned_head - ledger.w3.eth.block_number + 1)))
    ledger.indexer.sync()


def reorg_trials(ledger: Ledger, clients: Callable[[], tuple[httpx.Client, httpx.Client]], depths: list[int], workdir: Path) -> dict[str, Any]:
    mismatches = []
    holder, platform = clients()
    with holder, platform:
        for n, depth in enumerate(depths):
            fork(ledger, holder, platform, depth, tag=0xF0 + n)
            fresh = fresh_index(ledger, workdir / f"fresh-{n}")
            if projection(ledger) != projection(fresh):
                mismatches.append(depth)
            fresh.engine.dispose()
    return {"forks": len(depths), "depths": f"{min(depths)}..{max(depths)}", "mismatches": len(mismatches), "first": mismatches[:5]}
