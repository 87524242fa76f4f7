"""Custodial writes made at the same time share one relayed transaction (executeBatch), and every
caller still gets the answer it would get alone: its own works, or its own refusal. The batch is
made deterministic by holding the relayer's turn while the requests queue up, not by timing."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ledger.chain.calls import Call
from ledger.chain.coalescing import Coalescer
from ledger.models import Role
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for

TERMS = {"training_allowed": True, "royalty_bps": 500}


def _together(ledger: Ledger, calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Runs ``calls`` while the relayer is busy, lets them go once all have queued: one batch."""
    batches = ledger.relayer.batches
    with ThreadPoolExecutor(len(calls)) as pool:
        with batches.held():
            futures = [pool.submit(c) for c in calls]
            deadline = time.monotonic() + 120
            while batches.queued() < len(calls):  # waits for a state, not for a time
                assert time.monotonic() < deadline and not any(f.done() for f in futures), [f.result().text for f in futures if f.done()]
                time.sleep(0.01)
        return [f.result() for f in futures]


def test_concurrent_registrations_of_several_holders_share_one_transaction(ledger: Ledger, server: Server) -> None:
    holders = [client_for(server, create_api_key(ledger, Role.rights_holder, f"studio {i}").token) for i in range(4)]
    calls = [
        (lambda c=c, i=i: c.post("/works", json={"title": f"w{i}", "content_hash": "0x" + f"{0xC0FFEE + i:064x}", "terms": TERMS}))
        for i, c in enumerate(holders * 2)  # each holder twice: consecutive forwarder nonces in one batch
    ]
    before = ledger.relayer.batches.batches
    answers = _together(ledger, calls)
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    bodies = [a.json() for a in answers]
    assert len({b["tx_hash"] for b in bodies}) == 1 and ledger.relayer.batches.batches == before + 1
    assert [b["content_hash"] for b in bodies] == ["0x" + f"{0xC0FFEE + i:064x}" for i in range(8)]  # each its own work
    assert len({b["work_id"] for b in bodies}) == 8
    for i, b in enumerate(bodies):
        work = holders[i % 4].get(f"/works/{b['work_id']}").json()
        me = holders[i % 4].get("/keys/me").json()["holder_address"]
        assert work["manager"] == me  # registered in its own holder's name, through the batch
    for c in holders:
        c.close()


def test_a_refused_request_in_a_batch_gets_its_own_answer_and_the_others_land(ledger: Ledger, server: Server) -> None:
    a, b, c = (client_for(server, create_api_key(ledger, Role.rights_holder, f"s{i}").token) for i in range(3))
    same = "0x" + "5a" * 32
    answers = _together(ledger, [
        lambda: a.post("/works", json={"title": "first", "content_hash": same, "terms": TERMS}),
        lambda: b.post("/works", json={"title": "second", "content_hash": same, "terms": TERMS}),
        lambda: c.post("/works", json={"title": "other", "content_hash": "0x" + "5b" * 32, "terms": TERMS}),
    ])  # fmt: skip
    codes = sorted(x.status_code for x in answers[:2])
    assert codes == [201, 409], [x.text for x in answers]  # as if one after the other: the second finds it registered
    winner = next(x for x in answers[:2] if x.status_code == 201).json()
    loser = next(x for x in answers[:2] if x.status_code == 409).json()
    assert loser["work_id"] == winner["work_id"] and "already registered" in loser["detail"]
    assert answers[2].status_code == 201 and answers[2].json()["tx_hash"] == winner["tx_hash"]


