"""Checks the ledger runs on itself: the access matrix from its route table, hostile requests,
load, API fuzzing, crash trials. Shared by the tests and `scripts/reliability.py`."""
