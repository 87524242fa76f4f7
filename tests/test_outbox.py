"""The outbox: a transaction signed before a crash is neither lost nor sent twice; one stuck in
the mempool is re-priced, and whichever version is mined settles it."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from eth_account import Account
from eth_utils import keccak
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from web3 import Web3

from ledger.chain.outbox import Clock, OutboxEntry, Recovery
from ledger.chain.sender import FeePolicy
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

    monkeypatch.setattr(ledger.sender, "broadcast", die)
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

    monkeypatch.setattr(ledger.sender, "receipt", die)  # the first thing the sender does after broadcasting
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


@contextmanager
def _mempool_held(w3: Web3) -> Iterator[None]:
    """Blocks are mined only when the test says so (``evm_mine``): transactions wait in the
    mempool as on a busy public chain."""
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        yield
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def _fees(raw: str) -> tuple[int, int]:
    tx = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
    return int(tx["maxFeePerGas"]), int(tx["maxPriorityFeePerGas"])


def _wait_for(condition, timeout_s: float = 120) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


class ManualClock:
    """Time that passes only when the test says so (``advance``); sleeping only yields. A bump
    happens exactly when the test lets the bump interval pass, however busy the machine is."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps = 0  # how often the code under test has waited on this clock
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self.t

    def sleep(self, _: float) -> None:
        with self._lock:
            self.sleeps += 1
        time.sleep(0.005)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds


def test_a_stuck_transaction_is_replaced_with_higher_fees_and_lands_once(ledger: Ledger) -> None:
    """Regression (flaky on a busy machine): with a real 0.3 s bump timer a fourth version could be
    signed between the test's wait and its evm_mine. The test now owns the clock."""
    holder, nonce = Account.create().address, _nonce(ledger)
    clock = ManualClock()
    ledger.sender.fees = FeePolicy(bump_after_s=30)
    ledger.sender.clock = Clock(clock.now, clock.sleep)
    result: dict[str, object] = {}
    versions_of_nonce = lambda: len([r for r in _rows(ledger) if r.nonce == nonce])  # noqa: E731
    with _mempool_held(ledger.w3):
        sending = threading.Thread(target=lambda: result.update(receipt=ledger.sender.send(ledger.call("WorkRegistry", "grantRole", ROLE, holder))))
        sending.start()
        for versions in (1, 2, 3):  # the original, then one replacement per bump interval the test lets pass
            _wait_for(lambda: versions_of_nonce() == versions)
            if versions < 3:
                # Time passes only once the sender waits on the clock for this version's receipt
                # (it reads its timeout's start first): a sleep after the version was recorded.
                seen = clock.sleeps
                _wait_for(lambda: clock.sleeps > seen)
                clock.advance(30)
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        sending.join(30)
    versions = [r for r in _rows(ledger) if r.nonce == nonce]
    receipt = result["receipt"]
    assert receipt["status"] == 1 and ledger.registry.has_holder_role(holder) and _nonce(ledger) == nonce + 1  # type: ignore[index]
    [mined] = [r for r in versions if r.status == "mined"]
    assert mined.tx_hash == receipt["transactionHash"].to_0x_hex() == versions[-1].tx_hash  # type: ignore[index]
    assert {r.status for r in versions[:-1]} == {"replaced"} and versions[1].purpose == "grantRole (fee bump 1)"
    fees = [_fees(r.raw) for r in versions]
    for (fee, tip), (next_fee, next_tip) in zip(fees, fees[1:]):
        assert next_fee * 100 >= fee * 110 and next_tip * 100 >= tip * 110  # what nodes ask of a replacement


def test_the_fee_cap_stops_the_bumps(ledger: Ledger) -> None:
    holder, nonce = Account.create().address, _nonce(ledger)
    cap = ledger.sender._fees()["maxFeePerGas"]  # no block is mined meanwhile: the base fee stays
    ledger.sender.fees = FeePolicy(bump_after_s=0.2, max_fee_per_gas=cap)
    result: dict[str, object] = {}
    with _mempool_held(ledger.w3):
        sending = threading.Thread(target=lambda: result.update(receipt=ledger.sender.send(ledger.call("WorkRegistry", "grantRole", ROLE, holder))))
        sending.start()
        _wait_for(lambda: any(r.nonce == nonce for r in _rows(ledger)))
        time.sleep(1.0)  # five bump intervals
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        sending.join(30)
    [only] = [r for r in _rows(ledger) if r.nonce == nonce]
    assert only.status == "mined" and _fees(only.raw)[0] <= cap and ledger.registry.has_holder_role(holder)


