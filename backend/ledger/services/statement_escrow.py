"""What a period close holds in escrow and releases, from the disputes on chain at its window's end.

A statement's window ends at block ``anchorsUpTo``; the disputes as they stood at that block
decide: a registration dispute opened by then and not decided by then holds its work's lines;
a dispute decided by then releases what earlier statements in the currency held for it. The
same block gives the same plan, so a retried close computes the same document, and the
verifier can check the plan against the chain's dispute events alone.
"""

from dataclasses import dataclass

import numpy as np
from sqlmodel import Session, col, select

from ledger.accounting import escrow
from ledger.models import Dispute, Statement, StatementEscrow
from ledger.services.royalties import PayeeTotal, RoyaltyRun, Traces


@dataclass(frozen=True)
class EscrowPlan:
    held: list[escrow.Held]
    releases: list[escrow.Release]
    released_rows: list[int]  # StatementEscrow ids of earlier statements this statement releases
    payees: list[PayeeTotal]  # every payee's earnings after escrow, by account then payout
    traces: Traces  # the run's lines, their payee numbers pointing into ``payees``

    def released_at_once(self, h: escrow.Held) -> bool:
        """Whether this hold is released by the same statement (a dispute upheld before the close)."""
        return any(r.from_statement == "" and r.dispute_id == h.dispute_id for r in self.releases)

    @property
    def held_total(self) -> int:
        return sum(h.amount for h in self.held)

    @property
    def released_total(self) -> int:
        return sum(r.amount for r in self.releases)

    def document(self) -> dict[str, object]:
        return {
            "escrow": [{"disputeId": h.dispute_id, "workId": h.work_id, "account": h.account, "payout": h.payout, "amount": h.amount} for h in self.held],
            "escrowReleases": [
                {"disputeId": r.dispute_id, "fromStatement": r.from_statement, "account": r.account, "payout": r.payout,
                 "amount": r.amount, "outcome": r.outcome}
                for r in self.releases
            ],  # fmt: skip
            "escrowHeldTotal": self.held_total,
            "escrowReleasedTotal": self.released_total,
        }


def standing_at(session: Session, up_to: int) -> tuple[dict[int, int], dict[int, tuple[int, str]]]:
    """The works held and redirected by the registration disputes as they stood at block ``up_to``."""
    rows = session.exec(select(Dispute).where(Dispute.kind == "registration", Dispute.opened_block <= up_to)).all()
    return escrow.standing(
        escrow.DisputeFact(d.dispute_id, d.work_id, d.claimant, d.state if d.closed_block is not None and d.closed_block <= up_to else None)
        for d in rows
        if d.work_id is not None
    )  # fmt: skip


def _held_before(session: Session, currency: str) -> list[tuple[int, escrow.HeldBefore]]:
    rows = session.exec(
        select(StatementEscrow, Statement.statement_id)
        .join(Statement, col(Statement.id) == col(StatementEscrow.statement_pk))
        .where(Statement.currency == currency, col(StatementEscrow.released_by_pk).is_(None))
        .order_by(col(StatementEscrow.id))
    ).all()
    return [
        (int(e.id or 0), escrow.HeldBefore(sid, escrow.Held(e.dispute_id, e.work_id, e.account, e.payout, e.amount)))
        for e, sid in rows
    ]


def _decisions(session: Session, dispute_ids: set[int], up_to: int) -> dict[int, escrow.Decision]:
    if not dispute_ids:
        return {}
    rows = session.exec(select(Dispute).where(col(Dispute.dispute_id).in_(dispute_ids))).all()
    return {
        d.dispute_id: escrow.Decision(d.state, d.claimant)
        for d in rows
        if d.state in ("upheld", "rejected", "withdrawn") and d.closed_block is not None and d.closed_block <= up_to
    }


def plan(session: Session, currency: str, up_to: int, run: RoyaltyRun) -> EscrowPlan:
    assert run.traces is not None
    t = run.traces
    keys = [(p.account, p.payout) for p in run.payees]
    disputed, upheld = standing_at(session, up_to)
    works = [*disputed, *upheld]
    mask = np.isin(t.work_id, np.array(works, dtype=np.int64)) if works else np.zeros(len(t), dtype=bool)
    lines = [(keys[int(t.payee[i])], int(t.work_id[i]), int(t.amount[i])) for i in np.nonzero(mask)[0]]
    held = escrow.hold(lines, disputed)
    redirected, at_once = escrow.redirect(lines, upheld)
    before = _held_before(session, currency)
    decisions = _decisions(session, {h.held.dispute_id for _, h in before}, up_to)
    releases = escrow.ordered_releases(escrow.release([h for _, h in before], decisions) + at_once)
    held = escrow.ordered(held + redirected)
    released_rows = [row for row, h in before if h.held.dispute_id in decisions]
    earned = escrow.earnings({k: p.amount for k, p in zip(keys, run.payees)}, held, releases)
    payees = [PayeeTotal(a, p, amount) for (a, p), amount in earned.items()]
    position = {k: i for i, k in enumerate(earned)}
    remap = np.array([position[k] for k in keys], dtype=np.int64)
    traces = Traces(remap[t.payee] if len(t) else t.payee, t.work_id, t.report, t.amount)
    return EscrowPlan(held, releases, released_rows, payees, traces)
