"""AI rights and royalty ledger: works, models and outputs anchored on an EVM chain, projected into SQL."""

from pathlib import Path

#: Repository root: the backend runs from a checkout (editable install), next to contracts/ and node_modules/.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
