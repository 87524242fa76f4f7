"""Anchoring evidence reports on chain in batches (``EvidenceAnchor``), and proving a report was
in one: the ledger's batch anchoring (``batch_anchoring``) over the reports' hashes."""

from ledger.models import EvidenceBatch, EvidenceReport
from ledger.runtime import Ledger
from ledger.services import batch_anchoring
from ledger.services.batch_anchoring import MAX_BATCH, AnchorProof, tree_of

__all__ = ["BATCH_SCHEMA", "EVIDENCE", "AnchorProof", "anchor_pending", "proof_of", "tree_of"]

BATCH_SCHEMA = "ai-rights-ledger/evidence-batch/v1"

EVIDENCE = batch_anchoring.BatchKind(
    contract="EvidenceAnchor", event="EvidenceAnchored", cid_arg="reportsCid", schema=BATCH_SCHEMA, list_key="reports",
    item=EvidenceReport, hash_field="document_hash", order=(EvidenceReport.id,), batch=EvidenceBatch, cid_field="reports_cid",
    contract_of=lambda ledger: ledger.evidence_anchor,
)  # fmt: skip


def anchor_pending(ledger: Ledger, max_batch: int = MAX_BATCH) -> EvidenceBatch | None:
    """Anchors up to ``max_batch`` reports not yet anchored; None when there are none."""
    return batch_anchoring.anchor_pending(ledger, EVIDENCE, max_batch)  # type: ignore[return-value]


def proof_of(ledger: Ledger, report: EvidenceReport) -> AnchorProof | None:
    """The report's Merkle proof in its batch, checked against the contract (None: not anchored yet)."""
    return batch_anchoring.proof_of(ledger, EVIDENCE, report.document_hash, report.batch_id)
