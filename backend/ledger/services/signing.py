"""How a participant's call reaches the chain, by custody mode, and what refusals mean.

Custodial keys: the ledger signs the forward request with the participant's key and relays it.
Self-custodied keys: the ledger simulates the call as the participant (so a refusal is reported
now, with the contract's reason), then returns the EIP-712 typed data to sign; the participant
posts the signature to ``/relay`` and the ledger submits it.
"""

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from web3.types import TxReceipt

from ledger.chain.calls import Call
from ledger.chain.errors import ContractRevert
from ledger.models import ApiKey
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, Forbidden, InvalidInput, LedgerError, NotFound
from ledger.services.keys import custodial_signer

_FORBIDDEN = {"NotManager", "NotOwner", "MissingRole", "AccessControlUnauthorizedAccount"}


@dataclass(frozen=True)
class SignatureRequired:
    """What a self-custodied participant must sign (EIP-712 typed data, JSON-ready)."""

    typed_data: dict[str, Any]


def refusal(exc: ContractRevert) -> LedgerError:
    """The service error for a contract's custom error."""
    if exc.name == "WorkAlreadyRegistered":
        h, work_id = "0x" + bytes(exc.values[0]).hex(), int(exc.values[1])
        return Conflict(f"content hash {h} is already registered as work {work_id}", work_id=work_id, content_hash=h)
    if exc.name in _FORBIDDEN:
        return Forbidden(f"the registry refused: {exc}")
    if exc.name == "UnknownWork":
        return NotFound(f"no work with id {exc.values[0]} on chain")
    if exc.name == "OwnersMismatch":
        return Conflict("the owner list changed meanwhile; retry with the current one")
    return InvalidInput(f"the registry refused: {exc}")


def jsonable(typed: dict[str, Any]) -> dict[str, Any]:
    message = {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in typed["message"].items()}
    return {**typed, "message": message}


def execute(ledger: Ledger, key: ApiKey, call: Call) -> TxReceipt | SignatureRequired:
    holder = key.holder_address
    if holder is None:
        raise Forbidden("this key has no on-chain account")
    try:
        if key.custodial:
            return ledger.relayer.relay(custodial_signer(ledger, key), call)
        ledger.sender.simulate(call, sender=holder)
        return SignatureRequired(jsonable(ledger.relayer.prepare(holder, call)))
    except ContractRevert as exc:
        raise refusal(exc) from exc


def submit_signed(ledger: Ledger, key: ApiKey, message: dict[str, Any], signature: bytes) -> TxReceipt:
    """Submits a forward request a self-custodied participant signed. Only requests from the key's
    own account to the ledger's contracts are relayed (the operator pays their gas)."""
    if key.holder_address is None:
        raise Forbidden("this key has no on-chain account")
    try:
        sender = to_checksum_address(message["from"])
        target = to_checksum_address(message["to"])
        data = bytes.fromhex(str(message["data"]).removeprefix("0x"))
        fields = {k: int(message[k]) for k in ("gas", "nonce", "deadline")}
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"malformed forward request: {exc}") from exc
    if sender != key.holder_address:
        raise Forbidden(f"the request is from {sender}; this key acts for {key.holder_address}")
    registries = {c.address for c in ledger.indexed_contracts.values()}
    if target not in registries:
        raise Forbidden(f"the ledger only relays calls to its registries {sorted(registries)}")
    typed = ledger.relayer.typed_data(sender, target, data, fields["gas"], fields["nonce"], fields["deadline"])
    request = tuple(typed["message"][k] for k in ("from", "to", "value", "gas", "deadline", "data")) + (signature,)
    if not ledger.relayer.forwarder.functions.verify(request).call():
        raise InvalidInput("the signature does not match this request (wrong signer, nonce used, or expired)")
    try:
        return ledger.relayer.submit(typed, signature)
    except ContractRevert as exc:
        raise refusal(exc) from exc
