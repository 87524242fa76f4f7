"""Verifies a royalty statement from its document and the chain alone: no ledger database, no API.

This is what a rights holder, an auditor or a court-appointed expert runs to check a statement
they were given: that it is the statement published on chain, that its entries are exactly the
ones the on-chain root commits to, that every amount adds up to the unit, and that every usage
report it is built on was anchored on chain by its platform with the same line count and revenue.
(The split itself is recomputed only by someone who has the usage reports: their hashes are
on chain, their lines are not.)
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.logs import DISCARD

from ledger.chain.compiler import compile_contract
from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree
from ledger.codes import currency_exponent
from ledger.models.statements import STATEMENT_SCHEMA



@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class _Checks:
    def __init__(self) -> None:
        self.results: list[Check] = []

    def check(self, name: str, test: Callable[[], tuple[bool, str]]) -> bool:
        try:
            ok, detail = test()
        except Exception as exc:  # a malformed document or an RPC failure is a failed check, with its reason
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        self.results.append(Check(name, ok, detail))
        return ok


def verify_statement(w3: Web3, raw: bytes, statement_id: str | None = None) -> list[Check]:
    """Every check, in order; the statement is verified when all are ok. ``statement_id`` is the
    id the document is claimed to have (default: its own hash, which is then checked on chain)."""
    c = _Checks()
    digest = "0x" + hashlib.sha256(raw).hexdigest()
    sid = (statement_id or digest).lower()
    c.check("document hash", lambda: (digest == sid, f"SHA-256 of the document is {digest}"))
    doc: dict[str, Any] = {}

    def parse() -> tuple[bool, str]:
        doc.update(json.loads(raw))
        return doc.get("schema") == STATEMENT_SCHEMA, f"schema {doc.get('schema')!r}"

    if not c.check("document format", parse):
        return c.results
    entries = [(int(e["index"]), to_checksum_address(e["account"]), to_checksum_address(e["payout"]), int(e["amount"])) for e in doc["entries"]]
    tree = StandardMerkleTree.of(entries, STATEMENT_LEAF_TYPES)
    root = "0x" + tree.root.hex()
    c.check("entries rebuild the root", lambda: (root == doc["root"], f"root of {len(entries)} entries is {root}"))
    c.check("entry indexes", lambda: ([e[0] for e in entries] == list(range(len(entries))), "0, 1, 2, ... in order"))
    c.check("currency", lambda: (currency_exponent(doc["currency"]) == doc["minorUnitExponent"], f"{doc['currency']}, minor unit 10^-{doc['minorUnitExponent']}"))

    def entries_add_up() -> tuple[bool, str]:
        total = sum(e[3] for e in entries)
        return total == doc["holdersTotal"], f"entries sum to {total:,}; holders' total {doc['holdersTotal']:,}"

    def lines_add_up() -> tuple[bool, str]:
        by_entry = [0] * len(entries)
        for entry, _work_id, report, amount in doc["lines"]:
            if not (0 <= entry < len(entries) and 0 <= report < len(doc["reports"]) and amount > 0):
                return False, f"line {[entry, _work_id, report, amount]} names no entry or report, or has no amount"
            by_entry[entry] += amount
        wrong = sum(1 for e, total in zip(entries, by_entry) if e[3] != total)
        return wrong == 0, f"{len(doc['lines']):,} lines; entries not matching their lines: {wrong}"

    def revenue_adds_up() -> tuple[bool, str]:
        reported = sum(int(r["revenue"]) for r in doc["reports"])
        kept = sum(int(r["platformAmount"]) for r in doc["reports"])
        ok = reported == doc["revenue"] == doc["holdersTotal"] + doc["platformTotal"] and kept == doc["platformTotal"] == sum(doc["platformTotals"].values())
        return ok, f"reports {reported:,} = holders {doc['holdersTotal']:,} + platforms {doc['platformTotal']:,}"

    c.check("entries add up", entries_add_up)
    c.check("lines add up to entries", lines_add_up)
    c.check("revenue is conserved", revenue_adds_up)

    def on_chain() -> tuple[bool, str]:
        if w3.eth.chain_id != doc["chainId"]:
            return False, f"the node is chain {w3.eth.chain_id}; the statement is on chain {doc['chainId']}"
        distributor = w3.eth.contract(address=to_checksum_address(doc["distributor"]), abi=compile_contract("RoyaltyDistributor.sol").abi)
        logs = distributor.events.StatementPublished().get_logs(argument_filters={"statementId": bytes.fromhex(sid[2:])}, from_block=0)
        if len(logs) != 1:
            return False, f"{len(logs)} publications of {sid} on {doc['distributor']}"
        st = logs[0]["args"]["statement"]
        args = logs[0]["args"]
        token = None if int(args["token"], 16) == 0 else {"token": args["token"], "unitScale": int(args["unitScale"])}
        settlement = doc.get("settlement")
        declared_token = None if settlement is None else {"token": to_checksum_address(settlement["token"]), "unitScale": int(settlement["unitScale"])}
        published = (HexBytes(st["root"]).to_0x_hex(), int(st["total"]), int(st["entryCount"]), st["currency"], int(st["periodStart"]), int(st["periodEnd"]), token)
        declared = (doc["root"], doc["holdersTotal"], len(entries), doc["currency"], doc["periodStart"], doc["periodEnd"], declared_token)
        tx = logs[0]["transactionHash"].to_0x_hex()
        return published == declared, f"published in {tx} (block {logs[0]['blockNumber']}): root, total, entries, currency, period, settlement " + (
            "match" if published == declared else f"differ: chain {published}, document {declared}"
        )

    c.check("published on chain", on_chain)

    anchor_abi = compile_contract("UsageAnchor.sol").abi
    for report in doc["reports"]:

        def anchored(report: dict[str, Any] = report) -> tuple[bool, str]:
            receipt = w3.eth.get_transaction_receipt(report["anchorTx"])
            anchor = w3.eth.contract(address=to_checksum_address(doc["usageAnchor"]), abi=anchor_abi)
            events = [e for e in anchor.events.UsageAnchored().process_receipt(receipt, errors=DISCARD) if e["address"] == anchor.address]
            match = [
                e for e in events
                if HexBytes(e["args"]["batchHash"]).to_0x_hex() == report["batchHash"] and e["args"]["platform"] == to_checksum_address(report["platform"])
            ]  # fmt: skip
            if receipt["status"] != 1 or not match:
                return False, f"{report['anchorTx']} does not anchor {report['batchHash']} for {report['platform']}"
            r = match[0]["args"]["report"]
            facts = (r["reportId"], int(r["lineCount"]), int(r["totalRevenue"]), r["currency"])
            inside = doc["periodStart"] <= int(r["periodStart"]) and int(r["periodEnd"]) <= doc["periodEnd"]
            ok = inside and facts[0] == report["reportId"] and facts[3] == doc["currency"] and facts[2] >= report["revenue"]
            return ok, f"anchored in block {receipt['blockNumber']}: {facts[1]:,} lines, revenue {facts[2]:,} (counted {report['revenue']:,})"

        c.check(f"report {report['reportId']} anchored", anchored)
    return c.results
