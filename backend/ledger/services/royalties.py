"""Royalty runs: the split engine applied to the usage of a period, per currency.

Loads the facts the engine needs from the projection (outputs' links; derivative works and the
royalty terms their sources had when the output was registered; co-owners and payout addresses
as they were at the end of the period, so re-running a past period gives the same amounts whatever
changed since) and the effective usage lines (anchored; lines a later correction replaced do not
count), then splits.

A run over some reports of a period (an adjustment statement's) also **reverses** the lines those
reports' corrections replace where a statement has already paid them: the reversed lines go
through the same split on their own, and their amounts are subtracted, each traced to the report
that paid it. Steps 1 to 3 of the policy run per line, so what reaches each work is reversed to the
unit; the co-owner split rounds the reversal on its own (a unit per owner at most).
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Engine, and_, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from ledger.accounting.splits import Facts, Lines, SplitResult, Splitter
from ledger.accounting.tracing import trace
from ledger.db import chunked
from ledger.models import Output, OutputLink, OutputLinkCorrection, UsageLine, UsageReport, Work, WorkOwnerVersion, WorkTermsVersion
from ledger.runtime import Ledger
from ledger.services.model_audit import DEFAULT_ONE_CREATOR_SHARE_BPS
from ledger.services.model_pools import Pool, PoolCheck, models_of, payable_or_refuse
from ledger.services.platform_shares import shares_for
from ledger.services.errors import InvalidInput


class Usage(NamedTuple):
    """One usage line that counts: about an output, or (model-level revenue) a model."""

    output_id: int | None
    model_id: int | None
    revenue: int
    currency: str
    report_pk: int


def _usage(rows: list) -> list[Usage]:  # type: ignore[type-arg]
    return [Usage(None if o is None else int(o), None if m is None else int(m), int(r), str(c), int(p)) for _, o, m, r, c, p in rows]


@dataclass(frozen=True)
class PayeeTotal:
    account: str
    payout: str
    amount: int


@dataclass(frozen=True)
class ReportShare:
    """One usage report's part of a run: what its lines brought in and what the platform kept.
    A reversal (paid lines a correction replaced) has negative revenue and platform amount."""

    pk: int
    platform: str
    report_id: str
    batch_hash: str
    anchor_tx: str
    lines: int
    revenue: int
    platform_amount: int
    platform_share_bps: int  # the platform's share in force for it
    reversal: bool = False


@dataclass(frozen=True)
class Traces:
    """Statement lines as parallel arrays, ordered by (payee, work, report): a payee's amount from
    one work, as brought by one report. ``payee`` indexes the run's ``payees``, ``report`` its
    ``reports``; the lines of a payee add up to its total. ``dispute``, when present, says which
    part of a line came from the outputs an attribution dispute holds (0: none), so one (payee,
    work, report) may appear once per dispute."""

    payee: np.ndarray
    work_id: np.ndarray
    report: np.ndarray
    amount: np.ndarray
    dispute: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.amount)

    def merged(self) -> "Traces":
        """One line per (payee, work, report), the disputes' parts added together."""
        if self.dispute is None or not self.dispute.any():  # sorted by (payee, work, report) already, one part each
            return Traces(self.payee, self.work_id, self.report, self.amount)
        sort = np.lexsort((self.report, self.work_id, self.payee))
        p, w, r, a = self.payee[sort], self.work_id[sort], self.report[sort], self.amount[sort]
        start = np.concatenate(([True], (p[1:] != p[:-1]) | (w[1:] != w[:-1]) | (r[1:] != r[:-1])))
        at = np.flatnonzero(start)
        return Traces(p[at], w[at], r[at], np.add.reduceat(a, at))

    def held(self) -> "Traces":
        """Only the parts an attribution dispute holds."""
        if self.dispute is None:
            return Traces(*(a[:0] for a in (self.payee, self.work_id, self.report, self.amount)), dispute=self.dispute)
        keep = self.dispute != 0
        return Traces(self.payee[keep], self.work_id[keep], self.report[keep], self.amount[keep], self.dispute[keep])


