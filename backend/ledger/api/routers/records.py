"""Devices that record production, and the records they sign."""

import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import HolderOrPlatform, LedgerDep, Limit, Offset, Reader, WorkId
from ledger.api.routers.operations import ASYNC_ANSWER, answered, relayed
from ledger.api.schemas import AnchorProofOut, HEX32, SignatureRequiredOut
from ledger.api.downloads import RESPONSES, Format, document_download
from ledger.api.uploads import read_file
from ledger.exports.provenance_pdf import certificate_pdf
from ledger.models.records import Device
from ledger.records import typed
from ledger.services import credentials
from ledger.services import devices as devices_svc
from ledger.services import provenance as provenance_svc
from ledger.services import records as svc
from ledger.services.errors import InvalidInput

router = APIRouter(tags=["production records"])
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
SIGNATURE = r"^0x[0-9a-fA-F]{130}$"
Address = Annotated[str, Path(pattern=ADDRESS, description="The device key's address")]
Enroller = HolderOrPlatform  # who enrols devices and apps


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str = Field(pattern=ADDRESS, description="The device key's address (the key stays on the device).")
    actions: list[str] = Field(min_length=1, max_length=len(typed.ACTIONS), description=f"What it may record: {', '.join(typed.ACTIONS)}")
    expires_at: int = Field(ge=1, le=2**40 - 1, description="Unix time the enrolment ends.")
    label: str = Field("", max_length=devices_svc.MAX_LABEL, description="What the device is, for people: 'Aiko's workstation'.")
    device_signature: str = Field(pattern=SIGNATURE, description="The device's EIP-712 signature of DeviceEnrolment(owner, scope, expiresAt).")


class DeviceOut(BaseModel):
    address: str
    owner: str
    actions: list[str]
    expires_at: int
    revoked_at: int | None
    label: str
    enrolled_at: int
    enrolled_tx: str
    revoked_tx: str | None


def _device(d: Device) -> DeviceOut:
    return DeviceOut(
        address=d.address, owner=d.owner, actions=devices_svc.actions_of(d.scope), expires_at=d.expires_at, revoked_at=d.revoked_at,
        label=d.label, enrolled_at=d.enrolled_at, enrolled_tx=d.enrolled_tx, revoked_tx=d.revoked_tx,
    )  # fmt: skip


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(description=f"One of {', '.join(typed.ACTIONS)}")
    content_hash: str = Field(pattern=HEX32, description="SHA-256 of the resulting file.")
    inputs: list[Annotated[str, Field(pattern=HEX32)]] = Field(default_factory=list, max_length=typed.MAX_INPUTS, description="SHA-256 of each input file.")
    tool: str = Field(min_length=1, max_length=typed.MAX_TOOL)
    tool_version: str = Field("", max_length=typed.MAX_TOOL)
    model_id: int = Field(0, ge=0, le=2**64 - 1, description="The registered model that generated it (0: none).")
    author: str = Field(pattern=ADDRESS, description="The account of the person at the device.")
    created_at: int = Field(ge=1, le=2**64 - 1)
    prompt_hash: str = Field("0x" + "00" * 32, pattern=HEX32, description="SHA-256 of a generation's prompt (zero: none); the text is not sent.")
    signature: str = Field(pattern=SIGNATURE, description="The device's EIP-712 signature of the record (r, s, v).")

    def signed(self) -> svc.SignedRecord:
        if self.action not in typed.ACTIONS:
            from ledger.services.errors import InvalidInput

            raise InvalidInput(f"action must be one of {', '.join(typed.ACTIONS)}, not {self.action!r}")
        record = typed.Record(
            typed.ACTIONS.index(self.action), bytes.fromhex(self.content_hash[2:]), tuple(bytes.fromhex(i[2:]) for i in self.inputs),
            self.tool, self.tool_version, self.model_id, bytes.fromhex(self.author[2:]), self.created_at, bytes.fromhex(self.prompt_hash[2:]),
        )  # fmt: skip
        return svc.SignedRecord(record, bytes.fromhex(self.signature[2:]))


class RecordsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[RecordIn] = Field(min_length=1, max_length=svc.MAX_RECORDS)


class RecordsOut(BaseModel):
    hashes: list[str] = Field(description="Each record's hash (its EIP-712 digest), in the order sent.")
    accepted: int = Field(description="Records stored now.")
    known: int = Field(description="Records stored before (retries are harmless).")


class RecordOut(BaseModel):
    record_hash: str
    device: str
    action: str
    content_hash: str
    inputs: list[str]
    tool: str
    tool_version: str
    model_id: int | None
    author: str
    created_at: int
    received_at: int
    prompt_hash: str | None
    signature: str
    anchor: AnchorProofOut | None = Field(description="The batch anchoring the record on chain, with its Merkle proof (null: not yet).")


@router.get("/devices/enrolment-data")
def enrolment_data(ledger: LedgerDep, owner: Annotated[str, Query(pattern=ADDRESS)], actions: Annotated[list[str], Query()], expires_at: Annotated[int, Query(ge=1, le=2**40 - 1)]) -> dict[str, Any]:
    """The EIP-712 typed data a device signs to consent to its enrolment (for signers in any language)."""
    return devices_svc.enrolment_typed_data(ledger, owner, devices_svc.scope_of(actions), expires_at)