def test_the_coalescer_gives_each_caller_its_result_and_a_batch_failure_to_all_of_its_callers() -> None:
    seen: list[list[int]] = []

    def run(items: list[int]) -> list[int | BaseException]:
        seen.append(items)
        if 13 in items:
            raise RuntimeError("boom")
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]

    co: Coalescer[int, int] = Coalescer(run, max_items=3)
    hold = co.held()
    hold.__enter__()
    results: dict[int, object] = {}

    def call(i: int) -> None:
        try:
            results[i] = co.submit(i)
        except Exception as exc:  # noqa: BLE001
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in (2, 3, 4, 6, 13)]
    for t in threads:
        t.start()
        while not any(s.item == int(t._args[0]) for s in co._queue):  # type: ignore[attr-defined]  # queued in this order
            time.sleep(0.001)
    hold.__exit__(None, None, None)
    for t in threads:
        t.join(timeout=30)
    assert seen == [[2, 3, 4], [6, 13]] and co.batches == 2 and co.items == 5
    assert results[2] == 20 and results[4] == 40 and isinstance(results[3], ValueError)
    assert all(isinstance(results[i], RuntimeError) for i in (6, 13))
    with pytest.raises(ValueError, match="odd 5"):
        co.submit(5)  # alone: goes at once


def test_a_caller_is_answered_when_its_batch_ends_not_after_the_next_one() -> None:
    """Callers A and B share a batch; C queues meanwhile and runs the next one. B's answer must
    not wait for C's batch (it used to wait for the turn, which C's batch then held)."""
    first_may_end, second_may_end, second_started = threading.Event(), threading.Event(), threading.Event()

    def run(items: list[str]) -> list[str | BaseException]:
        if "C" in items:
            second_started.set()
            assert second_may_end.wait(60)
        else:
            assert first_may_end.wait(60)
        return [f"{i}!" for i in items]

    co: Coalescer[str, str] = Coalescer(run, max_items=2)
    results: dict[str, str] = {}
    threads = {name: threading.Thread(target=lambda n=name: results.__setitem__(n, co.submit(n))) for name in "ABC"}
    with co.held():
        for name in "AB":
            threads[name].start()
        while co.queued() < 2:  # both queued before the first batch may start
            time.sleep(0.001)
    while co.queued() != 0:  # the first batch [A, B] took them
        time.sleep(0.001)
    threads["C"].start()
    while co.queued() < 1:
        time.sleep(0.001)
    first_may_end.set()
    assert second_started.wait(60)  # C's batch holds the turn now ...
    for name in "AB":
        threads[name].join(timeout=60)
        assert not threads[name].is_alive(), f"{name} waited for the next batch"  # ... and A and B have their answers
    assert results == {"A": "A!", "B": "B!"}
    second_may_end.set()
    threads["C"].join(timeout=60)
    assert results["C"] == "C!" and co.batches == 2


def _loaded(co: "Coalescer[str, str]") -> None:
    """Runs one batch of two items, so the coalescer sees load (its last batch carried several)."""
    threads = [threading.Thread(target=co.submit, args=(name,)) for name in ("x", "y")]
    with co.held():
        for t in threads:
            t.start()
        while co.queued() < 2:
            time.sleep(0.001)
    for t in threads:
        t.join(timeout=30)
    assert co.batches == 1


def test_under_load_a_turn_waits_for_its_batch_to_fill() -> None:
    """The last batch carried several items moments ago: the next turn holds on (here up to an
    hour, on a clock that does not move) until the batch is full, not a moment longer."""
    seen: list[list[str]] = []
    co: Coalescer[str, str] = Coalescer(lambda items: seen.append(items) or list(items), max_items=3, gather_s=3600, clock=lambda: 0.0)  # type: ignore[func-returns-value]
    _loaded(co)
    threads = [threading.Thread(target=co.submit, args=(name,)) for name in "ABC"]
    for t in threads:
        t.start()
        while not any(s.item == t._args[0] for s in co._queue) and not any(t._args[0] in b for b in seen):  # type: ignore[attr-defined]
            time.sleep(0.001)
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive()
    assert seen[-1] == ["A", "B", "C"] and co.batches == 2