@dataclass(frozen=True)
class RoyaltyRun:
    currency: str
    lines: int
    revenue: int
    platform_total: int
    holders_total: int
    payees: list[PayeeTotal]  # by account, then payout address (numerically); negative or zero only with reversals
    work_totals: dict[int, int]
    platform_totals: dict[str, int]  # each reporting platform's own share
    reports: list[ReportShare] = field(default_factory=list)  # traced runs only
    traces: Traces | None = None  # traced runs only: sum to holders_total
    held: Traces | None = None  # traced runs with ``hold``: the parts of ``traces`` from held outputs, by dispute
    pool_shares: list["PoolShare"] = field(default_factory=list)  # traced runs: model pools, per report
    pools: list[Pool] = field(default_factory=list)  # traced runs: who each of those pools paid, by model


#: A line's output or model id where it names the other (the columns are int64, without None).
NO_ID = -1
#: Lines read per round trip, and the most a run holds as arrays at once.
PIECE_LINES = 200_000


class LinePiece(NamedTuple):
    """Usage lines as parallel int64 arrays: a period of millions of lines is read and split in
    pieces of these, never as a Python object per line."""

    output_id: np.ndarray  # NO_ID for a model-level line
    model_id: np.ndarray  # NO_ID for an output's line
    revenue: np.ndarray
    report_pk: np.ndarray

    @classmethod
    def of(cls, rows: list[Usage]) -> "LinePiece":
        cols = ([NO_ID if u.output_id is None else u.output_id for u in rows], [NO_ID if u.model_id is None else u.model_id for u in rows],
                [u.revenue for u in rows], [u.report_pk for u in rows])  # fmt: skip
        return cls(*(np.array(c, dtype=np.int64) for c in cols))

    def where(self, keep: np.ndarray) -> "LinePiece":
        return LinePiece(*(a[keep] for a in self))


def counted_reports(session: Session, period_start: int, period_end: int, currency: str | None = None, reports: set[int] | None = None) -> list[int]:
    """The reports whose lines a run counts (primary keys, ascending): anchored, inside the
    period (only ``currency``, and only ``reports``, when given). A report whose anchor is not on
    chain yet (a self-signing platform has not relayed it) does not count."""
    stmt = select(UsageReport.id).where(UsageReport.period_start >= period_start, UsageReport.period_end <= period_end, UsageReport.anchor_tx != "")
    if currency is not None:
        stmt = stmt.where(UsageReport.currency == currency)
    if reports is None:
        return sorted(int(pk) for pk in session.exec(stmt))  # type: ignore[arg-type]
    return sorted(int(pk) for chunk in chunked(sorted(reports)) for pk in session.exec(stmt.where(col(UsageReport.id).in_(chunk))))  # type: ignore[arg-type]


def _effective(pks: Sequence[int], *columns: Any) -> Any:
    """Lines of the reports ``pks`` that no anchored line replaces. A report's lines never change,
    and a replacement only ever takes lines out, so two reads of the same reports agree on every
    line the second one sees."""
    later, later_report = aliased(UsageLine), aliased(UsageReport)
    replaced = exists().where(
        and_(
            later.platform == UsageLine.platform,
            later.replaces_line_id == UsageLine.line_id,
            later_report.id == later.report_pk,
            later_report.anchor_tx != "",
        )
    )
    return select(*columns).where(col(UsageLine.report_pk).in_(pks), ~replaced)


def effective_subjects(session: Session, pks: list[int]) -> tuple[set[int], set[int]]:
    """The outputs and the models the effective lines of reports ``pks`` name (the facts a run needs)."""
    outputs: set[int] = set()
    models: set[int] = set()
    for chunk in chunked(pks):
        for o, m in session.exec(_effective(chunk, UsageLine.output_id, UsageLine.model_id).distinct()):
            if o is not None:
                outputs.add(int(o))
            if m is not None:
                models.add(int(m))
    return outputs, models


