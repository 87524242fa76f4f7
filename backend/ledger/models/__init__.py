"""SQL tables. Works, owners and terms are projections of chain events; keys and custody are local."""

from ledger.models.ai import ConstraintAcceptance, Model, ModelTrainingWork, Output, OutputLink, OutputLinkCorrection
from ledger.models.disputes import Dispute
from ledger.models.evidence import EvidenceBatch, EvidenceReport, FileEvidence, Fingerprint, ReliancePolicy
from ledger.models.auth import ApiKey, CustodialAccount, Role
from ledger.models.indexer import ChainBinding, Checkpoint, IndexerIncident
from ledger.models.operations import Operation
from ledger.models.records import Device, ManifestRecord, ProductionRecord, RecordBatch, RecordInput
from ledger.models.statements import (
    Advance, Statement, StatementBalance, StatementClaim, StatementDraft, StatementEntry, StatementEscrow, StatementReserve,
)
from ledger.models.usage import PlatformShare, UsageAnchorRecord, UsageLine, UsageReport
from ledger.models.works import OwnerPosition, Work, WorkOwner, WorkOwnerVersion, WorkTermsVersion

__all__ = [
    "ApiKey",
    "ConstraintAcceptance",
    "OwnerPosition",
    "ChainBinding",
    "Checkpoint",
    "CustodialAccount",
    "Device",
    "Dispute",
    "EvidenceBatch",
    "EvidenceReport",
    "FileEvidence",
    "Fingerprint",
    "IndexerIncident",
    "ManifestRecord",
    "Model",
    "ModelTrainingWork",
    "Operation",
    "Output",
    "PlatformShare",
    "ProductionRecord",
    "RecordBatch",
    "RecordInput",
    "ReliancePolicy",
    "OutputLink",
    "OutputLinkCorrection",
    "Role",
    "Advance",
    "Statement",
    "StatementBalance",
    "StatementClaim",
    "StatementDraft",
    "StatementEntry",
    "StatementEscrow",
    "StatementReserve",
    "UsageAnchorRecord",
    "UsageLine",
    "UsageReport",
    "Work",
    "WorkOwner",
    "WorkOwnerVersion",
    "WorkTermsVersion",
]
