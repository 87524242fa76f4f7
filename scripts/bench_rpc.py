"""JSON-RPC calls per work registration, by method: what each write costs the chain node.

Starts its own anvil, registers one work to warm up, then five more one by one while counting
every JSON-RPC request the ledger sends, through web3's HTTP client and posted straight
(``chain.rpc``); batched requests are counted one by one, and the round trips apart.
Issue 14 found 28 calls a registration, 12 of them eth_chainId.

    .venv/bin/python scripts/bench_rpc.py
"""

import collections
import hashlib
import json
from typing import Any

import requests

from ledger.chain.rpc import JsonRpc
from ledger.chain.registry import Terms
from ledger.consent.uses import from_flags
from ledger.models import Role
from ledger.reliability.scratch import key_for, scratch_ledger
from ledger.services.works import WorkRequest, register_works

ROUNDS = 5


def main() -> None:
    counts: collections.Counter[str] = collections.Counter()
    trips = 0
    post, straight = requests.Session.post, JsonRpc._post

    def count(payload: Any) -> None:
        nonlocal trips
        trips += 1
        for request in payload if isinstance(payload, list) else [payload]:
            counts[request["method"]] += 1

    def counting_straight(self: JsonRpc, payload: Any, what: str) -> Any:
        count(payload)
        return straight(self, payload, what)

    def counting(self: requests.Session, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        body = kwargs.get("data") or (args[0] if args else b"")
        try:
            count(json.loads(body))
        except (ValueError, TypeError, KeyError):
            pass
        return post(self, url, *args, **kwargs)

    with scratch_ledger() as (ledger, _):
        key = key_for(ledger, Role.rights_holder)
        terms = Terms(from_flags(True, False), 0)
        register = lambda i: register_works(ledger, key, [WorkRequest(f"w{i}", terms, content_hash=hashlib.sha256(f"w{i}".encode()).digest())])  # noqa: E731
        register(0)
        requests.Session.post, JsonRpc._post = counting, counting_straight  # type: ignore[method-assign]
        try:
            for i in range(1, ROUNDS + 1):
                register(i)
        finally:
            requests.Session.post, JsonRpc._post = post, straight  # type: ignore[method-assign]
    print(f"RPC calls per registration: {sum(counts.values()) / ROUNDS:g}, in {trips / ROUNDS:g} round trips")
    for method, n in counts.most_common():
        print(f"  {method}: {n / ROUNDS:g}")


if __name__ == "__main__":
    main()
