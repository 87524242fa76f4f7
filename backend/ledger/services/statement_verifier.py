"""Verifies a royalty statement from its document and the chain alone: no ledger database, no API.

This is what a rights holder, an auditor or a court-appointed expert runs to check a statement
they were given: that it is the statement published on chain, that its entries are exactly the
ones the on-chain root commits to, that every amount adds up to the unit, and that every usage
report it is built on was anchored on chain by its platform with the same line count and revenue.
With the usage report files as well (their hashes are on chain, their lines are not),
``recompute_statement`` rebuilds the facts from the chain's events in a database of its own and
recomputes every amount.
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from ledger.accounting import escrow
from ledger.accounting.balances import Reserve, ReservePolicy, settle
from ledger.accounting.coverage import Anchor, Window, coverage
from ledger.chain.compiler import compile_contract
from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree
from ledger.codes import currency_exponent, minor_unit_text
from ledger.content.statement_document import lines_array, parse_statement
from ledger.content.store import LocalBlockStore
from ledger.db import init_db, larger_cache, make_engine, session_scope
from ledger.indexer.runner import Indexer
from ledger.models import UsageReport
from ledger.models.statements import STATEMENT_SCHEMAS
from ledger.services.checks import Check, Checks
from ledger.services.platform_shares import share_in_force
from ledger.services import statement_escrow
from ledger.services.royalties import RoyaltyRun, compute_in
from ledger.services.errors import InvalidInput
from ledger.services.model_audit import DEFAULT_ONE_CREATOR_SHARE_BPS
from ledger.services.model_pools import PoolCheck
from ledger.services.statements import model_pools_document
from ledger.services.usage import resolve_lines, store_lines
from ledger.services.usage_format import Header, ReportLine, ReportReader, records_from_csv



def verify_statement(w3: Web3, raw: bytes, statement_id: str | None = None, previous: bytes | None = None) -> list[Check]:
    """Every check, in order; the statement is verified when all are ok. ``statement_id`` is the
    id the document is claimed to have (default: its own hash, which is then checked on chain);
    ``previous``, the document of the statement published before it in its currency, against
    which the balances brought forward are checked."""
    c = Checks()
    digest = "0x" + hashlib.sha256(raw).hexdigest()
    sid = (statement_id or digest).lower()
    c.check("document hash", lambda: (digest == sid, f"SHA-256 of the document is {digest}"))
    doc: dict[str, Any] = {}

    def parse() -> tuple[bool, str]:
        doc.update(parse_statement(raw))
        return doc.get("schema") in STATEMENT_SCHEMAS, f"schema {doc.get('schema')!r}"

    if not c.check("document format", parse):
        return c.results
    entries = [(int(e["index"]), to_checksum_address(e["account"]), to_checksum_address(e["payout"]), int(e["amount"])) for e in doc["entries"]]
    cumulative = all("salt" in e for e in doc["entries"])  # v6: cumulative leaves (account, payout, cumulative, salt)
    if cumulative:
        leaves = [(a, p, int(e["cumulative"]), bytes.fromhex(str(e["salt"])[2:])) for (_, a, p, _), e in zip(entries, doc["entries"])]
        tree = StandardMerkleTree.of(leaves, STATEMENT_LEAF_TYPES)
    else:  # before v6: (index, account, payout, amount) leaves, claimed one by one
        tree = StandardMerkleTree.of(entries, ("uint256", "address", "address", "uint256"))
    root = "0x" + tree.root.hex()
    c.check("entries rebuild the root", lambda: (root == doc["root"], f"root of {len(entries)} entries is {root}"))
    c.check("entry indexes", lambda: ([e[0] for e in entries] == list(range(len(entries))), "0, 1, 2, ... in order"))
    if cumulative:

        def cumulatives() -> tuple[bool, str]:
            """Each leaf's cumulative amount is what the book's statements owed the payee before,
            plus what this entry pays; given the statement before it in the same book, exactly its
            cumulative amount for a payee in both."""
            wrong = [e["index"] for e in doc["entries"] if int(e["cumulative"]) < int(e["amount"]) or len(str(e["salt"])) != 66]
            if wrong:
                return False, f"entries {wrong[:5]} declare a cumulative amount below what they pay, or a salt that is not 32 bytes"
            if previous is None:
                return True, "every cumulative amount covers its entry (give --previous to check them against the statement before)"
            prev = parse_statement(previous)
            same_book = prev.get("currency") == doc["currency"] and (prev.get("settlement") or {}).get("token") == (doc.get("settlement") or {}).get("token")
            if not same_book or not all("cumulative" in e for e in prev["entries"]):
                return True, "the previous statement is of another settlement: cumulative amounts checked against their entries only"
            before = {(e["account"], e["payout"]): int(e["cumulative"]) for e in prev["entries"]}
            moved = [e["index"] for e in doc["entries"] if (e["account"], e["payout"]) in before and int(e["cumulative"]) - int(e["amount"]) != before[(e["account"], e["payout"])]]
            both = sum(1 for e in doc["entries"] if (e["account"], e["payout"]) in before)
            return not moved, f"{both} payee(s) also in the previous statement: " + ("each carries its cumulative amount on" if not moved else f"entries {moved[:5]} do not")

        c.check("cumulative amounts", cumulatives)
    c.check("currency", lambda: (currency_exponent(doc["currency"]) == doc["minorUnitExponent"], f"{doc['currency']}, minor unit {minor_unit_text(int(doc['minorUnitExponent']))}"))

    earned = [int(e.get("earned", e["amount"])) for e in doc["entries"]]  # v1: entries paid what they earned
    payable_total = int(doc.get("payableTotal", doc["holdersTotal"]))
    held_total, released_total = int(doc.get("escrowHeldTotal", 0)), int(doc.get("escrowReleasedTotal", 0))  # v4
    entry_of = {(e[1], e[2]): e[0] for e in entries}

    def entries_add_up() -> tuple[bool, str]:
        total = sum(e[3] for e in entries)
        due = doc["holdersTotal"] - held_total + released_total
        ok = total == payable_total and sum(earned) == due and all(e[3] >= 0 for e in entries)
        return ok, (f"entries pay {total:,} (payable total {payable_total:,}) and earned {sum(earned):,} (holders' total {doc['holdersTotal']:,}"
                    f", less {held_total:,} held in escrow, plus {released_total:,} released)")  # fmt: skip

    def lines_add_up() -> tuple[bool, str]:
        """Each entry's earnings are its lines, less what escrow held from it, plus what escrow
        released to it."""
        by_entry = [0] * len(entries)
        for h in doc.get("escrow", []):
            by_entry[entry_of[(to_checksum_address(h["account"]), to_checksum_address(h["payout"]))]] -= int(h["amount"])
        for r in doc.get("escrowReleases", []):
            by_entry[entry_of[(to_checksum_address(r["account"]), to_checksum_address(r["payout"]))]] += int(r["amount"])
        for entry, _work_id, report, amount in doc["lines"]:
            reversal = 0 <= report < len(doc["reports"]) and bool(doc["reports"][report].get("reversal"))
            if not (0 <= entry < len(entries) and 0 <= report < len(doc["reports"]) and (amount < 0 if reversal else amount > 0)):
                return False, f"line {[entry, _work_id, report, amount]} names no entry or report, or its amount has the wrong sign"
            by_entry[entry] += amount
        wrong = sum(1 for e, total in zip(earned, by_entry) if e != total)
        return wrong == 0, f"{len(doc['lines']):,} lines; entries whose earnings do not match their lines: {wrong}"

    def balances_settle() -> tuple[bool, str]:
        """What each entry pays is its earnings less the reserve withheld, plus earlier reserves
        released to it, less what its account owed (balances brought forward, new advances),
        carried forward when not covered (``accounting.balances``), recomputed from the document."""
        declared = {b["account"]: (int(b["broughtForward"]), int(b.get("advances", 0)), int(b["carriedForward"])) for b in doc.get("balances", [])}
        if len(declared) != len(doc.get("balances", [])):
            return False, "an account has two balances"
        advanced: dict[str, int] = {}
        for a in doc.get("advances", []):
            advanced[to_checksum_address(a["account"])] = advanced.get(to_checksum_address(a["account"]), 0) + int(a["amount"])
        if advanced != {to_checksum_address(a): v[1] for a, v in declared.items() if v[1]}:
            return False, "the balances' advances are not the advances the statement counts"
        ordinal = int(doc.get("ordinal", 0))
        policy_doc = doc.get("policy", {"reserveBps": 0, "reserveReleaseAfter": 1})
        policy = ReservePolicy(int(policy_doc["reserveBps"]), int(policy_doc["reserveReleaseAfter"]))
        after = [Reserve(r["account"], r["payout"], int(r["heldBy"]), int(r["amount"]), int(r["releaseAt"])) for r in doc.get("reserves", [])]
        released = [Reserve(r["account"], r["payout"], int(r["heldBy"]), int(r["amount"]), ordinal) for r in doc.get("reserveReleases", [])]
        before = released + [r for r in after if r.held_by != ordinal]
        try:
            settled = settle(
                [(e[1], x) for e, x in zip(entries, earned)], {a: b for a, (b, _, _) in declared.items()}, payouts=[e[2] for e in entries],
                advances=advanced, reserves=before, policy=policy, ordinal=ordinal,
            )  # fmt: skip
        except ValueError as exc:
            return False, str(exc)
        mine = {b.account: (b.brought_forward, b.advances, b.carried_forward) for b in settled.balances}
        parts = [(int(e.get("withheld", 0)), int(e.get("released", 0)), int(e.get("recouped", 0))) for e in doc["entries"]]
        if settled.payable != [e[3] for e in entries] or mine != {a: v for a, v in declared.items() if any(v)}:
            return False, "the entries' amounts or the balances carried forward do not follow from the earnings, the advances and the balances brought forward"
        if parts != list(zip(settled.withheld, settled.released, settled.recouped)):
            return False, "the entries' withheld, released or recouped amounts do not follow from the earnings and the reserve policy"
        if [(r.account, r.payout, r.held_by, r.amount, r.release_at) for r in settled.reserves] != [(r.account, r.payout, r.held_by, r.amount, r.release_at) for r in after]:
            return False, "the reserves held after the statement are not those before it, less its releases, plus what it withheld"
        if any(b for b, _, _ in declared.values()) and not doc.get("balancesFrom"):
            return False, "balances are brought forward from no statement"
        carried = sum(c for _, _, c in declared.values())
        return True, (f"{len(declared)} account(s) with a balance; {sum(advanced.values()):,} in new advances; {sum(settled.recouped):,} recouped; "
                      f"{sum(settled.withheld):,} withheld, {sum(settled.released):,} released; {carried:,} carried forward")  # fmt: skip

    def revenue_adds_up() -> tuple[bool, str]:
        reported = sum(int(r["revenue"]) for r in doc["reports"])
        kept = sum(int(r["platformAmount"]) for r in doc["reports"])
        ok = reported == doc["revenue"] == doc["holdersTotal"] + doc["platformTotal"] and kept == doc["platformTotal"] == sum(doc["platformTotals"].values())
        return ok, f"reports {reported:,} = holders {doc['holdersTotal']:,} + platforms {doc['platformTotal']:,}"

    c.check("entries add up", entries_add_up)
    c.check("lines add up to entries", lines_add_up)
    if "escrow" in doc:
        c.check("escrow follows the disputes on chain", lambda: _escrow_on_chain(w3, doc, entries))
    c.check("balances settle", balances_settle)
    c.check("revenue is conserved", revenue_adds_up)

    def on_chain() -> tuple[bool, str]:
        if w3.eth.chain_id != doc["chainId"]:
            return False, f"the node is chain {w3.eth.chain_id}; the statement is on chain {doc['chainId']}"
        distributor = _distributor(w3, doc)
        logs = distributor.events.StatementPublished().get_logs(argument_filters={"statementId": bytes.fromhex(sid[2:])}, from_block=0)
        if len(logs) != 1:
            return False, f"{len(logs)} publications of {sid} on {doc['distributor']}"
        st = logs[0]["args"]["statement"]
        args = logs[0]["args"]
        token = None if int(args["token"], 16) == 0 else {"token": args["token"], "unitScale": int(args["unitScale"])}
        settlement = doc.get("settlement")
        declared_token = None if settlement is None else {"token": to_checksum_address(settlement["token"]), "unitScale": int(settlement["unitScale"])}
        published = (
            HexBytes(st["root"]).to_0x_hex(), int(st["total"]), int(st["entryCount"]), st["currency"], int(st["periodStart"]), int(st["periodEnd"]),
            int(st["sequence"]), int(st["anchorsUpTo"]), token,
        )  # fmt: skip
        declared = (
            doc["root"], payable_total, len(entries), doc["currency"], doc["periodStart"], doc["periodEnd"], int(doc.get("sequence", 0)),
            doc.get("anchorsUpTo"), declared_token,
        )  # fmt: skip
        tx = logs[0]["transactionHash"].to_0x_hex()
        return published == declared, f"published in {tx} (block {logs[0]['blockNumber']}): root, total, entries, currency, period, sequence, anchor block, settlement " + (
            "match" if published == declared else f"differ: chain {published}, document {declared}"
        )

    c.check("published on chain", on_chain)

    @cache
    def publications() -> list[Any]:
        """Every StatementPublished event of the distributor, read once for the checks below."""
        return list(_distributor(w3, doc).events.StatementPublished().get_logs(from_block=0))

    def adjusts() -> tuple[bool, str]:
        """An adjustment names the statements of its period before it: exactly those the chain
        holds for the same currency and period at sequences 0 .. n-1, in order (the contract
        takes each sequence once, so there is one statement per sequence)."""
        earlier = [s_.lower() for s_ in doc.get("adjusts", [])]
        sequence = int(doc.get("sequence", 0))
        slots = _slots(publications(), doc)
        on_chain = [slots[n][0] for n in range(sequence) if n in slots]
        if earlier != on_chain:
            return False, f"sequence {sequence} names {earlier}; the chain has {on_chain} before it"
        if slots.get(sequence, (sid,))[0] != sid:
            return False, f"sequence {sequence} of this period is statement {slots[sequence][0]} on chain"
        return True, "the period's first statement" if not earlier else f"adjusts {len(earlier)} published statement(s) of the same period: those before it on chain"

    c.check("adjusted statements", adjusts)

    def complete() -> tuple[bool, str]:
        """Every usage report anchored for the period after the previous statement's anchor block
        and up to this one's is paid here, and nothing else is: read from the chain's anchors."""
        if "anchorsUpTo" not in doc:
            return False, "the document does not declare anchorsUpTo (a format before v3): whether it left reports out cannot be checked"
        sequence = int(doc.get("sequence", 0))
        slots = _slots(publications(), doc)
        after = slots[sequence - 1][1] if sequence else -1
        up_to = int(doc["anchorsUpTo"])
        anchor = w3.eth.contract(address=to_checksum_address(doc["usageAnchor"]), abi=compile_contract("UsageAnchor.sol").abi)
        found = anchor.events.UsageAnchored().get_logs(from_block=int(doc["contractsFromBlock"]), to_block=up_to)
        anchors = [
            Anchor(HexBytes(e["args"]["batchHash"]).to_0x_hex(), int(e["blockNumber"]), e["args"]["platform"], e["args"]["report"]["reportId"],
                   e["args"]["report"]["currency"], int(e["args"]["report"]["periodStart"]), int(e["args"]["report"]["periodEnd"]))
            for e in found
        ]  # fmt: skip
        paid = [r["batchHash"] for r in doc["reports"] if not r.get("reversal")]
        window = Window(doc["currency"], int(doc["periodStart"]), int(doc["periodEnd"]), after, up_to)
        cover = coverage(window, anchors, paid)
        owed = sum(1 for a in anchors if window.owes(a))
        problems = [f"report {a.platform}/{a.report_id} ({a.batch_hash}, block {a.block}) is anchored for the period but not paid" for a in cover.missing]
        problems += [f"report {h} is not anchored for this period in blocks {after + 1}..{up_to}" for h in cover.foreign]
        if problems:
            return False, "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        return True, f"the {owed} report(s) anchored for the period in blocks {after + 1}..{up_to} are all paid, and only they"

    c.check("every anchored report paid", complete)

    def periods_apart() -> tuple[bool, str]:
        """No other statement of the currency covers part of this period with other dates: the
        same usage would be paid twice, by statements that each look complete."""
        logs = publications()
        clash = [
            HexBytes(e["args"]["statementId"]).to_0x_hex() for e in logs
            if e["args"]["statement"]["currency"] == doc["currency"]
            and int(e["args"]["statement"]["periodStart"]) <= doc["periodEnd"] and int(e["args"]["statement"]["periodEnd"]) >= doc["periodStart"]
            and (int(e["args"]["statement"]["periodStart"]), int(e["args"]["statement"]["periodEnd"])) != (doc["periodStart"], doc["periodEnd"])
        ]  # fmt: skip
        return not clash, f"statements {clash} cover part of this period with other dates" if clash else "no other statement covers part of the period"

    c.check("no overlapping period", periods_apart)

    def balances_from() -> tuple[bool, str]:
        """Balances come from the statement published just before this one in its currency (none
        for the first), and, given that statement's document, are exactly what it carried forward."""
        source = doc.get("balancesFrom")
        logs = sorted(publications(), key=lambda e: (e["blockNumber"], e["logIndex"]))
        ids = [HexBytes(e["args"]["statementId"]).to_0x_hex() for e in logs if e["args"]["statement"]["currency"] == doc["currency"]]
        if sid not in ids:
            return False, "the statement is not published, so its place among the currency's statements is unknown"
        before = ids[ids.index(sid) - 1] if ids.index(sid) else None
        if source != before:
            return False, f"balances are brought forward from {source}; the statement published before it in {doc['currency']} is {before}"
        if "ordinal" in doc and int(doc["ordinal"]) != ids.index(sid):
            return False, f"the statement says it is number {doc['ordinal']} in {doc['currency']}; the chain has it as number {ids.index(sid)}"
        brought = {b["account"]: int(b["broughtForward"]) for b in doc.get("balances", []) if int(b["broughtForward"])}
        releases = sorted((r["account"], r["payout"], int(r["heldBy"]), int(r["amount"])) for r in doc.get("reserveReleases", []))
        kept = sorted((r["account"], r["payout"], int(r["heldBy"]), int(r["amount"])) for r in doc.get("reserves", []) if int(r["heldBy"]) != int(doc.get("ordinal", -1)))
        if previous is None:
            held_before = bool(releases or kept)
            ok = not ((brought or held_before) and source is None)
            return ok, f"from {source or 'no statement (the first in its currency)'}; {len(brought)} balance(s) and {len(releases) + len(kept)} reserve(s) brought forward"
        prev = parse_statement(previous)
        if "0x" + hashlib.sha256(previous).hexdigest() != source:
            return False, f"the earlier document given is not {source}"
        carried = {b["account"]: int(b["carriedForward"]) for b in prev.get("balances", []) if int(b["carriedForward"])}
        if carried != brought:
            return False, f"{len(brought)} balance(s) brought forward from {source}: it carried {carried}"
        ordinal = int(doc.get("ordinal", 0))
        prev_reserves = [(r["account"], r["payout"], int(r["heldBy"]), int(r["amount"]), int(r["releaseAt"])) for r in prev.get("reserves", [])]
        due = sorted(r[:4] for r in prev_reserves if r[4] <= ordinal)
        still = sorted(r[:4] for r in prev_reserves if r[4] > ordinal)
        if due != releases or still != kept:
            return False, f"reserves: {source} held {len(prev_reserves)} tranche(s), {len(due)} due now; this statement releases {len(releases)} and keeps {len(kept)}"
        return True, f"{len(brought)} balance(s) brought forward from {source} as it carried them; {len(releases)} reserve tranche(s) released when due, {len(kept)} kept"

    c.check("balances brought forward", balances_from)
    if "advances" in doc:
        c.check("advances on chain", lambda: _advances_on_chain(w3, doc, publications(), sid))

    c.check("platform shares on chain", lambda: _shares_on_chain(w3, doc, sid))

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
            ok = inside and facts[0] == report["reportId"] and facts[3] == doc["currency"] and facts[2] >= abs(report["revenue"])
            return ok, f"anchored in block {receipt['blockNumber']}: {facts[1]:,} lines, revenue {facts[2]:,} (counted {report['revenue']:,})"

        c.check(f"report {report['reportId']} anchored", anchored)
    return c.results


