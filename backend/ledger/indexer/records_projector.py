"""Applies ProductionRecords events: devices enrolled and revoked. (Record batches are the
anchoring service's own rows, read back from their events when missing: ``batch_anchoring``.)"""

from typing import Any

from hexbytes import HexBytes
from sqlmodel import Session

from ledger.content.store import ContentStore
from ledger.models.records import Device


def apply(session: Session, store: ContentStore, name: str, args: dict[str, Any], log: dict[str, Any], timestamp: int) -> None:
    tx = HexBytes(log["transactionHash"]).to_0x_hex()
    if name == "DeviceEnrolled":
        session.add(
            Device(
                address=args["device"], owner=args["owner"], scope=int(args["scope"]), expires_at=int(args["expiresAt"]),
                label=str(args["label"])[:200], enrolled_at=timestamp, enrolled_tx=tx,
            )
        )  # fmt: skip
    elif name == "DeviceRevoked":
        d = session.get_one(Device, args["device"])
        d.revoked_at, d.revoked_tx = int(args["revokedAt"]), tx
