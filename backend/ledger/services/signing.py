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

from web3.logs import DISCARD

from ledger.chain.calls import Call
from ledger.chain.errors import ContractRevert
from ledger.chain.relayer import ForwardNotExecuted
from ledger.chain.work_codec import MalformedWorks, unpack_works
from ledger.content.cid import is_cid
from ledger.models import ApiKey, Role
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, Forbidden, InvalidInput, LedgerError, NotFound
from ledger.services.keys import custodial_signer

_FORBIDDEN = {"NotManager", "NotOwner", "MissingRole", "AccessControlUnauthorizedAccount"}
#: The contracts whose calls each role's write endpoints prepare (202 answers): the only ones /relay submits.
RELAYED: dict[Role, tuple[str, ...]] = {
    Role.rights_holder: ("WorkRegistry", "DisputeRegistry", "ProductionRecords"),
    Role.platform: ("ModelRegistry", "OutputRegistry", "UsageAnchor", "ProductionRecords"),
    Role.accountant: ("RoyaltyDistributor",),
    Role.arbiter: (),  # custodial only: its decisions are made through /disputes
    Role.admin: (),
}
#: ForwardRequest field widths (uint256 gas and nonce, uint48 deadline).
_FIELD_BITS = {"gas": 256, "nonce": 256, "deadline": 48}


def _bounded_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} must be a whole number")
    n = int(value)
    if not 0 <= n < 2 ** _FIELD_BITS[name]:
        raise ValueError(f"{name} must be between 0 and 2^{_FIELD_BITS[name]} - 1")
    return n


def _check_work_cids(ledger: Ledger, data: bytes) -> None:
    """A self-signed registration names its own metadata CIDs: each must be one the ledger can
    fetch and show (the chain would keep anything forever)."""
    try:
        function, args = ledger.registry.contract.decode_function_input(data)
    except Exception as exc:  # eth_abi raises several unrelated types for undecodable calldata
        raise InvalidInput(f"the request's data is not a WorkRegistry call: {exc}") from None
    if function.fn_name == "registerWorks":
        try:
            works = unpack_works(bytes(args["works"]))
        except MalformedWorks as exc:
            raise InvalidInput(f"the request's works are not WorkRegistry's packed format: {exc}") from None
        for i, work in enumerate(works):
            if not is_cid(work.metadata_cid):
                raise InvalidInput(f"works[{i}].metadataCid {work.metadata_cid[:80]!r} is not a CIDv1 (base32, raw or dag-pb, sha2-256)")


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
    if exc.name == "NotOpen":
        return Conflict(f"the dispute is no longer open: {exc}")
    if exc.name == "OwnersMismatch":
        return Conflict("the owner list changed meanwhile; retry with the current one")
    if exc.name == "StaleState":
        return Conflict(f"work {exc.values[0]} changed meanwhile; retry with its current state")
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
    except ForwardNotExecuted as exc:
        raise Conflict(str(exc)) from exc


def execute_for_event(ledger: Ledger, key: ApiKey, call: Call, event: Any) -> dict[str, Any] | SignatureRequired:
    """``execute``, then, once the projection holds the receipt's block, the arguments of the
    first ``event`` (e.g. ``contract.events.ModelRegistered``) the transaction emitted: what a
    registration answers with."""
    outcome = execute(ledger, key, call)
    if isinstance(outcome, SignatureRequired):
        return outcome
    ledger.indexer.sync(to_block=int(outcome["blockNumber"]))
    return dict(event().process_receipt(outcome, errors=DISCARD)[0]["args"])


def submit_signed(ledger: Ledger, key: ApiKey, message: dict[str, Any], signature: bytes) -> TxReceipt:
    """Submits a forward request a self-custodied participant signed. Only requests from the key's
    own account to the ledger's contracts are relayed (the operator pays their gas)."""
    if key.holder_address is None:
        raise Forbidden("this key has no on-chain account")
    try:
        sender = to_checksum_address(message["from"])
        target = to_checksum_address(message["to"])
        data = bytes.fromhex(str(message["data"]).removeprefix("0x"))
        fields = {k: _bounded_int(message[k], k) for k in ("gas", "nonce", "deadline")}
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"malformed forward request: {exc}") from exc
    if sender != key.holder_address:
        raise Forbidden(f"the request is from {sender}; this key acts for {key.holder_address}")
    targets = {ledger.deployment.contracts[name].address: name for name in RELAYED[key.role]}
    if target not in targets:
        raise Forbidden(f"a {key.role.value} key relays calls to {', '.join(f'{n} ({a})' for a, n in targets.items())} only")
    gas_limit = int(ledger.w3.eth.get_block("latest")["gasLimit"])
    if fields["gas"] > gas_limit:
        raise InvalidInput(f"gas {fields['gas']} is more than the chain's block gas limit {gas_limit}")
    if targets[target] == "WorkRegistry":
        _check_work_cids(ledger, data)
    typed = ledger.relayer.typed_data(sender, target, data, fields["gas"], fields["nonce"], fields["deadline"])
    request = tuple(typed["message"][k] for k in ("from", "to", "value", "gas", "deadline", "data")) + (signature,)
    if not ledger.relayer.forwarder.functions.verify(request).call():
        raise InvalidInput("the signature does not match this request (wrong signer, nonce used, or expired)")
    try:
        return ledger.relayer.submit(typed, signature)
    except ContractRevert as exc:
        raise refusal(exc) from exc
