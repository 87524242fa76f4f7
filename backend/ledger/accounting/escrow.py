"""Escrow: what a statement holds back while a dispute is open, and pays once it is decided.

Pure: lines and decisions in, held amounts, releases and earnings out. A registration dispute
open when a statement is closed puts the contested work's earnings in escrow: each payee's lines
for that work still appear in the statement (they are what the usage earned), but the payee is
not paid them; the statement records them as held, per (dispute, payee). A later statement in
the same currency, closed once the dispute is decided and carried out, releases them: an upheld
dispute pays what was held to the owners the arbiter gave the work (``by_shares``: the claimant
alone by default), a rejected or withdrawn one pays each payee back what was held from it.
Nothing is lost: every unit held is released exactly once, to someone named by the chain's
decision, and a statement's earnings are its lines, less what it held, plus what it released.

An upheld dispute is carried out by a correction on chain (the work reassigned); until then it
keeps holding. A statement whose period ended before the correction (usage from before the work
changed hands, paid by the owners at the period's end) redirects that work's lines to the new
owners in the same statement: held and released at once, ``from_statement`` empty. A period
ending after the correction pays the new owners directly.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ledger.accounting.allocation import allocate

Payee = tuple[str, str]  # (account, payout)


@dataclass(frozen=True)
class Held:
    dispute_id: int
    work_id: int
    account: str
    payout: str
    amount: int


@dataclass(frozen=True)
class HeldBefore:
    """A held amount an earlier statement recorded, not released yet."""

    statement_id: str
    held: Held


@dataclass(frozen=True)
class Decision:
    outcome: str  # upheld, rejected, withdrawn
    claimant: str
    #: upheld attribution disputes: how an amount held for it is paid (the corrected links'
    #: payees, conserving the amount); None pays the claimant everything
    pays: Callable[[int], list[tuple[Payee, int]]] | None = None


@dataclass(frozen=True)
class Release:
    dispute_id: int
    from_statement: str
    account: str
    payout: str
    amount: int
    outcome: str


@dataclass(frozen=True)
class DisputeFact:
    """A dispute as the chain tells it up to some block, about one subject (a work, an output)."""

    dispute_id: int
    subject: int
    outcome: str | None  # None while open by that block; upheld, rejected or withdrawn
    corrected_at: int | None = None  # time of the correction carrying out an upheld dispute, by that block


def standing(disputes: Iterable[DisputeFact], as_of: int) -> tuple[dict[int, int], dict[int, int]]:
    """From the disputes opened by a statement's window end, for a period ending at ``as_of``:
    the subjects they hold (subject -> its first dispute that is open, or upheld and not carried
    out yet: its money waits for the owners or links it will be paid by) and the subjects they
    redirect (subject -> a dispute upheld and carried out after ``as_of``). A dispute carried out
    by ``as_of`` needs neither: the period already pays the corrected owners or links. The close
    and the verifier both decide with this, from the database and from the chain's events."""
    held: dict[int, int] = {}
    redirected: dict[int, int] = {}
    for d in sorted(disputes, key=lambda d: d.dispute_id):
        if d.subject in held or d.subject in redirected or d.outcome not in (None, "upheld"):
            continue
        if d.outcome is None or d.corrected_at is None:
            held[d.subject] = d.dispute_id
        elif d.corrected_at > as_of:
            redirected[d.subject] = d.dispute_id
    return held, redirected


def by_shares(owners: Iterable[tuple[Payee, int]]) -> Callable[[int], list[tuple[Payee, int]]]:
    """An amount split over owners by their shares (largest remainder, ties to the lower account,
    as the engine splits co-owners); a negative amount (reversed lines) splits as its opposite."""
    ordered = sorted(owners, key=lambda o: _order(o[0]))

    def pays(amount: int) -> list[tuple[Payee, int]]:
        sign = -1 if amount < 0 else 1
        parts = allocate(sign * amount, [share for _, share in ordered])
        return [(payee, sign * part) for (payee, _), part in zip(ordered, parts)]

    return pays


def _order(p: Payee) -> tuple[int, int]:
    return int(p[0], 16), int(p[1], 16)


def hold(lines: Iterable[tuple[Payee, int, int]], disputed: dict[int, int]) -> list[Held]:
    """``lines``: (payee, work id, amount); ``disputed``: work id -> the dispute holding it. The
    held amounts per (dispute, work, payee), in a fixed order; zero sums are left out."""
    sums: dict[tuple[int, int, Payee], int] = defaultdict(int)
    for payee, work_id, amount in lines:
        dispute = disputed.get(work_id)
        if dispute is not None:
            sums[(dispute, work_id, payee)] += amount
    return [
        Held(d, w, p[0], p[1], amount)
        for (d, w, p), amount in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1], _order(kv[0][2])))
        if amount
    ]


def release(held: list[HeldBefore], decisions: dict[int, Decision]) -> list[Release]:
    """Releases for every held amount whose dispute is decided: to the claimant (upheld: one
    release per dispute and statement of origin; an attribution dispute's ``pays`` splits that
    amount over the corrected links' payees instead) or back to the payee it was held from."""
    upheld: dict[tuple[int, str], int] = defaultdict(int)
    out: list[Release] = []
    for h in held:
        decision = decisions.get(h.held.dispute_id)
        if decision is None:
            continue
        if decision.outcome == "upheld":
            upheld[(h.held.dispute_id, h.statement_id)] += h.held.amount
        else:
            out.append(Release(h.held.dispute_id, h.statement_id, h.held.account, h.held.payout, h.held.amount, decision.outcome))
    for (dispute, origin), amount in upheld.items():
        decision = decisions[dispute]
        paid = decision.pays(amount) if decision.pays is not None else [((decision.claimant, decision.claimant), amount)]
        if sum(a for _, a in paid) != amount:
            raise RuntimeError(f"the release of dispute {dispute} does not pay what was held")
        out.extend(Release(dispute, origin, account, payout, a, "upheld") for (account, payout), a in paid if a)
    return ordered_releases(out)


def ordered_releases(releases: list[Release]) -> list[Release]:
    """Releases in the document's order: by dispute, statement of origin ("" first), then payee."""
    return sorted(releases, key=lambda r: (r.dispute_id, r.from_statement, _order((r.account, r.payout))))


def ordered(held: list[Held]) -> list[Held]:
    """Holds in the document's order: by dispute, work, then payee."""
    return sorted(held, key=lambda h: (h.dispute_id, h.work_id, _order((h.account, h.payout))))


def redirect(lines: Iterable[tuple[Payee, int, int]], redirected: dict[int, int], decisions: dict[int, Decision]) -> tuple[list[Held], list[Release]]:
    """Lines of works whose dispute was upheld and carried out after the period (work id ->
    dispute), held and released by the dispute's decision in the same statement."""
    held = hold(lines, redirected)
    return held, release([HeldBefore("", h) for h in held], decisions)


def earnings(lines: dict[Payee, int], held: list[Held], releases: list[Release]) -> dict[Payee, int]:
    """Each payee's earnings in the statement: its lines, less what was held, plus what was
    released to it (a payee may have only a release)."""
    out = dict(lines)
    for h in held:
        out[(h.account, h.payout)] = out.get((h.account, h.payout), 0) - h.amount
    for r in releases:
        out[(r.account, r.payout)] = out.get((r.account, r.payout), 0) + r.amount
    return dict(sorted(out.items(), key=lambda kv: _order(kv[0])))