def test_a_lone_caller_never_waits_for_company() -> None:
    """First of all, after a batch of one, or after a burst that ended long ago, a caller goes at
    once (an hour of gathering, on a clock that does not move, would leave its thread waiting)."""
    now = [0.0]

    def goes_at_once(co: "Coalescer[str, str]", item: str) -> None:
        caller = threading.Thread(target=co.submit, args=(item,), daemon=True)
        caller.start()
        caller.join(timeout=30)
        assert not caller.is_alive(), f"{item} waited"

    co: Coalescer[str, str] = Coalescer(lambda items: list(items), max_items=3, gather_s=3600, clock=lambda: now[0])
    goes_at_once(co, "first")
    goes_at_once(co, "after a batch of one")
    burst: Coalescer[str, str] = Coalescer(lambda items: list(items), max_items=3, gather_s=3600, clock=lambda: now[0])
    _loaded(burst)
    now[0] += Coalescer.RECENT_S + 1
    goes_at_once(burst, "after a burst long ago")
    assert co.batches == 2 and burst.batches == 2


def test_gathering_ends_at_its_deadline() -> None:
    seen: list[list[str]] = []
    co: Coalescer[str, str] = Coalescer(lambda items: seen.append(items) or list(items), max_items=3, gather_s=0.05)  # type: ignore[func-returns-value]
    _loaded(co)
    assert co.submit("A") == "A" and seen[-1] == ["A"]  # it waited up to 50 ms for company, then went alone


def test_a_caller_interrupted_while_waiting_does_not_stall_the_others() -> None:
    """Each caller waits alone and a batch hands the turn to the first still queued: one whose
    thread is interrupted while it waits (here: as soon as it is woken, which is when the turn
    comes to it) must take its item out and pass the turn on, or every caller after it waits
    for ever."""

    class Interrupted(Exception):
        pass

    class WokenThenInterrupted(threading.Condition):
        def wait(self, timeout: float | None = None) -> bool:
            super().wait(timeout)
            raise Interrupted

    class Interruptible(Coalescer[str, str]):
        def _waiter(self, item: str) -> threading.Condition:
            return WokenThenInterrupted(self._lock) if item == "X" else super()._waiter(item)

    seen: list[list[str]] = []
    co = Interruptible(lambda items: seen.append(items) or list(items), max_items=1)  # type: ignore[func-returns-value]
    results: dict[str, object] = {}

    def call(item: str) -> None:
        try:
            results[item] = co.submit(item)
        except Interrupted as exc:
            results[item] = exc

    threads = [threading.Thread(target=call, args=(name,)) for name in "AXB"]
    with co.held():
        for t in threads:
            t.start()
            while not any(s.item == t._args[0] for s in co._queue):  # type: ignore[attr-defined]  # queued in this order
                time.sleep(0.001)
    for t in threads:
        t.join(timeout=30)
        assert not t.is_alive(), "a caller stalled behind the interrupted one"
    assert seen == [["A"], ["B"]] and results["A"] == "A" and results["B"] == "B" and isinstance(results["X"], Interrupted)
    assert co.queued() == 0 and co.submit("C") == "C"  # the turn is free again


def test_a_turn_interrupted_while_it_gathers_does_not_stall_the_coalescer() -> None:
    """The twin of the case above, for the caller that holds the turn: interrupted while it waits
    for its batch to fill (here: its clock raises), it takes its item out and frees the turn."""

    class Interrupted(Exception):
        pass

    now = [0.0]
    interrupt = [False]

    def clock() -> float:
        if interrupt[0]:
            raise Interrupted
        return now[0]

    co: Coalescer[str, str] = Coalescer(lambda items: list(items), max_items=3, gather_s=3600, clock=clock)
    _loaded(co)  # under load: the next turn gathers, and asks the clock
    interrupt[0] = True
    with pytest.raises(Interrupted):
        co.submit("X")
    interrupt[0] = False
    assert co.queued() == 0
    caller = threading.Thread(target=co.submit, args=("lone",), daemon=True)
    now[0] += Coalescer.RECENT_S + 1  # no longer under load: goes at once, if the turn is free
    caller.start()
    caller.join(timeout=30)
    assert not caller.is_alive(), "the turn stayed with the interrupted caller"


