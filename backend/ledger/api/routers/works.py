"""Works: registration by rights holders; reading for everyone with a key."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from ledger.api.uploads import read_upload
from ledger.api.deps import Holder, LedgerDep, Limit, Offset, Reader, WorkId
from ledger.api.schemas import (
    ManagerIn,
    OwnerOut,
    PayoutIn,
    PreparedOut,
    RegisteredOut,
    ShareTransferIn,
    SignatureRequiredOut,
    TermsIn,
    TermsOut,
    TermsVersionOut,
    WorkBatch,
    WorkDetailOut,
    WorkOut,
    WorkSpec,
)
from ledger.chain.registry import Owner, Terms
from ledger.consent.uses import State, Use, as_document, state_of
from ledger.models import Work, WorkTermsVersion
from ledger.content.documents import load_document
from ledger.models import ApiKey
from ledger.runtime import Ledger
from ledger.api.routers.operations import ASYNC_ANSWER, answered, relayed
from ledger.services import work_changes, works as svc
from ledger.services.signing import SignatureRequired

router = APIRouter(prefix="/works", tags=["works"])


def terms_of(body: TermsIn) -> Terms:
    return Terms(body.word(), body.royalty_bps, body.expires_at, body.constraints.strip())


def terms_out(t: Work | WorkTermsVersion) -> TermsOut:
    return TermsOut(
        uses=as_document(t.uses), constraints=t.constraints, royalty_bps=t.royalty_bps, expires_at=t.expires_at,
        training_allowed=state_of(t.uses, Use.AI_GENERATIVE_TRAINING) is State.ALLOWED, reference_allowed=state_of(t.uses, Use.REFERENCE) is State.ALLOWED,
    )  # fmt: skip


def _to_request(spec: WorkSpec, file: bytes | None = None, name: str | None = None, media: str | None = None) -> svc.WorkRequest:
    return svc.WorkRequest(
        title=spec.title,
        description=spec.description,
        content_hash=bytes.fromhex(spec.content_hash[2:]) if spec.content_hash else None,
        terms=terms_of(spec.terms),
        owners=None if spec.owners is None else [Owner(o.account, o.payout or o.account, o.share_bps) for o in spec.owners],
        file=file,
        file_name=name,
        media_type=media,
        attributes=spec.attributes,
        on_similar=spec.on_similar,
    )


def _registered(r: svc.RegisteredWork) -> RegisteredOut:
    return RegisteredOut(**r.__dict__)


def _pending(p: svc.PendingRegistration) -> dict[str, Any]:
    return SignatureRequiredOut(typed_data=p.typed_data, works=[PreparedOut(**w.__dict__) for w in p.works]).model_dump(mode="json")


_SIGN = {202: {"model": SignatureRequiredOut, "description": "Self-custodied holder: sign and POST to /relay"}}


_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/WorkSpec"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "work"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "work": {"type": "string", "description": "WorkSpec as JSON (content_hash optional)"},
                    },
                }
            },
        },
    }
}


@router.post("", status_code=201, response_model=RegisteredOut, openapi_extra=_UPLOAD_DOC, responses={**_SIGN, **ASYNC_ANSWER})
async def register_work(request: Request, key: Holder, ledger: LedgerDep) -> Any:
    """Registers one work: upload the file (multipart: `file` + `work` JSON), or send JSON with its
    SHA-256 `content_hash`. Answers 409 with `work_id` if the content is already registered.
    With `Prefer: respond-async`, answers 202 at once and runs in the background."""
    upload = await read_upload(request, ledger, "work", WorkSpec)
    req = _to_request(upload.spec, upload.file, upload.file_name, upload.media_type)
    return await _register(request, ledger, key, [req], single=True)


@router.post("/batch", status_code=201, response_model=list[RegisteredOut], responses={**_SIGN, **ASYNC_ANSWER})
async def register_batch(request: Request, body: WorkBatch, key: Holder, ledger: LedgerDep) -> Any:
    """Registers up to 200 works, by content hash, in one transaction: all or nothing. With
    `Prefer: respond-async`, answers 202 at once and runs in the background."""
    return await _register(request, ledger, key, [_to_request(s) for s in body.works], single=False)


async def _register(request: Request, ledger: Ledger, key: ApiKey, reqs: list[svc.WorkRequest], single: bool) -> Any:
    def answer() -> tuple[int, Any]:
        result = svc.register_works(ledger, key, reqs)
        if isinstance(result, svc.PendingRegistration):
            return 202, _pending(result)
        done = [_registered(r).model_dump() for r in result]
        return 201, done[0] if single else done

    return await answered(request, ledger, key, "register_works", answer)


def _work_out(view: svc.WorkView) -> dict[str, Any]:
    w = view.work
    return dict(
        work_id=w.work_id,
        content_hash=w.content_hash,
        manager=w.manager,
        metadata_cid=w.metadata_cid,
        terms=terms_out(w),
        terms_version=w.terms_version,
        owners=[OwnerOut(account=o.account, payout=o.payout, share_bps=o.share_bps) for o in view.owners],
        owners_hash=w.owners_hash,
        tx_hash=w.tx_hash,
        block_number=w.block_number,
        registered_at=w.registered_at,
    )


@router.get("/{work_id}", response_model=WorkDetailOut)
def get_work(work_id: WorkId, _: Reader, ledger: LedgerDep) -> WorkDetailOut:
    return _detail(ledger, svc.get_work(ledger, work_id))


def _detail(ledger: Ledger, view: svc.WorkView) -> WorkDetailOut:
    document = load_document(ledger.store, view.work.metadata_cid)
    history = [
        TermsVersionOut(
            **terms_out(t).model_dump(),
            version=t.version,
            effective_block=t.effective_block,
            effective_at=t.effective_at,
            tx_hash=t.tx_hash,
        )
        for t in view.terms_history
    ]
    return WorkDetailOut(**_work_out(view), terms_history=history, metadata=document.value, metadata_status=document.status.value)


@router.get("", response_model=list[WorkOut])
def list_works(
    _: Reader,
    ledger: LedgerDep,
    owner: Annotated[str | None, Query(description="Works this address co-owns")] = None,
    manager: Annotated[str | None, Query(description="Works this address manages")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[WorkOut]:
    return [WorkOut(**_work_out(v)) for v in svc.list_works(ledger, owner, manager, limit, offset)]


async def _change(request: Request, ledger: Ledger, key: ApiKey, kind: str, change: Callable[[], svc.WorkView | SignatureRequired]) -> JSONResponse:
    """A change of a registered work: the work as it is now, 202 with what a self-custodied
    holder signs, or (``Prefer: respond-async``) 202 at once: on a chain that waits for
    confirmations, every change waits minutes."""
    return await answered(request, ledger, key, kind, lambda: relayed(change(), 200, lambda view: _detail(ledger, view)))


@router.put("/{work_id}/terms", response_model=WorkDetailOut, responses={**_SIGN, **ASYNC_ANSWER})
async def update_terms(request: Request, work_id: WorkId, body: TermsIn, key: Holder, ledger: LedgerDep) -> Any:
    """The manager replaces the terms from now on (e.g. revokes training); earlier versions stay on record."""
    terms = terms_of(body)
    return await _change(request, ledger, key, "update_terms", lambda: work_changes.update_terms(ledger, key, work_id, terms))


@router.put("/{work_id}/manager", response_model=WorkDetailOut, responses={**_SIGN, **ASYNC_ANSWER})
async def transfer_management(request: Request, work_id: WorkId, body: ManagerIn, key: Holder, ledger: LedgerDep) -> Any:
    """The manager hands the right to change terms to another account."""
    return await _change(request, ledger, key, "transfer_management", lambda: work_changes.transfer_management(ledger, key, work_id, body.manager))


@router.put("/{work_id}/payout", response_model=WorkDetailOut, responses={**_SIGN, **ASYNC_ANSWER})
async def set_payout(request: Request, work_id: WorkId, body: PayoutIn, key: Holder, ledger: LedgerDep) -> Any:
    """An owner changes the address its payouts go to."""
    return await _change(request, ledger, key, "set_payout", lambda: work_changes.set_payout(ledger, key, work_id, body.payout))


@router.post("/{work_id}/share-transfers", response_model=WorkDetailOut, responses={**_SIGN, **ASYNC_ANSWER})
async def transfer_share(request: Request, work_id: WorkId, body: ShareTransferIn, key: Holder, ledger: LedgerDep) -> Any:
    """An owner moves part or all of its share to another account."""
    return await _change(
        request, ledger, key, "transfer_share", lambda: work_changes.transfer_share(ledger, key, work_id, body.to, body.share_bps, body.to_payout)
    )
