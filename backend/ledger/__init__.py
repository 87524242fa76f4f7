"""AI rights and royalty ledger: works, models and outputs anchored on an EVM chain, projected into SQL."""

import os
import sys
from pathlib import Path

#: Keccak for eth-utils and web3 (checksummed addresses, event topics, ABI selectors) from
#: safe-pysha3's C code rather than pycryptodome's: six times faster per call, and a registration
#: checksums and hashes hundreds of times. Set before anything hashes (eth-hash picks on first use).
os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")

import py_ecc  # noqa: E402, F401  (imported here, early, for its side effect undone just below)

#: Repository root: the backend runs from a checkout (editable install), next to contracts/ and node_modules/.
PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: py_ecc (pulled in by web3) raises the interpreter's recursion limit to 100,000 when it is
#: imported. C code that recurses per level of its input (the json parser, the AST builder
#: pytest uses) then runs off the C stack and kills the process instead of raising
#: RecursionError. The ledger needs no deep recursion: a limit of a few thousand keeps every
#: overflow a catchable error. Request bodies are bounded in depth before parsing anyway
#: (``jsonshape``); this is the second line.
RECURSION_LIMIT = 3000
sys.setrecursionlimit(RECURSION_LIMIT)
