#!/usr/bin/env bash
# Every test: Hardhat 3 Solidity tests (with fuzzing), then pytest against a real anvil, SQLite,
# PostgreSQL (127.0.0.1:5432 unless LEDGER_TEST_POSTGRES_URL says otherwise), a real HTTP server
# and a real browser (Debian's chromium, for the portal; installed with apt when missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"

chromium="${LEDGER_TEST_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends chromium >/dev/null \
    || { $sudo apt-get update >/dev/null && $sudo apt-get install -y --no-install-recommends chromium >/dev/null; }
fi

scripts/node.sh node_modules/.bin/hardhat test solidity
# Two processes (LEDGER_TEST_PROCESSES to change; 0 for one): most tests wait on anvil, the
# database or HTTP, so two share two cores well. A file's tests stay in one process, with its
# module fixtures set up once.
.venv/bin/python -m pytest -n "${LEDGER_TEST_PROCESSES:-2}" --dist loadfile "$@"
