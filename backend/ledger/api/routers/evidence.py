"""Evidence the ledger finds itself: similar files, reliance reports, registration checks."""

import hashlib
import io
import itertools
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from PIL import Image
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from ledger.api.schemas import AnchorProofOut
from ledger.api.deps import K, LedgerDep, ModelId, OutputHash, Platform, Reader, WorkId
from ledger.api.uploads import read_file
from ledger.evidence.fingerprints import fingerprint
from ledger.evidence.media import Undecodable
from ledger.runtime import Ledger
from ledger.services import credentials, evidence_anchoring, evidence_reports, reliance, similarity
from ledger.services.errors import InvalidInput, NotFound
from ledger.services.outputs import get_output
from ledger.services.works import get_work

router = APIRouter(tags=["evidence"])


class MatchOut(BaseModel):
    content_hash: str
    method: str = Field(description="The deciding method, name@version")
    distance: int
    threshold: int = Field(description="The calibrated threshold: a distance at or below it is a match")
    score: float | None = Field(description="Calibrated score of the distance (share of true matches at it in the calibration); null if uncalibrated")
    calibrated: bool
    match: bool
    work_id: int | None
    work_manager: str | None
    output_hash: str | None
    output_model_id: int | None
    corroboration: dict[str, int] = Field(description="Other methods' distances to the same file")


class SimilarOut(BaseModel):
    content_hash: str
    media: str | None
    iscc: dict[str, str] = Field(default_factory=dict)
    similar: list[MatchOut]


class ReportOut(BaseModel):
    kind: str
    content_hash: str
    account: str
    outcome: str
    document_hash: str
    created_at: int
    document: dict[str, Any]
    anchor: AnchorProofOut | None = Field(None, description="Where the report's hash is anchored on chain (null: not anchored yet)")


class PolicyIn(BaseModel):
    policy: str = Field(pattern="^(warn|refuse)$", description="warn: register and report; refuse: 409 with the report")


class PolicyOut(BaseModel):
    model_id: int
    policy: str


def _matches(found: list[similarity.Match]) -> list[MatchOut]:
    return [MatchOut(**m.__dict__) for m in found]


def _report_out(r: Any, ledger: Ledger | None = None) -> ReportOut:
    proof = evidence_anchoring.proof_of(ledger, r) if ledger is not None else None
    return ReportOut(kind=r.kind, content_hash=r.content_hash, account=r.account, outcome=r.outcome,
                     document_hash=r.document_hash, created_at=r.created_at, document=json.loads(r.document),
                     anchor=AnchorProofOut(**proof.__dict__) if proof else None)  # fmt: skip


def _of_hash(ledger: Ledger, content_hash: str, k: int) -> SimilarOut:
    queries, windows = similarity.query_codes_of(ledger, content_hash)
    ev = similarity.file_evidence(ledger, content_hash)
    return SimilarOut(
        content_hash=content_hash, media=ev.media if ev else None, iscc=json.loads(ev.iscc) if ev else {},
        similar=_matches(similarity.search(ledger, queries, k, exclude=content_hash, windows=windows)),
    )  # fmt: skip


@router.post("/similar", response_model=SimilarOut)
async def similar_to_file(request: Request, _: Reader, ledger: LedgerDep, k: K = 10) -> SimilarOut:
    """Registered works and outputs that look like the uploaded file (multipart `file`), nearest
    first, each with its method, distance, calibrated threshold and score. Nothing is stored."""
    upload, _fields = await read_file(request, ledger, "file to compare")
    data = await upload.read()

    def run() -> SimilarOut:
        try:
            prints = fingerprint(data, ledger.methods, max_pixels=ledger.settings.max_fingerprint_pixels)
        except Undecodable as exc:
            raise InvalidInput(f"cannot fingerprint the file: {exc}") from None
        h = "0x" + hashlib.sha256(data).hexdigest()
        return SimilarOut(content_hash=h, media=prints.media, iscc=prints.iscc, similar=_matches(similarity.search(ledger, prints.queries, k, windows=similarity.windows_of(prints.indexed))))

    return await run_in_threadpool(run)


@router.get("/works/{work_id}/similar", response_model=SimilarOut)
def similar_to_work(work_id: WorkId, _: Reader, ledger: LedgerDep, k: K = 10) -> SimilarOut:
    """Registered works and outputs that look like this work's file (empty when the work was
    registered by hash and its file never reached the ledger)."""
    return _of_hash(ledger, get_work(ledger, work_id).work.content_hash, k)


@router.get("/outputs/{output_hash}/similar", response_model=SimilarOut)
def similar_to_output(output_hash: OutputHash, _: Reader, ledger: LedgerDep, k: K = 10) -> SimilarOut:
    """Registered works and outputs that look like this output's file or fingerprints."""
    return _of_hash(ledger, get_output(ledger, output_hash).output.output_hash, k)