@router.post("/devices", status_code=201, response_model=DeviceOut, responses={202: {"model": SignatureRequiredOut}, **ASYNC_ANSWER})
async def enrol(request: Request, body: DeviceIn, key: Enroller, ledger: LedgerDep) -> Any:
    """Enrols a device or app to sign production records for your account, with its own consent."""
    signature = bytes.fromhex(body.device_signature[2:])
    return await answered(
        request, ledger, key, "enrol_device",
        lambda: relayed(devices_svc.enrol(ledger, key, body.device, body.actions, body.expires_at, body.label, signature), 201, _device),
    )  # fmt: skip


@router.get("/devices", response_model=list[DeviceOut])
def list_devices(
    _: Reader, ledger: LedgerDep, owner: Annotated[str | None, Query(pattern=ADDRESS)] = None, limit: Limit = 100, offset: Offset = 0
) -> list[DeviceOut]:
    return [_device(d) for d in devices_svc.list_devices(ledger, owner, limit, offset)]


@router.get("/devices/{address}", response_model=DeviceOut)
def get_device(address: Address, _: Reader, ledger: LedgerDep) -> DeviceOut:
    return _device(devices_svc.get_device(ledger, address))


@router.post("/devices/{address}/revocation", response_model=DeviceOut, responses=ASYNC_ANSWER)
async def revoke(request: Request, address: Address, key: Enroller, ledger: LedgerDep) -> JSONResponse:
    """Revokes your device at once: records it signs are refused from now on; earlier ones stay valid."""
    return await answered(request, ledger, key, "revoke_device", lambda: (200, _device(devices_svc.revoke(ledger, key, address)).model_dump(mode="json")))


@router.post("/records", response_model=RecordsOut)
async def submit(body: RecordsIn, ledger: LedgerDep) -> RecordsOut:
    """Stores production records signed by enrolled devices (no API key: each record's signature
    authenticates it, and its device's enrolment on chain authorises it). All or nothing: a record
    refused refuses the batch, saying which and why (422); records stored before count as known."""
    items = [r.signed() for r in body.records]
    result = await run_in_threadpool(svc.submit, ledger, items)
    return RecordsOut(hashes=result.hashes, accepted=result.accepted, known=result.known)


@router.get("/records/{record_hash}", response_model=RecordOut)
def get_record(record_hash: Annotated[str, Path(pattern=HEX32)], _: Reader, ledger: LedgerDep) -> RecordOut:
    v = svc.get_record(ledger, record_hash)
    r = v.record
    return RecordOut(
        record_hash=r.record_hash, device=r.device, action=typed.ACTIONS[r.action], content_hash=r.content_hash, inputs=v.inputs,
        tool=r.tool, tool_version=r.tool_version, model_id=r.model_id, author=r.author, created_at=r.created_at,
        received_at=r.received_at, prompt_hash=r.prompt_hash, signature=r.signature,
        anchor=AnchorProofOut(**v.proof.__dict__) if v.proof else None,
    )  # fmt: skip


@router.get("/works/{work_id}/provenance")
async def provenance(work_id: WorkId, _: Reader, ledger: LedgerDep) -> dict[str, Any]:
    """How the work was made: its production graph back from its content hash (records, inputs,
    registered works and outputs among them, each AI generation's model and its clean-model
    audit), the verdict (safe AI use; complete), and the authors' shares of the records as a
    proposal for co-ownership."""
    return (await run_in_threadpool(provenance_svc.provenance, ledger, work_id)).as_json()


@router.get("/provenance/{content_hash}")
async def provenance_of_file(content_hash: Annotated[str, Path(pattern=HEX32)], _: Reader, ledger: LedgerDep) -> dict[str, Any]:
    """The provenance of any file by its SHA-256: a finished work before it is registered, so the
    studio sees the verdict and the authors' proposed co-owner shares before it names the owners."""
    return (await run_in_threadpool(provenance_svc.provenance_of, ledger, content_hash)).as_json()


@router.get("/works/{work_id}/provenance/certificate", response_class=Response, responses=RESPONSES)
async def provenance_certificate(work_id: WorkId, _: Reader, ledger: LedgerDep, format: Format = "json") -> Response:
    """The provenance as a certificate a studio can publish: every record whole with its Merkle
    proof, the contracts to check them against, the verdict. `ledger works verify-provenance FILE`
    checks the JSON from the chain (and the content store, for the models' audits) alone."""
    return await document_download(lambda: provenance_svc.certificate(ledger, work_id), certificate_pdf, format, f"provenance-work-{work_id}")


@router.post("/records/manifests", status_code=201, responses={200: {"description": "The file's manifest was recorded before"}})
async def record_manifest(request: Request, _: Enroller, ledger: LedgerDep) -> JSONResponse:
    """Records what a file's C2PA manifest says about how it was made (multipart `file`): its
    actions, whether AI generated it and with what, its signer, its ingredients (by content hash
    where a ledger's manifest names them), as part of the production graph. 422 if the file carries
    no manifest. 201 recorded now, 200 recorded before."""
    upload, _fields = await read_file(request, ledger, "file whose C2PA manifest to record")
    data = await upload.read()

    def run() -> tuple[int, dict[str, Any]]:
        creds = credentials.read_upload(ledger, data)
        if creds is None:
            raise InvalidInput("this file carries no C2PA manifest (or is of a type that cannot carry one)")
        content_hash = "0x" + hashlib.sha256(data).hexdigest()
        new = credentials.record_manifest(ledger, content_hash, creds, "manifest_upload")
        return (201 if new else 200), {"content_hash": content_hash, "recorded": new, "credentials": creds.as_json()}

    status, body = await run_in_threadpool(run)
    return JSONResponse(status_code=status, content=body)