def _escrow_on_chain(w3: Web3, doc: dict[str, Any], entries: list[tuple[int, str, str, int]]) -> tuple[bool, str]:
    """Escrow as the chain's disputes decide it at the statement's window end (``anchorsUpTo``),
    by the same rule as the close (``escrow.standing``): the registration holds are exactly the
    lines of the works held or redirected, per dispute and payee, and the works redirected are
    released at once to the owners their reassignment named, by their shares; attribution holds
    name disputes that held their output at that block (their amounts need the usage:
    ``recompute_statement``), and a redirected one releases at once what it holds; every release
    of an earlier statement's hold names a dispute decided by then, an upheld one carried out by
    then, and an upheld registration dispute pays the reassigned owners by their shares. (That a
    release equals what its statement of origin held is checked with that statement's document.)"""
    up_to, as_of = int(doc["anchorsUpTo"]), int(doc["periodEnd"])
    start = int(doc["contractsFromBlock"])

    def contract(name: str) -> Contract:
        return w3.eth.contract(address=to_checksum_address(doc["contracts"][name]), abi=compile_contract(f"{name}.sol").abi)

    registry = contract("DisputeRegistry")
    opened = registry.events.DisputeOpened().get_logs(from_block=start, to_block=up_to)
    closed = {
        int(ev["args"]["disputeId"]): ("upheld" if ev["args"].get("upheld") else "rejected") if ev["event"] == "DisputeResolved" else "withdrawn"
        for kind in (registry.events.DisputeResolved, registry.events.DisputeWithdrawn)
        for ev in kind().get_logs(from_block=start, to_block=up_to)
    }  # fmt: skip
    times: dict[int, int] = {}

    def time_of(block: int) -> int:
        if block not in times:
            times[block] = int(w3.eth.get_block(block)["timestamp"])
        return times[block]

    corrected: dict[int, int] = {}  # dispute -> time of its last correction by up_to
    owners_after: dict[int, list[tuple[escrow.Payee, int]]] = {}
    for ev in contract("WorkRegistry").events.WorkReassigned().get_logs(from_block=start, to_block=up_to):
        d = int(ev["args"]["disputeId"])
        corrected[d] = time_of(int(ev["blockNumber"]))
        owners_after[d] = [((o["account"], o["payout"]), int(o["shareBps"])) for o in ev["args"]["owners"]]
    if "OutputRegistry" in doc["contracts"]:
        for ev in contract("OutputRegistry").events.LinksCorrected().get_logs(from_block=start, to_block=up_to):
            corrected[int(ev["args"]["disputeId"])] = time_of(int(ev["blockNumber"]))
    attribution = {int(ev["args"]["disputeId"]) for ev in opened if int(ev["args"]["kind"]) == 1}
    facts = {
        kind: [
            escrow.DisputeFact(d, int(ev["args"]["workId"]) if kind == 0 else int.from_bytes(ev["args"]["outputHash"], "big"), closed.get(d), corrected.get(d))
            for ev in opened
            if int(ev["args"]["kind"]) == kind and (d := int(ev["args"]["disputeId"]))
        ]
        for kind in (0, 1)
    }  # fmt: skip
    held_works, redirected_works = escrow.standing(facts[0], as_of)
    held_outputs, redirected_outputs = escrow.standing(facts[1], as_of)
    pays = {d: escrow.Decision("upheld", "", escrow.by_shares(owners)) for d, owners in owners_after.items()}

    keys = {e[0]: (e[1], e[2]) for e in entries}
    lines = [(keys[entry], work, amount) for entry, work, _report, amount in doc["lines"]]
    redirected, at_once = escrow.redirect(lines, redirected_works, pays)
    expected = escrow.ordered(escrow.hold(lines, held_works) + redirected)
    as_dicts = lambda releases: sorted(  # noqa: E731
        ({"disputeId": r.dispute_id, "fromStatement": r.from_statement, "account": r.account, "payout": r.payout, "amount": r.amount, "outcome": r.outcome}
         for r in releases), key=json.dumps)  # fmt: skip
    declared_at_once = sorted(
        ({**r, "account": to_checksum_address(r["account"]), "payout": to_checksum_address(r["payout"])}
         for r in doc.get("escrowReleases", []) if r["fromStatement"] == "" and int(r["disputeId"]) not in attribution),
        key=json.dumps,
    )  # fmt: skip
    if declared_at_once != as_dicts(at_once):
        return False, f"the lines of works reassigned after the period go to their new owners: releases {as_dicts(at_once)}, not {declared_at_once}"
    declared = [
        escrow.Held(int(h["disputeId"]), int(h["workId"]), to_checksum_address(h["account"]), to_checksum_address(h["payout"]), int(h["amount"]))
        for h in doc["escrow"]
    ]  # fmt: skip
    by_registration = [h for h in declared if h.dispute_id not in attribution]
    if by_registration != expected:
        return False, f"held {[(h.dispute_id, h.work_id, h.amount) for h in by_registration]}; the disputes at block {up_to} hold {[(h.dispute_id, h.work_id, h.amount) for h in expected]}"
    at_once_total: dict[int, int] = defaultdict(int)
    for r in doc.get("escrowReleases", []):
        if r["fromStatement"] == "":
            at_once_total[int(r["disputeId"])] += int(r["amount"])
    for d in sorted({h.dispute_id for h in declared if h.dispute_id in attribution}):
        held_here = sum(h.amount for h in declared if h.dispute_id == d)
        if d in redirected_outputs.values():
            if at_once_total.get(d) != held_here:
                return False, f"attribution dispute {d} was carried out after the period: the {held_here:,} it holds is released at once, not {at_once_total.get(d, 0):,}"
        elif d not in held_outputs.values():
            return False, f"attribution dispute {d} holds nothing at block {up_to}: it is {closed.get(d, 'open')}" + (", and carried out within the period" if d in corrected else "")
        elif at_once_total.get(d):
            return False, f"attribution dispute {d} is not carried out by block {up_to}: nothing it holds can be released yet"
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in doc.get("escrowReleases", []):
        d = int(r["disputeId"])
        if closed.get(d) != r["outcome"]:
            return False, f"a release names dispute {d} as {r['outcome']}; at block {up_to} the chain says {closed.get(d, 'open')}"
        if r["outcome"] == "upheld" and d not in corrected:
            return False, f"dispute {d} is not carried out by block {up_to}: its escrow cannot be released yet"
        if r["fromStatement"] and r["outcome"] == "upheld" and d not in attribution:
            groups[(d, r["fromStatement"])].append(r)
    for (d, origin), releases in sorted(groups.items()):  # attribution ones are split by the engine: recompute_statement
        total = sum(int(r["amount"]) for r in releases)
        theirs = sorted((to_checksum_address(r["account"]), to_checksum_address(r["payout"]), int(r["amount"])) for r in releases)
        mine = sorted((a, p, amount) for (a, p), amount in pays[d].pays(total) if amount)  # type: ignore[misc]
        if theirs != mine:
            return False, f"dispute {d} was upheld: the {total:,} held by {origin} goes to the work's new owners by their shares, {mine}, not {theirs}"
    held_sum = sum(h.amount for h in declared)
    released = sum(int(r["amount"]) for r in doc.get("escrowReleases", []))
    ok = held_sum == int(doc["escrowHeldTotal"]) and released == int(doc["escrowReleasedTotal"])
    return ok, (f"{len(declared)} hold(s) for {len(held_works) + len(redirected_works)} disputed work(s) and "
                f"{len({h.dispute_id for h in declared} & attribution)} contested output(s): {held_sum:,}; "
                f"{len(doc.get('escrowReleases', []))} release(s): {released:,}")  # fmt: skip


