"""Consent: a work's uses as the standards say them, the evidence recorded about them, co-owners'
positions, and platforms' acceptances of constraints (docs/consent.md)."""

import json
from typing import Annotated, Any

from eth_utils import is_address, to_checksum_address
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, select

from ledger.api.deps import Holder, HolderOrPlatform, LedgerDep, Platform, Reader, WorkId
from ledger.api.routers.operations import ASYNC_ANSWER
from ledger.api.routers.works import _SIGN, _change, terms_out
from ledger.api.schemas import SignatureRequiredOut, TermsOut, UsesIn, WorkDetailOut
from ledger.api.uploads import read_file
from ledger.consent import iptc, tdmrep
from ledger.consent.uses import from_document, pack
from ledger.models import ConstraintAcceptance
from ledger.services import consent as svc, models as models_svc, work_changes
from ledger.services.errors import InvalidInput
from ledger.services.signing import SignatureRequired

router = APIRouter(tags=["consent"])


class EvidenceOut(BaseModel):
    document_hash: str = Field(description="keccak256 of the evidence document (GET /evidence/reports/{hash}; anchored with the evidence batches)")
    observed_at: int
    recorded_by: str
    source: dict[str, Any]
    signals: list[dict[str, Any]]
    conflicts: list[dict[str, Any]] = Field(description="Uses the signals and the current terms judge differently; signalIsStricter: the evidence reserves what the terms allow")
    anchored_in_batch: int | None
    acknowledged: dict[str, Any] | None = Field(None, description="The manager's acknowledgement that the terms prevail over this evidence (the audit then stops counting it)")


class OwnerPositionOut(BaseModel):
    account: str
    share_bps: int
    positions: dict[str, str] | None = Field(description="The owner's own position on each use, or null if it recorded none")
    dissent: list[str] = Field(description="Uses the terms allow that this owner does not")


class ConsentOut(BaseModel):
    work_id: int
    content_hash: str
    terms: TermsOut
    terms_version: int
    as_iptc: dict[str, str] = Field(description="The terms as IPTC plus:DataMining (and plus:OtherConstraints where the vocabulary has no exact value)")
    as_tdmrep: dict[str, Any] = Field(description="The terms as W3C TDMRep properties")
    evidence: list[EvidenceOut]
    owners: list[OwnerPositionOut]
    veto: str = Field(description="How co-owners' positions count (docs/consent.md)")


@router.get("/works/{work_id}/consent", response_model=ConsentOut)
def get_consent(work_id: WorkId, _: Reader, ledger: LedgerDep) -> ConsentOut:
    """The work's uses in CAWG's words, in IPTC's and TDMRep's, the consent evidence recorded about
    it (with conflicts against the current terms), and each co-owner's position."""
    c = svc.consent_of(ledger, work_id)
    w = c.view.work
    data_mining, other = iptc.from_terms(w.uses, w.constraints)
    return ConsentOut(
        work_id=w.work_id, content_hash=w.content_hash, terms=terms_out(w), terms_version=w.terms_version,
        as_iptc={"plus:DataMining": data_mining} | ({"plus:OtherConstraints": other} if other else {}),
        as_tdmrep=tdmrep.from_terms(w.uses, w.constraints),
        evidence=[
            EvidenceOut(document_hash=e.report.document_hash, observed_at=e.document["observedAt"], recorded_by=e.report.account,
                        source=e.document["source"], signals=e.document["signals"], conflicts=[x.as_json() for x in e.conflicts],
                        anchored_in_batch=e.report.batch_id, acknowledged=e.acknowledged)  # fmt: skip
            for e in c.evidence
        ],
        owners=[OwnerPositionOut(**o.__dict__) for o in c.owners],
        veto=svc.VETO_RULE,
    )  # fmt: skip


