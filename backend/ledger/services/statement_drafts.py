"""Draft, review, publish: an accountant computes a period into a draft statement (nothing is
published or funded, no report is marked paid), reviews how it differs from the period before
it, then publishes or discards it.

A draft is the very document a close would publish now (its id is that document's SHA-256).
Publishing closes the period again and goes ahead only if it comes out as the same document: if
usage, a dispute or a balance changed in between, nothing is written and the accountant drafts
again, so what was reviewed is exactly what is published. The review compares the draft with
every statement of the previous period in the currency (its adjustments included): per holder
(earned), per work and per platform (revenue), largest movers first.
"""

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from ledger.models import ApiKey, Statement, StatementDraft
from ledger.runtime import Ledger
from ledger.services import statement_reads, statements
from ledger.services.errors import Conflict, InvalidInput, NotFound
from ledger.content.statement_document import parse_statement

MAX_REVIEW_ROWS = 1000  # per dimension; the counts say how many moved in all


def draft(ledger: Ledger, key: ApiKey, start: int, end: int, currency: str, token: str | None = None) -> tuple[StatementDraft, bool]:
    """The period computed into a draft (True: new; False: the same draft exists already)."""
    computed, settlement = statements.compute_close(ledger, start, end, currency, token)
    if computed.document is None:
        latest = computed.earlier[-1].statement_id
        raise Conflict(f"the period is closed as statement {latest} and nothing was reported since: nothing to draft", statement_id=latest)
    cid = ledger.store.put_private(computed.document)
    row = StatementDraft(
        draft_id=computed.statement_id, currency=currency, period_start=start, period_end=end, sequence=len(computed.earlier),
        token="" if settlement.token == statements.ZERO_ADDRESS else settlement.token, document_cid=cid, status="draft",
        created_by_key=int(key.id or 0), created_at=int(time.time()),
    )  # fmt: skip
    with Session(ledger.engine, expire_on_commit=False) as s:
        existing = s.exec(select(StatementDraft).where(StatementDraft.draft_id == row.draft_id)).first()
        if existing is not None:
            if existing.status == "discarded":  # drafted again: it is under review again
                existing.status = "draft"
                s.add(existing)
                s.commit()
            return existing, False
        s.add(row)
        try:
            s.commit()
        except IntegrityError:  # the same draft made concurrently
            s.rollback()
            return s.exec(select(StatementDraft).where(StatementDraft.draft_id == row.draft_id)).one(), False
    return row, True


def get_draft(ledger: Ledger, draft_id: str) -> StatementDraft:
    with Session(ledger.engine) as s:
        row = s.exec(select(StatementDraft).where(StatementDraft.draft_id == draft_id.lower())).first()
    if row is None:
        raise NotFound(f"no draft {draft_id}")
    return row


def document_bytes(ledger: Ledger, row: StatementDraft) -> bytes:
    return ledger.store.get(row.document_cid)


def document(ledger: Ledger, row: StatementDraft) -> dict[str, Any]:
    return parse_statement(document_bytes(ledger, row))


def list_drafts(ledger: Ledger, status: str | None = None) -> list[StatementDraft]:
    with Session(ledger.engine) as s:
        stmt = select(StatementDraft).order_by(col(StatementDraft.id).desc())
        if status:
            stmt = stmt.where(StatementDraft.status == status)
        return list(s.exec(stmt.limit(1000)).all())


@dataclass(frozen=True)
class Movement:
    key: str
    previous: int
    current: int

    @property
    def change(self) -> int:
        return self.current - self.previous


@dataclass(frozen=True)
class Review:
    draft: StatementDraft
    previous: list[str]  # the statements of the previous period compared with
    previous_period: tuple[int, int] | None
    holders: list[Movement]
    works: list[Movement]
    platforms: list[Movement]
    moved: dict[str, int]  # per dimension: how many keys changed at all
    totals: dict[str, tuple[int, int]]  # revenue, platform, holders: (previous, current)


