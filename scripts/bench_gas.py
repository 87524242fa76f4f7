"""Gas of the ledger's three busiest transactions beside issue 14's targets and published anchors.

Starts its own anvil (prague), registers works, a model over them, outputs and statements, and
prints, from the receipts:

- a work registered in batches of 1 and 100, relayed through the forwarder as the ledger sends it
  (target <= 30k per work in batches of 100; Story Protocol's IP registration is about 178.7k,
  an ERC721A mint about 12.7k per token);
- an attribution link in 1000 x 8 batches of distinct works: (gas of 1000 outputs with 8 links -
  gas of 1000 outputs with 1 link) / 7000 (target <= 2k);
- a claim, off chain and with an ERC-20: a payee's first claim in a book (a fresh account, which
  writes its claimed amount and, with a token, its first balance) and its next claim (both words
  exist already) (target <= 60k with an ERC-20; Uniswap's merkle-distributor claim averages about
  78.6k).

    .venv/bin/python scripts/bench_gas.py
"""

import hashlib
import secrets

from eth_account import Account
from rich.console import Console
from rich.table import Table

from ledger.chain.links import pack_links
from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree
from ledger.chain.registry import Owner, Terms, WorkInput
from ledger.chain.work_codec import pack_works
from ledger.content.cid import RAW, cid_bytes, cid_string
from ledger.models import Role
from ledger.reliability.scratch import accountant_with_token, key_for, scratch_ledger
from ledger.runtime import Ledger
from ledger.services.keys import custodial_signer
from ledger.services.models import ModelRequest, register_model

LINKED_WORKS = 8000  # 1000 outputs x 8 links, every link to a work of its own
ENTRIES = 1000
ZERO = "0x" + "00" * 20


def _register(ledger: Ledger, signer: Account, seed: str, n: int) -> int:
    me = (Owner(signer.address, signer.address, 10_000),)
    works = [WorkInput(hashlib.sha256(f"{seed} {i}".encode()).digest(), _cid(f"{seed} {i}"), Terms.from_flags(True, 500), me) for i in range(n)]
    return int(ledger.relayer.relay(signer, ledger.call("WorkRegistry", "registerWorks", pack_works(works)))["gasUsed"])


def _cid(seed: str) -> str:
    """A metadata CID of the length the ledger stores (CIDv1, raw, sha2-256: 59 characters)."""
    return cid_string(cid_bytes(RAW, seed.encode()))


def _works(ledger: Ledger) -> tuple[dict[str, float], list[int]]:
    signer = custodial_signer(ledger, key_for(ledger, Role.rights_holder))
    per_work = {f"batch of {n}": _register(ledger, signer, f"batch{n}", n) / n for n in (1, 100)}
    first = ledger.registry.contract.functions.workCount().call() + 1
    for lo in range(0, LINKED_WORKS, 200):
        _register(ledger, signer, f"linked {lo}", 200)
    return per_work, list(range(first, first + LINKED_WORKS))


def _per_link(ledger: Ledger, work_ids: list[int]) -> float:
    ledger.indexer.sync()
    platform = key_for(ledger, Role.platform)
    model = register_model(ledger, platform, ModelRequest("bench", "1", b"\x01" * 32, work_ids=work_ids))
    signer = custodial_signer(ledger, platform)

    def outputs(seed: str, links: int) -> list[tuple[bytes, int, list[int]]]:
        out = []
        for i in range(1000):
            works = sorted(work_ids[i * 8 : i * 8 + links])
            weights = [10_000 // links] * links
            weights[0] += 10_000 - sum(weights)
            out.append((hashlib.sha256(f"{seed}-{i}".encode()).digest(), model.model_id, pack_links((w, x, 0) for w, x in zip(works, weights))))
        return out

    gas = {links: int(ledger.relayer.relay(signer, ledger.call("OutputRegistry", "registerOutputs", outputs(f"o{links}", links)))["gasUsed"]) for links in (1, 8)}
    return (gas[8] - gas[1]) / 7000


def _claims(ledger: Ledger) -> dict[str, tuple[int, int]]:
    """(first claim, next claim) of a fresh payee, per settlement."""
    accountant, token = accountant_with_token(ledger)
    others = [(Account.create().address, 1 + i) for i in range(ENTRIES - 1)]
    out = {}
    for label, tok in (("off chain", ZERO), ("ERC-20", token)):
        holder, cumulative, gas = Account.create().address, 0, []
        for k in range(2):
            cumulative += 1000 + k
            salt = secrets.token_bytes(32)
            leaves = [(holder, holder, cumulative, salt)] + [(a, a, x * (k + 1), secrets.token_bytes(32)) for a, x in others]
            tree = StandardMerkleTree.of(leaves, STATEMENT_LEAF_TYPES)
            sid, period = secrets.token_bytes(32), 86_400 * (10 + k)
            statement = (period, period + 1, "JPY" if tok == ZERO else "USD", 0, ledger.w3.eth.block_number, ENTRIES, 1000 + k + sum(x * (k + 1) for _, x in others), tree.root, "bafy")
            accountant.send(ledger.encoders["RoyaltyDistributor"]("publish", sid, statement, tok, 1 if tok != ZERO else 0))
            receipt = ledger.sender.send(ledger.encoders["RoyaltyDistributor"]("claim", sid, tree.root, holder, holder, cumulative, salt, tree.proof_of(leaves[0])))
            gas.append(int(receipt["gasUsed"]))
        out[label] = (gas[0], gas[1])
    return out


def main() -> None:
    console = Console(width=160)
    with scratch_ledger() as (ledger, _):
        per_work, linked = _works(ledger)
        per_link = _per_link(ledger, linked)
        claims = _claims(ledger)
    table = Table("transaction", "gas", "issue 14's target", "published anchor", title="gas (anvil, prague; works and outputs relayed through the forwarder)")
    table.add_row("register a work, alone", f"{per_work['batch of 1']:,.0f}", "", "Story Protocol IP registration ~178.7k")
    table.add_row("register a work, batches of 100", f"{per_work['batch of 100']:,.0f}", "<= 30k", "ERC721A mint ~12.7k per token")
    table.add_row("an attribution link, 1000 x 8 distinct works", f"{per_link:,.0f}", "<= 2k", "")
    for label, (first, then) in claims.items():
        target = "<= 60k" if label == "ERC-20" else ""
        table.add_row(f"claim, {label}: a payee's first", f"{first:,}", target, "Uniswap merkle-distributor claim ~78.6k")
        table.add_row(f"claim, {label}: its next", f"{then:,}", target, "")
    console.print(table)


if __name__ == "__main__":
    main()
