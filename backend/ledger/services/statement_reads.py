"""Reading published statements: the rows, the documents (checked against their ids), exports,
and a holder's own amounts and earnings. Amounts are private (``readable_account``): every
holder's are for the books roles, any other key reads its own account's.

Apart from closing (``services.statements``): a read never writes, and closing needs only
``get`` from here.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace

from eth_utils import is_address, to_checksum_address
from sqlmodel import Session, col, func, select

from ledger.codes import currency_exponent
from ledger.content.documents import load_document
from ledger.content.statement_document import parse_statement
from ledger.dates import iso_day
from ledger.db import chunked
from ledger.exports import FORMATS, StatementView, render
from ledger.models import ApiKey, Statement, StatementEntry, Work
from ledger.models.auth import BOOKS_ROLES
from ledger.runtime import Ledger
from ledger.services.errors import Forbidden, InvalidInput, NotFound


def get(ledger: Ledger, statement_id: str) -> Statement:
    with Session(ledger.engine) as s:
        row = s.exec(select(Statement).where(Statement.statement_id == statement_id.lower())).first()
    if row is None:
        raise NotFound(f"no statement {statement_id}")
    return row


def list_statements(ledger: Ledger, currency: str | None = None) -> list[Statement]:
    with Session(ledger.engine) as s:
        stmt = select(Statement).order_by(col(Statement.period_start), col(Statement.currency), col(Statement.sequence))
        if currency:
            stmt = stmt.where(Statement.currency == currency)
        return list(s.exec(stmt).all())


def document(ledger: Ledger, statement_id: str) -> bytes:
    """The statement document, checked against its id before it is served."""
    row = get(ledger, statement_id)
    raw = ledger.store.get(row.document_cid)
    if "0x" + hashlib.sha256(raw).hexdigest() != row.statement_id:
        raise RuntimeError(f"the stored document of {row.statement_id} does not match its hash")
    return raw


def readable_account(key: ApiKey, account: str | None) -> str | None:
    """Amounts are private: every holder's (whole statement documents, every entry and balance)
    are for accountants, admins and auditors, who may name any account or none (all); any other
    key reads its own account's, named or by default. Returns the account to read (None: every
    one; "": none, a key without an account). 403 for another account."""
    if account is not None and not is_address(account):
        raise InvalidInput(f"not an Ethereum address: {account!r}")
    if key.role in BOOKS_ROLES:
        return None if account is None else to_checksum_address(account)
    if account is None:
        return key.holder_address or ""
    if key.holder_address is None or to_checksum_address(account) != key.holder_address:
        raise Forbidden(f"amounts are private: this key reads {key.holder_address or 'no account'}'s, not {account}'s")
    return account


def export(ledger: Ledger, statement_id: str, fmt: str, account: str | None = None) -> tuple[Iterator[bytes], str, str]:
    """The statement (or one holder's extract) as CSV, XLSX or PDF: (content in chunks, media type, file name)."""
    row = get(ledger, statement_id)
    holder = None
    if account is not None:
        if not is_address(account):
            raise InvalidInput(f"not an Ethereum address: {account!r}")
        holder = to_checksum_address(account)
    doc = parse_statement(document(ledger, statement_id))
    view = StatementView(doc, row.statement_id, row.document_cid, row.publish_tx, holder)
    view = replace(view, titles=work_titles(ledger, view.work_ids))
    if holder is not None and fmt == "pdf":  # the holder's months in this currency, up to this statement's period
        months = next((e.by_month for e in earnings(ledger, holder, up_to=row) if e.currency == row.currency), [])
        view = replace(view, months=months)
    if holder is not None and not view.entries:
        raise NotFound(f"{holder} has no entry in statement {row.statement_id}")
    content = render(fmt, view)
    _, media_type, ext = FORMATS[fmt]
    name = f"statement-{row.currency}-{iso_day(row.period_start)}-{row.statement_id[2:10]}" + (f"-{holder[2:10]}" if holder else "")
    return content, media_type, f"{name}.{ext}"


def work_titles(ledger: Ledger, work_ids: set[int]) -> dict[int, str]:
    """Titles from the works' registered metadata, where the content store has it (a title is
    for people; the id is what the document and the chain say)."""
    with Session(ledger.engine) as s:
        cids = {int(w): str(c) for chunk in chunked(sorted(work_ids)) for w, c in s.exec(select(Work.work_id, Work.metadata_cid).where(col(Work.work_id).in_(chunk)))}
    titles = {}
    for work_id, cid in cids.items():
        title = (load_document(ledger.store, cid).value or {}).get("title")
        if isinstance(title, str) and title.strip():
            titles[work_id] = title.strip()
    return titles


def holder_amounts(ledger: Ledger, account: str) -> dict[int, tuple[int, int]]:
    """statement pk -> (what ``account``'s entries pay in it, what it earned in it), over its payout addresses."""
    if not is_address(account):
        raise InvalidInput(f"not an Ethereum address: {account!r}")
    with Session(ledger.engine) as s:
        rows = s.exec(
            select(StatementEntry.statement_pk, func.sum(StatementEntry.amount), func.sum(StatementEntry.earned))
            .where(StatementEntry.account == to_checksum_address(account))
            .group_by(col(StatementEntry.statement_pk))
        ).all()
    return {int(pk): (int(paid), int(earned)) for pk, paid, earned in rows}


@dataclass(frozen=True)
class Earnings:
    """What an account earned, per currency: by month (of the statements' periods) and by work,
    from the traced lines of its published statements."""

    currency: str
    minor_unit_exponent: int
    by_month: list[tuple[str, int]]  # (YYYY-MM, minor units), oldest first
    by_work: list[tuple[int, str, int]]  # (work id, title, minor units), largest first


def earnings(ledger: Ledger, account: str, up_to: Statement | None = None) -> list[Earnings]:
    """An account's earnings by month and by work (lines, so before balances and reserves); with
    ``up_to``, only that statement's currency and the statements up to it."""
    account = to_checksum_address(account)
    with Session(ledger.engine) as s:
        stmt = (
            select(Statement, StatementEntry.entry_index)
            .join(StatementEntry, col(StatementEntry.statement_pk) == col(Statement.id))
            .where(StatementEntry.account == account)
            .order_by(col(Statement.id))
        )
        if up_to is not None:
            stmt = stmt.where(Statement.currency == up_to.currency, col(Statement.id) <= up_to.id)
        rows = s.exec(stmt).all()
    mine: dict[str, tuple[Statement, set[int]]] = {}
    for st, index in rows:
        mine.setdefault(st.statement_id, (st, set()))[1].add(int(index))
    months: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    works: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for st, indexes in mine.values():
        doc = parse_statement(document(ledger, st.statement_id))
        month = iso_day(st.period_start)[:7]
        for entry, work, _, amount in doc["lines"]:
            if entry in indexes:
                months[st.currency][month] += amount
                works[st.currency][int(work)] += amount
    titles = work_titles(ledger, {w for by in works.values() for w in by})
    return [
        Earnings(cur, currency_exponent(cur), sorted(months[cur].items()),
                 sorted(((w, titles.get(w, ""), a) for w, a in works[cur].items()), key=lambda x: (-x[2], x[0])))
        for cur in sorted(months)
    ]  # fmt: skip
