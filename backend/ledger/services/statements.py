"""Period close: one royalty statement per currency, published on chain, claimable by holders.

An accountant closes a period that has ended. The ledger runs the split engine over the period's
anchored usage with tracing on, and writes a **statement document** (canonical JSON): every
holder's entry to the minor unit, every (holder, work, usage report) line those entries add up
from, each report with its anchor transaction, and the Merkle root of the entries. The document
goes to the content store; its SHA-256 is the statement's id, under which the root is published
on ``RoyaltyDistributor``.

Document shape (keys sorted): ``entries`` ``[{index, account, payout, earned, amount}]`` ordered by
account then payout; ``lines`` ``[[entry, workId, report, amount]]`` ordered the same way, where
``entry`` and ``report`` index ``entries`` and ``reports``, and an entry's lines add up to what it
earned; ``reports`` ``[{platform, reportId, batchHash, anchorTx, lines, revenue, platformAmount,
platformShareBps, reversal}]``; totals, period, currency with its
minor-unit exponent, chain id, every contract's address and the first block to read, ``settlement``
and ``root``. Anyone holding the document can recompute the id, the root and every sum, and
check them against the chain (``statement_verifier``); with the usage reports too, every amount.
A holder proves their entry and claims it.

A statement never changes. Closing the same period again answers with its statement, unless
usage was reported for it since: then the close makes an **adjustment** statement (sequence 1,
2, ...) that pays just those reports, and names the statements it adjusts. Every report knows the
statement that paid it, so nothing is paid twice. A correction of a line already paid is settled
by the adjustment too: the paid line is reversed (a reversal report, negative lines), so a
payee's earnings may be negative; each account's entries then pay its earnings less what it owes,
and what it still owes is carried forward to its next statement in the currency
(``accounting.balances``; document fields ``earned``, ``payableTotal``, ``balances``,
``balancesFrom``). Lines of a work under an open registration dispute are held in escrow and
released by a later statement once the dispute is decided (``statement_escrow``; document fields
``escrow``, ``escrowReleases``; v4). A period overlapping a closed one with other dates is refused. A close is
refused while a report in the period still waits for its platform's signature, or runs across
the period's edge, so nothing reported for a period is silently left out.
"""

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from eth_utils import is_address, to_checksum_address
from sqlalchemy import insert, update
from web3.exceptions import BadFunctionCallOutput, ContractLogicError
from sqlmodel import Session, col, func, select

from ledger.chain.calls import Encoder
from ledger.chain.deployment import fund_on_dev_chain
from ledger.chain.erc20 import erc20
from ledger.chain.sender import TxSender
from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree
from ledger.content.statement_document import canonical_with_lines, lines_json
from ledger.codes import currency_exponent, is_currency
from ledger.dates import iso_day
from ledger.db import chunked, session_scope
from ledger.accounting.balances import Balance, Reserve, ReservePolicy, Settled, reserve_order, settle
from ledger.accounting.coverage import Anchor, Window, coverage
from ledger.models import (
    Advance, ApiKey, Statement, StatementBalance, StatementReserve, StatementEntry, StatementEscrow, UsageAnchorRecord, UsageReport,
)  # fmt: skip
from ledger.models.statements import STATEMENT_SCHEMA
from ledger.runtime import Ledger
from ledger.services import royalties, statement_escrow
from ledger.services.statement_reads import get
from ledger.services.errors import Conflict, InvalidInput
from ledger.services.keys import custodial_signer, ensure_onchain_account
from ledger.services.signing import SignatureRequired, execute

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class CloseResult:
    statement: Statement
    created: bool  # False: the period was already closed (the same statement)
    typed_data: dict[str, Any] | None = None  # a self-signing accountant signs this, then POST /relay


@dataclass(frozen=True)
class _Payable:
    """What the statement pays: its Merkle leaves (index, account, payout, amount), each payee's
    earnings in the same order, and how each amount follows from them (``settled``: what was
    withheld, released and recouped; every balance and reserve brought and carried, from
    ``balances_from``, the statement before it in the currency), with the advances it counts."""

    leaves: list[tuple[int, str, str, int]]
    earned: list[int]
    balances: list[Balance]
    balances_from: str | None
    settled: Settled | None = None
    advances: list[Advance] = field(default_factory=list)
    ordinal: int = 0
    policy: ReservePolicy = field(default_factory=ReservePolicy)
    cumulative: list[int] = field(default_factory=list)  # per entry: owed by the book's statements so far
    salts: list[bytes] = field(default_factory=list)  # per entry

    @property
    def tree_leaves(self) -> list[tuple[str, str, int, bytes]]:
        """The Merkle leaves: (account, payout, cumulative, salt), as the distributor's claim hashes them."""
        return [(a, p, c, salt) for (_, a, p, _), c, salt in zip(self.leaves, self.cumulative, self.salts)]

    @property
    def total(self) -> int:
        return sum(leaf[3] for leaf in self.leaves)


