"""The outbox: every transaction the ledger signs is recorded before it is broadcast.

A crash between signing and the receipt used to leave the ledger not knowing whether a
transaction existed. Now the signed bytes are committed first; on the next start
``Outbox.recover`` settles every pending one: mined (its receipt is there), sent again (the very
same bytes: same nonce and hash, so it cannot land twice), or dropped (its nonce was used by
another transaction, e.g. a chain reset). Services keep their own retry rules on top (409/200
for a second registration, adoption of anchors and statements).
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timezone

from hexbytes import HexBytes
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3
from web3.exceptions import TimeExhausted, TransactionNotFound
from web3.types import TxReceipt

from ledger.db import session_scope
from ledger.models.outbox import OutboxTx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recovery:
    mined: int = 0
    resent: int = 0
    dropped: int = 0


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, sender: str, nonce: int, purpose: str, raw: bytes, tx_hash: bytes) -> None:
        with session_scope(self.engine) as s:
            s.add(OutboxTx(tx_hash=HexBytes(tx_hash).to_0x_hex(), sender=sender, nonce=nonce, purpose=purpose[:100],
                           raw=HexBytes(raw).to_0x_hex(), status="pending"))  # fmt: skip

    def settle(self, tx_hash: bytes | str, receipt: TxReceipt | None, status: str | None = None) -> None:
        with session_scope(self.engine) as s:
            row = s.get(OutboxTx, HexBytes(tx_hash).to_0x_hex())
            if row is None:
                return
            row.status = status or ("mined" if receipt is not None and receipt["status"] == 1 else "reverted")
            row.block_number = int(receipt["blockNumber"]) if receipt is not None else None
            row.settled_at = datetime.now(timezone.utc)

    def pending(self) -> list[OutboxTx]:
        with Session(self.engine) as s:
            return list(s.exec(select(OutboxTx).where(OutboxTx.status == "pending").order_by(col(OutboxTx.sender), col(OutboxTx.nonce))).all())

    def recover(self, w3: Web3, timeout_s: float = 120) -> Recovery:
        """Settles every pending transaction (see the module docstring); safe to run any time no
        send is in flight, e.g. at start."""
        mined = resent = dropped = 0
        for row in self.pending():
            receipt = _receipt(w3, row.tx_hash)
            if receipt is None and row.nonce < w3.eth.get_transaction_count(row.sender, "latest"):
                log.warning("outbox: %s (%s, nonce %s) was never mined and its nonce is used: dropped", row.tx_hash, row.purpose, row.nonce)
                self.settle(row.tx_hash, None, "dropped")
                dropped += 1
                continue
            if receipt is None:
                log.warning("outbox: %s (%s) was signed but is not on chain: sending the same bytes again", row.tx_hash, row.purpose)
                try:
                    w3.eth.send_raw_transaction(row.raw)
                except ValueError as exc:  # "already known" and the like: the node has it
                    log.info("outbox: node answered %s for %s", exc, row.tx_hash)
                try:
                    receipt = w3.eth.wait_for_transaction_receipt(row.tx_hash, timeout=timeout_s)
                except TimeExhausted:
                    continue  # still pending: the next start tries again
                resent += 1
            else:
                mined += 1
            self.settle(row.tx_hash, receipt)
        return Recovery(mined, resent, dropped)


def _receipt(w3: Web3, tx_hash: str) -> TxReceipt | None:
    try:
        return w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None