class _TwoPhase:
    """A two-phase runner: a batch is sent at once and settled when the test says so."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.may_settle: list[threading.Event] = []

    def __call__(self, items: list[str]) -> Callable[[], list[str | BaseException]]:
        self.sent.append(items)
        event = threading.Event()
        self.may_settle.append(event)

        def settle() -> list[str | BaseException]:
            assert event.wait(60), "the test never let this batch settle"
            return [i.upper() for i in items]

        return settle


def _submit_all(co: "Coalescer[str, str]", names: str, results: dict[str, str]) -> list[threading.Thread]:
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, co.submit(n))) for n in names]
    for t in threads:
        t.start()
    return threads


def test_a_sent_batch_holds_the_next_back_until_it_is_settled() -> None:
    """On a node that mines at once, the next batch waits for the one before it, as one batch at
    a time did, and so gathers as many callers."""
    run = _TwoPhase()
    co: Coalescer[str, str] = Coalescer(run, max_items=8, overlap_s=3600)
    results: dict[str, str] = {}
    first = _submit_all(co, "a", results)
    _wait_until(lambda: len(run.sent) == 1)
    later = _submit_all(co, "b", results)
    _wait_until(lambda: co.queued() == 1 or len(run.sent) > 1)
    later += _submit_all(co, "c", results)
    _wait_until(lambda: co.queued() == 2 or len(run.sent) > 1)
    assert run.sent == [["a"]]  # b leads the next turn but waits: batch a is in flight
    run.may_settle[0].set()
    _wait_until(lambda: len(run.sent) == 2)
    first[0].join(30)
    assert results == {"a": "A"}  # answered when its own batch settled
    run.may_settle[1].set()
    for t in first + later:
        t.join(30)
    assert run.sent == [["a"], ["b", "c"]] and results == {"a": "A", "b": "B", "c": "C"}


def test_a_batch_not_settled_within_the_overlap_lets_the_next_one_go() -> None:
    """On a chain that mines a block every few seconds, the next batch is sent while the one
    before waits to be mined, and each caller is answered when its own batch settles."""
    run = _TwoPhase()
    co: Coalescer[str, str] = Coalescer(run, max_items=8, overlap_s=0.05)
    results: dict[str, str] = {}
    threads = _submit_all(co, "a", results)
    _wait_until(lambda: len(run.sent) == 1)
    threads += _submit_all(co, "b", results)
    _wait_until(lambda: len(run.sent) == 2)  # batch a never settled: b went after the overlap
    run.may_settle[1].set()
    _wait_until(lambda: "b" in results)
    assert "a" not in results
    run.may_settle[0].set()
    for t in threads:
        t.join(30)
    assert run.sent == [["a"], ["b"]] and results == {"a": "A", "b": "B"} and co.batches == 2


def test_a_full_batch_goes_without_waiting_for_the_one_in_flight() -> None:
    run = _TwoPhase()
    co: Coalescer[str, str] = Coalescer(run, max_items=2, overlap_s=3600)
    results: dict[str, str] = {}
    threads = _submit_all(co, "a", results)
    _wait_until(lambda: len(run.sent) == 1)
    for name in "bc":
        threads += _submit_all(co, name, results)
        _wait_until(lambda name=name: any(s.item == name for s in co._queue) or len(run.sent) > 1)
    _wait_until(lambda: len(run.sent) == 2)
    assert run.sent[1] == ["b", "c"]
    for event in run.may_settle:
        event.set()
    for t in threads:
        t.join(30)
    assert results == {"a": "A", "b": "B", "c": "C"}


def test_the_forward_request_digest_is_eth_accounts(ledger: Ledger) -> None:
    from eth_account import Account
    from eth_account.messages import _hash_eip191_message, encode_typed_data

    signer = Account.create()
    for data, nonce in ((b"", 0), (bytes(range(200)), 7), (b"\x01" * 33, 2**200)):
        typed = ledger.relayer.typed_data(signer.address, ledger.registry.address, data, 123_456, nonce, 2**48 - 1)
        assert ledger.relayer.digest(typed) == _hash_eip191_message(encode_typed_data(full_message=typed))
        assert signer.unsafe_sign_hash(ledger.relayer.digest(typed)).signature == signer.sign_message(encode_typed_data(full_message=typed)).signature


def test_a_request_refused_alone_after_its_estimate_passed_gets_the_contracts_reason(ledger: Ledger, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of one (``execute``, atomic): the second of two registrations of one file passed its
    estimate before the first was mined; it is then refused with the registry's own error (409
    with the work), not the forwarder's generic FailedCall."""
    monkeypatch.setattr(ledger.relayer.batches, "max_items", 1)
    a, b = (client_for(server, create_api_key(ledger, Role.rights_holder, f"alone{i}").token) for i in range(2))
    same = "0x" + "6c" * 32
    answers = _together(ledger, [lambda: c.post("/works", json={"title": "t", "content_hash": same, "terms": TERMS}) for c in (a, b)])
    assert sorted(x.status_code for x in answers) == [201, 409], [x.text for x in answers]
    assert "already registered" in next(x for x in answers if x.status_code == 409).json()["detail"]


