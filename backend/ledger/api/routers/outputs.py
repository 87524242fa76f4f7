"""Outputs: platforms register them with attribution links; rights holders see where their works went."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ledger.api.deps import LedgerDep, Limit, Offset, Platform, Reader, WorkId
from ledger.api.routers.operations import ASYNC_ANSWER, answered
from ledger.api.schemas import OwnerOut, SignatureRequiredOut
from ledger.evidence.methods import Methods
from ledger.api.schemas_ai import CorrectedLinkOut, LinkCorrectionOut, LinkOut, OutputBatchIn, OutputIn, OutputOut, OutputsOut
from ledger.models import ApiKey
from ledger.runtime import Ledger
from ledger.api.uploads import read_upload
from ledger.services import fingerprints, outputs as svc
from ledger.services.signing import SignatureRequired

router = APIRouter(tags=["outputs"])
_SIGN = {202: {"model": SignatureRequiredOut}}


def output_out(v: svc.OutputView, reliance: svc.RelianceResult | None = None) -> OutputOut:
    o = v.output
    return OutputOut(
        output_id=o.output_id,
        output_hash=o.output_hash,
        model_id=o.model_id,
        model_name=v.model.name,
        platform=v.model.platform,
        links=[
            LinkOut(
                work_id=l.work_id,
                weight_bps=l.weight_bps,
                owners=[OwnerOut(account=w.account, payout=w.payout, share_bps=w.share_bps) for w in l.owners],
                in_training_set=l.in_training_set,
                kind=svc.KIND_NAMES[l.kind],
            )
            for l in v.links
        ],
        links_outside_training_set=[l.work_id for l in v.links if l.in_training_set is False and l.kind == svc.TRAINING],
        derived_work_id=v.derived_work_id,
        tx_hash=o.tx_hash,
        block_number=o.block_number,
        registered_at=o.registered_at,
        link_corrections=[
            LinkCorrectionOut(
                version=c.version, dispute_id=c.dispute_id, tx_hash=c.tx_hash, effective_at=c.effective_at,
                links=[CorrectedLinkOut(work_id=w, weight_bps=x, kind=svc.KIND_NAMES[k]) for w, x, k in c.links],
            )
            for c in v.corrections
        ],
        reliance=reliance.as_json() if reliance else None,
    )


def _request(o: OutputIn, methods: Methods, file: bytes | None = None) -> svc.OutputRequest:
    codes = fingerprints.parse_codes(o.fingerprints, methods) if o.fingerprints else None
    links = tuple((l.work_id, l.weight_bps, svc.TRAINING if l.kind == "training" else svc.REFERENCE) for l in o.links)
    return svc.OutputRequest(bytes.fromhex(o.output_hash[2:]), o.model_id, links, file=file, codes=codes)


def _answer(ledger: Ledger, key: ApiKey, requests: list[svc.OutputRequest], single: bool) -> tuple[int, Any]:
    """The status and body of a registration: the one output's record (``single``) or the batch's."""
    outcome = svc.register_outputs(ledger, key, requests)
    if isinstance(outcome, SignatureRequired):
        return 202, SignatureRequiredOut(typed_data=outcome.typed_data).model_dump(mode="json")
    body = OutputsOut(
        created=[output_out(v, outcome.reliance.get(v.output.output_hash)) for v in outcome.created],
        existing=[output_out(v) for v in outcome.existing],
    ).model_dump(mode="json")
    return (201 if outcome.created else 200), ((body["created"] or body["existing"])[0] if single else body)


async def _register(request: Request, ledger: Ledger, key: ApiKey, requests: list[svc.OutputRequest], single: bool) -> JSONResponse:
    """Answers when the outputs are registered, or (``Prefer: respond-async``) 202 at once, the
    same answer kept for ``GET /operations/{id}``: a batch of thousands of outputs takes a while."""
    def answer() -> tuple[int, Any]:
        return _answer(ledger, key, requests, single)

    return await answered(request, ledger, key, "register_outputs", answer)


_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/OutputIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "output"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "output": {"type": "string", "description": "OutputIn as JSON"},
                    },
                }
            },
        },
    }
}


@router.post("/outputs", status_code=201, response_model=OutputOut, openapi_extra=_UPLOAD_DOC, responses={200: {"model": OutputOut}, **_SIGN, **ASYNC_ANSWER})
async def register_output(request: Request, key: Platform, ledger: LedgerDep) -> Any:
    """Registers one output (201), or answers 200 with the record if it is already registered with
    the same model and links; 409 if with other ones. Send the generated file (multipart: `file` +
    `output` JSON) or its `fingerprints` and the ledger checks its reliance on registered works
    (`reliance` in the answer; 409 with the report when the model's policy is refuse).
    With `Prefer: respond-async`, answers 202 at once and runs in the background."""
    upload = await read_upload(request, ledger, "output", OutputIn)
    return await _register(request, ledger, key, [_request(upload.spec, ledger.methods, upload.file)], single=True)


@router.post("/outputs/batch", status_code=201, response_model=OutputsOut, responses={200: {"model": OutputsOut}, **_SIGN, **ASYNC_ANSWER})
async def register_outputs(request: Request, body: OutputBatchIn, key: Platform, ledger: LedgerDep) -> Any:
    """Registers up to 5000 outputs, all or nothing per transaction (max_outputs_per_tx each);
    outputs already on record are returned under `existing`. With `Prefer: respond-async`,
    answers 202 at once and runs in the background."""
    return await _register(request, ledger, key, [_request(o, ledger.methods) for o in body.outputs], single=False)


@router.get("/outputs/{output_hash}", response_model=OutputOut)
def get_output(output_hash: str, _: Reader, ledger: LedgerDep) -> OutputOut:
    return output_out(svc.get_output(ledger, output_hash))


@router.get("/works/{work_id}/outputs", response_model=list[OutputOut])
def outputs_of_work(
    work_id: WorkId,
    _: Reader,
    ledger: LedgerDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[OutputOut]:
    """Outputs attributed (in part) to this work."""
    return [output_out(v) for v in svc.outputs_of_work(ledger, work_id, limit, offset)]