def _advances_on_chain(w3: Web3, doc: dict[str, Any], publications: list[Any], sid: str) -> tuple[bool, str]:
    """Every advance the statement counts was recorded on the distributor for its currency, with
    that account and amount, after the anchor block of the statement published before it in the
    currency and up to its own; and every advance recorded there and then is counted."""
    logs = sorted(publications, key=lambda e: (e["blockNumber"], e["logIndex"]))
    mine = [e for e in logs if e["args"]["statement"]["currency"] == doc["currency"]]
    ids = [HexBytes(e["args"]["statementId"]).to_0x_hex() for e in mine]
    if sid not in ids:
        return False, "the statement is not published, so which advances it must count is unknown"
    at = ids.index(sid)
    after = int(mine[at - 1]["args"]["statement"]["anchorsUpTo"]) if at else -1
    up_to = int(doc["anchorsUpTo"])
    found = _distributor(w3, doc).events.AdvanceRecorded().get_logs(from_block=max(after + 1, int(doc["contractsFromBlock"])), to_block=up_to)
    recorded = sorted(
        (HexBytes(e["args"]["advanceId"]).to_0x_hex(), e["args"]["account"], int(e["args"]["amount"]))
        for e in found if e["args"]["currency"] == doc["currency"]
    )  # fmt: skip
    counted = sorted((a["advanceId"], to_checksum_address(a["account"]), int(a["amount"])) for a in doc["advances"])
    if recorded != counted:
        missing = [r[0] for r in recorded if r not in counted]
        foreign = [c[0] for c in counted if c not in recorded]
        return False, f"advances recorded in blocks {after + 1}..{up_to} but not counted: {missing[:3]}; counted but not recorded there: {foreign[:3]}"
    return True, f"the {len(counted)} advance(s) recorded for {doc['currency']} in blocks {after + 1}..{up_to} are counted, and only they"