def effective_pieces(session: Session, pks: list[int], size: int | None = None) -> Iterator[LinePiece]:
    """The effective lines of reports ``pks``, ``size`` (default ``PIECE_LINES``) at a time, streamed from the database."""
    size = size or PIECE_LINES
    columns = (func.coalesce(UsageLine.output_id, NO_ID), func.coalesce(UsageLine.model_id, NO_ID), UsageLine.revenue, UsageLine.report_pk)
    for chunk in chunked(pks):
        result = session.connection().execute(_effective(chunk, *columns).execution_options(yield_per=size))
        for rows in result.partitions(size):
            flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=4 * len(rows)).reshape(-1, 4)
            yield LinePiece(*(np.ascontiguousarray(flat[:, i]) for i in range(4)))


def reversed_lines(session: Session, reports: set[int], paid: set[int] | None = None) -> list[Usage]:
    """The lines a statement paid (in the reports
    ``paid``; default: every report a statement settled) that anchored lines of ``reports``
    replace: what an adjustment paying ``reports`` must take back. In line order."""
    targets: set[tuple[str, str]] = set()
    for chunk in chunked(sorted(reports)):
        targets.update(
            session.exec(  # type: ignore[arg-type]
                select(UsageLine.platform, UsageLine.replaces_line_id)
                .join(UsageReport, col(UsageReport.id) == col(UsageLine.report_pk))
                .where(col(UsageLine.report_pk).in_(chunk), col(UsageLine.replaces_line_id).is_not(None), UsageReport.anchor_tx != "")
            ).all()
        )
    found = []
    for platform in sorted({p for p, _ in targets}):
        ids = sorted(line_id for p, line_id in targets if p == platform)
        for chunk in chunked(ids):
            stmt = (
                select(UsageLine.id, UsageLine.output_id, UsageLine.model_id, UsageLine.revenue, UsageReport.currency, UsageLine.report_pk)
                .join(UsageReport, col(UsageReport.id) == col(UsageLine.report_pk))
                .where(UsageLine.platform == platform, col(UsageLine.line_id).in_(chunk))
            )
            if paid is None:
                stmt = stmt.where(col(UsageReport.statement_pk).is_not(None))
            else:
                stmt = stmt.where(col(UsageLine.report_pk).in_(sorted(paid)))
            found.extend(session.exec(stmt).all())
    return _usage(sorted(found))


def links_as_of(
    session: Session, output_ids: list[int], as_of: int, override: dict[int, list[tuple[int, int]]] | None = None
) -> dict[int, list[tuple[int, int]]]:
    """output id -> [(work, weight bps)] sorted by work: the links registered with each output, or
    the last correction an arbiter made by unix time ``as_of`` (``override`` replaces both), so a
    period splits by the links in force at its end, as with owners."""
    links: dict[int, list[tuple[int, int]]] = {}
    for chunk in chunked(output_ids):
        for link in session.exec(select(OutputLink).where(col(OutputLink.output_id).in_(chunk))):
            links.setdefault(link.output_id, []).append((link.work_id, link.weight_bps))
        corrected: dict[int, dict[int, list[tuple[int, int]]]] = {}
        rows = session.exec(
            select(OutputLinkCorrection).where(col(OutputLinkCorrection.output_id).in_(chunk), OutputLinkCorrection.effective_at <= as_of)
        )
        for c in rows:
            corrected.setdefault(c.output_id, {}).setdefault(c.version, []).append((c.work_id, c.weight_bps))
        for output_id, versions in corrected.items():
            links[output_id] = versions[max(versions)]
    links.update(override or {})
    return {o: sorted(ls) for o, ls in links.items()}


