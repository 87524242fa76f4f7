"""Models: platforms register them with their training sets; anyone with a key audits and proves."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ledger.api.downloads import RESPONSES, Format, document_download
from ledger.api.deps import LedgerDep, ModelId, Platform, Reader, WorkId
from ledger.api.routers.operations import ASYNC_ANSWER, answered, relayed
from ledger.api.schemas import SignatureRequiredOut
from ledger.api.schemas_ai import AuditFindingOut, AuditOut, OneCreatorOut, ModelCreate, ModelOut, ProofOut
from ledger.models import Model
from ledger.exports.training_summary_pdf import summary_pdf
from ledger.services import models as svc, training_summary as summary_svc

router = APIRouter(prefix="/models", tags=["models"])


def model_out(m: Model) -> ModelOut:
    return ModelOut(**m.model_dump(exclude={"log_index"}))


@router.post("", status_code=201, response_model=ModelOut, responses={202: {"model": SignatureRequiredOut}, **ASYNC_ANSWER})
async def register_model(request: Request, body: ModelCreate, key: Platform, ledger: LedgerDep) -> Any:
    """Registers a model with its training set committed as a Merkle root; the full list is stored
    content-addressed. Run the audit to see whether every work was licensed. With
    `Prefer: respond-async`, answers 202 at once and runs in the background (a training set of
    many thousand works takes a while to check and commit)."""
    req = svc.ModelRequest(
        name=body.name,
        version=body.version,
        weights_hash=bytes.fromhex(body.weights_hash[2:]),
        work_ids=body.work_ids,
        content_hashes=body.content_hashes,
        pool_weights=body.pool_weights,
        base_model_id=body.base_model_id,
        description=body.description,
        attributes=body.attributes,
        generative=body.generative,
    )

    return await answered(request, ledger, key, "register_model", lambda: relayed(svc.register_model(ledger, key, req), 201, model_out))


@router.get("/{model_id}", response_model=ModelOut)
def get_model(model_id: ModelId, _: Reader, ledger: LedgerDep) -> ModelOut:
    return model_out(svc.get_model(ledger, model_id))


@router.get("/{model_id}/audit", response_model=AuditOut)
async def audit(model_id: ModelId, _: Reader, ledger: LedgerDep) -> AuditOut:
    """The clean-model check: was every work (own and inherited) registered and licensed for
    training when the model that declared it was registered?"""
    a = await run_in_threadpool(svc.audit, ledger, model_id)
    return AuditOut(
        model_id=a.model_id, clean=a.clean, use=a.use, works=a.works, counts=a.counts,
        problems=[AuditFindingOut(**f.__dict__) for f in a.problems], unavailable_sets=a.unavailable_sets,
        one_creator=[OneCreatorOut(**f.__dict__) for f in a.one_creator], consent_conflicts=a.consent_conflicts,
    )  # fmt: skip


@router.get("/{model_id}/proof/{work_id}", response_model=ProofOut)
async def proof(model_id: ModelId, work_id: WorkId, _: Reader, ledger: LedgerDep) -> ProofOut:
    """The Merkle proof that a work is in the model's training set (404 if it is not: no proof exists)."""
    return ProofOut(**(await run_in_threadpool(svc.prove, ledger, model_id, work_id)).__dict__)


@router.get("/{model_id}/summary", response_class=Response, responses=RESPONSES)
async def training_summary(model_id: ModelId, _: Reader, ledger: LedgerDep, format: Format = "json") -> Response:
    """The public summary of the model's training content in the structure of the EU AI Act's
    Article 53(1)(d) template (AI Office, July 2025), from the chain: training sets, the terms in
    force at registration, consent evidence, the audit. Every figure names its work ids and
    transactions."""
    return await document_download(lambda: summary_svc.summary(ledger, model_id), summary_pdf, format, f"training-summary-model-{model_id}")
