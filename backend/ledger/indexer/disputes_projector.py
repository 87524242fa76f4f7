"""Applies DisputeRegistry events (and the corrections that carry out upheld disputes:
WorkRegistry's reassignments, OutputRegistry's link corrections) to the disputes table."""

from typing import Any

from hexbytes import HexBytes
from sqlmodel import Session

from ledger.content.store import ContentStore
from ledger.models.disputes import Dispute

KINDS = ("registration", "attribution")


def _hex(b: Any) -> str:
    return HexBytes(b).to_0x_hex()


def apply(session: Session, store: ContentStore, name: str, args: dict[str, Any], log: dict[str, Any], timestamp: int) -> None:
    tx, block = _hex(log["transactionHash"]), int(log["blockNumber"])
    if name == "DisputeOpened":
        output = bytes(args["outputHash"])
        session.add(
            Dispute(
                dispute_id=int(args["disputeId"]), kind=KINDS[int(args["kind"])], claimant=args["claimant"],
                work_id=int(args["workId"]) or None, output_hash=_hex(output) if any(output) else None,
                claimed_work_id=int(args["claimedWorkId"]) or None, evidence_cid=args["evidenceCid"], state="open",
                opened_at=timestamp, opened_block=block, opened_tx=tx,
            )
        )  # fmt: skip
    elif name in ("DisputeResolved", "DisputeWithdrawn"):
        d = session.get_one(Dispute, int(args["disputeId"]))
        d.state = ("upheld" if args["upheld"] else "rejected") if name == "DisputeResolved" else "withdrawn"
        d.closed_at, d.closed_block, d.closed_tx = timestamp, block, tx
        if name == "DisputeResolved":
            d.arbiter, d.reason_cid = args["arbiter"], args["reasonCid"]


def carried_out(session: Session, args: dict[str, Any], log: dict[str, Any], timestamp: int) -> None:
    """WorkRegistry.WorkReassigned and OutputRegistry.LinksCorrected name the dispute they carry
    out; the last correction counts (when escrow is released, and by which owners or links)."""
    d = session.get(Dispute, int(args["disputeId"]))
    if d is not None:
        d.correction_tx, d.correction_block, d.corrected_at = _hex(log["transactionHash"]), int(log["blockNumber"]), timestamp