def derivative_sources(session: Session, works: set[int], max_depth: int, as_of: int) -> dict[int, list[tuple[int, int, int]]]:
    """derivative work -> [(source work, link weight, source royalty bps under the terms in force
    when the derivative's output was registered)], following sources up to ``max_depth`` levels
    (the derivative's output's links as of ``as_of``). A handful of queries per level, whatever
    the number of derivatives."""
    sources: dict[int, list[tuple[int, int, int]]] = {}
    seen, frontier = set(works), set(works)
    for _ in range(max_depth):
        if not frontier:
            break
        derived: dict[int, Output] = {}  # work id -> the output it was before being registered
        for chunk in chunked(sorted(frontier)):
            rows = session.exec(
                select(Work, Output).join(Output, col(Output.output_hash) == col(Work.content_hash)).where(col(Work.work_id).in_(chunk))
            ).all()
            for work, output in rows:
                if (work.block_number, work.log_index) > (output.block_number, output.log_index):
                    derived[work.work_id] = output  # registered as a work after it was an output
        links = links_as_of(session, sorted(o.output_id for o in derived.values()), as_of)
        history: dict[int, list[WorkTermsVersion]] = {}
        for chunk in chunked(sorted({w for ls in links.values() for w, _ in ls})):
            for t in session.exec(select(WorkTermsVersion).where(col(WorkTermsVersion.work_id).in_(chunk))):
                history.setdefault(t.work_id, []).append(t)
        found: set[int] = set()
        for work_id, output in derived.items():
            point = (output.block_number, output.log_index)
            entries = []
            for source, weight in links.get(output.output_id, []):
                in_force = max((t for t in history[source] if (t.effective_block, t.effective_log_index) < point), key=lambda t: t.version)
                entries.append((source, weight, in_force.royalty_bps))
                found.add(source)
            sources[work_id] = entries
        frontier = found - seen
        seen |= found
    return sources


def owners_as_of(session: Session, work_ids: list[int], as_of: int) -> dict[int, list[WorkOwnerVersion]]:
    """Each work's owners and payout addresses as they were at unix time ``as_of`` (the last owner
    list recorded in a block at or before it; the first list for a work registered later)."""
    versions: dict[int, dict[int, list[WorkOwnerVersion]]] = {}
    for chunk in chunked(work_ids):
        for row in session.exec(select(WorkOwnerVersion).where(col(WorkOwnerVersion.work_id).in_(chunk))):
            versions.setdefault(row.work_id, {}).setdefault(row.version, []).append(row)
    out = {}
    for work_id, by_version in versions.items():
        in_force = [v for v, rows in by_version.items() if rows[0].effective_at <= as_of]
        chosen = max(in_force) if in_force else min(by_version)
        out[work_id] = sorted(by_version[chosen], key=lambda o: int(o.account, 16))
    return out


@dataclass(frozen=True)
class Built:
    """The engine's arrays and how to find things in them."""

    facts: Facts
    out_index: dict[int, int]  # output id -> dense output (an output without links: its model's pool)
    pool_index: dict[int, int]  # model id -> its pool's dense output
    work_ids: list[int]  # dense work -> work id
    payees: list[tuple[str, str]]  # dense payee -> (account, payout)
    pools: dict[int, Pool]  # the pools split, by model

    def index_of(self, row: Usage) -> int:
        return self.pool_index[row.model_id] if row.model_id is not None else self.out_index[row.output_id]  # type: ignore[index]

    @cached_property
    def _lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        outs, models = sorted(self.out_index), sorted(self.pool_index)
        a = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
        return a(outs), a([self.out_index[o] for o in outs]), a(models), a([self.pool_index[m] for m in models])

    def dense_of(self, piece: LinePiece) -> np.ndarray:
        """``index_of`` for a piece of lines at once."""
        out_keys, out_values, model_keys, model_values = self._lookup
        dense = np.empty(len(piece.revenue), dtype=np.int64)
        by_model = piece.model_id != NO_ID
        dense[~by_model] = out_values[_find(out_keys, piece.output_id[~by_model], "an output")]
        dense[by_model] = model_values[_find(model_keys, piece.model_id[by_model], "a model")]
        return dense


