"""The issue's acceptance story: a holder registers a folder of 100 images with the CLI, the
ledger (chain and API) restarts, and all 100 are still there with their CIDs and transactions."""

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from ledger.chain.deployment import ChainStateLost
from ledger.chain.node import AnvilNode
from ledger.cli.main import app
from ledger.content.cid import compute_cid
from ledger.models import Role
from ledger.runtime import open_ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, free_port, make_settings


def _images(folder: Path, n: int) -> dict[str, bytes]:
    folder.mkdir()
    out = {}
    for i in range(n):
        path = folder / f"cel_{i:03d}.png"
        Image.new("RGB", (32, 32), (i, 255 - i, (7 * i) % 256)).save(path)
        out[path.name] = path.read_bytes()
    return out


def test_hundred_images_survive_a_restart(tmp_path: Path) -> None:
    chain_dir = tmp_path / "chain"
    node = AnvilNode(chain_dir, free_port())
    settings = make_settings(tmp_path / "data", node.url, f"sqlite:///{tmp_path / 'data' / 'ledger.db'}")
    images = _images(tmp_path / "cels", 100)
    runner = CliRunner()

    node.start()
    try:
        ledger = open_ledger(settings, deploy=True)
        token = create_api_key(ledger, Role.rights_holder, "studio").token
        with Server(ledger) as srv:
            args = ["works", "register", str(tmp_path / "cels"), "--api-url", srv.url, "--api-key", token, "--royalty-bps", "300"]
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
            assert "registered 100, already registered 0, failed 0" in result.output
            # Running it again is a harmless retry: everything is reported as already registered.
            again = runner.invoke(app, args)
            assert again.exit_code == 0 and "registered 0, already registered 100" in again.output
        ledger.engine.dispose()
    finally:
        node.stop()  # SIGTERM: anvil dumps its state

    restarted = AnvilNode(chain_dir, node.port)
    restarted.start()
    try:
        ledger = open_ledger(settings, deploy=True)  # finds and verifies the recorded deployment
        with Server(ledger) as srv, client_for(srv, token) as c:
            works = c.get("/works", params={"limit": 1000}).json()
            assert len(works) == 100
            for w in works:
                receipt = ledger.w3.eth.get_transaction_receipt(w["tx_hash"])
                assert receipt["status"] == 1
                assert w["terms"]["royalty_bps"] == 300
            detail = c.get(f"/works/{works[7]['work_id']}").json()
            name = detail["metadata"]["file"]["name"]
            assert detail["metadata"]["file"]["cid"] == compute_cid(images[name])
            assert {c.get(f"/works/{w['work_id']}").json()["metadata"]["file"]["name"] for w in works[:5]} <= set(images)
            show = runner.invoke(app, ["works", "show", str(works[0]["work_id"]), "--api-url", srv.url, "--api-key", token])
            assert show.exit_code == 0 and works[0]["metadata_cid"] in show.output
        ledger.engine.dispose()
    finally:
        restarted.stop()


def test_missing_contracts_after_state_loss_are_reported(tmp_path: Path) -> None:
    """A chain that lost its state must not be silently trusted, nor silently redeployed to."""
    node = AnvilNode(tmp_path / "chain", free_port())
    settings = make_settings(tmp_path / "data", node.url, f"sqlite:///{tmp_path / 'ledger.db'}")
    node.start()
    try:
        open_ledger(settings, deploy=True).engine.dispose()
    finally:
        node.kill()  # no dump: the deployment is lost
    (tmp_path / "chain" / "state.json").unlink(missing_ok=True)
    fresh = AnvilNode(tmp_path / "chain", node.port)
    fresh.start()
    try:
        with pytest.raises(ChainStateLost, match="state was lost"):
            open_ledger(settings, deploy=True)
    finally:
        fresh.stop()
