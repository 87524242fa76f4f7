"""Applies ModelRegistry, OutputRegistry and UsageAnchor events: models with their training-set
members, outputs with their attribution links, and anchored usage-report hashes.

Links come from the event alone. A training set is too large for a log (10,000 ids), so the
event carries its CID and root: the projector fetches the list from the content store, rebuilds
the Merkle root, and records whether the list was available and matched.
"""

from typing import Any

from hexbytes import HexBytes
from sqlalchemy import update
from sqlmodel import Session, col, select

from ledger.chain.links import unpack_link
from ledger.chain.merkle import TrainingSetTree
from ledger.content.documents import load_document
from ledger.content.store import ContentStore
from ledger.indexer import disputes_projector
from ledger.models import ConstraintAcceptance, Model, ModelTrainingWork, Output, OutputLink, OutputLinkCorrection, UsageAnchorRecord, UsageReport

TRAINING_SET_SCHEMA = "ai-rights-ledger/training-set/v1"


def _hex(b: Any) -> str:
    return HexBytes(b).to_0x_hex()


def load_training_set(store: ContentStore, cid: str) -> list[int] | None:
    """The work ids a training-set document lists, or None if the store does not have it."""
    listing = load_training_listing(store, cid)
    return None if listing is None else listing[0]


def load_training_listing(store: ContentStore, cid: str) -> tuple[list[int], list[int] | None] | None:
    """(work ids, their declared pool weights or None) of a training-set document, or None if the
    store does not have it. Weights that are not one positive integer per work count as none."""
    doc = load_document(store, cid).value
    if doc is None or doc.get("schema") != TRAINING_SET_SCHEMA:
        return None
    ids = doc.get("workIds")
    if not (isinstance(ids, list) and all(isinstance(i, int) for i in ids)):
        return None
    weights = doc.get("poolWeights")
    good = isinstance(weights, list) and len(weights) == len(ids) and all(isinstance(w, int) and 1 <= w <= 10**9 for w in weights)
    return ids, weights if good else None


def apply(session: Session, store: ContentStore, name: str, args: dict[str, Any], log: dict[str, Any], timestamp: int) -> None:
    tx, block, index = _hex(log["transactionHash"]), int(log["blockNumber"]), int(log["logIndex"])
    if name == "ModelRegistered":
        m = args["model"]
        model_id = int(args["modelId"])
        root = _hex(m["trainingRoot"])
        listing = load_training_listing(store, m["trainingSetCid"])
        ids, weights = listing if listing is not None else (None, None)
        status = "unavailable"
        if ids is not None:
            try:
                rebuilt = _hex(TrainingSetTree.build(ids).root)
            except ValueError:
                rebuilt = None
            status = "verified" if rebuilt == root and len(ids) == int(m["trainingSetSize"]) else "root_mismatch"
        session.add(
            Model(
                model_id=model_id,
                platform=args["platform"],
                base_model_id=int(args["baseModelId"]) or None,
                name=m["name"],
                version=m["version"],
                weights_hash=_hex(m["weightsHash"]),
                metadata_cid=m["metadataCid"],
                training_root=root,
                training_set_size=int(m["trainingSetSize"]),
                training_set_cid=m["trainingSetCid"],
                training_set_status=status,
                generative=bool(m.get("generative", True)),  # format 1 had no field: every model then was generative
                tx_hash=tx,
                block_number=block,
                log_index=index,
                registered_at=timestamp,
            )
        )
        if status == "verified" and ids is not None:
            session.flush()
            session.add_all([ModelTrainingWork(model_id=model_id, work_id=w, pool_weight=x) for w, x in zip(ids, weights or [0] * len(ids))])
    elif name == "ConstraintsAccepted":
        key = (args["platform"], args["constraints"])
        if session.get(ConstraintAcceptance, key) is None:  # the first acceptance stands
            session.add(ConstraintAcceptance(platform=key[0], constraints=key[1], tx_hash=tx, block_number=block, log_index=index, accepted_at=timestamp))
            session.flush()
    elif name == "OutputRegistered":
        output_id = int(args["outputId"])
        session.add(
            Output(
                output_id=output_id,
                output_hash=_hex(args["outputHash"]),
                model_id=int(args["modelId"]),
                tx_hash=tx,
                block_number=block,
                log_index=index,
                registered_at=timestamp,
            )
        )
        session.flush()
        session.add_all(
            [
                OutputLink(output_id=output_id, work_id=work_id, weight_bps=weight, kind=kind)
                for work_id, weight, kind in map(unpack_link, args["links"])
            ]
        )
    elif name == "LinksCorrected":
        output_id = int(args["outputId"])
        version = 1 + len(session.exec(select(OutputLinkCorrection.version).where(OutputLinkCorrection.output_id == output_id).distinct()).all())
        session.add_all(
            [
                OutputLinkCorrection(
                    output_id=output_id, version=version, work_id=work_id, weight_bps=weight,
                    kind=kind, dispute_id=int(args["disputeId"]), tx_hash=tx, block_number=block, log_index=index,
                    effective_at=timestamp,
                )
                for work_id, weight, kind in map(unpack_link, args["links"])
            ]
        )  # fmt: skip
        disputes_projector.carried_out(session, args, log, timestamp)
    elif name == "UsageAnchored":
        r = args["report"]
        session.add(
            UsageAnchorRecord(
                batch_hash=_hex(args["batchHash"]),
                platform=args["platform"],
                report_id=r["reportId"],
                period_start=int(r["periodStart"]),
                period_end=int(r["periodEnd"]),
                currency=r["currency"],
                line_count=int(r["lineCount"]),
                total_revenue=int(r["totalRevenue"]),
                tx_hash=tx,
                block_number=block,
            )
        )
        # A stored report waiting for its platform's signature counts from now on.
        session.execute(
            update(UsageReport)
            .where(col(UsageReport.batch_hash) == _hex(args["batchHash"]), col(UsageReport.platform) == args["platform"], col(UsageReport.anchor_tx) == "")
            .values(anchor_tx=tx)
        )
