"""Anchoring evidence reports on chain in batches, and proving a report was in one.

Each pass takes the reports not yet anchored, builds an OpenZeppelin StandardMerkleTree over
their hashes (``bytes32`` leaves), stores the list of hashes in the content store and sends one
``EvidenceAnchor.anchor(root, count, cid)`` from the operator: one transaction per batch,
whatever its size. Before a pass, batches the chain has and the database lacks (the process
stopped between the receipt and the commit) are read back from their events and lists, so a
crash never anchors the same reports twice.
"""

import json
from dataclasses import dataclass

from hexbytes import HexBytes
from sqlmodel import Session, col, select
from web3.logs import DISCARD

from ledger.chain.merkle import StandardMerkleTree
from ledger.content.documents import load_document
from ledger.models import EvidenceBatch, EvidenceReport
from ledger.runtime import Ledger

BATCH_SCHEMA = "ai-rights-ledger/evidence-batch/v1"
MAX_BATCH = 50_000


def tree_of(hashes: list[str]) -> StandardMerkleTree:
    return StandardMerkleTree.of([(bytes.fromhex(h[2:]),) for h in hashes], ["bytes32"])


def _mark(session: Session, batch: EvidenceBatch, hashes: list[str]) -> None:
    session.add(batch)
    for report in session.exec(select(EvidenceReport).where(col(EvidenceReport.document_hash).in_(hashes), col(EvidenceReport.batch_id).is_(None))):
        report.batch_id = batch.batch_id
        session.add(report)


def _recover(ledger: Ledger) -> int:
    """Batches on chain but not in the database: read back from their events. Returns how many."""
    on_chain = int(ledger.evidence_anchor.functions.batchCount().call())
    with Session(ledger.engine) as s:
        known = s.exec(select(EvidenceBatch.batch_id).order_by(col(EvidenceBatch.batch_id).desc())).first() or 0
    if on_chain <= known:
        return 0
    start = ledger.deployment.contracts["EvidenceAnchor"].block
    logs = ledger.evidence_anchor.events.EvidenceAnchored().get_logs(from_block=start)
    recovered = 0
    with Session(ledger.engine) as s:
        for ev in logs:
            batch_id = int(ev["args"]["batchId"])
            if batch_id <= known or s.get(EvidenceBatch, batch_id) is not None:
                continue
            cid = ev["args"]["reportsCid"]
            doc = load_document(ledger.store, cid).value or {}
            hashes = [h for h in doc.get("reports", []) if isinstance(h, str)]
            batch = EvidenceBatch(
                batch_id=batch_id, root=HexBytes(ev["args"]["root"]).to_0x_hex(), count=int(ev["args"]["count"]),
                reports_cid=cid, tx_hash=HexBytes(ev["transactionHash"]).to_0x_hex(), block_number=int(ev["blockNumber"]),
            )  # fmt: skip
            _mark(s, batch, hashes)
            recovered += 1
        s.commit()
    return recovered


def anchor_pending(ledger: Ledger, max_batch: int = MAX_BATCH) -> EvidenceBatch | None:
    """Anchors up to ``max_batch`` reports not yet anchored; None when there are none."""
    _recover(ledger)
    with Session(ledger.engine) as s:
        pending = list(
            s.exec(select(EvidenceReport.document_hash).where(col(EvidenceReport.batch_id).is_(None)).order_by(col(EvidenceReport.id)).limit(max_batch)).all()
        )
    hashes = list(dict.fromkeys(pending))
    if not hashes:
        return None
    tree = tree_of(hashes)
    cid = ledger.store.put(json.dumps({"schema": BATCH_SCHEMA, "reports": hashes}, separators=(",", ":")).encode())
    receipt = ledger.sender.send(ledger.call("EvidenceAnchor", "anchor", tree.root, len(hashes), cid))
    event = ledger.evidence_anchor.events.EvidenceAnchored().process_receipt(receipt, errors=DISCARD)[0]
    batch = EvidenceBatch(
        batch_id=int(event["args"]["batchId"]), root="0x" + tree.root.hex(), count=len(hashes), reports_cid=cid,
        tx_hash=HexBytes(receipt["transactionHash"]).to_0x_hex(), block_number=int(receipt["blockNumber"]),
    )  # fmt: skip
    with Session(ledger.engine, expire_on_commit=False) as s:
        if s.get(EvidenceBatch, batch.batch_id) is None:
            _mark(s, batch, hashes)
            s.commit()
    return batch


@dataclass(frozen=True)
class AnchorProof:
    batch_id: int
    root: str
    proof: list[str]
    tx_hash: str
    block_number: int
    contract: str
    verified_on_chain: bool


def proof_of(ledger: Ledger, report: EvidenceReport) -> AnchorProof | None:
    """The report's Merkle proof in its batch, checked against the contract (None: not anchored yet)."""
    if report.batch_id is None:
        return None
    with Session(ledger.engine) as s:
        batch = s.get(EvidenceBatch, report.batch_id)
    if batch is None:
        return None
    doc = load_document(ledger.store, batch.reports_cid).value or {}
    hashes = [h for h in doc.get("reports", []) if isinstance(h, str)]
    tree = tree_of(hashes)
    proof = tree.proof_of((bytes.fromhex(report.document_hash[2:]),))
    on_chain = bool(ledger.evidence_anchor.functions.contains(batch.batch_id, bytes.fromhex(report.document_hash[2:]), proof).call())
    return AnchorProof(
        batch.batch_id, batch.root, ["0x" + p.hex() for p in proof], batch.tx_hash, batch.block_number,
        ledger.evidence_anchor.address, on_chain,
    )  # fmt: skip