def _amounts(doc: dict[str, Any]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """(earned per holder account, amount per work, revenue per platform) of one document."""
    holders: dict[str, int] = defaultdict(int)
    for e in doc["entries"]:
        holders[e["account"]] += int(e["earned"])
    works: dict[str, int] = defaultdict(int)
    for _entry, work_id, _report, amount in doc["lines"]:
        works[str(work_id)] += int(amount)
    platforms: dict[str, int] = defaultdict(int)
    for r in doc["reports"]:
        platforms[r["platform"]] += int(r["revenue"])
    return holders, works, platforms


def _movers(previous: dict[str, int], current: dict[str, int]) -> tuple[list[Movement], int]:
    rows = [Movement(k, previous.get(k, 0), current.get(k, 0)) for k in sorted(set(previous) | set(current))]
    moved = [m for m in rows if m.change]
    moved.sort(key=lambda m: (-abs(m.change), m.key))
    return moved[:MAX_REVIEW_ROWS], len(moved)


def review(ledger: Ledger, draft_id: str) -> Review:
    row = get_draft(ledger, draft_id)
    doc = document(ledger, row)
    with Session(ledger.engine) as s:
        before = s.exec(
            select(Statement.period_start, Statement.period_end)
            .where(Statement.currency == row.currency, Statement.period_end < row.period_start)
            .order_by(col(Statement.period_end).desc())
        ).first()
        earlier = (
            list(s.exec(select(Statement).where(Statement.currency == row.currency, Statement.period_start == before[0],
                                                Statement.period_end == before[1]).order_by(col(Statement.sequence))).all())  # fmt: skip
            if before else []
        )
    prev_h: dict[str, int] = defaultdict(int)
    prev_w: dict[str, int] = defaultdict(int)
    prev_p: dict[str, int] = defaultdict(int)
    prev_totals = {"revenue": 0, "platform": 0, "holders": 0}
    for st in earlier:
        pdoc = parse_statement(statement_reads.document(ledger, st.statement_id))
        for acc, parts in zip((prev_h, prev_w, prev_p), _amounts(pdoc)):
            for k, v in parts.items():
                acc[k] += v
        prev_totals["revenue"] += int(pdoc["revenue"])
        prev_totals["platform"] += int(pdoc["platformTotal"])
        prev_totals["holders"] += int(pdoc["holdersTotal"])
    cur_h, cur_w, cur_p = _amounts(doc)
    holders, n_h = _movers(prev_h, cur_h)
    works, n_w = _movers(prev_w, cur_w)
    platforms, n_p = _movers(prev_p, cur_p)
    totals = {
        "revenue": (prev_totals["revenue"], int(doc["revenue"])), "platform": (prev_totals["platform"], int(doc["platformTotal"])),
        "holders": (prev_totals["holders"], int(doc["holdersTotal"])),
    }  # fmt: skip
    return Review(row, [st.statement_id for st in earlier], before if before else None, holders, works, platforms,
                  {"holders": n_h, "works": n_w, "platforms": n_p}, totals)  # fmt: skip


def publish(ledger: Ledger, key: ApiKey, draft_id: str) -> statements.CloseResult:
    """Publishes the draft if the period still comes out as it (409 otherwise, nothing written)."""
    row = get_draft(ledger, draft_id)
    if row.status == "discarded":
        raise Conflict(f"draft {row.draft_id} was discarded; draft the period again")
    result = statements.close_period(ledger, key, row.period_start, row.period_end, row.currency, row.token or None, expect_id=row.draft_id)
    with Session(ledger.engine) as s:
        stored = s.get_one(StatementDraft, row.id)
        stored.status = "published"
        s.add(stored)
        s.commit()
    return result


def discard(ledger: Ledger, draft_id: str) -> StatementDraft:
    with Session(ledger.engine, expire_on_commit=False) as s:
        row = s.exec(select(StatementDraft).where(StatementDraft.draft_id == draft_id.lower())).first()
        if row is None:
            raise NotFound(f"no draft {draft_id}")
        if row.status == "published":
            raise Conflict(f"draft {row.draft_id} is published: a statement never changes (a correction is paid by an adjustment)")
        if row.status != "discarded":
            row.status = "discarded"
            s.add(row)
            s.commit()
        return row


def check_status(status: str | None) -> None:
    if status not in (None, "draft", "published", "discarded"):
        raise InvalidInput("status must be draft, published or discarded")