def _shares_on_chain(w3: Web3, doc: dict[str, Any], sid: str) -> tuple[bool, str]:
    """Each report's platform share is the one PlatformTerms had in force on the report's first
    day, as the chain stood when the statement was published (an entry recorded later cannot
    make a statement wrong after the fact)."""
    address = doc.get("contracts", {}).get("PlatformTerms")
    if address is None:
        return True, "this deployment has no PlatformTerms (statement from before it): shares are as declared"
    published = _distributor(w3, doc).events.StatementPublished().get_logs(argument_filters={"statementId": bytes.fromhex(sid[2:])}, from_block=0)
    if len(published) != 1:
        return False, "the statement is not published, so the shares in force then are unknown"
    terms = w3.eth.contract(address=to_checksum_address(address), abi=compile_contract("PlatformTerms.sol").abi)
    entries: dict[str, list[tuple[int, int]]] = {}
    for e in terms.events.PlatformShareSet().get_logs(from_block=int(doc["contractsFromBlock"]), to_block=int(published[0]["blockNumber"])):
        entries.setdefault(e["args"]["platform"], []).append((int(e["args"]["effectiveFrom"]), int(e["args"]["shareBps"])))
    anchor = w3.eth.contract(address=to_checksum_address(doc["usageAnchor"]), abi=compile_contract("UsageAnchor.sol").abi)
    wrong = []
    for report in doc["reports"]:
        receipt = w3.eth.get_transaction_receipt(report["anchorTx"])
        events = [e for e in anchor.events.UsageAnchored().process_receipt(receipt, errors=DISCARD) if HexBytes(e["args"]["batchHash"]).to_0x_hex() == report["batchHash"]]
        if not events:
            return False, f"{report['anchorTx']} does not anchor {report['batchHash']}"
        expected = share_in_force(entries, to_checksum_address(report["platform"]), int(events[0]["args"]["report"]["periodStart"]))
        if expected != int(report["platformShareBps"]):
            wrong.append(f"{report['reportId']}: {report['platformShareBps']} bps declared, {expected} on chain")
    return not wrong, "; ".join(wrong) or f"{len(doc['reports'])} report(s) at the shares PlatformTerms had in force"


