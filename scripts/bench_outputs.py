"""Gas per output and per attribution link for registerOutputs at batch sizes 1, 100 and 1000.

Starts its own anvil and ledger (``reliability.scratch``; nothing else is touched), registers
1,000 works and a model, then sends batches of outputs with 1 and with 8 links each, directly from the platform's account and also
relayed through the ERC-2771 forwarder. Per-link gas is the difference between the 8-link and
1-link batches divided by the extra links; per-output gas is the rest.

    .venv/bin/python scripts/bench_outputs.py
"""

import hashlib

from rich.console import Console
from rich.table import Table

from ledger.chain.deployment import fund_on_dev_chain
from ledger.chain.links import pack_links
from ledger.chain.registry import Owner, Terms, WorkInput
from ledger.chain.sender import TxSender
from ledger.chain.work_codec import pack_works
from ledger.models import Role
from ledger.reliability.scratch import key_for, scratch_ledger
from ledger.services.keys import custodial_signer
from ledger.services.models import ModelRequest, register_model

BATCHES = (1, 100, 1000)
WORKS = 1000


def _outputs(seed: str, n: int, links: int, model_id: int) -> list[tuple[bytes, int, list[int]]]:  # links packed: (work, weight, kind 0 = training)
    out = []
    for i in range(n):
        works = sorted({1 + (i * 7 + k * 97) % WORKS for k in range(links)})
        weights = [10_000 // len(works)] * len(works)
        weights[0] += 10_000 - sum(weights)
        out.append((hashlib.sha256(f"{seed}-{i}".encode()).digest(), model_id, pack_links((w, x, 0) for w, x in zip(works, weights))))
    return out


def main() -> None:
    console = Console()
    with scratch_ledger() as (ledger, _):
        holder = key_for(ledger, Role.rights_holder)
        platform = key_for(ledger, Role.platform)
        signer = custodial_signer(ledger, holder)
        me = (Owner(signer.address, signer.address, 10_000),)
        inputs = [WorkInput(hashlib.sha256(f"work {i}".encode()).digest(), "bafkreibench", Terms.from_flags(True, 500), me) for i in range(WORKS)]
        ledger.relayer.relay(signer, ledger.call("WorkRegistry", "registerWorks", pack_works(inputs)))
        ledger.indexer.sync()
        model = register_model(ledger, platform, ModelRequest("bench", "1", b"\x01" * 32, work_ids=list(range(1, WORKS + 1))))
        platform_signer = custodial_signer(ledger, platform)
        fund_on_dev_chain(ledger.w3, platform_signer.address)
        direct = TxSender(ledger.w3, platform_signer, ledger.sender.decoder)

        table = Table("batch", "links/output", "path", "gas", "gas/output", title="registerOutputs")
        per = {}
        for n in BATCHES:
            for links in (1, 8):
                for path in ("direct", "relayed"):
                    call = ledger.call("OutputRegistry", "registerOutputs", _outputs(f"{n}-{links}-{path}", n, links, model.model_id))
                    receipt = direct.send(call) if path == "direct" else ledger.relayer.relay(platform_signer, call)
                    gas = int(receipt["gasUsed"])
                    per[(n, links, path)] = gas
                    table.add_row(str(n), str(links), path, f"{gas:,}", f"{gas / n:,.0f}")
        console.print(table)
        summary = Table("batch", "gas per output (1 link)", "gas per extra link", "relay overhead per tx", title="derived")
        for n in BATCHES:
            per_link = (per[(n, 8, "direct")] - per[(n, 1, "direct")]) / (7 * n)
            per_output = per[(n, 1, "direct")] / n - per_link
            overhead = per[(n, 8, "relayed")] - per[(n, 8, "direct")]
            summary.add_row(str(n), f"{per_output:,.0f}", f"{per_link:,.0f}", f"{overhead:,}")
        console.print(summary)


if __name__ == "__main__":
    main()
