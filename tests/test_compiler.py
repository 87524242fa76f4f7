"""Hardhat 3 (npm wasm solc) and py-solc-x (same wasm solc) must produce identical contracts."""

import json
import subprocess

import pytest

from ledger import PROJECT_ROOT
from ledger.chain.compiler import _node_binary, compile_contract, solc_version, wasm_version
from ledger.chain.deployment import CONTRACTS


def test_installed_compiler_is_the_pinned_version() -> None:
    assert wasm_version().startswith(solc_version() + "+commit.")


@pytest.fixture(scope="module")
def hardhat_artifacts() -> None:
    subprocess.run(
        [_node_binary(), "node_modules/.bin/hardhat", "build", "--no-tests"],
        cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("name", CONTRACTS)
def test_python_and_hardhat_bytecode_are_identical(hardhat_artifacts: None, name: str) -> None:
    artifact = json.loads((PROJECT_ROOT / f"artifacts/contracts/{name}.sol/{name}.json").read_text())
    ours = compile_contract(f"{name}.sol")
    assert ours.abi == artifact["abi"]
    assert ours.bytecode == artifact["bytecode"]
    assert ours.deployed_bytecode == artifact["deployedBytecode"]
