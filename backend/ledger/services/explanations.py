"""Why this amount: a holder's amount in a statement, walked back to the usage lines behind it.

A statement line says a payee got ``amount`` from work W through usage report R. To say why, the
ledger splits R's lines again exactly as the statement did (the same facts as of the period's
end, the platform share the statement declares, the same pools), but tells the engine to keep
each output's lines apart (one group per output, or per model pool): what each output brought W
after its links, upstream royalties and nothing else. So every path is exact to the unit:

    work W's total from R = sum over outputs (and pools) of what each brought W
    the holder's line      = its owner share of that total (largest remainder over co-owners)

and each output names its link weight to W (or the derivative it reaches W through), its usage
lines in R (the largest ones listed, all of them counted), and R's anchor transaction. A
recomputation that does not give the statement's total for (W, R) says so: the usage changed
since (a correction of a line anchored after the statement), and the statement stands as
published.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from eth_utils import to_checksum_address
from sqlmodel import Session, col, select

from ledger.accounting.splits import Lines, split
from ledger.db import chunked
from ledger.models import ApiKey, Output, UsageAnchorRecord, UsageLine, UsageReport
from ledger.runtime import Ledger
from ledger.services import royalties, statement_reads
from ledger.services.errors import NotFound
from ledger.services.model_pools import PoolCheck
from ledger.content.statement_document import parse_statement

MAX_DEPTH = 3
TOP_LINES = 10
TOP_SOURCES = 20


@dataclass(frozen=True)
class UsageLineView:
    line_id: str
    line_number: int
    revenue: int
    uses: int
    use_type: str
    territory: str


@dataclass(frozen=True)
class Source:
    """One output (or one model's pool) and what its lines in the report brought the work."""

    kind: str  # output | pool
    amount: int  # what it brought the work, after links, pools and upstream royalties
    output_hash: str | None = None
    model_id: int | None = None
    link_weight_bps: int | None = None  # the work's weight among the output's links (None: reached through a derivative)
    through: list[int] = field(default_factory=list)  # derivative works between the output's links and the work
    pool_works: int | None = None  # the pool's paid works
    pool_declared: bool = False  # split by the weights declared with the training list (else equally)
    pool_weight: int | None = None  # the work's weight in the pool (None: reached through a derivative)
    pool_weight_total: int | None = None
    lines: int = 0
    revenue: int = 0
    top_lines: list[UsageLineView] = field(default_factory=list)


@dataclass(frozen=True)
class ReportPart:
    report: dict[str, Any]  # the statement's report entry
    amount: int  # the holder's line
    work_total: int  # every owner's lines for the work and report
    recomputed_total: int  # what the lines give now
    sources: list[Source]
    more_sources: int  # sources not listed (the smallest)


@dataclass(frozen=True)
class WorkPart:
    work_id: int
    title: str
    amount: int  # the holder's total from the work in this statement
    owner_share_bps: int  # the holder's share of the work at the period's end
    reports: list[ReportPart]


@dataclass(frozen=True)
class Explanation:
    statement_id: str
    account: str
    currency: str
    minor_unit_exponent: int
    period_start: int
    period_end: int
    entries: list[dict[str, Any]]
    works: list[WorkPart]
    more_works: int


def explain(
    ledger: Ledger, key: ApiKey, statement_id: str, account: str, work_id: int | None = None, max_works: int = 20
) -> Explanation:  # fmt: skip
    statement_reads.readable_account(key, account)  # 422 for no address, 403 for another holder's amounts
    account = to_checksum_address(account)
    row = statement_reads.get(ledger, statement_id)
    doc = parse_statement(statement_reads.document(ledger, statement_id))
    entries = [e for e in doc["entries"] if e["account"] == account]
    if not entries:
        raise NotFound(f"{account} has no entry in statement {row.statement_id}")
    mine = {e["index"] for e in entries}
    holder_lines: dict[tuple[int, int], int] = defaultdict(int)  # (work, report) -> the holder's amount
    totals: dict[tuple[int, int], int] = defaultdict(int)  # (work, report) -> every owner's
    for entry, w, r, amount in doc["lines"]:
        totals[(w, r)] += amount
        if entry in mine:
            holder_lines[(w, r)] += amount
    by_work: dict[int, int] = defaultdict(int)
    for (w, _), amount in holder_lines.items():
        by_work[w] += amount
    if work_id is not None and work_id not in by_work:
        raise NotFound(f"{account} has no amount from work {work_id} in statement {row.statement_id}")
    chosen = [work_id] if work_id is not None else sorted(by_work, key=lambda w: (-abs(by_work[w]), w))[:max_works]
    titles = statement_reads.work_titles(ledger, set(chosen))
    shares = _owner_shares(ledger, chosen, account, int(doc["periodEnd"]))
    runs: dict[int, _ReportRun] = {}
    one_creator = int(doc.get("modelPools", {}).get("oneCreatorShareBps", ledger.settings.one_creator_share_bps))
    pools = PoolCheck(ledger.engine, one_creator)  # each model judged once, whatever the reports
    works = []
    for w in chosen:
        parts = []
        for r in sorted({r for (ww, r) in holder_lines if ww == w}):
            run = runs.get(r) or runs.setdefault(r, _ReportRun.of(ledger, doc, r, pools))
            sources = run.sources_of(w)
            parts.append(ReportPart(doc["reports"][r], holder_lines[(w, r)], totals[(w, r)], run.total_of(w), sources[:TOP_SOURCES], max(0, len(sources) - TOP_SOURCES)))
        works.append(WorkPart(w, titles.get(w, ""), by_work[w], shares.get(w, 0), parts))
    return Explanation(
        row.statement_id, account, row.currency, int(doc["minorUnitExponent"]), row.period_start, row.period_end,
        [{k: e.get(k, 0) for k in ("index", "payout", "earned", "withheld", "released", "recouped", "amount")} for e in entries],
        works, len(by_work) - len(chosen),
    )  # fmt: skip


def _owner_shares(ledger: Ledger, works: list[int], account: str, as_of: int) -> dict[int, int]:
    with Session(ledger.engine) as s:
        owners = royalties.owners_as_of(s, works, as_of)
    return {w: sum(o.share_bps for o in rows if o.account == account) for w, rows in owners.items()}


@dataclass
class _ReportRun:
    """One report's lines split again with one group per output (or pool)."""

    ledger: Ledger
    built: royalties.Built | None
    result: Any
    group_subject: list[tuple[str, int]]  # group -> ("output", output id) | ("pool", model id)
    rows: list[royalties.Usage]
    line_pks: list[int]
    groups: np.ndarray
    as_of: int
    sign: int = 1  # -1: a reversal report, whose lines the statement took back

    @classmethod
    def of(cls, ledger: Ledger, doc: dict[str, Any], r: int, pools: PoolCheck) -> "_ReportRun":
        report = doc["reports"][r]
        as_of = int(doc["periodEnd"])
        with Session(ledger.engine) as s:
            pk = s.exec(select(UsageReport.id).where(UsageReport.batch_hash == report["batchHash"])).first()
            if pk is None:
                raise NotFound(f"usage report {report['reportId']} ({report['batchHash']}) is not in this ledger's database")
            pks, rows = _lines_of(s, doc, int(pk), bool(report.get("reversal")))
            sign = -1 if report.get("reversal") else 1
            if not rows:
                return cls(ledger, None, None, [], [], [], np.zeros(0, np.int64), as_of, sign)
            outputs = sorted({u.output_id for u in rows if u.output_id is not None})
            models = {u.model_id for u in rows if u.model_id is not None}
            built = royalties.facts_for(s, outputs, MAX_DEPTH, as_of, model_ids=models, pool_for=pools.pool)
        pool_model = {i: m for m, i in built.pool_index.items()}
        dense = [built.index_of(u) for u in rows]
        # One group per output, but a pool's lines share their pool's group (as the statement summed them).
        subjects: dict[tuple[str, int], int] = {}
        groups = []
        for u, d in zip(rows, dense):
            subject = ("pool", pool_model[d]) if d in pool_model else ("output", int(u.output_id or 0))
            groups.append(subjects.setdefault(subject, len(subjects)))
        share = int(report["platformShareBps"])
        lines = Lines(np.array(dense, dtype=np.int64), np.array([u.revenue for u in rows], dtype=np.int64), np.full(len(rows), share, dtype=np.int64))
        g = np.array(groups, dtype=np.int64)
        result = split(built.facts, lines, MAX_DEPTH, g)
        return cls(ledger, built, result, list(subjects), rows, pks, g, as_of, sign)

    def total_of(self, work_id: int) -> int:
        if self.built is None or work_id not in self.built.work_ids:
            return 0
        return self.sign * int(self.result.work_totals[self.built.work_ids.index(work_id)])

    def sources_of(self, work_id: int) -> list[Source]:
        if self.built is None or work_id not in self.built.work_ids:
            return []
        dense = self.built.work_ids.index(work_id)
        c = self.result.contributions
        at = np.flatnonzero(c.work == dense)
        found = sorted(((int(c.group[i]), self.sign * int(c.amount[i])) for i in at), key=lambda ga: (-abs(ga[1]), ga[0]))
        return [self._source(g, amount, work_id) for g, amount in found]

    def _source(self, group: int, amount: int, work_id: int) -> Source:
        kind, subject = self.group_subject[group]
        mask = self.groups == group
        idx = np.flatnonzero(mask)
        revenue = self.sign * int(sum(self.rows[i].revenue for i in idx))
        top = sorted(idx.tolist(), key=lambda i: (-self.rows[i].revenue, self.line_pks[i]))[:TOP_LINES]
        with Session(self.ledger.engine) as s:
            views = {
                line.id: UsageLineView(line.line_id, line.line_number, line.revenue, line.uses, line.use_type, line.territory)
                for line in s.exec(select(UsageLine).where(col(UsageLine.id).in_([self.line_pks[i] for i in top])))
            }
            if kind == "pool":
                assert self.built is not None
                pool = self.built.pools[subject]
                inside = work_id in pool.works
                return Source(
                    "pool", amount, model_id=subject, pool_works=len(pool.works), pool_declared=pool.declared,
                    pool_weight=pool.weights[pool.works.index(work_id)] if inside else None, pool_weight_total=sum(pool.weights),
                    lines=len(idx), revenue=revenue, top_lines=[views[self.line_pks[i]] for i in top],
                    through=[] if inside else _through(s, work_id, pool.works, self.as_of),
                )  # fmt: skip
            output = s.get(Output, subject)
            links = royalties.links_as_of(s, [subject], self.as_of).get(subject, [])
            weight = next((x for w, x in links if w == work_id), None)
            through = [] if weight is not None else _through(s, work_id, [w for w, _ in links], self.as_of)
        return Source("output", amount, output_hash=output.output_hash if output else None, model_id=output.model_id if output else None,
                      link_weight_bps=weight, through=through, lines=len(idx), revenue=revenue, top_lines=[views[self.line_pks[i]] for i in top])  # fmt: skip


def _through(s: Session, work_id: int, linked: list[int], as_of: int) -> list[int]:
    """The derivative works between an output's linked works and ``work_id`` (its royalties flow
    upstream from the first to the last), found by walking the sources up to MAX_DEPTH levels."""
    sources = royalties.derivative_sources(s, set(linked), MAX_DEPTH, as_of)
    frontier = [[w] for w in linked]
    for _ in range(MAX_DEPTH):
        nxt = []
        for path in frontier:
            for src, _, _ in sources.get(path[-1], []):
                if src == work_id:
                    return path
                nxt.append([*path, src])
        frontier = nxt
    return []


def _lines_of(s: Session, doc: dict[str, Any], pk: int, reversal: bool) -> tuple[list[int], list[royalties.Usage]]:
    """The report's lines as the statement counted them: those no line anchored by its
    ``anchorsUpTo`` replaced; for a reversal, the report's paid lines that the statement's own
    reports replaced."""
    up_to = int(doc.get("anchorsUpTo", 2**62))
    stmt = (
        select(UsageLine.id, UsageLine.output_id, UsageLine.model_id, UsageLine.revenue, UsageReport.currency, UsageLine.report_pk, UsageLine.platform, UsageLine.line_id)
        .join(UsageReport, col(UsageReport.id) == col(UsageLine.report_pk))
        .where(UsageLine.report_pk == pk)
        .order_by(col(UsageLine.id))
    )
    rows = list(s.exec(stmt).all())
    platform = rows[0][6] if rows else ""
    statement_reports = [r["batchHash"] for r in doc["reports"] if not r.get("reversal")]
    replacing: dict[str, str] = {}  # replaced line id -> the report batch hash of the line replacing it
    ids = [r[7] for r in rows]
    for chunk in chunked(ids):
        for line_platform, line_id, batch, block in s.exec(  # by the replaced ids alone: SQLite then takes their index
            select(UsageLine.platform, UsageLine.replaces_line_id, UsageReport.batch_hash, UsageAnchorRecord.block_number)
            .join(UsageReport, col(UsageReport.id) == col(UsageLine.report_pk))
            .join(UsageAnchorRecord, col(UsageAnchorRecord.batch_hash) == col(UsageReport.batch_hash))
            .where(col(UsageLine.replaces_line_id).in_(chunk))
        ):
            if line_platform == platform and int(block) <= up_to:
                replacing[str(line_id)] = str(batch)
    if reversal:
        kept = [r for r in rows if replacing.get(r[7]) in statement_reports]
    else:
        kept = [r for r in rows if r[7] not in replacing]
    return [int(r[0]) for r in kept], [royalties.Usage(r[1], r[2], int(r[3]), str(r[4]), int(r[5])) for r in kept]


def as_document(e: Explanation) -> dict[str, Any]:
    """JSON for the API and the CLI."""

    def source(x: Source) -> dict[str, Any]:
        return {
            "kind": x.kind, "amount": x.amount, "outputHash": x.output_hash, "modelId": x.model_id, "linkWeightBps": x.link_weight_bps,
            "through": x.through, "poolWorks": x.pool_works, "poolDeclared": x.pool_declared, "poolWeight": x.pool_weight,
            "poolWeightTotal": x.pool_weight_total, "lines": x.lines, "revenue": x.revenue,
            "topLines": [vars(line) for line in x.top_lines],
        }  # fmt: skip

    return {
        "statementId": e.statement_id, "account": e.account, "currency": e.currency, "minorUnitExponent": e.minor_unit_exponent,
        "periodStart": e.period_start, "periodEnd": e.period_end, "entries": e.entries, "moreWorks": e.more_works,
        "works": [
            {"workId": w.work_id, "title": w.title, "amount": w.amount, "ownerShareBps": w.owner_share_bps,
             "reports": [{"report": p.report, "amount": p.amount, "workTotal": p.work_total, "recomputedTotal": p.recomputed_total,
                          "asPublished": p.recomputed_total == p.work_total, "sources": [source(x) for x in p.sources], "moreSources": p.more_sources}
                         for p in w.reports]}
            for w in e.works
        ],
    }  # fmt: skip

