"""Another EVM chain by configuration alone: a second anvil with its own chain id stands in for it.
Deployment records are kept per chain id, a database belongs to one chain, and `ledger deployment
verify` checks the code on chain against this checkout's build."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from ledger.chain.binding import ChainMismatch
from ledger.chain.compiler import compile_contract
from ledger.chain.node import AnvilNode
from ledger.cli.main import app
from ledger.config import get_settings
from ledger.models import Role, Work
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from ledger.reliability.api_process import free_port
from tests.conftest import Server, client_for, make_settings

OTHER_CHAIN = 84532  # as a Base Sepolia would be


@pytest.fixture(scope="module")
def other_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    node = AnvilNode(tmp_path_factory.mktemp("other-anvil"), free_port(), state_interval_s=3600, chain_id=OTHER_CHAIN)
    node.start()
    yield node
    node.stop()


def _env(ledger: Ledger, rpc_url: str, database_url: str) -> dict[str, str]:
    return {
        "LEDGER_DATA_DIR": str(ledger.settings.data_dir), "LEDGER_RPC_URL": rpc_url, "LEDGER_DATABASE_URL": database_url,
        "LEDGER_OPERATOR_KEY": ledger.operator.key.to_0x_hex(),
    }  # fmt: skip


def test_the_same_ledger_runs_on_another_chain_with_its_own_record_and_database(
    ledger: Ledger, other_anvil: AnvilNode, tmp_path: Path
) -> None:
    first_record = ledger.deployment_path
    assert first_record == ledger.settings.data_dir / "deployments" / f"{ledger.deployment.chain_id}.json"
    before = first_record.read_bytes()
    other_settings = make_settings(ledger.settings.data_dir, other_anvil.url, f"sqlite:///{tmp_path / 'other.db'}")
    other = open_ledger(other_settings, deploy=True)
    try:
        assert other.deployment.chain_id == OTHER_CHAIN and other.w3.eth.chain_id == OTHER_CHAIN
        assert other.deployment_path == ledger.settings.data_dir / "deployments" / f"{OTHER_CHAIN}.json"
        assert first_record.read_bytes() == before  # the first chain's record is untouched
        with Server(other) as srv, client_for(srv, create_api_key(other, Role.rights_holder, "studio").token) as holder:
            resp = holder.post("/works", json={"title": "on the other chain", "content_hash": "0x" + "ab" * 32,
                                               "terms": {"training_allowed": True, "royalty_bps": 500}})  # fmt: skip
            assert resp.status_code == 201, resp.text
            receipt = other.w3.eth.get_transaction_receipt(resp.json()["tx_hash"])
            assert receipt["status"] == 1 and other.w3.eth.chain_id == OTHER_CHAIN
            assert holder.get(f"/works/{resp.json()['work_id']}").json()["content_hash"] == "0x" + "ab" * 32
        with Session(ledger.engine) as s:  # each chain's facts in its own database
            assert s.exec(select(Work).where(Work.content_hash == "0x" + "ab" * 32)).first() is None
        again = open_ledger(other_settings, deploy=False)  # a restart finds the record by the node's chain id
        assert again.deployment == other.deployment
        again.engine.dispose()
    finally:
        other.engine.dispose()


def test_a_database_stays_with_its_chain_and_the_configured_chain_id_is_enforced(ledger: Ledger, other_anvil: AnvilNode, tmp_path: Path) -> None:
    wrong_db = make_settings(ledger.settings.data_dir, other_anvil.url, ledger.settings.db_url)
    with pytest.raises(ChainMismatch, match=f"holds the facts of chain {ledger.deployment.chain_id}.*LEDGER_DATABASE_URL"):
        open_ledger(wrong_db, deploy=True)
    pinned = make_settings(tmp_path / "pinned", ledger.settings.rpc_url, f"sqlite:///{tmp_path / 'pinned.db'}").model_copy(update={"chain_id": OTHER_CHAIN})
    with pytest.raises(ChainMismatch, match=f"is chain {ledger.deployment.chain_id}; LEDGER_CHAIN_ID says {OTHER_CHAIN}"):
        open_ledger(pinned, deploy=True)


def test_a_record_from_before_per_chain_records_is_moved_into_place(ledger: Ledger, tmp_path: Path) -> None:
    data = tmp_path / "old-data"
    shutil.copytree(ledger.settings.keys_dir, data / "keys")
    (data / "deployment.json").write_bytes(ledger.deployment_path.read_bytes())
    old = open_ledger(make_settings(data, ledger.settings.rpc_url, ledger.settings.db_url), deploy=False)
    assert old.deployment == ledger.deployment and not (data / "deployment.json").exists()
    assert json.loads((data / "deployments" / f"{ledger.deployment.chain_id}.json").read_text())["chain_id"] == ledger.deployment.chain_id
    old.engine.dispose()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """The CLI reads its settings once per process (``get_settings`` is cached): from this test's
    environment, and not kept for later tests."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_deployment_verify_compares_the_code_on_chain_with_this_build(ledger: Ledger, fresh_settings: None) -> None:
    env = _env(ledger, ledger.settings.rpc_url, ledger.settings.db_url)
    runner = CliRunner()
    shown = runner.invoke(app, ["deployment", "show"], env=env, terminal_width=250)
    assert shown.exit_code == 0 and ledger.registry.address in shown.output, shown.output
    ok = runner.invoke(app, ["deployment", "verify"], env=env, terminal_width=250)
    assert ok.exit_code == 0 and "FAILED" not in ok.output, ok.output
    assert "OutputRegistry.works" in ok.output and "identical to this build outside" in ok.output

    # Another contract's code at the UsageAnchor's address: caught, and named.
    usage_anchor, model_registry = ledger.deployment.contracts["UsageAnchor"].address, ledger.deployment.contracts["ModelRegistry"].address
    original = ledger.w3.eth.get_code(usage_anchor)
    ledger.w3.provider.make_request("anvil_setCode", [usage_anchor, ledger.w3.eth.get_code(model_registry).to_0x_hex()])  # type: ignore[arg-type]
    try:
        bad = runner.invoke(app, ["deployment", "verify"], env=env, terminal_width=250)
        assert bad.exit_code == 1 and "FAILED" in bad.output and "UsageAnchor" in bad.output, bad.output
        # One byte changed outside the immutables: caught at that byte.
        code = bytearray(original)
        code[10] ^= 0xFF
        ledger.w3.provider.make_request("anvil_setCode", [usage_anchor, "0x" + code.hex()])  # type: ignore[arg-type]
        bad = runner.invoke(app, ["deployment", "verify"], env=env, terminal_width=250)
        assert bad.exit_code == 1 and "differs from this build at byte 10 " in bad.output, bad.output
    finally:
        ledger.w3.provider.make_request("anvil_setCode", [usage_anchor, original.to_0x_hex()])  # type: ignore[arg-type]

    # The very same code wired to another WorkRegistry (its immutables differ): the code passes, the wiring does not.
    compiled = compile_contract("OutputRegistry.sol")
    d = ledger.deployment.contracts
    stranger = ledger.sender.deploy(compiled.abi, compiled.bytecode, ledger.operator.address, d["LedgerForwarder"].address, d["ModelRegistry"].address, d["ModelRegistry"].address)
    registry = d["OutputRegistry"].address
    original = ledger.w3.eth.get_code(registry)
    ledger.w3.provider.make_request("anvil_setCode", [registry, ledger.w3.eth.get_code(stranger["contractAddress"]).to_0x_hex()])  # type: ignore[arg-type]
    try:
        bad = runner.invoke(app, ["deployment", "verify"], env=env, terminal_width=250)
        lines = {line.split()[1]: line for line in bad.output.splitlines() if line.strip().startswith(("ok", "FAILED"))}
        assert bad.exit_code == 1 and lines["OutputRegistry"].strip().startswith("ok"), bad.output
        assert lines["OutputRegistry.works"].strip().startswith("FAILED") and f"the record says WorkRegistry is {d['WorkRegistry'].address}" in bad.output
        assert lines["OutputRegistry.models"].strip().startswith("ok")
    finally:
        ledger.w3.provider.make_request("anvil_setCode", [registry, original.to_0x_hex()])  # type: ignore[arg-type]


