"""JSON-RPC calls per work registration, by method: what each write costs the chain node.

Starts its own anvil, registers one work to warm up, then five more one by one while counting
every JSON-RPC request the ledger's HTTP client sends (batched requests counted one by one).
Issue 14 found 28 calls a registration, 12 of them eth_chainId.

    .venv/bin/python scripts/bench_rpc.py
"""

import collections, socket, tempfile, hashlib, sys
from pathlib import Path
from ledger.chain.node import AnvilNode
from ledger.config import Settings
from ledger.runtime import open_ledger
from ledger.models import Role
from ledger.services.keys import create_api_key, authenticate
from ledger.db import session_scope
from ledger.services.works import WorkRequest, register_works
from ledger.chain.registry import Terms
from ledger.consent.uses import from_flags
with tempfile.TemporaryDirectory() as tmp:
    s=socket.socket(); s.bind(("127.0.0.1",0)); port=s.getsockname()[1]; s.close()
    node=AnvilNode(Path(tmp)/"c", port); node.start()
    try:
        ledger=open_ledger(Settings(data_dir=Path(tmp)/"d", rpc_url=node.url, database_url=f"sqlite:///{tmp}/l.db"), deploy=True)
        token=create_api_key(ledger, Role.rights_holder, "x").token
        with session_scope(ledger.engine) as ss:
            key=authenticate(ss, token); ss.expunge(key)
        register_works(ledger, key, [WorkRequest("w0", Terms(from_flags(True, False), 0), content_hash=hashlib.sha256(b"w0").digest())])
        counts=collections.Counter()
        import requests
        orig_post=requests.Session.post
        def post(self, url, *a, **k):
            import json as _j
            body=k.get("data") or (a[0] if a else b"")
            try:
                d=_j.loads(body)
                for r in (d if isinstance(d, list) else [d]): counts[r["method"]]+=1
            except Exception: pass
            return orig_post(self, url, *a, **k)
        requests.Session.post=post
        for i in range(1,6):
            register_works(ledger, key, [WorkRequest(f"w{i}", Terms(from_flags(True, False), 0), content_hash=hashlib.sha256(f"w{i}".encode()).digest())])
        print(f"RPC calls per registration: {sum(counts.values()) / 5:g}")
        for method, n in counts.most_common():
            print(f"  {method}: {n / 5:g}")
    finally:
        node.stop()
