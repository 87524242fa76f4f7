"""Gas of claims: one holder's entries in 1, 3 and 12 statements of one book, claimed at once.

Starts its own anvil, deploys the contracts, and publishes statements of 1,000 entries each
(off chain, and in an ERC-20): the holder's leaf carries its cumulative amount, so its latest
entry claims every earlier one. Prints the gas of that one claim against claiming the same
statements one by one (each claim then pays only its own statement's part), and the extra gas per
statement beyond the first (the target is under 15k). Reference points: Uniswap's
merkle-distributor claim averages about 78.6k gas.

    .venv/bin/python scripts/bench_claims.py
"""

import secrets

from eth_account import Account
from rich.console import Console
from rich.table import Table

from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree
from ledger.chain.sender import TxSender
from ledger.reliability.scratch import accountant_with_token, scratch_ledger
from ledger.runtime import Ledger

ENTRIES = 1000
ZERO = "0x" + "00" * 20


def _publish(ledger: Ledger, accountant: TxSender, n: int, currency: str, token: str, holder: str, amounts: list[int]) -> list[tuple[bytes, bytes, list[bytes], int, bytes]]:
    """Publishes one statement per amount (the holder's entry, with 999 others); returns per
    statement (id, the holder's proof, its cumulative amount, its salt)."""
    others = [(Account.create().address, 1 + i) for i in range(ENTRIES - 1)]
    out, cumulative = [], 0
    for k, amount in enumerate(amounts):
        cumulative += amount
        salt = secrets.token_bytes(32)
        leaves = [(holder, holder, cumulative, salt)] + [(a, a, x * (k + 1), secrets.token_bytes(32)) for a, x in others]
        tree = StandardMerkleTree.of(leaves, STATEMENT_LEAF_TYPES)
        total = amount + sum(x for _, x in others)
        sid = secrets.token_bytes(32)
        period = 86_400 * (n * 100 + k)
        statement = (period, period + 1, currency, 0, ledger.w3.eth.block_number, ENTRIES, total, tree.root, "bafy")
        accountant.send(ledger.encoders["RoyaltyDistributor"]("publish", sid, statement, token, 1 if token != ZERO else 0))
        out.append((sid, tree.root, tree.proof_of(leaves[0]), cumulative, salt))
    return out


def _gas(ledger: Ledger, sender: TxSender, holder: str, entry: tuple[bytes, bytes, list[bytes], int, bytes]) -> int:
    sid, root, proof, cumulative, salt = entry
    receipt = sender.send(ledger.encoders["RoyaltyDistributor"]("claim", sid, root, holder, holder, cumulative, salt, proof))
    return int(receipt["gasUsed"])


def main() -> None:
    console = Console()
    with scratch_ledger() as (ledger, _):
        off_chain, _ = accountant_with_token(ledger)

        def settlement(tokens: bool) -> tuple[TxSender, str]:
            """The accountant and token of a new book: a token settles one currency's book only."""
            return accountant_with_token(ledger) if tokens else (off_chain, ZERO)

        table = Table("settlement", "statements", "one claim of all", "one claim each (sum)", "extra gas per statement beyond the first")
        for label, tokens in (("off chain", False), ("ERC-20", True)):
            single = None
            for n in (1, 3, 12):
                currency = f"X{n}{'T' if tokens else 'O'}"
                holder = Account.create().address
                accountant, tok = settlement(tokens)
                entries = _publish(ledger, accountant, n, currency, tok, holder, [1000 + i for i in range(n)])
                at_once = _gas(ledger, ledger.sender, holder, entries[-1])
                holder2 = Account.create().address
                accountant, tok = settlement(tokens)
                each = sum(_gas(ledger, ledger.sender, holder2, e) for e in _publish(ledger, accountant, n, currency + "E", tok, holder2, [1000 + i for i in range(n)]))
                single = single or at_once
                extra = "" if n == 1 else f"{(at_once - single) / (n - 1):,.0f}"
                table.add_row(label, str(n), f"{at_once:,}", f"{each:,}", extra)
        console.print(table)
        console.print(f"statements of {ENTRIES:,} entries (proofs of {len(entries[-1][2])} hashes); reference: Uniswap merkle-distributor claim ~78.6k gas")


if __name__ == "__main__":
    main()
