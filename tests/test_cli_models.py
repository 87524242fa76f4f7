"""`ledger models register / prove / audit` against a real ledger over HTTP."""

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from ledger.cli.main import app
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


def test_models_cli(ledger: Ledger, server: Server, holder: httpx.Client, tmp_path: Path) -> None:
    works = [{"title": f"w{i}", "terms": TERMS, "content_hash": "0x" + f"{i + 1:064x}"} for i in range(5)]
    registered = holder.post("/works/batch", json={"works": works}).json()
    holder.put(f"/works/{registered[4]['work_id']}/terms", json={**TERMS, "training_allowed": False})
    token = create_api_key(ledger, Role.platform, "gen").token
    common = ["--api-url", server.url, "--api-key", token]
    runner = CliRunner()

    by_hash = tmp_path / "set.txt"
    by_hash.write_text("# training set\n" + "\n".join(w["content_hash"] for w in registered[:4]) + "\n")
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"weights")
    result = runner.invoke(app, ["models", "register", "--training-set", str(by_hash), "--name", "clean", "--weights", str(weights), *common])
    assert result.exit_code == 0, result.output
    model_id = int(result.output.split("model ")[1].split()[0])

    proof = runner.invoke(app, ["models", "prove", str(model_id), str(registered[2]["work_id"]), *common])
    assert proof.exit_code == 0 and json.loads(proof.output)["verified_on_chain"] is True
    assert runner.invoke(app, ["models", "prove", str(model_id), str(registered[4]["work_id"]), *common]).exit_code == 1
    clean = runner.invoke(app, ["models", "audit", str(model_id), *common])
    assert clean.exit_code == 0 and "clean" in clean.output and "NOT" not in clean.output

    by_id = tmp_path / "set.json"
    by_id.write_text(json.dumps([w["work_id"] for w in registered]))
    result = runner.invoke(app, ["models", "register", "--training-set", str(by_id), "--name", "tainted", "--weights-hash", "0x" + "ee" * 32, *common])
    assert result.exit_code == 0, result.output
    tainted = int(result.output.split("model ")[1].split()[0])
    audit = runner.invoke(app, ["models", "audit", str(tainted), *common])
    assert audit.exit_code == 1 and "NOT clean" in audit.output and "training_forbidden" in audit.output

    bad = tmp_path / "bad.txt"
    bad.write_text("1\n0xnothash\n")
    result = runner.invoke(app, ["models", "register", "--training-set", str(bad), "--name", "x", "--weights-hash", "0x" + "ee" * 32, *common])
    assert result.exit_code != 0 and "every entry" in result.output