def _found(keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``wanted`` in the sorted ``keys`` (clipped into range), and which are there."""
    if not len(keys):
        return np.zeros(len(wanted), dtype=np.int64), np.zeros(len(wanted), dtype=bool)
    at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return at, keys[at] == wanted


def _find(keys: np.ndarray, wanted: np.ndarray, what: str) -> np.ndarray:
    """Positions of ``wanted`` in the sorted ``keys``, every one of which must be there."""
    at, there = _found(keys, wanted)
    if not there.all():
        raise RuntimeError(f"a usage line names {what} the run's facts do not have")
    return at


def facts_for(
    session: Session, output_ids: list[int], max_depth: int, as_of: int, links: dict[int, list[tuple[int, int]]] | None = None,
    model_ids: set[int] | None = None, pool_for: Callable[[int], Pool] | None = None,
) -> Built:  # fmt: skip
    """Builds the engine's arrays (links, owners and sources as of unix time ``as_of``; ``links``
    overrides some outputs' links) with a pool for each of ``model_ids`` and for the model of each
    output without links (``pool_for`` says who a model's pool pays)."""
    links = links_as_of(session, output_ids, as_of, links)
    linkless = [o for o in output_ids if not links.get(o)]
    fallback = models_of(session, linkless)
    wanted = set(model_ids or ()) | set(fallback.values())
    if wanted and pool_for is None:
        raise InvalidInput("usage paid through a model's pool needs the pools' rule")
    pools = {m: pool_for(m) for m in sorted(wanted)} if pool_for is not None else {}
    for pool in pools.values():
        payable_or_refuse(pool)
    works: set[int] = {w for ls in links.values() for w, _ in ls} | {w for p in pools.values() for w in p.works}
    sources = derivative_sources(session, works, max_depth, as_of)
    works |= {s for entries in sources.values() for s, _, _ in entries}
    work_ids = sorted(works)
    dense = {w: i for i, w in enumerate(work_ids)}
    owners = owners_as_of(session, work_ids, as_of)
    payees: dict[tuple[str, str], int] = {}
    own_ptr, own_payee, own_share = [0], [], []
    src_ptr, src_work, src_weight, src_royalty = [0], [], [], []
    for w in work_ids:
        for o in owners.get(w, []):
            own_payee.append(payees.setdefault((o.account, o.payout), len(payees)))
            own_share.append(o.share_bps)
        own_ptr.append(len(own_payee))
        for s, weight, royalty in sources.get(w, []):
            src_work.append(dense[s])
            src_weight.append(weight)
            src_royalty.append(royalty)
        src_ptr.append(len(src_work))
    linked = [o for o in output_ids if links.get(o)]
    out_index = {o: i for i, o in enumerate(linked)}
    pool_index = {m: len(linked) + i for i, m in enumerate(pools)}
    out_index.update({o: pool_index[m] for o, m in fallback.items()})
    out_ptr, link_work, link_weight = [0], [], []
    for o in linked:
        for w, weight in links[o]:
            link_work.append(dense[w])
            link_weight.append(weight)
        out_ptr.append(len(link_work))
    for pool in pools.values():  # equal per paid work, or by the weights its platform declared
        link_work.extend(dense[w] for w in pool.works)
        link_weight.extend(pool.weights)
        out_ptr.append(len(link_work))
    a = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    pooled = np.array([False] * len(linked) + [True] * len(pools), dtype=bool) if pools else None
    facts = Facts(a(out_ptr), a(link_work), a(link_weight), a(src_ptr), a(src_work), a(src_weight), a(src_royalty),
                  a(own_ptr), a(own_payee), a(own_share), len(payees), pooled)  # fmt: skip
    return Built(facts, out_index, pool_index, work_ids, list(payees), pools)


def _by_address(payees: list[tuple[str, str]], totals: list[int] | list[bool]) -> list[int]:
    """Dense payee numbers of the payees with money (or a line), ordered by account then payout address."""
    paid = [p for p, v in enumerate(totals) if v]
    return sorted(paid, key=lambda p: (int(payees[p][0], 16), int(payees[p][1], 16)))


def _traces(facts: Facts, result: SplitResult, work_ids: list[int], order: list[int], group_report: np.ndarray, group_dispute: np.ndarray) -> Traces:
    """The engine's per-group contributions turned into (payee, work, report, dispute) lines."""
    traced = trace(facts, result)
    rank = np.full(facts.n_payees, -1, dtype=np.int64)
    rank[np.array(order, dtype=np.int64)] = np.arange(len(order), dtype=np.int64)
    payee = rank[facts.own_payee[traced.owner]]
    work_id = np.array(work_ids, dtype=np.int64)[traced.work] if work_ids else traced.work
    report, dispute = group_report[traced.group], group_dispute[traced.group]
    sort = np.lexsort((dispute, report, work_id, payee))
    return Traces(payee[sort], work_id[sort], report[sort], traced.amount[sort], dispute[sort])


def compute(
    ledger: Ledger, period_start: int, period_end: int, max_depth: int = 3, *, currency: str | None = None,
    reports: set[int] | None = None, traced: bool = False, hold: dict[int, int] | None = None,
) -> list[RoyaltyRun]:
    """One run per currency (or only ``currency``; only the usage reports ``reports``, by primary
    key, when given, less the paid lines their corrections replace). ``traced`` also breaks every
    holder's amount down by work and usage report, as statements need; ``hold`` (output id ->
    attribution dispute) also says which part of each line came from those outputs' usage."""
    return compute_in(
        ledger.engine, ledger.settings.platform_share_bps, period_start, period_end, max_depth,
        currency=currency, reports=reports, traced=traced, hold=hold, one_creator_share_bps=ledger.settings.one_creator_share_bps,
    )  # fmt: skip


@dataclass(frozen=True)
class PoolShare:
    """What one report's lines brought one model's pool: the lines naming the model and those of
    its outputs without links. ``pool`` (after the platform's share) is split equally over the
    pool's paid works. Negative in a reversal."""

    report: int  # index into the run's reports
    model_id: int
    lines: int
    revenue: int
    pool: int


class _Part:
    """One currency's lines of one sign, split as they are read: the usage counted (+1) or the
    paid lines reversed (-1). The engine groups lines by (report, holding dispute): each report's
    lines from outputs under an attribution dispute make a group of their own, so tracing says
    what they brought each payee (and a model's pool is split once per group). Only usage counted
    is held, never a reversal. Per report it keeps the lines, revenue and platform share, and per
    (report, model) what went to the model's pool: nothing per line."""

    def __init__(self, sign: int, built: Built, pks: list[int], share: dict[int, int], max_depth: int, traced: bool, hold: dict[int, int]) -> None:
        self.sign, self.built, self.pks = sign, built, pks
        self._pks = np.array(pks, dtype=np.int64)
        self._shares = np.array([share[pk] for pk in pks], dtype=np.int64)
        held = sorted(hold.items()) if sign > 0 else []
        self.disputes = [0, *sorted({d for _, d in held})]
        self._held_outputs = np.array([o for o, _ in held], dtype=np.int64)
        self._held_tags = np.array([self.disputes.index(d) for _, d in held], dtype=np.int64)
        self.width = len(self.disputes)
        # Groups always: a model's pool is split per group, traced or not, so both give the same amounts.
        self.splitter = Splitter(built.facts, max_depth, max(1, len(pks) * self.width), tracing=traced)
        self.counts, self.revenue, self.platform = (np.zeros(len(pks), dtype=np.int64) for _ in range(3))
        self._n_linked = len(built.facts.out_ptr) - 1 - len(built.pool_index)
        self.pool_cells = np.zeros((len(pks), len(built.pool_index), 3), dtype=np.int64)  # lines, revenue, pool

    def add(self, piece: LinePiece) -> None:
        g = _find(self._pks, piece.report_pk, "a report")
        dense = self.built.dense_of(piece)
        tag = np.zeros(len(g), dtype=np.int64)
        if len(self._held_outputs):
            at, held = _found(self._held_outputs, piece.output_id)
            held &= piece.output_id != NO_ID
            tag[held] = self._held_tags[at[held]]
        platform, pool = self.splitter.add(Lines(dense, piece.revenue, self._shares[g]), g * self.width + tag)
        self.counts += np.bincount(g, minlength=len(self.pks))
        np.add.at(self.revenue, g, piece.revenue)
        np.add.at(self.platform, g, platform)
        pooled = dense >= self._n_linked
        if pooled.any():
            cell = (g[pooled], dense[pooled] - self._n_linked)
            np.add.at(self.pool_cells[:, :, 0], cell, 1)
            np.add.at(self.pool_cells[:, :, 1], cell, piece.revenue[pooled])
            np.add.at(self.pool_cells[:, :, 2], cell, pool[pooled])

    @property
    def listed(self) -> list[int]:
        """Positions (in ``pks``) of the reports that had lines: the ones the run lists."""
        return np.flatnonzero(self.counts).tolist()

    def finish(self, offset: int) -> tuple[SplitResult, np.ndarray, np.ndarray]:
        """The split and, for each engine group, its report in the run (the listed reports are the
        run's ``offset``, ``offset`` + 1, ...) and the dispute holding it."""
        result = self.splitter.finish()
        if int(result.payee_totals.sum()) + int(self.platform.sum()) != int(self.revenue.sum()):  # the engine guarantees it; never pay out otherwise
            raise RuntimeError("a split does not conserve revenue")
        index = np.full(len(self.pks), -1, dtype=np.int64)
        index[self.listed] = offset + np.arange(len(self.listed), dtype=np.int64)
        groups = np.arange(self.splitter.n_groups, dtype=np.int64)
        return result, index[groups // self.width], np.array(self.disputes, dtype=np.int64)[groups % self.width]

    def pool_shares(self, offset: int) -> list["PoolShare"]:
        """Per (report, model): the lines that went to the model's pool, their revenue and pool."""
        models = sorted(self.built.pool_index, key=self.built.pool_index.__getitem__)
        report = {g: offset + i for i, g in enumerate(self.listed)}
        return [
            PoolShare(report[g], models[m], int(n), self.sign * int(r), self.sign * int(v))
            for g, m in zip(*np.nonzero(self.pool_cells[:, :, 0]))
            for n, r, v in [self.pool_cells[g, m].tolist()]
        ]


def compute_in(
    engine: Engine, default_share_bps: int, period_start: int, period_end: int, max_depth: int = 3, *,
    currency: str | None = None, reports: set[int] | None = None, traced: bool = False, shares: dict[int, int] | None = None,
    paid: set[int] | None = None, hold: dict[int, int] | None = None, one_creator_share_bps: int = DEFAULT_ONE_CREATOR_SHARE_BPS,
) -> list[RoyaltyRun]:
    """``compute`` on any database with the projection and the usage (the statement verifier
    rebuilds one from the chain); ``shares`` gives each report's platform share instead of the
    recorded agreements, ``paid`` the reports a statement paid (default: as recorded).

    The lines are read twice, never held: once for the outputs and models they name (the facts),
    then in pieces that go through the engine as they come, so a period of millions of lines
    runs in the memory of its facts and one piece."""
    if period_end < period_start:
        raise InvalidInput("the period ends before it starts")
    with Session(engine) as s:
        counted = counted_reports(s, period_start, period_end, currency, reports)
        taken_back = [] if reports is None else reversed_lines(s, reports, paid)
        if currency is not None:
            taken_back = [row for row in taken_back if row.currency == currency]
        output_ids, model_ids = effective_subjects(s, counted)
        if not output_ids and not model_ids and not taken_back:
            return []
        output_ids |= {u.output_id for u in taken_back if u.output_id is not None}
        model_ids |= {u.model_id for u in taken_back if u.model_id is not None}
        built = facts_for(s, sorted(output_ids), max_depth, period_end, model_ids=model_ids, pool_for=PoolCheck(engine, one_creator_share_bps).pool)
        report_rows = {
            int(r.id): r  # type: ignore[arg-type]
            for chunk in chunked(sorted(set(counted) | {u.report_pk for u in taken_back}))
            for r in s.exec(select(UsageReport).where(col(UsageReport.id).in_(chunk)))
        }
        share = shares if shares is not None else shares_for(s, [(pk, r.platform, r.period_start) for pk, r in report_rows.items()], default_share_bps)
        currencies = sorted({report_rows[pk].currency for pk in counted} | {u.currency for u in taken_back})
        of_currency = lambda pks, cur: [pk for pk in pks if report_rows[pk].currency == cur]  # noqa: E731
        parts: dict[tuple[str, int], _Part] = {}
        for cur in currencies:
            parts[(cur, 1)] = _Part(1, built, of_currency(counted, cur), share, max_depth, traced, hold or {})
            back = sorted({u.report_pk for u in taken_back if u.currency == cur})
            if back:
                parts[(cur, -1)] = _Part(-1, built, back, share, max_depth, traced, {})
                parts[(cur, -1)].add(LinePiece.of([u for u in taken_back if u.currency == cur]))
        code = np.array([currencies.index(report_rows[pk].currency) for pk in counted], dtype=np.int64)
        counted_pks = np.array(counted, dtype=np.int64)
        for piece in effective_pieces(s, counted):
            if len(currencies) == 1:
                parts[(currencies[0], 1)].add(piece)
                continue
            of_line = code[_find(counted_pks, piece.report_pk, "a report")]
            for c in np.unique(of_line).tolist():
                parts[(currencies[c], 1)].add(piece.where(of_line == c))
    facts, work_ids, payees = built.facts, built.work_ids, built.payees
    runs = []
    for cur in currencies:
        mine = [parts[key] for key in ((cur, 1), (cur, -1)) if key in parts and parts[key].counts.any()]
        if not mine:
            continue
        finished, offset = [], 0
        for part in mine:
            finished.append((part, offset, *part.finish(offset)))
            offset += len(part.listed)
        revenue = sum(p.sign * int(p.revenue.sum()) for p in mine)
        platform_total = sum(p.sign * int(p.platform.sum()) for p in mine)
        totals = sum((p.sign * r.payee_totals for p, _, r, _, _ in finished), np.zeros(facts.n_payees, dtype=np.int64))
        holders_total = int(totals.sum())
        if holders_total + platform_total != revenue:  # the engine guarantees it; never pay out otherwise
            raise RuntimeError(f"split of {cur} does not conserve revenue")
        by_platform: dict[str, int] = {}
        for part in mine:
            for g in part.listed:
                name = report_rows[part.pks[g]].platform
                by_platform[name] = by_platform.get(name, 0) + part.sign * int(part.platform[g])
        work_totals = sum((p.sign * r.work_totals for p, _, r, _, _ in finished), np.zeros(facts.n_works, dtype=np.int64))
        touched = np.zeros(facts.n_payees, dtype=bool)
        for _, _, result, _, _ in finished:
            touched |= result.payee_totals != 0
        order = _by_address(payees, touched.tolist())
        report_shares: list[ReportShare] = []
        pool_shares: list[PoolShare] = []
        traces = held = None
        if traced:
            pieces = []
            for part, first, result, group_report, group_dispute in finished:
                for g in part.listed:
                    pk = part.pks[g]
                    r = report_rows[pk]
                    report_shares.append(
                        ReportShare(pk, r.platform, r.report_id, r.batch_hash, r.anchor_tx, int(part.counts[g]), part.sign * int(part.revenue[g]),
                                    part.sign * int(part.platform[g]), share[pk], part.sign < 0)
                    )  # fmt: skip
                pool_shares.extend(part.pool_shares(first))
                t = _traces(facts, result, work_ids, order, group_report, group_dispute)
                pieces.append(Traces(t.payee, t.work_id, t.report, t.amount * part.sign, t.dispute))
            joined = [np.concatenate([getattr(t, f) for t in pieces]) for f in ("payee", "work_id", "report", "amount", "dispute")]
            sort = np.lexsort((joined[4], joined[2], joined[1], joined[0]))
            tagged = Traces(*(a[sort] for a in joined))
            traces, held = tagged.merged(), tagged.held()
            if int(traces.amount.sum()) != holders_total or (traces.payee < 0).any():
                raise RuntimeError(f"traced lines of {cur} do not add up to the holders' total")
        used = {ps.model_id for ps in pool_shares}
        runs.append(
            RoyaltyRun(
                cur, sum(int(p.counts.sum()) for p in mine), revenue, platform_total, holders_total,
                [PayeeTotal(*payees[p], int(totals[p])) for p in order],
                {work_ids[i]: int(v) for i, v in enumerate(work_totals.tolist()) if v},
                dict(sorted(by_platform.items())), report_shares, traces, held if traced and hold else None,
                pool_shares, [built.pools[m] for m in sorted(used)],
            )  # fmt: skip
        )
    return runs
