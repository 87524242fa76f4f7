"""What a period close holds in escrow and releases, from the disputes on chain at its window's end.

A statement's window ends at block ``anchorsUpTo``; the disputes as they stood at that block
decide (``accounting.escrow.standing``): a registration dispute holds its work's lines, an
attribution dispute what its output's usage brought every payee (the engine traces that part of
each line, ``royalties.compute(hold=...)``), while open, and once upheld until it is carried out
on chain (``WorkRegistry.reassign``, ``OutputRegistry.correctLinks``). A dispute decided by
then releases what earlier statements in the currency held for it: rejected or withdrawn, back
to each payee; upheld and carried out, to the owners the work was given (by their shares), or,
for an attribution dispute, split again as usage of the output with no platform share, by the
corrected links and the owners at the releasing statement's period end. The same block gives the
same plan, so a retried close computes the same document, and the verifier can check the plan
against the chain.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlmodel import Session, col, func, select

from ledger.accounting import escrow
from ledger.accounting.splits import Lines, split
from ledger.models import Dispute, Output, OutputLinkCorrection, Statement, StatementEscrow, WorkOwnerVersion
from ledger.services.royalties import PayeeTotal, RoyaltyRun, Traces, facts_for

#: How deep upstream royalties go when escrow is split again (the close's own depth).
MAX_DEPTH = 3


@dataclass(frozen=True)
class Correction:
    """The links an arbiter set carrying out an attribution dispute, by block ``up_to``."""

    output_id: int
    links: list[tuple[int, int]]  # (work, weight bps), sorted by work
    effective_at: int  # the correction block's time


@dataclass(frozen=True)
class Standing:
    """Disputes of one kind as they stood at block ``up_to``, for a period ending at ``as_of``:
    subjects (works, or outputs) held, and redirected (carried out after the period's end)."""

    held: dict[int, int] = field(default_factory=dict)  # subject -> the dispute holding it
    redirected: dict[int, int] = field(default_factory=dict)  # subject -> its upheld dispute

    @property
    def hold(self) -> dict[int, int]:
        """Every subject whose money the close sets apart: held or redirected."""
        return {**self.held, **self.redirected}


def _outcome(d: Dispute, up_to: int) -> str | None:
    return d.state if d.closed_block is not None and d.closed_block <= up_to else None


def _corrected_at(d: Dispute, up_to: int) -> int | None:
    return d.corrected_at if d.correction_block is not None and d.correction_block <= up_to else None


def standing_at(session: Session, kind: str, up_to: int, as_of: int) -> Standing:
    """Registration disputes hold works; attribution disputes hold outputs (by output id)."""
    if kind == "registration":
        rows = [(d, d.work_id) for d in session.exec(select(Dispute).where(Dispute.kind == kind, Dispute.opened_block <= up_to))]
    else:
        rows = list(
            session.exec(
                select(Dispute, Output.output_id)
                .join(Output, col(Output.output_hash) == col(Dispute.output_hash))
                .where(Dispute.kind == kind, Dispute.opened_block <= up_to)
            ).all()
        )
    held, redirected = escrow.standing(
        (escrow.DisputeFact(d.dispute_id, subject, _outcome(d, up_to), _corrected_at(d, up_to)) for d, subject in rows if subject is not None), as_of
    )  # fmt: skip
    return Standing(held, redirected)


def attribution_standing(session: Session, up_to: int, as_of: int) -> Standing:
    """Which outputs' usage a close must trace apart (``Standing.hold``)."""
    return standing_at(session, "attribution", up_to, as_of)


def corrections_by(session: Session, dispute_ids: list[int], up_to: int) -> dict[int, Correction]:
    """Each dispute's last link correction recorded by block ``up_to``."""
    if not dispute_ids:
        return {}
    rows = session.exec(
        select(OutputLinkCorrection).where(col(OutputLinkCorrection.dispute_id).in_(dispute_ids), OutputLinkCorrection.block_number <= up_to)
    ).all()
    last: dict[int, tuple[int, int]] = {}
    for r in rows:
        last[r.dispute_id] = max(last.get(r.dispute_id, (0, 0)), (r.output_id, r.version))
    out: dict[int, Correction] = {}
    for r in sorted(rows, key=lambda r: r.work_id):
        if (r.output_id, r.version) == last[r.dispute_id]:
            c = out.setdefault(r.dispute_id, Correction(r.output_id, [], r.effective_at))
            c.links.append((r.work_id, r.weight_bps))
    return out


def resplit(session: Session, correction: Correction, as_of: int) -> Callable[[int], list[tuple[escrow.Payee, int]]]:
    """What an amount held for an upheld attribution dispute pays: the engine's split of it as
    one usage line of the output with no platform share, by the corrected links and the owners
    at ``as_of`` (upstream royalties included, as for any usage). Conserves the amount."""
    built = facts_for(session, [correction.output_id], MAX_DEPTH, as_of, {correction.output_id: correction.links})
    facts, payees = built.facts, built.payees

    def pay(amount: int) -> list[tuple[escrow.Payee, int]]:
        one = np.array([amount], dtype=np.int64)
        result = split(facts, Lines(np.array([built.out_index[correction.output_id]], dtype=np.int64), one, np.zeros(1, dtype=np.int64)), MAX_DEPTH)
        totals = result.payee_totals.tolist()
        if sum(totals) != amount:
            raise RuntimeError("escrow split again does not conserve the amount")
        return [(payees[p], int(v)) for p, v in enumerate(totals) if v]

    return pay


def reassigned_owners(session: Session, d: Dispute) -> Callable[[int], list[tuple[escrow.Payee, int]]]:
    """What an amount held for an upheld registration dispute pays: the owners the arbiter gave
    the work (the owner list its reassignment recorded), by their shares."""
    version = session.exec(
        select(func.max(WorkOwnerVersion.version)).where(WorkOwnerVersion.work_id == d.work_id, WorkOwnerVersion.effective_block == d.correction_block)
    ).one()
    owners = session.exec(select(WorkOwnerVersion).where(WorkOwnerVersion.work_id == d.work_id, WorkOwnerVersion.version == version)).all()
    if not owners:
        raise RuntimeError(f"dispute {d.dispute_id} is carried out but the work's owners after it are not projected")
    return escrow.by_shares(((o.account, o.payout), o.share_bps) for o in owners)


def decision(session: Session, d: Dispute, up_to: int, as_of: int) -> escrow.Decision | None:
    """The dispute's decision by block ``up_to``, if it can release escrow yet: an upheld
    dispute only once carried out, paying the corrected owners or links."""
    outcome = _outcome(d, up_to)
    if outcome is None:
        return None
    if outcome != "upheld":
        return escrow.Decision(outcome, d.claimant)
    if _corrected_at(d, up_to) is None:
        return None
    if d.kind == "registration":
        return escrow.Decision(outcome, d.claimant, reassigned_owners(session, d))
    correction = corrections_by(session, [d.dispute_id], up_to).get(d.dispute_id)
    if correction is None:
        raise RuntimeError(f"dispute {d.dispute_id} is carried out but its link correction is not projected")
    return escrow.Decision(outcome, d.claimant, resplit(session, correction, as_of))


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


def _decisions(session: Session, dispute_ids: set[int], up_to: int, as_of: int) -> dict[int, escrow.Decision]:
    if not dispute_ids:
        return {}
    rows = session.exec(select(Dispute).where(col(Dispute.dispute_id).in_(dispute_ids))).all()
    return {d.dispute_id: found for d in rows if (found := decision(session, d, up_to, as_of)) is not None}


def attribution_held(run: RoyaltyRun, keys: list[escrow.Payee]) -> list[escrow.Held]:
    """What the run's held outputs brought each payee, per (dispute, work, payee)."""
    t = run.held
    if t is None or not len(t) or t.dispute is None:
        return []
    sums: dict[tuple[int, int, escrow.Payee], int] = defaultdict(int)
    for payee, work, amount, dispute in zip(t.payee.tolist(), t.work_id.tolist(), t.amount.tolist(), t.dispute.tolist()):
        sums[(dispute, work, keys[payee])] += amount
    return escrow.ordered([escrow.Held(d, w, p[0], p[1], amount) for (d, w, p), amount in sums.items() if amount])


def plan(session: Session, currency: str, up_to: int, run: RoyaltyRun, as_of: int, attribution: Standing | None = None) -> EscrowPlan:
    """``run`` traced with ``attribution.hold`` (the attribution standing at ``up_to`` for a
    period ending at ``as_of``)."""
    assert run.traces is not None
    t = run.traces
    keys = [(p.account, p.payout) for p in run.payees]
    registration = standing_at(session, "registration", up_to, as_of)
    works = list(registration.hold)
    mask = np.isin(t.work_id, np.array(works, dtype=np.int64)) if works else np.zeros(len(t), dtype=bool)
    lines = [(keys[int(t.payee[i])], int(t.work_id[i]), int(t.amount[i])) for i in np.nonzero(mask)[0]]
    # Attribution: everything the held outputs brought, from the run's traced parts.
    attribution = attribution or Standing()
    by_output = attribution_held(run, keys)
    redirecting = {*registration.redirected.values(), *attribution.redirected.values()}
    at_once_decisions = _decisions(session, redirecting, up_to, as_of)
    redirected, at_once = escrow.redirect(lines, registration.redirected, at_once_decisions)
    at_once += escrow.release([escrow.HeldBefore("", h) for h in by_output if h.dispute_id in redirecting], at_once_decisions)
    before = _held_before(session, currency)
    decisions = _decisions(session, {h.held.dispute_id for _, h in before}, up_to, as_of)
    releases = escrow.ordered_releases(escrow.release([h for _, h in before], decisions) + at_once)
    held = escrow.ordered(escrow.hold(lines, registration.held) + redirected + by_output)
    released_rows = [row for row, h in before if h.held.dispute_id in decisions]
    earned = escrow.earnings({k: p.amount for k, p in zip(keys, run.payees)}, held, releases)
    payees = [PayeeTotal(a, p, amount) for (a, p), amount in earned.items()]
    position = {k: i for i, k in enumerate(earned)}
    remap = np.array([position[k] for k in keys], dtype=np.int64)
    traces = Traces(remap[t.payee] if len(t) else t.payee, t.work_id, t.report, t.amount)
    return EscrowPlan(held, releases, released_rows, payees, traces)
