"""WorkRegistry's packed batch format: the backend's writer and reader against each other, and
against the contract, which must read every field where the backend put it."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from ledger.chain.deployment import fund_on_dev_chain
from ledger.chain.registry import TOTAL_BPS, Owner, Terms, WorkInput, WorkState, owners_hash
from ledger.chain.sender import TxSender
from ledger.chain.work_codec import MalformedWorks, pack_works, records, storable, unpack_works
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
