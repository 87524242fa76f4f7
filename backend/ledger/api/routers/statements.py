"""Royalty statements: accountants close periods; anyone with a key reads, verifies and exports
them; holders claim their entries."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import Accountant, Books, Claimant, Day, LedgerDep, Reader
from ledger.api.routers.operations import ASYNC_ANSWER, answered
from ledger.codes import currency_exponent
from ledger.dates import iso_day, unix_day
from ledger.models import Statement
from ledger.models.types import MAX_ID
from ledger.runtime import Ledger
from ledger.services import claims
from ledger.services import statement_reads as reads
from ledger.services import statements as svc
from ledger.services.errors import Forbidden, InvalidInput

router = APIRouter(prefix="/statements", tags=["statements"])


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period_start: Day = Field(description="YYYY-MM-DD, inclusive (UTC)")
    period_end: Day = Field(description="YYYY-MM-DD, inclusive (UTC); the period must have ended")
    currency: str = Field(max_length=3, description="ISO 4217; one statement per currency")
    settlement_token: str | None = Field(
        None, max_length=64, description="ERC-20 the claims pay in (the accountant's account funds the statement at publication); omit to settle off chain"
    )


class StatementOut(BaseModel):
    statement_id: str = Field(description="SHA-256 of the statement document; its id on chain")
    currency: str
    minor_unit_exponent: int = Field(description="Digits after the decimal point of one minor unit (JPY 0, USD 2)")
    period_start: str
    period_end: str
    sequence: int = Field(description="0: the period's statement; 1, 2, ...: adjustments paying usage reported after it")
    revenue: int = Field(description="Minor units of the usage reports this statement pays")
    platform_total: int
    holders_total: int = Field(description="What the holders earned in it (negative when reversed paid lines outweigh new usage)")
    payable_total: int = Field(description="What the entries pay: earnings less balances owed (the total published on chain)")
    report_count: int
    line_count: int
    entry_count: int
    root: str = Field(description="Merkle root of the entries (index, account, payout, amount)")
    document_cid: str
    publish_tx: str = Field(description='"" until published on chain (self-signing accountants: after /relay)')
    token: str = Field(description='ERC-20 the claims pay in; "" settled off chain')
    unit_scale: int = Field(description="Token units per minor unit (0 off chain)")
    claimed_entries: int = Field(0, description="Entries claimed on chain so far")
    claimed_amount: int = Field(0, description="Minor units claimed so far")
    holder_amount: int | None = Field(None, description="With ?account=: what that holder's entries pay in this statement")
    holder_earned: int | None = Field(None, description="With ?account=: what that holder earned in it (less any balance it owed: holder_amount)")
    typed_data: dict[str, Any] | None = Field(None, description="Self-signing accountants: the publication to sign")


class EntryOut(BaseModel):
    statement_id: str
    index: int
    account: str
    payout: str
    earned: int = Field(description="What the payee earned in this statement (either sign)")
    amount: int = Field(description="What the entry pays: earnings less any balance the account owes")
    proof: list[str] = Field(description="For RoyaltyDistributor.claim(statementId, account, payout, cumulative, salt, proof)")
    claimed_tx: str | None = Field(description="The claim that paid it: with this entry, or with a later entry of the payee in the same book")
    cumulative: int = Field(description="The leaf's amount: what the statements of this book (currency and settlement) owed the payee up to this one")
    salt: str = Field(description="The leaf's salt (keep it to yourself: with it, anyone holding your proof learns nothing more, but it is yours)")


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str = Field(max_length=64, description="The holder whose entries to claim")


class ClaimAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str = Field(max_length=64, description="The holder whose open entries to claim, in every statement")
    currency: str | None = Field(None, max_length=3, description="Only this currency's statements")


class BookClaimOut(BaseModel):
    statement_id: str = Field(description="The payee's latest entry in the book, whose claim settles every earlier one")
    currency: str
    token: str = Field(description='"" settled off chain')
    payout: str
    cumulative: int
    amount: int = Field(description="Minor units this claim paid")
    statements: int = Field(description="The payee's statements in the book it settled")
    tx_hash: str


class OwedOut(BaseModel):
    currency: str
    minor_unit_exponent: int
    account: str
    amount: int = Field(description="Minor units owed: deducted from the account's next statements in the currency before they pay")
    statement_id: str = Field(description="The latest statement in the currency, which carried the balance forward")


def _outs(
    ledger: Ledger, rows: list[Statement], holder: dict[int, tuple[int, int]] | None = None, typed: dict[str, Any] | None = None
) -> list[StatementOut]:
    """Statements with their claim progress (and, with ``holder``, that holder's amount in each)."""
    progress = claims.claim_progress(ledger, [r.statement_id for r in rows])
    out = []
    for row in rows:
        claimed, amount = progress.get(row.statement_id, (0, 0))
        fields = {
            **row.model_dump(exclude={"id", "closed_by_key", "closed_at"}), "period_start": iso_day(row.period_start),
            "period_end": iso_day(row.period_end), "minor_unit_exponent": currency_exponent(row.currency),
        }  # fmt: skip
        paid, earned = (None, None) if holder is None else holder.get(int(row.id or 0), (None, None))
        out.append(StatementOut(**fields, typed_data=typed, claimed_entries=claimed, claimed_amount=amount, holder_amount=paid, holder_earned=earned))
    return out


@router.post("", status_code=201, response_model=StatementOut, responses={200: {"model": StatementOut}, 202: {"model": StatementOut}, **ASYNC_ANSWER})
async def close_period(
    request: Request, body: CloseIn, key: Accountant, ledger: LedgerDep
) -> JSONResponse:
    """Closes a period for a currency and publishes its statement. 201 closed (or, for a period
    closed before and reported since, an adjustment statement), 200 already closed with nothing
    new (the latest statement), 202 stored and waiting for a self-signing accountant's signature,
    409 the period overlaps a closed one or has usage not settled yet, 422 nothing to close.
    With `Prefer: respond-async`, answers 202 at once (a period of millions of lines takes
    minutes to close) and keeps that answer for `GET /operations/{id}`."""
    start, end = unix_day(body.period_start, False), unix_day(body.period_end, True)

    def answer() -> tuple[int, Any]:
        result = svc.close_period(ledger, key, start, end, body.currency, body.settlement_token)
        status = 202 if result.typed_data is not None else 201 if result.created else 200
        return status, _outs(ledger, [result.statement], typed=result.typed_data)[0].model_dump(mode="json")

    return await answered(request, ledger, key, "close_period", answer)


@router.get("", response_model=list[StatementOut])
def list_statements(
    key: Reader,
    ledger: LedgerDep,
    currency: Annotated[str | None, Query()] = None,
    account: Annotated[str | None, Query(description="Only statements with entries for this holder, with what it is owed in each (a holder: its own)")] = None,
) -> list[StatementOut]:
    """Every statement with its totals (public, as on chain), oldest period first (a period's
    adjustments after it)."""
    rows = reads.list_statements(ledger, currency)
    if account is None:
        return _outs(ledger, rows)
    account = reads.readable_account(key, account)
    owed = reads.holder_amounts(ledger, account)
    return _outs(ledger, [r for r in rows if r.id in owed], owed)


@router.get("/balances", response_model=list[OwedOut])
def balances(
    key: Reader,
    ledger: LedgerDep,
    currency: Annotated[str | None, Query()] = None,
    account: Annotated[str | None, Query(description="Only this holder's balance (a holder: its own)")] = None,
) -> list[OwedOut]:
    """Balances holders owe now (corrections and advances not recouped yet), per currency: the
    next statements deduct them before paying. Every holder's: accountants, admins, auditors."""
    account = reads.readable_account(key, account)
    if account == "":
        return []  # a key without an account owes nothing
    return [OwedOut(minor_unit_exponent=currency_exponent(o.currency), **o.__dict__) for o in svc.balances_owed(ledger, currency, account)]


class EarningsOut(BaseModel):
    currency: str
    minor_unit_exponent: int
    by_month: list[tuple[str, int]] = Field(description="(YYYY-MM of the statements' periods, minor units earned), oldest first")
    by_work: list[tuple[int, str, int]] = Field(description="(work id, title, minor units earned), largest first")


@router.get("/earnings", response_model=list[EarningsOut])
def account_earnings(
    key: Reader, ledger: LedgerDep, account: Annotated[str | None, Query(max_length=64, description="Whose earnings (a holder: its own, the default)")] = None
) -> list[EarningsOut]:
    """An account's earnings per currency, by month and by work, from its statements' traced lines
    (before balances, advances and reserves)."""
    account = reads.readable_account(key, account)
    if not account:
        raise InvalidInput("name the account whose earnings to show (this key has none of its own)")
    return [EarningsOut(**e.__dict__) for e in reads.earnings(ledger, account)]


@router.get("/{statement_id}", response_model=StatementOut)
def statement(statement_id: str, _: Reader, ledger: LedgerDep) -> StatementOut:
    return _outs(ledger, [reads.get(ledger, statement_id)])[0]


@router.get("/{statement_id}/document", response_class=Response, responses={200: {"content": {"application/json": {}}}})
def statement_document(statement_id: str, _: Books, ledger: LedgerDep) -> Response:
    """The statement document, byte for byte as hashed: its SHA-256 is the statement id. Every
    holder's amounts are in it, so it is for accountants, admins and auditors; a holder reads its
    own entries, proofs and extract."""
    return Response(reads.document(ledger, statement_id), media_type="application/json")


@router.get("/{statement_id}/explanation", response_model=dict[str, Any])
def explanation(
    statement_id: str,
    key: Reader,
    ledger: LedgerDep,
    account: Annotated[str, Query(max_length=64, description="The holder whose amounts to explain (a holder's key: its own)")],
    work: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only the amount from this work (default: the 20 largest)")] = None,
) -> Any:
    """Why this amount: each of the holder's amounts from a work walked back, per usage report,
    to the outputs (with the work's link weight, or the derivative it flows through) or model
    pools that brought it, their usage lines (the largest listed, all counted) and the report's
    anchor transaction; every figure exact to the unit and recomputed by the split engine."""
    from ledger.services import explanations

    return explanations.as_document(explanations.explain(ledger, key, statement_id, account, work))


@router.get(
    "/{statement_id}/export", response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/pdf": {}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}},
)  # fmt: skip
def export(
    statement_id: str,
    key: Reader,
    ledger: LedgerDep,
    format: Annotated[str, Query(description="csv (every traced line), xlsx (summary, entries, lines, reports), pdf (readable)")] = "csv",
    account: Annotated[str | None, Query(description="Only this holder's entries and lines")] = None,
) -> Response:
    """The statement, or one holder's extract, in a file format: every line carries the usage
    report it comes from and the transaction that anchored that report."""
    reads.get(ledger, statement_id)  # 404 before 403: whether a statement exists is public
    account = reads.readable_account(key, account)
    if account == "":
        raise Forbidden("amounts are private: a key without an account has no extract; the whole statement is for accountants, admins and auditors")
    chunks, media_type, filename = reads.export(ledger, statement_id, format, account)
    return StreamingResponse(chunks, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/{statement_id}/entries/{account}", response_model=list[EntryOut])
def entries(statement_id: str, account: str, key: Reader, ledger: LedgerDep) -> list[EntryOut]:
    """A holder's entries with their Merkle proofs and salts, and whether each was claimed (a
    holder: its own)."""
    reads.get(ledger, statement_id)  # 404 before 403: whether a statement exists is public
    reads.readable_account(key, account)
    return [EntryOut(**e.__dict__) for e in claims.entries_of(ledger, statement_id, account)]


@router.post("/{statement_id}/claims", response_model=list[EntryOut], responses=ASYNC_ANSWER)
async def claim(request: Request, statement_id: str, body: ClaimIn, key: Claimant, ledger: LedgerDep) -> JSONResponse:
    """Claims a holder's open entries on chain (the ledger pays the gas; the contract pays each
    entry's payout address). 409 when everything is claimed already. With `Prefer: respond-async`,
    answers 202 at once and claims in the background."""
    def answer() -> tuple[int, Any]:
        return 200, [EntryOut(**e.__dict__).model_dump(mode="json") for e in claims.claim(ledger, key, statement_id, body.account)]

    return await answered(request, ledger, key, "claim", answer)


claims_router = APIRouter(prefix="/claims", tags=["statements"])


@claims_router.post("", response_model=list[BookClaimOut], responses=ASYNC_ANSWER)
async def claim_everything(request: Request, body: ClaimAllIn, key: Claimant, ledger: LedgerDep) -> JSONResponse:
    """Claims everything a holder is owed across statements, in one transaction: per book
    (currency and settlement) and payout address, its latest entry (whose leaf carries the
    cumulative amount) pays every earlier one. 409 when nothing is left to claim. With
    `Prefer: respond-async`, answers 202 at once and claims in the background."""
    def answer() -> tuple[int, Any]:
        return 200, [BookClaimOut(**c.__dict__).model_dump(mode="json") for c in claims.claim_all(ledger, key, body.account, body.currency)]

    return await answered(request, ledger, key, "claim_all", answer)
