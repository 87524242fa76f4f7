"""Advances: minimum guarantees paid to a holder up front, recouped from its later earnings.

The payment itself happens outside the ledger (a platform or a studio pays the holder); an
accountant records it on chain (``RoyaltyDistributor.recordAdvance``) so that the first statement
in its currency that counts it (the one whose anchor block window holds the record) adds it to
what the account owes, and every later statement recoups it before paying anything
(``accounting.balances``). The verifier checks that each statement counts exactly the advances
the chain recorded in its window.

An advance's id is derived from the account, the currency and the payer's reference, so a retry
records nothing twice: the same advance again answers with the one on record, and a different
amount or payer under the same reference is a conflict.
"""

from dataclasses import dataclass
from typing import Any

from eth_abi import encode
from eth_utils import is_address, keccak, to_checksum_address
from sqlmodel import Session, col, select

from ledger.chain.errors import ContractRevert
from ledger.codes import is_currency
from ledger.models import Advance, ApiKey
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, InvalidInput
from ledger.services.keys import ensure_onchain_account
from ledger.services.locks import KeyedLocks
from ledger.services.signing import SignatureRequired, execute
from ledger.services.statement_reads import readable_account

MAX_AMOUNT = 10**15  # minor units: far above any guarantee, and every sum stays inside int64
ZERO_ADDRESS = "0x" + "00" * 20
_LOCKS = KeyedLocks()


@dataclass(frozen=True)
class Recorded:
    advance: Advance | None  # None while a self-signing accountant has not relayed it
    created: bool
    advance_id: str
    typed_data: dict[str, Any] | None = None


def advance_id(account: str, currency: str, note: str) -> str:
    return "0x" + keccak(encode(["address", "string", "string"], [account, currency, note])).hex()


def _check(account: str, currency: str, amount: int, note: str, payer: str | None) -> tuple[str, str]:
    if not is_address(account):
        raise InvalidInput(f"account must be an Ethereum address, got {account!r}")
    if not is_currency(currency):
        raise InvalidInput(f"currency must be an ISO 4217 code with a minor unit, like JPY or USD; got {currency!r}")
    if not 1 <= amount <= MAX_AMOUNT:
        raise InvalidInput(f"amount is 1 to {MAX_AMOUNT:,} minor units of {currency}")
    if not note.strip() or len(note) > 200:
        raise InvalidInput("note is the payer's reference for the advance (a contract or invoice number): 1 to 200 characters")
    if payer is not None and not is_address(payer):
        raise InvalidInput(f"payer must be an Ethereum address, got {payer!r}")
    return to_checksum_address(account), ZERO_ADDRESS if payer is None else to_checksum_address(payer)


def record(ledger: Ledger, key: ApiKey, account: str, currency: str, amount: int, note: str, payer: str | None = None) -> Recorded:
    """Records an advance on chain (idempotent by account, currency and note)."""
    account, payer_address = _check(account, currency, amount, note, payer)
    key = ensure_onchain_account(ledger, key)
    aid = advance_id(account, currency, note)
    with _LOCKS.hold(aid):
        existing = _existing(ledger, aid)
        if existing is None:
            call = ledger.call("RoyaltyDistributor", "recordAdvance", bytes.fromhex(aid[2:]), account, currency, amount, payer_address, note)
            try:
                outcome = execute(ledger, key, call)
            except ContractRevert as exc:  # another process recorded it meanwhile: answer as a retry would
                if exc.name != "AdvanceAlreadyRecorded":
                    raise
                outcome, created = None, False
            else:
                created = True
            if isinstance(outcome, SignatureRequired):
                return Recorded(None, False, aid, outcome.typed_data)
            ledger.indexer.sync(to_block=None if outcome is None else int(outcome["blockNumber"]))
            existing = _existing(ledger, aid)
            if existing is None:
                raise Conflict(f"advance {aid} is on chain but not indexed yet; retry shortly")
        else:
            created = False
    if (existing.account, existing.currency, existing.amount, existing.payer) != (account, currency, amount, payer_address):
        raise Conflict(
            f"advance {note!r} for {account} in {currency} is already recorded as {existing.amount:,} from {existing.payer}; "
            "an advance is recorded once: record a further one under another reference", advance_id=aid,
        )  # fmt: skip
    return Recorded(existing, created, aid)


def _existing(ledger: Ledger, aid: str) -> Advance | None:
    """The advance on record, also one mined before a crash that this database has not seen yet."""
    if int(ledger.distributor.functions.advanceRecordedAt(bytes.fromhex(aid[2:])).call()) != 0:
        ledger.indexer.sync()
    with Session(ledger.engine) as s:
        return s.get(Advance, aid)


def listed(ledger: Ledger, key: ApiKey, currency: str | None = None, account: str | None = None, limit: int = 100, offset: int = 0) -> list[Advance]:
    """Advances, newest first: who may read which is the rule of every amount
    (``statement_reads.readable_account``): the books roles every account's, any other key its own."""
    account = readable_account(key, account)
    if account == "":  # a key without an account has no advances
        return []
    stmt = select(Advance)
    if currency is not None:
        stmt = stmt.where(Advance.currency == currency)
    if account is not None:
        stmt = stmt.where(Advance.account == account)
    with Session(ledger.engine) as s:
        return list(s.exec(stmt.order_by(col(Advance.block_number).desc(), col(Advance.log_index).desc()).offset(offset).limit(limit)).all())
