#!/usr/bin/env bash
# Installs what the ledger needs, if it is not installed yet: a virtualenv with the backend (and
# test tools) from PyPI, node_modules (Hardhat 3, wasm solc, OpenZeppelin, anvil) from npm, and
# Debian's fonts-ipaexfont-gothic (Japanese titles in PDF statements; without it they print as
# "?"). Re-running is cheap: each step is skipped when its inputs are unchanged.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python >= 3.11 is needed (found $("$python" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

stamp_py=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp_py" ]; then
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[test]"
  rm -f .venv/.installed-*; touch "$stamp_py"
fi

stamp_npm="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$stamp_npm" ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp_npm"
fi

if [ -z "${LEDGER_PDF_FONT:-}" ] && [ ! -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf ] && command -v apt-get >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get install -y --no-install-recommends fonts-ipaexfont-gothic >/dev/null 2>&1 \
    || { $sudo apt-get update >/dev/null 2>&1 && $sudo apt-get install -y --no-install-recommends fonts-ipaexfont-gothic >/dev/null 2>&1; } \
    || echo "note: could not install fonts-ipaexfont-gothic; PDF statements will print non-Latin titles as '?'" >&2
fi
