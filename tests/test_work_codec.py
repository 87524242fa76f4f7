"""WorkRegistry's packed batch format: the backend's writer and reader against each other, and
against the contract, which must read every field where the backend put it."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from ledger.chain.deployment import fund_on_dev_chain
from ledger.chain.registry import TOTAL_BPS, Owner, Terms, WorkInput, WorkState, owners_hash
from ledger.chain.sender import TxSender
from ledger.chain.relayer import GAS_MARGIN
from ledger.chain.work_codec import MalformedWorks, pack_work, pack_works, records, registration_gas, storable, unpack_works
from ledger.models import Role, Work, WorkOwner
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key, custodial_signer
from ledger_recorder.typed import checksum

_SLOTS = 6


@st.composite
def _terms(draw: st.DrawFn) -> Terms:
    states = draw(st.lists(st.integers(0, 2), min_size=_SLOTS, max_size=_SLOTS))
    uses = sum(state << 2 * slot for slot, state in enumerate(states))
    constraints = draw(st.text(min_size=1, max_size=80)) if 2 in states else ""
    expires = draw(st.one_of(st.just(0), st.integers(2**33, 2**40 - 1)))  # none, or long after any test's clock
    return Terms(uses, draw(st.integers(0, TOTAL_BPS)), expires, constraints)


@st.composite
def _owners(draw: st.DrawFn) -> tuple[Owner, ...]:
    accounts = sorted(draw(st.sets(st.integers(1, 2**160 - 1), min_size=1, max_size=5)))
    cuts = sorted(draw(st.sets(st.integers(1, TOTAL_BPS - 1), min_size=len(accounts) - 1, max_size=len(accounts) - 1)))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, TOTAL_BPS])]
    payouts = draw(st.lists(st.integers(1, 2**160 - 1), min_size=len(accounts), max_size=len(accounts)))
    return tuple(Owner(checksum(a.to_bytes(20, "big")), checksum(p.to_bytes(20, "big")), s) for a, p, s in zip(accounts, payouts, shares))


def _text_of_bytes(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.text(min_size=lo, max_size=hi).filter(lambda t: lo <= len(t.encode()) <= hi)


_WORK = st.builds(WorkInput, st.binary(min_size=32, max_size=32).filter(any), _text_of_bytes(1, 255), _terms(), _owners())
_BATCH = st.lists(_WORK, min_size=1, max_size=4, unique_by=lambda w: w.content_hash)


@settings(max_examples=200, deadline=None)
@given(batch=_BATCH)
def test_a_packed_batch_reads_back_as_written_and_any_cut_is_refused(batch: list[WorkInput]) -> None:
    packed = pack_works(batch)
    assert unpack_works(packed) == batch
    assert [r.owners_hash for r in records(packed)] == [owners_hash(w.owners) for w in batch]  # hashed from the packed bytes
    ends = {len(pack_works(batch[: i + 1])) for i in range(len(batch))}
    for cut in range(1, len(packed)):
        if cut in ends:
            assert len(unpack_works(packed[:cut])) == sorted(ends).index(cut) + 1
        else:
            with pytest.raises(MalformedWorks):
                unpack_works(packed[:cut])


def test_text_that_is_not_utf8_is_refused_or_replaced() -> None:
    me = (Owner(checksum(b"\x01" * 20), checksum(b"\x01" * 20), TOTAL_BPS),)
    raw = bytearray(pack_works([WorkInput(b"\x07" * 32, "ab", Terms(0, 0), me)]))
    raw[42:44] = b"\xff\xfe"
    with pytest.raises(MalformedWorks, match="not UTF-8"):
        unpack_works(bytes(raw))
    assert unpack_works(bytes(raw), strict=False)[0].metadata_cid == "\ufffd\ufffd"
    raw[42:44] = b"a\x00"
    assert unpack_works(bytes(raw))[0].metadata_cid == "a\x00"  # UTF-8, as the chain has it
    assert unpack_works(bytes(raw), strict=False)[0].metadata_cid == "a\ufffd"  # as a database keeps it


@pytest.fixture
def holder_sender(ledger: Ledger) -> TxSender:
    key = create_api_key(ledger, Role.rights_holder, "codec")
    signer = custodial_signer(ledger, key)
    fund_on_dev_chain(ledger.w3, signer.address)
    return TxSender(ledger.w3, signer, ledger.sender.decoder)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=_BATCH)
def test_the_contract_reads_each_field_where_the_backend_packed_it(ledger: Ledger, holder_sender: TxSender, batch: list[WorkInput]) -> None:
    """Registered on chain, every work's word commits to the terms and owner list the backend
    packed (so the contract read them at the same offsets), the log carries the batch byte for
    byte, and the indexer projects it as written."""
    if any(ledger.registry.contract.functions.workIdOf(w.content_hash).call() for w in batch):
        return  # hypothesis may draw a content hash again across examples; the chain keeps the first
    receipt = holder_sender.send(ledger.call("WorkRegistry", "registerWorks", pack_works(batch)))
    [event] = ledger.registry.contract.events.WorksRegistered().process_receipt(receipt)
    first, manager = int(event["args"]["firstId"]), holder_sender.account.address
    assert event["args"]["lastId"] == first + len(batch) - 1 and event["args"]["manager"] == manager
    assert unpack_works(bytes(event["args"]["works"])) == batch
    for work_id, w in enumerate(batch, start=first):
        state = WorkState(work_id, w.content_hash, manager, w.terms.uses, w.terms.royalty_bps, w.terms.expires_at, 1, owners_hash(w.owners))
        assert ledger.registry.is_current(state)
        assert ledger.registry.contract.functions.wordOf(w.content_hash).call() == state.word()
    ledger.indexer.sync()
    with Session(ledger.engine) as s:
        for work_id, w in enumerate(batch, start=first):
            row = s.get_one(Work, work_id)
            # Text is kept as the chain has it, but for NUL, which PostgreSQL's text refuses.
            assert (row.metadata_cid, row.uses, row.constraints, row.royalty_bps, row.expires_at) == (
                storable(w.metadata_cid), w.terms.uses, storable(w.terms.constraints), w.terms.royalty_bps, w.terms.expires_at)  # fmt: skip
            owners = {(o.account, o.payout, o.share_bps) for o in s.exec(select(WorkOwner).where(WorkOwner.work_id == work_id)).all()}
            assert owners == {(o.account, o.payout, o.share_bps) for o in w.owners}
            assert ledger.registry.is_current(WorkState.of(row))


@settings(max_examples=200, deadline=None)
@given(owners=_owners())
def test_the_owner_list_hash_is_keccak_of_its_abi_encoding(owners: tuple[Owner, ...]) -> None:
    from eth_abi import encode
    from eth_utils import keccak

    assert owners_hash(owners) == keccak(encode(["(address,address,uint16)[]"], [[o.as_tuple() for o in owners]]))


def _asked_before(ledger: Ledger, sender: TxSender, batch: list[WorkInput]) -> int:
    """The gas the relayer forwarded a registration with before it had a bound: the estimate of
    the call sent directly by its manager, times 1.2, plus ``GAS_MARGIN``."""
    call = ledger.call("WorkRegistry", "registerWorks", pack_works(batch))
    return sender.estimate_gas({"from": sender.account.address, "to": call.to, "data": call.data}) * 6 // 5 + GAS_MARGIN


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=_BATCH)
def test_the_gas_bound_is_never_below_what_the_relayer_asked_before(ledger: Ledger, holder_sender: TxSender, batch: list[WorkInput]) -> None:
    """A relayed registration carries ``registration_gas`` instead of an estimate: whatever the
    terms, owners, CID and constraints, it asks at least what the estimate did."""
    if any(ledger.registry.contract.functions.workIdOf(w.content_hash).call() for w in batch):
        return  # registered by an earlier example: the estimate would be of a refusal
    assert registration_gas([pack_work(w) for w in batch]) >= _asked_before(ledger, holder_sender, batch)


def test_the_gas_bound_holds_at_the_limits_of_the_format(ledger: Ledger, holder_sender: TxSender) -> None:
    """The most a record can carry (512 owners, a 255-byte CID, 256 bytes of constraints, an
    expiring licence), and a full batch of small ones."""
    owners = tuple(Owner(checksum((i + 1).to_bytes(20, "big")), checksum((i + 1000).to_bytes(20, "big")), 19 + (i < 272)) for i in range(512))
    assert sum(o.share_bps for o in owners) == TOTAL_BPS
    big = [WorkInput(bytes([0xB1]) + bytes(30) + bytes([i + 1]), "b" * 255, Terms(2, 100, 2**34, "c" * 256), owners) for i in range(3)]
    small = [WorkInput(bytes([0xB2]) + i.to_bytes(31, "big"), "bafkrei" + "a" * 52, Terms(1, 500), (Owner(owners[0].account, owners[0].payout, TOTAL_BPS),)) for i in range(1, 201)]
    for batch in (big, small):
        assert registration_gas([pack_work(w) for w in batch]) >= _asked_before(ledger, holder_sender, batch)
        holder_sender.send(ledger.call("WorkRegistry", "registerWorks", pack_works(batch)))  # and it registers