def _slots(publications: list[Any], doc: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """Sequence -> (statement id, anchor block) of the document's currency and period, from the chain's publications."""
    out = {}
    for e in publications:
        st = e["args"]["statement"]
        if (st["currency"], int(st["periodStart"]), int(st["periodEnd"])) == (doc["currency"], doc["periodStart"], doc["periodEnd"]):
            out[int(st["sequence"])] = (HexBytes(e["args"]["statementId"]).to_0x_hex(), int(st["anchorsUpTo"]))
    return out


def _distributor(w3: Web3, doc: dict[str, Any]) -> Contract:
    """The RoyaltyDistributor the document says published it."""
    return w3.eth.contract(address=to_checksum_address(doc["distributor"]), abi=compile_contract("RoyaltyDistributor.sol").abi)


def recompute_statement(w3: Web3, raw: bytes, usage_files: list[Path], workdir: Path, blocks: Path | None = None) -> list[Check]:
    """Recomputes every amount of a statement from the chain and the usage report files, the way
    the ledger did, in a database built here from the chain's events alone.

    Each of the statement's reports must be among the files (found by the batch hash anchored on
    chain, so a changed file is not taken for the reported one); other anchored files only count
    for the lines they replace. The platform share of each report is the one the statement
    declares (agreements are off chain). The entries, the traced lines and the totals must come
    out identical, to the unit.

    Revenue paid through models' pools (model-level lines, outputs without links) needs the
    models' training-set lists: ``blocks`` is a content store holding them (e.g. a copy of the
    ledger's); each list is checked against the Merkle root on chain before it counts."""
    c = Checks()
    doc: dict[str, Any] = parse_statement(raw)
    one_creator = int(doc.get("modelPools", {}).get("oneCreatorShareBps", DEFAULT_ONE_CREATOR_SHARE_BPS))
    parsed: dict[str, _UsageFile] = {}
    for path in usage_files:

        def read(path: Path = path) -> tuple[bool, str]:
            found = _UsageFile.scan(path)
            parsed[found.batch_hash] = found
            return True, f"{found.header.platform}/{found.header.report_id}: {found.lines:,} lines, hash {found.batch_hash}"

        c.check(f"usage file {path.name}", read)
    for report in doc["reports"]:
        c.check(
            f"report {report['reportId']} file",
            lambda report=report: (report["batchHash"] in parsed, f"a file hashing to {report['batchHash']}"),  # type: ignore[misc]
        )
    if not all(check.ok for check in c.results):
        return c.results

    engine = make_engine(f"sqlite:///{workdir / 'recompute.db'}")
    try:
        init_db(engine)
        contracts = {name: w3.eth.contract(address=to_checksum_address(a), abi=compile_contract(f"{name}.sol").abi) for name, a in doc["contracts"].items()}
        c.check("facts rebuilt from the chain", lambda: _sync(w3, engine, contracts, blocks or workdir / "blocks", int(doc["contractsFromBlock"])))
        in_statement = {r["batchHash"] for r in doc["reports"]}
        anchor = contracts["UsageAnchor"]
        pks: dict[str, int] = {}

        def load() -> tuple[bool, str]:
            context = 0
            pools = PoolCheck(engine, one_creator)
            with session_scope(engine) as s, larger_cache(s):  # millions of lines: as the import does
                for batch_hash in _replaced_first(parsed, [r["batchHash"] for r in doc["reports"]]):
                    found = parsed[batch_hash]
                    header = found.header
                    if batch_hash not in in_statement:
                        anchored_by = anchor.functions.anchorOf(bytes.fromhex(batch_hash[2:])).call()[0]
                        if anchored_by != header.platform:
                            continue  # not anchored: never counted by the ledger either
                        context += 1
                    report = UsageReport(
                        platform=header.platform, report_id=header.report_id, period_start=header.period_start,
                        period_end=header.period_end, currency=header.currency, corrects_report_id=header.corrects_report_id,
                        line_count=found.lines, total_revenue=found.revenue, batch_hash=batch_hash, anchor_tx="anchored",
                    )  # fmt: skip
                    s.add(report)
                    s.flush()
                    for rows in found.pieces():
                        store_lines(s, resolve_lines(s, header, rows, report.id, pools))
                    pks[batch_hash] = int(report.id or 0)
            return True, f"{len(doc['reports'])} reports of the statement, {context} other anchored reports for their replacements"

        if not c.results[-1].ok or not c.check("usage loaded", load):
            return c.results
        shares = {pks[r["batchHash"]]: int(r["platformShareBps"]) for r in doc["reports"]}
        up_to, as_of = int(doc.get("anchorsUpTo", 0)), int(doc["periodEnd"])
        with Session(engine) as s:
            attribution = statement_escrow.attribution_standing(s, up_to, as_of) if "escrow" in doc else statement_escrow.Standing()
        runs = compute_in(
            engine, 0, int(doc["periodStart"]), as_of, currency=doc["currency"], traced=True, shares=shares,
            reports={pks[r["batchHash"]] for r in doc["reports"] if not r.get("reversal")},
            paid={pks[r["batchHash"]] for r in doc["reports"] if r.get("reversal")}, hold=attribution.hold, one_creator_share_bps=one_creator,
        )  # fmt: skip

        def same() -> tuple[bool, str]:
            if len(runs) != 1 or runs[0].traces is None:
                return False, "the usage gives no amounts"
            run, traces = runs[0], runs[0].traces
            entries = [(p.account, p.payout, p.amount) for p in run.payees]
            run_index = {(p.account, p.payout): i for i, p in enumerate(run.payees)}
            doc_keys = [(e["account"], e["payout"]) for e in doc["entries"]]
            before_escrow = {k: int(e.get("earned", e["amount"])) for k, e in zip(doc_keys, doc["entries"])}
            for h in doc.get("escrow", []):  # the engine computes earnings before escrow: add back what was held,
                before_escrow[(h["account"], h["payout"])] += int(h["amount"])
            for r in doc.get("escrowReleases", []):  # take out what was released
                before_escrow[(r["account"], r["payout"])] -= int(r["amount"])
            # Lines as arrays, entries as the run's payee numbers: millions of lines without a Python list each.
            theirs = lines_array(doc["lines"]).copy()
            if len(theirs) and (theirs[:, 0].min() < 0 or theirs[:, 0].max() >= len(doc_keys)):
                return False, "a line names an entry the statement does not have"
            with_lines = {doc_keys[e] for e in np.unique(theirs[:, 0]).tolist()}
            mine = [(a, p, amount) for (a, p), amount in before_escrow.items() if (a, p) in with_lines or amount]
            as_run = np.array([run_index.get(k, -1) for k in doc_keys], dtype=np.int64)
            recomputed = np.stack([traces.payee, traces.work_id, traces.report, traces.amount], axis=1)
            theirs[:, 0] = as_run[theirs[:, 0]]
            same_lines = theirs.shape == recomputed.shape and bool((theirs == recomputed).all())
            totals = (run.revenue, run.platform_total, run.holders_total) == (doc["revenue"], doc["platformTotal"], doc["holdersTotal"])
            ok = entries == mine and same_lines and totals
            wrong = sum(1 for a, b in zip(entries, mine) if a != b) + abs(len(entries) - len(mine))
            return ok, f"{len(entries):,} entries and {len(recomputed):,} lines recomputed{'' if same_lines else ' (lines differ)'}; entries that differ: {wrong}; totals {'match' if totals else 'differ'}"

        c.check("amounts recomputed", same)
        if runs and (runs[0].pool_shares or "modelPools" in doc):

            def pools_same() -> tuple[bool, str]:
                mine = model_pools_document(runs[0], one_creator) if runs[0].pool_shares else None
                theirs = doc.get("modelPools")
                if mine != theirs:
                    return False, f"the statement's model pools differ from the chain's: {_first_difference(mine, theirs)}"
                paid = sum(m["works"] for m in mine["models"])  # type: ignore[index]
                excluded = sum(len(m["excluded"]) for m in mine["models"])  # type: ignore[index]
                return True, f"{len(mine['shares'])} pool share(s) of {len(mine['models'])} model(s): {paid:,} works paid, {excluded:,} excluded, as the terms on chain say"  # type: ignore[index]

            c.check("model pools recomputed", pools_same)
        if runs and (attribution.hold or any(r["outcome"] == "upheld" for r in doc.get("escrowReleases", []))):
            c.check("attribution escrow recomputed", lambda: _attribution_escrow(engine, doc, runs[0], attribution))
    finally:
        engine.dispose()
    return c.results


def _first_difference(a: Any, b: Any, at: str = "") -> str:
    """Where two JSON values first differ, for a message a person can act on."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{at}.{k}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{at}[{i}]")
    return f"{at or 'value'}: recomputed {json.dumps(a)[:200]}, statement says {json.dumps(b)[:200]}"


def _attribution_escrow(engine: Engine, doc: dict[str, Any], run: RoyaltyRun, attribution: statement_escrow.Standing) -> tuple[bool, str]:
    """The holds for attribution disputes are what the held outputs' usage brought each payee,
    and every release of an upheld attribution dispute is the amount it releases split again by
    the corrected links, as the ledger does (``statement_escrow``)."""
    keys = [(p.account, p.payout) for p in run.payees]
    expected = statement_escrow.attribution_held(run, keys)
    ids = set(attribution.hold.values())
    declared = [
        escrow.Held(int(h["disputeId"]), int(h["workId"]), to_checksum_address(h["account"]), to_checksum_address(h["payout"]), int(h["amount"]))
        for h in doc.get("escrow", [])
        if int(h["disputeId"]) in ids
    ]  # fmt: skip
    if declared != expected:
        return False, f"attribution holds {[(h.dispute_id, h.work_id, h.amount) for h in declared]}; the usage gives {[(h.dispute_id, h.work_id, h.amount) for h in expected]}"
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for r in doc.get("escrowReleases", []):
        groups[(int(r["disputeId"]), r["fromStatement"])].append(r)
    checked = 0
    with Session(engine) as s:
        corrections = statement_escrow.corrections_by(s, sorted({d for d, _ in groups}), int(doc["anchorsUpTo"]))
        for (d, origin), releases in sorted(groups.items()):
            if releases[0]["outcome"] != "upheld" or d not in corrections:
                continue
            total = sum(int(r["amount"]) for r in releases)
            pays = statement_escrow.resplit(s, corrections[d], int(doc["periodEnd"]))(total)
            mine = sorted((to_checksum_address(a), to_checksum_address(p), amount) for (a, p), amount in pays)
            theirs = sorted((to_checksum_address(r["account"]), to_checksum_address(r["payout"]), int(r["amount"])) for r in releases)
            if mine != theirs:
                return False, f"dispute {d}'s release of {total:,} (from {origin or 'this statement'}) pays {theirs}; the corrected links pay {mine}"
            checked += 1
    return True, f"{len(declared)} attribution hold(s) recomputed; {checked} release(s) by corrected links split again"


@dataclass(frozen=True)
class _UsageFile:
    """A usage report file as the verifier knows it before loading it: its header, hash, size, and
    the line ids its corrections replace. Its lines are read again, a piece at a time, to load
    them, so a file of millions of lines is never held."""

    path: Path
    header: Header
    batch_hash: str
    lines: int
    revenue: int
    replaces: frozenset[str]

    @classmethod
    def scan(cls, path: Path) -> "_UsageFile":
        lines = revenue = 0
        replaces: set[str] = set()
        with _read(path) as (reader, rows):
            for row in rows:
                lines += 1
                revenue += row.revenue
                if row.replaces_line_id:
                    replaces.add(row.replaces_line_id)
            batch_hash = reader.finish()
        return cls(path, reader.header, batch_hash, lines, revenue, frozenset(replaces))

    def pieces(self, size: int = 5_000) -> Iterator[list[ReportLine]]:
        """The lines again, ``size`` at a time; refused if the file changed since it was scanned."""
        with _read(self.path) as (reader, rows):
            piece: list[ReportLine] = []
            for row in rows:
                piece.append(row)
                if len(piece) == size:
                    yield piece
                    piece = []
            if reader.finish() != self.batch_hash:
                raise InvalidInput(f"{self.path.name} changed while the statement was being verified")
            if piece:
                yield piece

    def holding(self, wanted: set[str]) -> set[str]:
        """Which of the line ids ``wanted`` this file's lines have."""
        with _read(self.path) as (_, rows):
            return {row.line_id for row in rows if row.line_id in wanted}


@contextmanager
def _read(path: Path) -> Iterator[tuple[ReportReader, Iterator[ReportLine]]]:
    """A usage file's reader (its header read) and its lines, one at a time, while the file is open."""
    with path.open(encoding="utf-8", newline="") as fh:
        records = records_from_csv(fh)
        reader = ReportReader.start(records)
        yield reader, reader.rows(records)


def _replaced_first(parsed: dict[str, _UsageFile], first: list[str]) -> list[str]:
    """Batch hashes in an order that loads every replaced line before the line replacing it (as the
    ledger received them): the statement's reports in its order, then the other files, each put
    off while a line it replaces is in a file not loaded yet. Only corrections make files read
    again here, for the replaced ids alone."""
    replaced: dict[str, set[str]] = {}
    for f in parsed.values():
        replaced.setdefault(f.header.platform, set()).update(f.replaces)
    where: dict[tuple[str, str], str] = {}
    for h, f in parsed.items():
        if replaced.get(f.header.platform):
            where.update({(f.header.platform, line_id): h for line_id in f.holding(replaced[f.header.platform])})
    needs = {h: {where[(f.header.platform, r)] for r in f.replaces if (f.header.platform, r) in where} - {h} for h, f in parsed.items()}
    pending = first + sorted(h for h in parsed if h not in set(first))
    ordered: list[str] = []
    while pending:
        ready = [h for h in pending if needs[h] <= set(ordered)] or pending[:1]  # a cycle cannot be anchored; load it to fail clearly
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered


def _sync(w3: Web3, engine: Engine, contracts: dict[str, Contract], blocks: Path, from_block: int) -> tuple[bool, str]:
    result = Indexer(w3, engine, contracts, LocalBlockStore(blocks), from_block).sync()
    return True, f"blocks {result.from_block:,}..{result.to_block:,}: {result.events:,} events"
