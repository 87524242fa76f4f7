#!/usr/bin/env bash
# Every test: Hardhat 3 Solidity tests (with fuzzing), then pytest against a real anvil, SQLite,
# PostgreSQL (127.0.0.1:5432 unless LEDGER_TEST_POSTGRES_URL says otherwise) and a real HTTP server.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
scripts/node.sh node_modules/.bin/hardhat test solidity
.venv/bin/python -m pytest "$@"