@router.post("/works/{work_id}/consent/tdmrep", response_model=EvidenceOut, status_code=201)
async def record_tdmrep(work_id: WorkId, request: Request, key: HolderOrPlatform, ledger: LedgerDep) -> EvidenceOut:
    """Records, as the work's consent evidence, what a site's ``/.well-known/tdmrep.json`` (the
    ``file`` part) says about the work's address on it (the ``url`` part)."""
    upload, fields = await read_file(request, ledger, "site's /.well-known/tdmrep.json")
    url = fields.get("url")
    if not isinstance(url, str):
        raise InvalidInput("multipart request needs a 'url' part: the work's address on the site")
    data = await upload.read(tdmrep.MAX_FILE + 1)
    report, _ = await run_in_threadpool(svc.record_site, ledger, key, work_id, data, url)
    c = await run_in_threadpool(svc.consent_of, ledger, work_id)
    e = next(e for e in c.evidence if e.report.document_hash == report.document_hash)
    return EvidenceOut(document_hash=report.document_hash, observed_at=e.document["observedAt"], recorded_by=report.account, source=e.document["source"],
                       signals=e.document["signals"], conflicts=[x.as_json() for x in e.conflicts], anchored_in_batch=report.batch_id)  # fmt: skip


class AcknowledgementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    evidence: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$", description="The consent evidence's document hash")


class AcknowledgementOut(BaseModel):
    document_hash: str
    evidence: str
    terms_version: int


@router.post("/works/{work_id}/consent/acknowledgements", response_model=AcknowledgementOut, status_code=201)
async def acknowledge(work_id: WorkId, body: AcknowledgementIn, key: Holder, ledger: LedgerDep) -> AcknowledgementOut:
    """The manager states that the work's terms prevail over one piece of its consent evidence
    (e.g. a file's metadata written before the work was licensed). Recorded as evidence of its own;
    models registered afterwards are no longer failed for it. Again: the same answer."""
    report = await run_in_threadpool(svc.acknowledge, ledger, key, work_id, body.evidence.lower())
    source = json.loads(report.document)["source"]
    return AcknowledgementOut(document_hash=report.document_hash, evidence=source["evidence"], terms_version=source["termsVersion"])


@router.put("/works/{work_id}/position", response_model=WorkDetailOut, responses={**_SIGN, **ASYNC_ANSWER})
async def record_position(request: Request, work_id: WorkId, body: UsesIn, key: Holder, ledger: LedgerDep) -> Any:
    """An owner records its own position on each use. It does not change the terms (the manager's
    govern); a use they allow against it shows as the owner's dissent."""
    positions = pack(from_document(body.model_dump()))
    return await _change(request, ledger, key, "record_position", lambda: work_changes.record_position(ledger, key, work_id, positions))


class AcceptanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    constraints: str = Field(min_length=1, max_length=256, description="The constraints reference a work's terms name (e.g. a licence text's CID)")


class AcceptanceOut(BaseModel):
    platform: str
    constraints: str
    tx_hash: str
    block_number: int
    accepted_at: int


@router.post("/constraint-acceptances", response_model=AcceptanceOut, status_code=201, responses=_SIGN)
async def accept_constraints(body: AcceptanceIn, key: Platform, ledger: LedgerDep) -> Any:
    """The platform accepts a licence text: works whose uses are constrained by it count as allowed
    for its models registered afterwards. On chain (ModelRegistry.acceptConstraints); again: the
    first acceptance stands."""
    outcome = await run_in_threadpool(models_svc.accept_constraints, ledger, key, body.constraints)
    if isinstance(outcome, SignatureRequired):
        return JSONResponse(status_code=202, content=SignatureRequiredOut(typed_data=outcome.typed_data).model_dump(mode="json"))
    return AcceptanceOut(**outcome.model_dump(include=set(AcceptanceOut.model_fields)))


@router.get("/constraint-acceptances", response_model=list[AcceptanceOut])
def list_acceptances(_: Reader, ledger: LedgerDep, platform: Annotated[str | None, Query(max_length=64)] = None) -> list[AcceptanceOut]:
    with Session(ledger.engine) as s:
        stmt = select(ConstraintAcceptance)
        if platform:
            if not is_address(platform):
                raise InvalidInput(f"platform {platform!r} is not an address")
            stmt = stmt.where(ConstraintAcceptance.platform == to_checksum_address(platform))
        rows = s.exec(stmt.limit(1000)).all()
    return [AcceptanceOut(**r.model_dump(include=set(AcceptanceOut.model_fields))) for r in rows]