def _document(
    ledger: Ledger, run: royalties.RoyaltyRun, start: int, end: int, pay: _Payable, root: bytes, settlement: "Settlement"
) -> dict[str, Any]:
    assert pay.settled is not None
    settled = pay.settled
    return {
        "schema": STATEMENT_SCHEMA,
        "chainId": ledger.deployment.chain_id,
        "distributor": ledger.distributor.address,
        "usageAnchor": ledger.usage_anchor.address,
        # Where the facts behind the amounts are (links, terms and owner histories), so anyone
        # holding the usage reports can rebuild them from the chain and recompute every amount.
        "contracts": {name: rec.address for name, rec in sorted(ledger.deployment.contracts.items())},
        "contractsFromBlock": ledger.deployment.start_block,
        "currency": run.currency,
        "minorUnitExponent": currency_exponent(run.currency),
        "periodStart": start,
        "periodEnd": end,
        "revenue": run.revenue,
        "platformTotal": run.platform_total,
        "holdersTotal": run.holders_total,
        "platformTotals": run.platform_totals,
        "reports": [
            {"platform": r.platform, "reportId": r.report_id, "batchHash": r.batch_hash, "anchorTx": r.anchor_tx,
             "lines": r.lines, "revenue": r.revenue, "platformAmount": r.platform_amount, "platformShareBps": r.platform_share_bps,
             "reversal": r.reversal}
            for r in run.reports
        ],  # fmt: skip
        "entries": [
            {"index": i, "account": a, "payout": p, "earned": earned, "withheld": held, "released": back, "recouped": took, "amount": amount,
             "cumulative": cumulative, "salt": "0x" + salt.hex()}
            for (i, a, p, amount), earned, held, back, took, cumulative, salt in zip(
                pay.leaves, pay.earned, settled.withheld, settled.released, settled.recouped, pay.cumulative, pay.salts
            )
        ],
        "payableTotal": pay.total,
        "ordinal": pay.ordinal,
        "policy": {"reserveBps": pay.policy.share_bps, "reserveReleaseAfter": pay.policy.release_after},
        "advances": [
            {"advanceId": a.advance_id, "account": a.account, "amount": a.amount, "payer": a.payer, "note": a.note, "txHash": a.tx_hash, "block": a.block_number}
            for a in pay.advances
        ],
        "balances": [
            {"account": b.account, "broughtForward": b.brought_forward, "advances": b.advances, "carriedForward": b.carried_forward} for b in pay.balances
        ],
        "balancesFrom": pay.balances_from,
        "reserveReleases": [{"account": r.account, "payout": r.payout, "heldBy": r.held_by, "amount": r.amount} for r in settled.releases],
        "reserves": [{"account": r.account, "payout": r.payout, "heldBy": r.held_by, "amount": r.amount, "releaseAt": r.release_at} for r in settled.reserves],
        "root": "0x" + root.hex(),
        "settlement": settlement.as_document(),
    }


def model_pools_document(run: royalties.RoyaltyRun, one_creator_share_bps: int) -> dict[str, Any]:
    """What went to models' pools (model-level lines, outputs without links), per report, and who
    each pool paid and did not pay, with the rule; the verifier recomputes all of it."""
    return {
        "rule": "equal per paid work, or by the weights declared with the training list",
        "oneCreatorShareBps": one_creator_share_bps,
        "shares": [{"report": p.report, "model": p.model_id, "lines": p.lines, "revenue": p.revenue, "pool": p.pool} for p in run.pool_shares],
        "models": [pool.as_document() for pool in run.pools],
    }


def _check_currency(currency: str) -> None:
    if not is_currency(currency):
        raise InvalidInput(f"currency must be an ISO 4217 code with a minor unit, like JPY or USD; got {currency!r}")


