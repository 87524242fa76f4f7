"""Changes to a registered work: terms (manager), management, payout address and shares (owners).

Each builds the registry call, checks what it can before the chain does (so most refusals are
clear 4xx answers without a transaction), and runs it through ``signing.execute``.
"""

import time

from eth_utils import is_address, to_checksum_address

from ledger.chain.calls import Call
from ledger.chain.registry import TOTAL_BPS, Owner, Terms, WorkState
from ledger.models import ApiKey
from ledger.runtime import Ledger
from ledger.services.errors import Forbidden, InvalidInput
from ledger.services.signing import SignatureRequired, execute
from ledger.services.works import WorkView, get_work


def _address(label: str, value: str) -> str:
    if not is_address(value) or int(value, 16) == 0:
        raise InvalidInput(f"{label} {value!r} is not a valid non-zero address")
    return to_checksum_address(value)


def _run(ledger: Ledger, key: ApiKey, work_id: int, call: Call) -> WorkView | SignatureRequired:
    outcome = execute(ledger, key, call)
    if isinstance(outcome, SignatureRequired):
        return outcome
    ledger.indexer.sync(to_block=int(outcome["blockNumber"]))
    return get_work(ledger, work_id)


def _current(ledger: Ledger, work_id: int) -> WorkView:
    ledger.indexer.sync()  # the state and owner list must be the chain's latest, or the contract refuses them
    return get_work(ledger, work_id)


def _state(view: WorkView) -> tuple[object, ...]:
    """What the registry checks a change against: the work's state as the projection has it."""
    return WorkState.of(view.work).as_tuple()


def _my_index(view: WorkView, holder: str) -> tuple[list[Owner], int]:
    owners = [Owner(o.account, o.payout, o.share_bps) for o in view.owners]
    for i, o in enumerate(owners):
        if o.account == holder:
            return owners, i
    raise Forbidden(f"{holder} is not an owner of work {view.work.work_id}")


def update_terms(ledger: Ledger, key: ApiKey, work_id: int, terms: Terms) -> WorkView | SignatureRequired:
    view = _current(ledger, work_id)
    if view.work.manager != key.holder_address:
        raise Forbidden(f"only the work's manager {view.work.manager} may change its terms")
    if not 0 <= terms.royalty_bps <= TOTAL_BPS:
        raise InvalidInput(f"royalty_bps must be between 0 and {TOTAL_BPS}")
    if terms.expires_at and terms.expires_at <= int(time.time()):
        raise InvalidInput("expires_at must be 0 (until revoked) or a future unix time")
    return _run(ledger, key, work_id, ledger.call("WorkRegistry", "updateTerms", _state(view), terms.as_tuple()))


def transfer_management(ledger: Ledger, key: ApiKey, work_id: int, new_manager: str) -> WorkView | SignatureRequired:
    view = _current(ledger, work_id)
    if view.work.manager != key.holder_address:
        raise Forbidden(f"only the work's manager {view.work.manager} may hand over management")
    call = ledger.call("WorkRegistry", "transferManagement", _state(view), _address("manager", new_manager))
    return _run(ledger, key, work_id, call)


def set_payout(ledger: Ledger, key: ApiKey, work_id: int, payout: str) -> WorkView | SignatureRequired:
    payout = _address("payout", payout)
    view = _current(ledger, work_id)
    owners, index = _my_index(view, str(key.holder_address))
    call = ledger.call("WorkRegistry", "setPayout", _state(view), [o.as_tuple() for o in owners], index, payout)
    return _run(ledger, key, work_id, call)


def transfer_share(
    ledger: Ledger, key: ApiKey, work_id: int, to: str, share_bps: int, to_payout: str | None
) -> WorkView | SignatureRequired:
    to = _address("to", to)
    payout = _address("to_payout", to_payout) if to_payout else to
    view = _current(ledger, work_id)
    owners, index = _my_index(view, str(key.holder_address))
    if to == owners[index].account:
        raise InvalidInput("cannot transfer a share to yourself")
    if not 0 < share_bps <= owners[index].share_bps:
        raise InvalidInput(f"share_bps must be between 1 and your share, {owners[index].share_bps}")
    call = ledger.call("WorkRegistry", "transferShare", _state(view), [o.as_tuple() for o in owners], index, to, payout, share_bps)
    return _run(ledger, key, work_id, call)


def record_position(ledger: Ledger, key: ApiKey, work_id: int, positions: int) -> WorkView | SignatureRequired:
    """An owner records its own position on each use (the terms are not changed: see
    docs/consent.md, co-owners)."""
    view = _current(ledger, work_id)
    owners, index = _my_index(view, str(key.holder_address))
    call = ledger.call("WorkRegistry", "recordPosition", _state(view), [o.as_tuple() for o in owners], index, positions)
    return _run(ledger, key, work_id, call)
