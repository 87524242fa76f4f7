"""Devices and apps enrolled to record production, under a rights holder's or platform's account.

The device key stays on the device: the ledger never sees it. The device signs its consent to be
enrolled (``DeviceEnrolment(owner, scope, expiresAt)``, EIP-712 in the ProductionRecords domain);
the owner's account sends ``enrollDevice`` with that signature, which the contract checks. The
ledger checks the same signature first, so a mistake is a 422 before any transaction. Revoking is
one call by the owner; records the device signed before stay valid.
"""

import time

from eth_utils import is_address, to_checksum_address
from sqlmodel import Session, col, select

from ledger.models import ApiKey
from ledger.models.records import Device
from ledger.records import typed
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from ledger.services.signing import SignatureRequired, execute, execute_for_event

MAX_LABEL = 200
MAX_LIFETIME_S = 10 * 366 * 86_400


def scope_of(actions: list[str]) -> int:
    unknown = sorted(set(actions) - set(typed.ACTIONS))
    if not actions or unknown:
        raise InvalidInput(f"actions: name one or more of {', '.join(typed.ACTIONS)}" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return sum(1 << typed.ACTIONS.index(a) for a in set(actions))


def actions_of(scope: int) -> list[str]:
    return [a for i, a in enumerate(typed.ACTIONS) if scope >> i & 1]


def domain(ledger: Ledger) -> bytes:
    return typed.domain_separator(ledger.deployment.chain_id, ledger.production_records.address)


def enrol(ledger: Ledger, key: ApiKey, device: str, actions: list[str], expires_at: int, label: str, signature: bytes) -> Device | SignatureRequired:
    owner = key.holder_address
    if owner is None:
        raise Forbidden("this key has no on-chain account")
    if not is_address(device):
        raise InvalidInput(f"device: not an Ethereum address: {device!r}")
    device = to_checksum_address(device)
    scope = scope_of(actions)
    now = int(time.time())
    if not now < expires_at <= now + MAX_LIFETIME_S:
        raise InvalidInput("expires_at: a unix time in the future, at most ten years from now")
    if len(label) > MAX_LABEL:
        raise InvalidInput(f"label: at most {MAX_LABEL} characters")
    try:
        signer = typed.recover(typed.enrolment_digest(domain(ledger), owner, scope, expires_at), signature)
    except typed.BadSignature as exc:
        raise InvalidInput(f"device_signature: {exc}") from None
    if signer != device:
        raise InvalidInput(
            f"device_signature: signed by {signer}, not by the device {device}; the device signs DeviceEnrolment(owner={owner}, "
            f"scope={scope}, expiresAt={expires_at}) (GET /devices/enrolment-data gives the typed data)"
        )
    ledger.indexer.sync()
    with Session(ledger.engine) as s:
        taken = s.get(Device, device)
    if taken is not None:
        raise Conflict(f"device {device} is already enrolled (by {taken.owner}); enrol a new key", owner=taken.owner)
    call = ledger.call("ProductionRecords", "enrollDevice", device, scope, expires_at, label, signature)
    outcome = execute_for_event(ledger, key, call, ledger.production_records.events.DeviceEnrolled)
    if isinstance(outcome, SignatureRequired):
        return outcome
    return get_device(ledger, device)


def revoke(ledger: Ledger, key: ApiKey, device: str) -> Device:
    d = get_device(ledger, device)
    if d.owner != key.holder_address:
        raise Forbidden(f"device {d.address} is {d.owner}'s to revoke")
    if d.revoked_at is not None:
        return d  # revoked already: the same answer as the first time
    outcome = execute(ledger, key, ledger.call("ProductionRecords", "revokeDevice", d.address))
    if isinstance(outcome, SignatureRequired):
        raise Forbidden("revoke a self-custodied owner's device by signing ProductionRecords.revokeDevice and POST /relay")
    ledger.indexer.sync(to_block=int(outcome["blockNumber"]))
    return get_device(ledger, d.address)


def get_device(ledger: Ledger, device: str) -> Device:
    if not is_address(device):
        raise InvalidInput(f"not an Ethereum address: {device!r}")
    with Session(ledger.engine) as s:
        d = s.get(Device, to_checksum_address(device))
    if d is None:
        raise NotFound(f"no device {device} is enrolled")
    return d


def list_devices(ledger: Ledger, owner: str | None, limit: int, offset: int) -> list[Device]:
    stmt = select(Device).order_by(col(Device.enrolled_at), col(Device.address)).limit(limit).offset(offset)
    if owner:
        stmt = stmt.where(Device.owner == to_checksum_address(owner))
    with Session(ledger.engine) as s:
        return list(s.exec(stmt).all())


def enrolment_typed_data(ledger: Ledger, owner: str, scope: int, expires_at: int) -> dict[str, object]:
    """DeviceEnrolment as EIP-712 typed data, for a device signing in any language."""
    return typed.typed_envelope("DeviceEnrolment", typed.ENROLMENT_TYPE, ledger.deployment.chain_id, ledger.production_records.address,
                                {"owner": typed.checksum(owner), "scope": scope, "expiresAt": expires_at})  # fmt: skip