def test_recovery_resends_the_latest_version_and_settles_the_others(ledger: Ledger) -> None:
    """A crash between a fee bump's record and its broadcast: the outbox holds two versions of one
    nonce, the node only the older. Recovery sends the newer (the node would refuse the older
    beside it) and marks the other replaced."""
    nonce = _nonce(ledger)
    holder = Account.create().address
    call = ledger.call("WorkRegistry", "grantRole", ROLE, holder)
    base = {"to": call.to, "data": call.data, "value": 0, "gas": 200_000, "nonce": nonce, "chainId": ledger.w3.eth.chain_id}
    low = ledger.operator.sign_transaction({**base, "maxFeePerGas": 4 * 10**9, "maxPriorityFeePerGas": 10**9})
    high = ledger.operator.sign_transaction({**base, "maxFeePerGas": 8 * 10**9, "maxPriorityFeePerGas": 2 * 10**9})
    outbox = ledger.sender.outbox
    assert outbox is not None
    with _mempool_held(ledger.w3):
        outbox.record(ledger.operator.address, nonce, "grantRole", low.raw_transaction, low.hash)
        ledger.w3.eth.send_raw_transaction(low.raw_transaction)
        outbox.record(ledger.operator.address, nonce, "grantRole (fee bump 1)", high.raw_transaction, high.hash)
        result: dict[str, Recovery] = {}
        recovering = threading.Thread(target=lambda: result.update(r=outbox.recover(ledger.w3, timeout_s=30)))
        recovering.start()
        _wait_for(lambda: ledger.w3.provider.make_request("txpool_content", [])["result"]["pending"][ledger.operator.address.lower()][str(nonce)]["hash"] == high.hash.to_0x_hex())  # type: ignore[arg-type]
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        recovering.join(40)
    assert result["r"] == Recovery(resent=1, replaced=1)
    assert {r.tx_hash: r.status for r in _rows(ledger) if r.nonce == nonce} == {low.hash.to_0x_hex(): "replaced", high.hash.to_0x_hex(): "mined"}
    assert ledger.registry.has_holder_role(holder) and _nonce(ledger) == nonce + 1


def test_two_processes_signing_as_the_operator_never_share_a_nonce(ledger: Ledger) -> None:
    """Regression: `ledger keys create` raced the running server for the operator's nonce ("nonce
    too low"). Two ledgers on one data directory (as the API and the CLI are) have separate
    in-process locks; only the outbox's cross-process nonce lock keeps their nonces apart."""
    other = open_ledger(ledger.settings, deploy=False)
    assert other.sender._lock is not ledger.sender._lock
    holders = [[Account.create().address for _ in range(8)] for _ in range(2)]
    errors: list[BaseException] = []

    def grant_all(led: Ledger, accounts: list[str]) -> None:
        try:
            for a in accounts:
                led.sender.send(led.call("WorkRegistry", "grantRole", ROLE, a))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=grant_all, args=(led, accounts)) for led, accounts in zip((ledger, other), holders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert all(ledger.registry.has_holder_role(a) for accounts in holders for a in accounts)
    other.engine.dispose()


def test_an_outbox_from_before_block_timestamps_gains_the_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Outboxes written before replays kept block timestamps open as before, with the column
    added (their rows replay as before: sent again at new times)."""
    import sqlite3

    from ledger.chain.outbox import Outbox

    path = tmp_path / "outbox.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE outboxtx (tx_hash VARCHAR(66) PRIMARY KEY, sender VARCHAR(42) NOT NULL, nonce BIGINT NOT NULL, purpose VARCHAR(100) NOT NULL, "
            "raw TEXT NOT NULL, status VARCHAR(16) NOT NULL, block_number BIGINT, created_at DATETIME NOT NULL, settled_at DATETIME)"
        )
        conn.execute("INSERT INTO outboxtx VALUES ('0x01', '0xabc', 0, 'old', '0x02', 'mined', 7, '2026-11-01 00:00:00', NULL)")
    outbox = Outbox(path)
    with sqlite3.connect(path) as conn:
        assert "block_timestamp" in {row[1] for row in conn.execute("PRAGMA table_info(outboxtx)")}
    [row] = outbox.entries()
    assert (row.tx_hash, row.block_number, row.status) == ("0x01", 7, "mined")
    Outbox(path)  # opening it again changes nothing