def _check_closable(s: Session, currency: str, start: int, end: int) -> None:
    overlapping = s.exec(
        select(Statement).where(
            Statement.currency == currency, Statement.period_start <= end, Statement.period_end >= start,
            (Statement.period_start != start) | (Statement.period_end != end),
        )
    ).first()  # fmt: skip
    if overlapping is not None:
        raise Conflict(
            f"{currency} is already closed from {iso_day(overlapping.period_start)} to {iso_day(overlapping.period_end)} "
            f"(statement {overlapping.statement_id}); a period is closed once, with the same dates for its adjustments",
            statement_id=overlapping.statement_id,
        )
    touching = s.exec(
        select(UsageReport).where(UsageReport.currency == currency, UsageReport.period_start <= end, UsageReport.period_end >= start)
    ).all()
    pending = [r for r in touching if not r.anchor_tx]
    if pending:
        names = ", ".join(f"{r.platform}/{r.report_id}" for r in pending[:5])
        raise Conflict(f"{len(pending)} usage report(s) in this period wait for their platform's signed anchor ({names}); relay or withdraw them first")
    across = [r for r in touching if r.period_start < start or r.period_end > end]
    if across:
        r = across[0]
        raise Conflict(
            f"usage report {r.platform}/{r.report_id} runs from {iso_day(r.period_start)} to {iso_day(r.period_end)}, across this "
            "period's edge; close a period that contains it whole"
        )


def _unpaid(s: Session, window: Window) -> set[int]:
    """The reports this statement owes (``accounting.coverage``): every report anchored for the
    period in the window's blocks, per the projection of the chain's anchors. Each must be here,
    imported and unpaid; an anchor whose report is not (a platform anchored without sending the
    file, or its import is still running) stops the close, because a statement that left it out
    would fail verification. Reports anchored after the window wait for the next adjustment."""
    anchors = [
        Anchor(a.batch_hash, a.block_number, a.platform, a.report_id, a.currency, a.period_start, a.period_end)
        for a in s.exec(
            select(UsageAnchorRecord).where(
                UsageAnchorRecord.currency == window.currency, UsageAnchorRecord.period_start >= window.period_start,
                UsageAnchorRecord.period_end <= window.period_end, UsageAnchorRecord.block_number > window.after_block,
                UsageAnchorRecord.block_number <= window.up_to_block,
            )
        ).all()
    ]  # fmt: skip
    reports = dict(
        s.exec(
            select(UsageReport.batch_hash, UsageReport.id).where(
                UsageReport.currency == window.currency, UsageReport.period_start >= window.period_start, UsageReport.period_end <= window.period_end,
                UsageReport.anchor_tx != "", col(UsageReport.statement_pk).is_(None),
            )  # fmt: skip
        ).all()
    )
    cover = coverage(window, anchors, reports)
    if cover.missing:
        a = cover.missing[0]
        raise Conflict(
            f"{len(cover.missing)} usage report(s) anchored on chain for this period are not imported here, or were paid elsewhere "
            f"(first: {a.platform}/{a.report_id}, hash {a.batch_hash}, block {a.block}); import the report file (or let its import finish), then close",
            batch_hash=a.batch_hash,
        )
    return {int(reports[h]) for h in reports if h not in cover.foreign}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Carried:
    """What the latest statement of a currency carried forward (each statement lists every balance
    and every reserve tranche outstanding), where a new statement's money starts from."""

    owed: dict[str, int]
    reserves: list[Reserve]
    latest_id: str | None
    ordinal: int  # the next statement's place among the currency's statements
    after_block: int  # the latest statement's anchor block: advances recorded after it are new


def _carried(s: Session, currency: str) -> Carried:
    latest = s.exec(select(Statement).where(Statement.currency == currency).order_by(col(Statement.id).desc())).first()
    if latest is None:
        return Carried({}, [], None, 0, -1)
    rows = s.exec(select(StatementBalance.account, StatementBalance.carried_forward).where(StatementBalance.statement_pk == latest.id)).all()
    reserves = [
        Reserve(r.account, r.payout, r.held_by, r.amount, r.release_at)
        for r in s.exec(select(StatementReserve).where(StatementReserve.statement_pk == latest.id))
    ]
    return Carried(
        {account: int(carried) for account, carried in rows if carried}, sorted(reserves, key=reserve_order), latest.statement_id,
        latest.ordinal + 1, latest.anchors_up_to,
    )  # fmt: skip


def _owed(s: Session, currency: str) -> tuple[dict[str, int], str | None]:
    carried = _carried(s, currency)
    return carried.owed, carried.latest_id