def _pending_transactions(ledger: Ledger) -> int:
    return int(ledger.w3.provider.make_request("txpool_status", [])["result"]["pending"], 16)  # type: ignore[arg-type]


def _two_registrations_in_one_block(first_ledger: Ledger, second_ledger: Ledger) -> None:
    """Registers a work through ``first_ledger`` while blocks are mined only when the test says so;
    once its transaction waits in the mempool, another through ``second_ledger``; then mines one
    block, which must hold both transactions, each the holder's next forward request."""
    from sqlmodel import Session

    from ledger.chain.registry import Terms
    from ledger.services.keys import authenticate
    from ledger.services.works import WorkRequest, register_works

    ledger = first_ledger
    with Session(ledger.engine) as s:
        key = authenticate(s, create_api_key(ledger, Role.rights_holder, "studio").token)
    assert key is not None
    results: dict[str, object] = {}

    def register(name: str, led: Ledger, seed: int) -> None:
        try:
            results[name] = register_works(led, key, [WorkRequest(f"w{seed}", Terms.from_flags(True, 500), content_hash=seed.to_bytes(32, "big"))])
        except BaseException as exc:  # noqa: BLE001 - asserted below
            results[name] = exc

    first = threading.Thread(target=register, args=("first", first_ledger, 0xA1))
    second = threading.Thread(target=register, args=("second", second_ledger, 0xA2))
    ledger.w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        first.start()
        _wait_until(lambda: _pending_transactions(ledger) == 1 or "first" in results, 120)
        assert "first" not in results, results
        second.start()
        _wait_until(lambda: _pending_transactions(ledger) == 2 or "second" in results, 30)  # relay_overlap_ms is 0.5 s
        assert "second" not in results, results
    finally:
        ledger.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        ledger.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
        first.join(120)
        second.join(120)
    one, two = results["first"], results["second"]
    assert isinstance(one, list) and isinstance(two, list), results
    assert one[0].block_number == two[0].block_number and one[0].tx_hash != two[0].tx_hash
    assert sorted([one[0].work_id, two[0].work_id]) == [one[0].work_id, one[0].work_id + 1]


def test_a_second_process_relays_for_the_same_holder_while_the_first_waits_to_be_mined(ledger: Ledger) -> None:
    """Two API workers (two ledgers on one data directory: separate coalescers, one relay lock):
    the second signs and sends its batch while the first's transaction waits in the mempool, its
    forward request numbered after the first's (the pending state's nonce), and both land in the
    same block. Before, the relay lock was held until a transaction was mined: API workers relayed
    one transaction at a time, and the second would wait here until the test gave up."""
    other = open_ledger(ledger.settings, deploy=False)
    _two_registrations_in_one_block(ledger, other)
    other.engine.dispose()


