"""Evidence reports: what the ledger found when a file was registered, kept as hashed documents.

A report is RFC 8785 canonical JSON (the same bytes for the same content in any language) and
is identified by its keccak256, the form in which reports are anchored on chain in batches, so
"the ledger saw this when the file was registered" can be proven later with the document.
"""

import dataclasses
import time
from typing import Any

import rfc8785
from eth_utils import keccak
from sqlmodel import Session, col, select

from ledger.models import EvidenceReport
from ledger.runtime import Ledger
from ledger.services.errors import NotFound
from ledger.services.similarity import Match

REGISTRATION_SCHEMA = "ai-rights-ledger/registration-evidence/v1"
RELIANCE_SCHEMA = "ai-rights-ledger/reliance-report/v1"


def match_json(m: Match) -> dict[str, Any]:
    """A match as reports and answers show it (camelCase, like the other ledger documents)."""
    d = dataclasses.asdict(m)
    return {
        "contentHash": d["content_hash"], "method": d["method"], "distance": d["distance"], "threshold": d["threshold"],
        "score": d["score"], "calibrated": d["calibrated"], "match": d["match"], "workId": d["work_id"],
        "workManager": d["work_manager"], "outputHash": d["output_hash"], "outputModelId": d["output_model_id"],
        "corroboration": d["corroboration"],
    }  # fmt: skip


def save(ledger: Ledger, kind: str, content_hash: str, account: str, outcome: str, document: dict[str, Any]) -> EvidenceReport:
    body = rfc8785.dumps(document)
    report = EvidenceReport(
        kind=kind, content_hash=content_hash, account=account, outcome=outcome, document=body.decode(),
        document_hash="0x" + keccak(body).hex(), created_at=int(time.time()),
    )  # fmt: skip
    with Session(ledger.engine) as s:
        s.add(report)
        s.commit()
        s.refresh(report)
    return report


def reports_for(ledger: Ledger, content_hash: str, kind: str | None = None) -> list[EvidenceReport]:
    stmt = select(EvidenceReport).where(EvidenceReport.content_hash == content_hash.lower())
    if kind:
        stmt = stmt.where(EvidenceReport.kind == kind)
    with Session(ledger.engine) as s:
        return list(s.exec(stmt.order_by(col(EvidenceReport.id))).all())


def get_report(ledger: Ledger, document_hash: str) -> EvidenceReport:
    with Session(ledger.engine) as s:
        found = s.exec(select(EvidenceReport).where(EvidenceReport.document_hash == document_hash.lower())).first()
    if found is None:
        raise NotFound(f"no evidence report with hash {document_hash}")
    return found


def now() -> int:
    return int(time.time())