@router.get("/works/{work_id}/evidence", response_model=list[ReportOut])
def work_evidence(work_id: WorkId, _: Reader, ledger: LedgerDep) -> list[ReportOut]:
    """The registration checks made for this work's file (what looked like it, and the outcome)."""
    return [_report_out(r, ledger) for r in evidence_reports.reports_for(ledger, get_work(ledger, work_id).work.content_hash)]


@router.get("/outputs/{output_hash}/reliance", response_model=list[ReportOut])
def output_reliance(output_hash: OutputHash, _: Reader, ledger: LedgerDep) -> list[ReportOut]:
    """The reliance reports made when this output was registered (several if it was retried)."""
    return [_report_out(r, ledger) for r in evidence_reports.reports_for(ledger, output_hash, "reliance")]


@router.get("/evidence/reports/{document_hash}", response_model=ReportOut)
def evidence_report(document_hash: OutputHash, _: Reader, ledger: LedgerDep) -> ReportOut:
    """One report by its keccak256: the canonical document (RFC 8785) whose hash it is."""
    return _report_out(evidence_reports.get_report(ledger, document_hash), ledger)


@router.put("/models/{model_id}/reliance-policy", response_model=PolicyOut)
def set_reliance_policy(model_id: ModelId, body: PolicyIn, key: Platform, ledger: LedgerDep) -> PolicyOut:
    """What a reliance finding does for this model's outputs: warn (default) or refuse (409)."""
    return PolicyOut(model_id=model_id, policy=reliance.set_policy(ledger, key, model_id, body.policy))


@router.get("/models/{model_id}/reliance-policy", response_model=PolicyOut)
def get_reliance_policy(model_id: ModelId, _: Reader, ledger: LedgerDep) -> PolicyOut:
    return PolicyOut(model_id=model_id, policy=reliance.policy_of(ledger, model_id))



def _file_response(ledger: Ledger, content_hash: str) -> Response:
    """The stored file, streamed block by block (256 KiB): never held whole."""
    evidence = similarity.file_evidence(ledger, content_hash)
    if evidence is None or evidence.file_cid is None or not ledger.store.has(evidence.file_cid):
        raise NotFound(f"the ledger does not hold the file of {content_hash} (registered by hash, or stored elsewhere)")
    chunks = ledger.store.iter_chunks(evidence.file_cid)
    first = next(chunks, b"")
    media = {"image": "image/*", "text": "text/plain; charset=utf-8"}.get(evidence.media or "", "application/octet-stream")
    if evidence.media == "image":
        try:
            media = Image.MIME.get((Image.open(io.BytesIO(first)).format or ""), "application/octet-stream")
        except (OSError, ValueError):  # a header longer than the first block: say nothing more precise
            media = "application/octet-stream"
    headers = {"ETag": f'"{evidence.file_cid}"', "Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return StreamingResponse(itertools.chain([first], chunks), media_type=media, headers=headers)


Credentialed = Annotated[
    bool,
    Query(description="true: a copy with the ledger's C2PA manifest signed in (its registration, links and production records); "
          "409 when the ledger has no C2PA signing key"),
]  # fmt: skip


def _credentialed_response(ledger: Ledger, content_hash: str) -> Response:
    chunks, mime = credentials.credentialed_file(ledger, content_hash)
    return StreamingResponse(chunks, media_type=mime, headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@router.get("/works/{work_id}/file", response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def work_file(work_id: WorkId, _: Reader, ledger: LedgerDep, c2pa: Credentialed = False) -> Response:
    """The work's file as registered (404 when it was registered by hash and never uploaded)."""
    content_hash = get_work(ledger, work_id).work.content_hash
    return _credentialed_response(ledger, content_hash) if c2pa else _file_response(ledger, content_hash)


@router.get("/outputs/{output_hash}/file", response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def output_file(output_hash: OutputHash, _: Reader, ledger: LedgerDep, c2pa: Credentialed = False) -> Response:
    """The output's file, when its platform uploaded it at registration."""
    content_hash = get_output(ledger, output_hash).output.output_hash
    return _credentialed_response(ledger, content_hash) if c2pa else _file_response(ledger, content_hash)


@router.post("/credentials/read")
async def read_credentials(request: Request, _: Reader, ledger: LedgerDep) -> dict[str, Any]:
    """The C2PA manifest a file carries (multipart `file`): validation, signer, actions,
    ingredients, and the works registered here that its ingredients name. Nothing is stored."""
    upload, _fields = await read_file(request, ledger, "file whose manifest to read")
    data = await upload.read()

    def run() -> dict[str, Any]:
        creds = credentials.read_upload(ledger, data)
        if creds is None:
            return {"credentials": None, "registered_ingredients": []}
        named = [{"work_id": w, "ingredient": title} for w, title in credentials.ledger_works(ledger, creds)]
        return {"credentials": creds.as_json(), "registered_ingredients": named}

    return await run_in_threadpool(run)
