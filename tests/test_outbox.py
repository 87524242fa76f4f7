"""The outbox: a transaction signed before a crash is neither lost nor sent twice."""

import pytest
from eth_account import Account
from eth_utils import keccak
from ledger.chain.outbox import OutboxEntry, Recovery
from ledger.runtime import Ledger, open_ledger

ROLE = keccak(text="RIGHTS_HOLDER_ROLE")


class Crash(BaseException):
    """The process dying at that point (BaseException: nothing on the way catches it)."""


def _rows(ledger: Ledger) -> list[OutboxEntry]:
    assert ledger.sender.outbox is not None
    return ledger.sender.outbox.entries()


def _grant(ledger: Ledger, holder: str) -> None:
    ledger.sender.send(ledger.call("WorkRegistry", "grantRole", ROLE, holder))


def _nonce(ledger: Ledger) -> int:
    return ledger.w3.eth.get_transaction_count(ledger.operator.address, "latest")


def test_every_send_is_recorded_then_settled(ledger: Ledger) -> None:
    before = len(_rows(ledger))
    holder = Account.create().address
    _grant(ledger, holder)
    rows = _rows(ledger)
    assert len(rows) == before + 1
    row = next(r for r in rows if r.purpose == "grantRole")
    assert row.status == "mined" and row.block_number and row.sender == ledger.operator.address
    assert all(r.status == "mined" for r in rows)  # the deployment's transactions too


def test_signed_but_not_broadcast_is_sent_once_on_restart(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = Account.create().address
    nonce = _nonce(ledger)

    def die(_raw: object) -> None:
        raise Crash()

    monkeypatch.setattr(ledger.w3.eth, "send_raw_transaction", die)
    with pytest.raises(Crash):
        _grant(ledger, holder)
    monkeypatch.undo()
    [pending] = [r for r in _rows(ledger) if r.status == "pending"]
    assert pending.nonce == nonce and not ledger.registry.has_holder_role(holder)

    restarted = open_ledger(ledger.settings, deploy=False)  # recovers at start
    assert ledger.registry.has_holder_role(holder) and _nonce(ledger) == nonce + 1
    assert all(r.status == "mined" for r in _rows(ledger))
    assert restarted.sender.outbox is not None and restarted.sender.outbox.recover(ledger.w3) == Recovery()  # nothing left
    restarted.engine.dispose()


def test_broadcast_but_receipt_unseen_is_settled_not_resent(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    holder = Account.create().address
    nonce = _nonce(ledger)

    def die(*_args: object, **_kwargs: object) -> None:
        raise Crash()

    monkeypatch.setattr(ledger.w3.eth, "wait_for_transaction_receipt", die)
    with pytest.raises(Crash):
        _grant(ledger, holder)
    monkeypatch.undo()
    [pending] = [r for r in _rows(ledger) if r.status == "pending"]
    ledger.w3.eth.wait_for_transaction_receipt(pending.tx_hash, timeout=30)  # anvil mines it; the ledger never saw the receipt
    assert ledger.registry.has_holder_role(holder)
    assert ledger.sender.outbox is not None and ledger.sender.outbox.recover(ledger.w3) == Recovery(mined=1)
    assert _nonce(ledger) == nonce + 1 and all(r.status == "mined" for r in _rows(ledger))


def test_a_transaction_whose_nonce_went_elsewhere_is_dropped(ledger: Ledger) -> None:
    """E.g. a local chain reset: the signed bytes can never be mined, and are not retried forever."""
    used = _nonce(ledger) - 1
    tx = {"to": Account.create().address, "value": 0, "gas": 21_000, "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1,
          "nonce": used, "chainId": ledger.w3.eth.chain_id}  # fmt: skip
    signed = ledger.operator.sign_transaction(tx)
    assert ledger.sender.outbox is not None
    ledger.sender.outbox.record(ledger.operator.address, used, "stale", signed.raw_transaction, signed.hash)
    assert ledger.sender.outbox.recover(ledger.w3) == Recovery(dropped=1)
    assert [r.status for r in _rows(ledger) if r.purpose == "stale"] == ["dropped"]