def _new_advances(s: Session, currency: str, after_block: int, up_to: int) -> list[Advance]:
    """Advances recorded for the currency after the previous statement's anchor block and up to
    this one's: the ones this statement counts first (each is counted by exactly one statement)."""
    stmt = select(Advance).where(Advance.currency == currency, Advance.block_number > after_block, Advance.block_number <= up_to)
    return list(s.exec(stmt.order_by(col(Advance.block_number), col(Advance.log_index))).all())


def _with_release_entries(held: statement_escrow.EscrowPlan, reserves: list[Reserve], ordinal: int) -> tuple[list[royalties.PayeeTotal], royalties.Traces]:
    """The payees, with an entry (earning nothing) for each payee a reserve is released to that
    has none, in entry order (account, then payout, numerically); the lines renumbered to match."""
    have = {(p.account, p.payout) for p in held.payees}
    extra = {(r.account, r.payout) for r in reserves if r.release_at <= ordinal} - have
    if not extra:
        return held.payees, held.traces
    payees = sorted(held.payees + [royalties.PayeeTotal(a, p, 0) for a, p in extra], key=lambda x: (int(x.account, 16), int(x.payout, 16)))
    position = {(p.account, p.payout): i for i, p in enumerate(payees)}
    remap = np.array([position[(p.account, p.payout)] for p in held.payees], dtype=np.int64)
    t = held.traces
    return payees, royalties.Traces(remap[t.payee] if len(t) else t.payee, t.work_id, t.report, t.amount)


def _payable(
    payees: list[royalties.PayeeTotal], carried: Carried, advances: list[Advance] | None = None, policy: ReservePolicy | None = None
) -> _Payable:
    new: dict[str, int] = {}
    for a in advances or []:
        new[a.account] = new.get(a.account, 0) + a.amount
    policy = policy or ReservePolicy()
    settled = settle(
        [(p.account, p.amount) for p in payees], carried.owed, payouts=[p.payout for p in payees], advances=new,
        reserves=carried.reserves, policy=policy, ordinal=carried.ordinal,
    )  # fmt: skip
    leaves = [(i, p.account, p.payout, amount) for i, (p, amount) in enumerate(zip(payees, settled.payable))]
    return _Payable(leaves, [p.amount for p in payees], settled.balances, carried.latest_id, settled, list(advances or []), carried.ordinal, policy)


def _with_cumulative(pay: _Payable, before: dict[tuple[str, str], int], salts: list[bytes]) -> _Payable:
    """Each entry's cumulative amount in the book (what the payee's entries there paid before,
    plus this one) and its salt."""
    cumulative = [before.get((a, p), 0) + amount for _, a, p, amount in pay.leaves]
    return replace(pay, cumulative=cumulative, salts=salts)