def test_a_start_names_contracts_of_another_build(ledger: Ledger, caplog: pytest.LogCaptureFixture) -> None:
    """Contracts have no upgrade path: a checkout whose contracts changed since they were deployed
    says so at start, naming them, instead of failing later on a call whose interface changed."""
    from ledger.chain.deployment import verify

    verify(ledger.w3, ledger.deployment, ledger.deployment_path)
    assert "another build" not in caplog.text
    usage_anchor, model_registry = ledger.deployment.contracts["UsageAnchor"].address, ledger.deployment.contracts["ModelRegistry"].address
    original = ledger.w3.eth.get_code(usage_anchor)
    ledger.w3.provider.make_request("anvil_setCode", [usage_anchor, ledger.w3.eth.get_code(model_registry).to_0x_hex()])  # type: ignore[arg-type]
    try:
        with caplog.at_level("WARNING", logger="ledger.chain.deployment"):
            verify(ledger.w3, ledger.deployment, ledger.deployment_path)
    finally:
        ledger.w3.provider.make_request("anvil_setCode", [usage_anchor, original.to_0x_hex()])  # type: ignore[arg-type]
    [warning] = [r.getMessage() for r in caplog.records if "another build" in r.getMessage()]
    assert warning.startswith("UsageAnchor on chain") and "ModelRegistry" not in warning.split(" on chain")[0]
