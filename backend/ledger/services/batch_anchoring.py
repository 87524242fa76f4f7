"""Anchoring hashes on chain in batches, and proving one was in a batch.

Evidence reports and production records are anchored the same way: each pass takes the items
not yet anchored, builds an OpenZeppelin StandardMerkleTree over their hashes (``bytes32``
leaves), stores the list of hashes in the content store and sends one ``anchor(root, count,
cid)`` from the operator: one transaction per batch, whatever its size. Before a pass, batches
the chain has and the database lacks (the process stopped between the receipt and the commit)
are read back from their events and lists, so a crash never anchors the same items twice.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hexbytes import HexBytes
from sqlalchemy import update
from sqlmodel import Session, SQLModel, col, select
from web3.contract import Contract
from web3.logs import DISCARD

from ledger.chain.merkle import StandardMerkleTree
from ledger.content.documents import load_document
from ledger.db import chunked
from ledger.runtime import Ledger

MAX_BATCH = 50_000


@dataclass(frozen=True)
class BatchKind:
    """What is anchored where: the contract and its event, the item and batch tables."""

    contract: str  # deployment name
    event: str  # the contract's anchoring event
    cid_arg: str  # the event's argument naming the list's CID
    schema: str  # the list document's schema
    list_key: str  # the list document's key holding the hashes
    item: type[SQLModel]  # has ``<hash_field>`` and ``batch_id``
    hash_field: str
    order: tuple[Any, ...]  # columns ordering the items not yet anchored (arrival order)
    batch: type[SQLModel]  # batch_id, root, count, <cid_field>, tx_hash, block_number
    cid_field: str
    contract_of: Callable[[Ledger], Contract]


def tree_of(hashes: list[str]) -> StandardMerkleTree:
    return StandardMerkleTree.of([(bytes.fromhex(h[2:]),) for h in hashes], ["bytes32"])


def _mark(session: Session, kind: BatchKind, batch: SQLModel, hashes: list[str]) -> None:
    session.add(batch)
    session.flush()
    column = getattr(kind.item, kind.hash_field)
    for chunk in chunked(hashes):
        session.execute(
            update(kind.item).where(col(column).in_(chunk), col(kind.item.batch_id).is_(None)).values(batch_id=batch.batch_id)  # type: ignore[attr-defined]
        )


def _batch(kind: BatchKind, batch_id: int, root: str, count: int, cid: str, tx: str, block: int) -> SQLModel:
    return kind.batch(**{"batch_id": batch_id, "root": root, "count": count, kind.cid_field: cid, "tx_hash": tx, "block_number": block})


def _recover(ledger: Ledger, kind: BatchKind) -> int:
    """Batches on chain but not in the database: read back from their events. Returns how many."""
    contract = kind.contract_of(ledger)
    on_chain = int(contract.functions.batchCount().call())
    with Session(ledger.engine) as s:
        known = s.exec(select(kind.batch.batch_id).order_by(col(kind.batch.batch_id).desc())).first() or 0  # type: ignore[attr-defined]
    if on_chain <= known:
        return 0
    start = ledger.deployment.contracts[kind.contract].block
    recovered = 0
    with Session(ledger.engine) as s:
        for ev in getattr(contract.events, kind.event)().get_logs(from_block=start):
            batch_id = int(ev["args"]["batchId"])
            if batch_id <= known or s.get(kind.batch, batch_id) is not None:
                continue
            cid = ev["args"][kind.cid_arg]
            doc = load_document(ledger.store, cid).value or {}
            hashes = [h for h in doc.get(kind.list_key, []) if isinstance(h, str)]
            batch = _batch(kind, batch_id, HexBytes(ev["args"]["root"]).to_0x_hex(), int(ev["args"]["count"]), cid,
                           HexBytes(ev["transactionHash"]).to_0x_hex(), int(ev["blockNumber"]))  # fmt: skip
            _mark(s, kind, batch, hashes)
            recovered += 1
        s.commit()
    return recovered


def anchor_pending(ledger: Ledger, kind: BatchKind, max_batch: int = MAX_BATCH) -> SQLModel | None:
    """Anchors up to ``max_batch`` items not yet anchored; None when there are none."""
    _recover(ledger, kind)
    column = getattr(kind.item, kind.hash_field)
    with Session(ledger.engine) as s:
        pending = list(s.exec(select(column).where(col(kind.item.batch_id).is_(None)).order_by(*kind.order).limit(max_batch)).all())  # type: ignore[attr-defined]
    hashes = list(dict.fromkeys(pending))
    if not hashes:
        return None
    tree = tree_of(hashes)
    cid = ledger.store.put(json.dumps({"schema": kind.schema, kind.list_key: hashes}, separators=(",", ":")).encode())
    receipt = ledger.sender.send(ledger.call(kind.contract, "anchor", tree.root, len(hashes), cid))
    event = getattr(kind.contract_of(ledger).events, kind.event)().process_receipt(receipt, errors=DISCARD)[0]
    batch = _batch(kind, int(event["args"]["batchId"]), "0x" + tree.root.hex(), len(hashes), cid,
                   HexBytes(receipt["transactionHash"]).to_0x_hex(), int(receipt["blockNumber"]))  # fmt: skip
    with Session(ledger.engine, expire_on_commit=False) as s:
        if s.get(kind.batch, batch.batch_id) is None:  # type: ignore[attr-defined]
            _mark(s, kind, batch, hashes)
            s.commit()
    return batch


@dataclass(frozen=True)
class AnchorProof:
    batch_id: int
    root: str
    proof: list[str]
    tx_hash: str
    block_number: int
    contract: str
    verified_on_chain: bool


def proof_of(ledger: Ledger, kind: BatchKind, item_hash: str, batch_id: int | None) -> AnchorProof | None:
    """The item's Merkle proof in its batch, checked against the contract (None: not anchored yet)."""
    if batch_id is None:
        return None
    with Session(ledger.engine) as s:
        batch: Any = s.get(kind.batch, batch_id)
    if batch is None:
        return None
    doc = load_document(ledger.store, getattr(batch, kind.cid_field)).value or {}
    tree = tree_of([h for h in doc.get(kind.list_key, []) if isinstance(h, str)])
    leaf = bytes.fromhex(item_hash[2:])
    proof = tree.proof_of((leaf,))
    contract = kind.contract_of(ledger)
    on_chain = bool(contract.functions.contains(batch_id, leaf, proof).call())
    return AnchorProof(batch_id, batch.root, ["0x" + p.hex() for p in proof], batch.tx_hash, batch.block_number, contract.address, on_chain)
