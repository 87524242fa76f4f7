"""JSON-RPC calls per work registration, by method: what each write costs the chain node.

Starts its own anvil, registers one work to warm up, then five more one by one while counting
every JSON-RPC request the ledger's HTTP client sends (batched requests counted one by one).
Issue 14 found 28 calls a registration, 12 of them eth_chainId.

    .venv/bin/python scripts/bench_rpc.py
"""

import collections
import hashlib
import json
from typing import Any

import requests

from ledger.chain.registry import Terms
from ledger.consent.uses import from_flags
from ledger.models import Role
from ledger.reliability.scratch import key_for, scratch_ledger
from ledger.services.works import WorkRequest, register_works

ROUNDS = 5


def main() -> None:
    counts: collections.Counter[str] = collections.Counter()
    post = requests.Session.post

    def counting(self: requests.Session, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        body = kwargs.get("data") or (args[0] if args else b"")
        try:
            sent = json.loads(body)
            for request in sent if isinstance(sent, list) else [sent]:
                counts[request["method"]] += 1
        except (ValueError, TypeError, KeyError):
            pass
        return post(self, url, *args, **kwargs)

    with scratch_ledger() as (ledger, _):
        key = key_for(ledger, Role.rights_holder)
        terms = Terms(from_flags(True, False), 0)
        register = lambda i: register_works(ledger, key, [WorkRequest(f"w{i}", terms, content_hash=hashlib.sha256(f"w{i}".encode()).digest())])  # noqa: E731
        register(0)
        requests.Session.post = counting  # type: ignore[method-assign]
        try:
            for i in range(1, ROUNDS + 1):
                register(i)
        finally:
            requests.Session.post = post  # type: ignore[method-assign]
    print(f"RPC calls per registration: {sum(counts.values()) / ROUNDS:g}")
    for method, n in counts.most_common():
        print(f"  {method}: {n / ROUNDS:g}")


if __name__ == "__main__":
    main()