def test_a_write_goes_into_the_same_block_as_the_one_before_when_that_one_is_not_mined_at_once(ledger: Ledger) -> None:
    """One process: a batch still unmined after ``relay_overlap_ms`` (a chain with a block every
    few seconds) no longer keeps the next one back a whole block."""
    assert ledger.relayer.batches.overlap_s == ledger.settings.relay_overlap_ms / 1000 > 0
    _two_registrations_in_one_block(ledger, ledger)


def _wait_until(condition: Callable[[], bool], timeout_s: float = 60) -> None:
    """Waits for a state (not for a time): gives up only after ``timeout_s``."""
    end = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.002)


def _registration(ledger: Ledger, holder: str, seed: int) -> Call:
    """WorkRegistry.registerWorks of one work of ``holder``, as the works service builds it."""
    from dataclasses import replace

    from ledger.chain.registry import Owner, Terms, WorkInput, sort_owners
    from ledger.chain.work_codec import pack_work, registration_gas

    cid = ledger.store.put(f"metadata {seed}".encode())
    packed = [pack_work(WorkInput(seed.to_bytes(32, "big"), cid, Terms.from_flags(True, 500), sort_owners([Owner(holder, holder, 10_000)])))]
    return replace(ledger.call("WorkRegistry", "registerWorks", b"".join(packed)), gas=registration_gas(packed))


def test_a_batch_over_the_gas_bound_goes_as_several_transactions_and_a_part_not_sent_fails_alone(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch asking more gas than MAX_BATCH_GAS goes as several transactions. When one of them
    cannot be sent, the ones sent before it still settle: their callers get their receipts and
    the outbox its rows as mined; only the callers of the parts not sent get the error. Before,
    every caller got the error while the first part's works landed, and its outbox row stayed
    pending until the next start."""
    from sqlmodel import Session

    from ledger.chain.relayer import MAX_BATCH_GAS, _Forward
    from ledger.services.keys import authenticate, custodial_signer

    with Session(ledger.engine) as s:
        key = authenticate(s, create_api_key(ledger, Role.rights_holder, "big batches").token)
    assert key is not None and key.holder_address is not None
    signer, relayer = custodial_signer(ledger, key), ledger.relayer
    big = MAX_BATCH_GAS // 2 + 1  # each item's forwarded gas bound: two of them go as two transactions

    def items(first_seed: int) -> list[_Forward]:
        return [_Forward(signer, _registration(ledger, signer.address, first_seed + i), big) for i in range(2)]

    assert [len(part) for part in relayer._parts(items(0xB100))] == [1, 1]
    together = relayer._relay_batch(items(0xB100))
    assert all(not isinstance(r, BaseException) and r["status"] == 1 for r in together), together
    assert together[0]["transactionHash"] != together[1]["transactionHash"]

    dispatch, calls = relayer._dispatch_signed, []

    def second_part_refused(part: list[_Forward]) -> object:  # fault injected: the node refuses the second transaction
        calls.append(part)
        if len(calls) == 2:
            raise ConnectionError("the node refused the transaction (fault injected by the test)")
        return dispatch(part)

    monkeypatch.setattr(relayer, "_dispatch_signed", second_part_refused)
    sent, refused = relayer._relay_batch(items(0xB200))
    assert isinstance(refused, ConnectionError) and not isinstance(sent, BaseException) and sent["status"] == 1, (sent, refused)
    row = next(e for e in ledger.sender.outbox.entries() if e.tx_hash == sent["transactionHash"].to_0x_hex())
    assert row.status == "mined" and row.block_number == sent["blockNumber"]
    work_id_of = ledger.registry.contract.functions.workIdOf
    assert work_id_of((0xB200).to_bytes(32, "big")).call() != 0 and work_id_of((0xB201).to_bytes(32, "big")).call() == 0
