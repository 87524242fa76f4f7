#!/usr/bin/env bash
# The whole ledger on its embedded default: installs if needed, starts anvil (state kept in
# data/chain), deploys the contracts once (data/deployments/<chain id>.json), serves the API on :8000.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/setup.sh"
cd "$root"
exec .venv/bin/ledger up "$@"
