"""Applies RoyaltyDistributor events: a statement waiting for its accountant's signature becomes
published, and every claim is recorded, so "who has claimed" is answered from the database."""

from typing import Any

from hexbytes import HexBytes
from sqlalchemy import update
from sqlmodel import Session, col

from ledger.models import Statement, StatementClaim


def apply(session: Session, name: str, args: dict[str, Any], log: dict[str, Any]) -> None:
    if name not in ("StatementPublished", "Claimed"):
        return  # role grants and the like
    tx, block = HexBytes(log["transactionHash"]).to_0x_hex(), int(log["blockNumber"])
    statement_id = HexBytes(args["statementId"]).to_0x_hex()
    if name == "StatementPublished":
        session.execute(
            update(Statement)
            .where(col(Statement.statement_id) == statement_id, col(Statement.publish_tx) == "")
            .values(publish_tx=tx)
        )
    elif name == "Claimed":
        session.add(
            StatementClaim(
                statement_id=statement_id, entry_index=int(args["index"]), account=args["account"],
                payout=args["payout"], amount=int(args["amount"]), tx_hash=tx, block_number=block,
            )  # fmt: skip
        )
