"""Production records verified and stored per second (the issue's target: >= 5,000/s on 2 cores).

Starts its own anvil, enrols one device, signs N records on the device's side (not timed), then
times ``records.submit`` (signature recovery with libsecp256k1, the enrolment check, one insert
per batch) in batches of 5,000, on SQLite; with ``--postgres URL`` on PostgreSQL too. As a
baseline in the same process it times eth-account's own EIP-712 encode-and-recover, which the
ledger does not use. Also times anchoring everything stored (one transaction per batch).

    .venv/bin/python scripts/bench_records.py [--records 50000] [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres]

With --postgres it creates a database of its own there (ledger_bench_records), dropped and made
anew each run.
"""

import argparse
import os
import time

from eth_account import Account
from eth_account.messages import encode_typed_data
from rich.console import Console
from rich.table import Table

from ledger.models import Role
from ledger.records import typed
from ledger.reliability.scratch import fresh_postgres_database, key_for, scratch_ledger
from ledger.runtime import Ledger
from ledger.services import devices, records


def _signed(ledger: Ledger, device: Account, n: int) -> list[records.SignedRecord]:
    domain = records.domain(ledger)
    now = int(time.time())
    out = []
    for i in range(n):
        r = typed.Record(i % 2, os.urandom(32), (os.urandom(32),), "Krita", "5.2.6", 0, bytes.fromhex(device.address[2:]), now - i % 600)
        out.append(records.SignedRecord(r, typed.sign(bytes(device.key), typed.record_digest(domain, r))))
    return out


def _run(ledger: Ledger, n: int) -> tuple[float, float]:
    owner = key_for(ledger, Role.rights_holder)
    device = Account.create()
    expires = int(time.time()) + 86_400
    scope = devices.scope_of(["create", "edit"])
    consent = typed.sign(bytes(device.key), typed.enrolment_digest(devices.domain(ledger), str(owner.holder_address), scope, expires))
    devices.enrol(ledger, owner, device.address, ["create", "edit"], expires, "bench", consent)
    signed = _signed(ledger, device, n)
    started = time.perf_counter()
    for lo in range(0, n, records.MAX_RECORDS):
        records.submit(ledger, signed[lo : lo + records.MAX_RECORDS])
    stored = n / (time.perf_counter() - started)
    started = time.perf_counter()
    while records.anchor_pending(ledger) is not None:
        pass
    return stored, n / (time.perf_counter() - started)


def _baseline(ledger: Ledger, n: int) -> float:
    """eth-account's general EIP-712 path: encode the typed data, then recover."""
    device = Account.create()
    sample = _signed(ledger, device, n)
    chain_id, contract = ledger.deployment.chain_id, ledger.production_records.address
    started = time.perf_counter()
    for item in sample:
        Account.recover_message(encode_typed_data(full_message=typed.typed_data(item.record, chain_id, contract)), signature=item.signature)
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args()
    console = Console()
    table = Table("database", "records", "verified + stored /s", "anchored /s", title="production records")
    baseline = None
    for name, url in (("sqlite", None), ("postgresql", args.postgres)):
        if name == "postgresql" and url is None:
            continue
        with scratch_ledger(fresh_postgres_database(url, "ledger_bench_records") if url else None) as (ledger, _):
            stored, anchored = _run(ledger, args.records)
            table.add_row(name, f"{args.records:,}", f"{stored:,.0f}", f"{anchored:,.0f}")
            if baseline is None:
                baseline = (_baseline(ledger, 2_000), stored)
    console.print(table)
    if baseline:
        console.print(f"eth-account encode + recover alone (baseline, same process): {baseline[0]:,.0f} /s; the ledger's path is {baseline[1] / baseline[0]:.1f}x faster")


if __name__ == "__main__":
    main()