def _cumulative_before(s: Session, currency: str, token: str, payees: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """What the statements of a book (currency and settlement token; "" off chain) owed each payee
    so far: the largest cumulative amount of its entries there (cumulative amounts only grow)."""
    out: dict[tuple[str, str], int] = {}
    accounts = sorted({a for a, _ in payees})
    for chunk in chunked(accounts):
        rows = s.exec(
            select(StatementEntry.account, StatementEntry.payout, func.max(StatementEntry.cumulative))
            .join(Statement, col(Statement.id) == col(StatementEntry.statement_pk))
            .where(Statement.currency == currency, Statement.token == token, col(StatementEntry.account).in_(chunk))
            .group_by(col(StatementEntry.account), col(StatementEntry.payout))
        ).all()
        out.update({(a, p): int(c) for a, p, c in rows})
    return out


def _salts(ledger: Ledger, currency: str, start: int, end: int, sequence: int, payees: list[tuple[str, str]]) -> list[bytes]:
    """A secret salt per entry, the same whenever the statement is computed again (a draft and
    its publication agree): HMAC-SHA256 of the statement's slot and the payee under the ledger's
    salt key. A payee learns its own salt with its proof; without the others', a proof's sibling
    hashes say nothing about their amounts."""
    secret = _salt_key(ledger)
    slot = f"{currency}|{start}|{end}|{sequence}|"
    return [hmac.new(secret, f"{slot}{a}|{p}".encode(), hashlib.sha256).digest() for a, p in payees]


def _salt_key(ledger: Ledger) -> bytes:
    """32 random bytes kept with the ledger's keys (made on first use, readable by its owner only)."""
    path = ledger.settings.data_dir / "keys" / "statement-salts.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # the first writer wins; a concurrent one reads the winner's
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


@dataclass(frozen=True)
class Settlement:
    """How claims pay: off chain (no token), or in an ERC-20 at ``unit_scale`` token units per minor unit."""

    token: str = ZERO_ADDRESS
    decimals: int = 0
    unit_scale: int = 0

    def as_document(self) -> dict[str, Any] | None:
        if self.token == ZERO_ADDRESS:
            return None
        return {"token": self.token, "decimals": self.decimals, "unitScale": self.unit_scale}


def _settlement(ledger: Ledger, token: str | None, currency: str) -> Settlement:
    """The settlement token's scale from its decimals: a 6-decimal USD token pays 10^4 units per cent."""
    if token is None:
        return Settlement()
    if not is_address(token):
        raise InvalidInput(f"settlement token {token!r} is not an address")
    contract = erc20(ledger.w3, token)
    if not ledger.w3.eth.get_code(contract.address):
        raise InvalidInput(f"there is no contract at {contract.address} on this chain")
    try:
        decimals = int(contract.functions.decimals().call())
    except (ContractLogicError, ValueError, BadFunctionCallOutput) as exc:
        raise InvalidInput(f"{contract.address} does not answer decimals(): not an ERC-20 token") from exc
    shift = decimals - currency_exponent(currency)
    if not 0 <= shift <= 18:
        raise InvalidInput(f"a token with {decimals} decimals cannot pay {currency} minor units exactly")
    with Session(ledger.engine) as s:  # the distributor holds each token for one book: one currency
        other = s.exec(select(Statement.currency).where(Statement.token == contract.address, Statement.currency != currency).limit(1)).first()
    if other is not None:
        raise InvalidInput(f"token {contract.address} already settles {other} statements; a settlement token stands for one currency")
    return Settlement(contract.address, decimals, 10**shift)


def _fund(ledger: Ledger, key: ApiKey, settlement: Settlement, total: int) -> None:
    """Publication pulls the whole statement's tokens from the accountant's account: check the
    balance, and approve the distributor (custodial accountants; self-signing ones approve it
    themselves, from their wallet)."""
    if settlement.token == ZERO_ADDRESS:
        return
    holder, needed = str(key.holder_address), total * settlement.unit_scale
    token, spender = erc20(ledger.w3, settlement.token), ledger.distributor.address
    balance = int(token.functions.balanceOf(holder).call())
    if balance < needed:
        raise Conflict(f"the accountant account {holder} holds {balance} units of token {settlement.token}; this statement needs {needed}")
    allowance = int(token.functions.allowance(holder, spender).call())
    if allowance >= needed:
        return
    if not key.custodial:
        raise Conflict(f"approve {needed} units of token {settlement.token} to the distributor {spender} from {holder} first (allowance now {allowance})")
    fund_on_dev_chain(ledger.w3, holder, outbox=ledger.sender.outbox)  # gas for the approval; on a public chain the account needs its own
    approver = TxSender(
        ledger.w3, custodial_signer(ledger, key), ledger.sender.decoder, outbox=ledger.sender.outbox, fees=ledger.sender.fees,
        confirmations=ledger.sender.confirmations, after_mined=ledger.sender.after_mined,
    )  # fmt: skip
    approver.send(Encoder(token)("approve", spender, needed))


def _check_period(currency: str, start: int, end: int) -> None:
    _check_currency(currency)
    if end < start:
        raise InvalidInput("the period ends before it starts")
    if end >= time.time():
        raise InvalidInput(f"the period has not ended yet (it ends {iso_day(end)} 23:59:59 UTC); close it afterwards")


@dataclass
class Computed:
    """A close computed and not yet written: the statement's document and everything its write
    needs. ``document`` is None when the period is closed and nothing was reported since."""

    earlier: list[Statement]
    unpaid: set[int]
    window: Window
    owed: dict[str, int]
    latest_id: str | None
    up_to: int
    taken_id: bytes
    carried: Carried | None = None
    line_count: int = 0
    run: royalties.RoyaltyRun | None = None
    held: Any = None
    pay: _Payable | None = None
    tree: StandardMerkleTree | None = None
    document: bytes | None = None
    statement_id: str = ""


def _compute(ledger: Ledger, start: int, end: int, currency: str, settlement: "Settlement") -> Computed:
    """What closing the period now would publish, computed without writing anything (a draft is
    exactly this; a close writes it). The period is checked by ``compute_close``."""
    ledger.indexer.sync()
    checkpoint = ledger.indexer.checkpoint()
    up_to = checkpoint.block_number if checkpoint else 0
    with Session(ledger.engine) as s:
        earlier = list(
            s.exec(
                select(Statement)
                .where(Statement.currency == currency, Statement.period_start == start, Statement.period_end == end)
                .order_by(col(Statement.sequence))
            ).all()
        )
        _check_closable(s, currency, start, end)
        # A publication of this very sequence already on chain (mined before a crash, never
        # committed here): count anchors up to its block, so the retry computes the same
        # document, hence the same id, and adopts it.
        taken_id, taken_up_to = ledger.distributor.functions.statementAt(currency, start, end, len(earlier)).call()
        if int.from_bytes(taken_id, "big") != 0:
            up_to = int(taken_up_to)
        window = Window(currency, start, end, earlier[-1].anchors_up_to if earlier else -1, up_to)
        unpaid = _unpaid(s, window)
        carried = _carried(s, currency)
        advances = _new_advances(s, currency, carried.after_block, up_to)
    owed, latest_id = carried.owed, carried.latest_id
    c = Computed(earlier, unpaid, window, owed, latest_id, up_to, taken_id, carried=carried)
    if earlier and not unpaid:
        return c
    if earlier and not earlier[-1].publish_tx:
        raise Conflict(f"statement {earlier[-1].statement_id} of this period waits for its accountant's signature; publish it before an adjustment")
    if latest_id is not None and not get(ledger, latest_id).publish_tx:
        raise Conflict(f"{currency} statement {latest_id} waits for its accountant's signature; publish it first (balances carry from one statement to the next)")
    with Session(ledger.engine) as s:
        attribution = statement_escrow.attribution_standing(s, up_to, end)  # disputes as they stood at the window's end
    runs = royalties.compute(ledger, start, end, currency=currency, reports=unpaid, traced=True, hold=attribution.hold) if unpaid else []
    if not runs or not runs[0].payees:
        raise InvalidInput(f"no anchored {currency} usage from {iso_day(start)} to {iso_day(end)} left to pay: nothing to close")
    [run] = runs
    with Session(ledger.engine) as s:
        held = statement_escrow.plan(s, currency, up_to, run, end, attribution)
    payees, traces = _with_release_entries(held, carried.reserves, carried.ordinal)
    policy = ReservePolicy(ledger.settings.reserve_bps, ledger.settings.reserve_release_after)
    pay = _payable(payees, carried, advances, policy)  # entries ordered by account, payout
    keys = [(p.account, p.payout) for p in payees]
    with Session(ledger.engine) as s:
        before = _cumulative_before(s, currency, "" if settlement.token == ZERO_ADDRESS else settlement.token, keys)
    pay = _with_cumulative(pay, before, _salts(ledger, currency, start, end, len(earlier), keys))
    tree = StandardMerkleTree.of(pay.tree_leaves, STATEMENT_LEAF_TYPES)
    assert run.traces is not None
    head = _document(ledger, run, start, end, pay, tree.root, settlement)
    if run.pool_shares:
        head["modelPools"] = model_pools_document(run, ledger.settings.one_creator_share_bps)
    head.update(sequence=len(earlier), adjusts=[e.statement_id for e in earlier], anchorsUpTo=up_to, **held.document())
    c.run, c.held, c.pay, c.tree = run, held, pay, tree
    c.document = canonical_with_lines(head, lines_json(traces))
    c.line_count = len(traces)
    c.statement_id = "0x" + hashlib.sha256(c.document).hexdigest()
    return c


def compute_close(ledger: Ledger, start: int, end: int, currency: str, token: str | None) -> tuple[Computed, "Settlement"]:
    """The close of the period as it would be now, with its settlement, nothing written: what
    ``close_period`` writes and a draft (``statement_drafts``) keeps for review."""
    _check_period(currency, start, end)
    settlement = _settlement(ledger, token, currency)
    return _compute(ledger, start, end, currency, settlement), settlement


def close_period(
    ledger: Ledger, key: ApiKey, start: int, end: int, currency: str, token: str | None = None, expect_id: str | None = None
) -> CloseResult:
    """Closes the period (``expect_id``: only if it comes out as that statement, e.g. a reviewed
    draft; else 409 and nothing is written)."""
    key = ensure_onchain_account(ledger, key)  # accountant keys issued before statements existed
    c, settlement = compute_close(ledger, start, end, currency, token)
    earlier, unpaid, window, up_to, taken_id = c.earlier, c.unpaid, c.window, c.up_to, c.taken_id
    if c.document is None:  # closed, and nothing reported since: the same statement
        latest = earlier[-1]
        if expect_id is not None and expect_id != latest.statement_id:
            raise Conflict(f"the period now closes as statement {latest.statement_id}, not {expect_id}: draft it again", statement_id=latest.statement_id)
        asked = "" if settlement.token == ZERO_ADDRESS else settlement.token
        if asked != latest.token:
            raise Conflict(f"this period was closed with settlement {latest.token or 'off chain'}, not {asked or 'off chain'}", statement_id=latest.statement_id)
        return CloseResult(latest, False) if latest.publish_tx else _publish_pending(ledger, key, latest)
    run, held, pay, tree, document, statement_id = c.run, c.held, c.pay, c.tree, c.document, c.statement_id
    assert run is not None and pay is not None and tree is not None
    if expect_id is not None and expect_id != statement_id:
        raise Conflict(f"the period now closes as statement {statement_id}, not {expect_id} (usage, disputes or balances changed since): draft it again")
    if int.from_bytes(taken_id, "big") != 0 and "0x" + bytes(taken_id).hex() != statement_id:
        raise Conflict(
            f"{currency} {iso_day(start)}..{iso_day(end)} #{len(earlier)} is already published on chain as statement 0x{bytes(taken_id).hex()}, "
            "which this database did not close and cannot recompute; see the indexer's incidents",
            statement_id="0x" + bytes(taken_id).hex(),
        )
    _fund(ledger, key, settlement, pay.total)  # before anything is written: a poor account changes nothing
    cid = ledger.store.put_private(document)  # amounts are private: never mirrored to a public IPFS node
    # The indexer waits until the statement is committed: it would otherwise see the publication
    # first and restore the statement from its document itself.
    with ledger.indexer.paused(), session_scope(ledger.engine) as s:
        _check_closable(s, currency, start, end)  # again, inside the write: another close may have won
        if _unpaid(s, window) != unpaid or len(earlier) != len(
            s.exec(select(Statement.id).where(Statement.currency == currency, Statement.period_start == start, Statement.period_end == end)).all()
        ):
            raise Conflict("usage or a statement for this period arrived while it was being closed; close it again")
        if _carried(s, currency) != c.carried:
            raise Conflict(f"another {currency} statement was closed meanwhile (balances carried forward changed); close it again")
        row = Statement(
            statement_id=statement_id, currency=currency, period_start=start, period_end=end, sequence=len(earlier), anchors_up_to=up_to,
            revenue=run.revenue, platform_total=run.platform_total, holders_total=run.holders_total, payable_total=pay.total,
            report_count=len(run.reports), line_count=c.line_count, entry_count=len(pay.leaves), root="0x" + tree.root.hex(), document_cid=cid,
            publish_tx="", token="" if settlement.token == ZERO_ADDRESS else settlement.token, unit_scale=settlement.unit_scale,
            closed_by_key=int(key.id or 0), ordinal=pay.ordinal,
        )  # fmt: skip
        s.add(row)
        s.flush()
        _write_money(s, int(row.id or 0), pay)
        if held.held:
            s.execute(
                insert(StatementEscrow),
                [{"statement_pk": row.id, "dispute_id": h.dispute_id, "work_id": h.work_id, "account": h.account, "payout": h.payout,
                  "amount": h.amount, "released_by_pk": row.id if held.released_at_once(h) else None} for h in held.held],
            )  # fmt: skip
        if held.released_rows:
            s.execute(update(StatementEscrow).where(col(StatementEscrow.id).in_(held.released_rows)).values(released_by_pk=row.id))
        for chunk in chunked(sorted(unpaid)):  # every unpaid report is settled here, even one whose lines were all replaced
            s.execute(update(UsageReport).where(col(UsageReport.id).in_(chunk)).values(statement_pk=row.id))
        outcome = _publish(ledger, key, row, pay.total)
        if not isinstance(outcome, SignatureRequired):
            row.publish_tx = outcome[0]
        pk = row.id
    if isinstance(outcome, SignatureRequired):
        typed: dict[str, Any] | None = outcome.typed_data
    else:
        typed = None
        ledger.indexer.sync(to_block=outcome[1])
    with Session(ledger.engine) as s:
        return CloseResult(s.get_one(Statement, pk), True, typed)


def _write_money(s: Session, statement_pk: int, pay: _Payable) -> None:
    """The entries with how each amount came about, the balances, and the reserves still held."""
    settled = pay.settled
    assert settled is not None
    s.execute(
        insert(StatementEntry),
        [
            {"statement_pk": statement_pk, "entry_index": i, "account": a, "payout": p, "amount": amount, "earned": earned,
             "withheld": held, "released": back, "recouped": took, "cumulative": cumulative, "salt": "0x" + salt.hex()}
            for (i, a, p, amount), earned, held, back, took, cumulative, salt in zip(
                pay.leaves, pay.earned, settled.withheld, settled.released, settled.recouped, pay.cumulative, pay.salts
            )
        ],  # fmt: skip
    )
    if pay.balances:
        s.execute(
            insert(StatementBalance),
            [{"statement_pk": statement_pk, "account": b.account, "brought_forward": b.brought_forward, "carried_forward": b.carried_forward,
              "advances": b.advances} for b in pay.balances],  # fmt: skip
        )
    if settled.reserves:
        s.execute(
            insert(StatementReserve),
            [{"statement_pk": statement_pk, "account": r.account, "payout": r.payout, "held_by": r.held_by, "amount": r.amount,
              "release_at": r.release_at} for r in settled.reserves],  # fmt: skip
        )


def _publish(ledger: Ledger, key: ApiKey, row: Statement, total: int) -> tuple[str, int] | SignatureRequired:
    """Publishes the statement's root, or adopts the publication already on chain (the process
    died after the transaction was mined but before the statement was committed: the id is the
    document's hash, so the retry recomputes the same id)."""
    sid = bytes.fromhex(row.statement_id[2:])
    if ledger.distributor.functions.statementOf(sid).call()[0] != bytes(32):  # a root: published
        logs = ledger.distributor.events.StatementPublished().get_logs(
            argument_filters={"statementId": sid}, from_block=ledger.deployment.contracts["RoyaltyDistributor"].block
        )
        if not logs:
            raise Conflict(f"statement {row.statement_id} is on chain but its event was not found; retry shortly")
        return logs[0]["transactionHash"].to_0x_hex(), int(logs[0]["blockNumber"])
    statement = (
        row.period_start, row.period_end, row.currency, row.sequence, row.anchors_up_to, row.entry_count, total, bytes.fromhex(row.root[2:]),
        row.document_cid,
    )  # fmt: skip
    outcome = execute(ledger, key, ledger.call("RoyaltyDistributor", "publish", sid, statement, row.token or ZERO_ADDRESS, row.unit_scale))
    if isinstance(outcome, SignatureRequired):
        return outcome
    return "0x" + bytes(outcome["transactionHash"]).hex(), int(outcome["blockNumber"])


def _publish_pending(ledger: Ledger, key: ApiKey, row: Statement) -> CloseResult:
    """A statement stored for a self-signing accountant and not relayed yet: the request to sign again."""
    if row.token:
        _fund(ledger, key, Settlement(row.token, 0, row.unit_scale), row.payable_total)
    outcome = _publish(ledger, key, row, row.payable_total)
    if isinstance(outcome, SignatureRequired):
        return CloseResult(row, False, outcome.typed_data)
    ledger.indexer.sync(to_block=outcome[1])
    with Session(ledger.engine) as s:
        return CloseResult(s.get_one(Statement, row.id), False)


@dataclass(frozen=True)
class Owed:
    currency: str
    account: str
    amount: int  # minor units the account's next statements in the currency deduct first
    statement_id: str  # the latest statement in the currency, which carried it forward


def balances_owed(ledger: Ledger, currency: str | None = None, account: str | None = None) -> list[Owed]:
    """Balances outstanding now: what the latest statement of each currency carried forward."""
    if currency is not None:
        _check_currency(currency)
    if account is not None and not is_address(account):
        raise InvalidInput(f"not an Ethereum address: {account!r}")
    out = []
    with Session(ledger.engine) as s:
        currencies = [currency] if currency else sorted(set(s.exec(select(Statement.currency)).all()))
        for cur in currencies:
            owed, latest = _owed(s, cur)
            for acc, amount in sorted(owed.items(), key=lambda item: int(item[0], 16)):
                if account is None or acc == to_checksum_address(account):
                    out.append(Owed(cur, acc, amount, str(latest)))
    return out
