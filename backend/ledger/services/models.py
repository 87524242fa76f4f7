"""Models and their training sets: registration, membership proofs, and the clean-model audit.

The audit answers "was every work this model was trained on registered and licensed for training
when the model was registered?" from the terms history, so a revocation after the model does not
taint it, and one before it does. A fine-tune inherits its base's set; inherited works are judged
at the base model's registration, the point at which that training was declared.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ledger.chain.merkle import TrainingSetTree, leaf_hash
from ledger.db import chunked
from ledger.indexer.ai_projector import TRAINING_SET_SCHEMA
from ledger.models import ApiKey, Model, ModelTrainingWork, Work, WorkTermsVersion
from ledger.runtime import Ledger
from ledger.services.errors import InvalidInput, NotFound, Unavailable
from ledger.services.signing import SignatureRequired, execute_for_event

MODEL_METADATA_SCHEMA = "ai-rights-ledger/model-metadata/v1"
MAX_TRAINING_SET = 1_000_000


@dataclass
class ModelRequest:
    name: str
    version: str
    weights_hash: bytes
    work_ids: list[int] | None = None
    content_hashes: list[str] | None = None
    base_model_id: int | None = None
    description: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AuditFinding:
    work_id: int
    declared_by: int  # the model in the lineage whose own set lists the work
    status: str  # licensed | unregistered | registered_after_model | training_forbidden | expired
    terms_version: int | None


@dataclass(frozen=True)
class ModelAudit:
    model_id: int
    clean: bool
    works: int
    counts: dict[str, int]
    problems: list[AuditFinding]
    unavailable_sets: list[int]  # models in the lineage whose training list could not be checked


def _resolve(ledger: Ledger, req: ModelRequest) -> list[int]:
    if (req.work_ids is None) == (req.content_hashes is None):
        raise InvalidInput("give the training set as work_ids or as content_hashes (exactly one)")
    if req.work_ids is not None:
        ids = req.work_ids
        bad = [i for i in ids if not 0 < i < 2**64]
        if bad:
            raise InvalidInput(f"work ids must be positive 64-bit integers; got {bad[:5]}")
    else:
        hashes = [h.lower() for h in req.content_hashes or []]
        found: dict[str, int] = {}
        with Session(ledger.engine) as s:
            for chunk in chunked(hashes):
                rows = s.exec(select(Work.content_hash, Work.work_id).where(col(Work.content_hash).in_(chunk)))
                found.update({h: w for h, w in rows})
        unknown = [h for h in hashes if h not in found]
        if unknown:
            raise InvalidInput(
                f"{len(unknown)} content hashes are not registered works (first: {unknown[:3]}); "
                "a training set commits to work ids, so every work must be registered first",
                unknown=unknown[:100],
            )
        ids = [found[h] for h in hashes]
    if not ids:
        raise InvalidInput("the training set is empty")
    if len(ids) > MAX_TRAINING_SET:
        raise InvalidInput(f"at most {MAX_TRAINING_SET} works per training set")
    if len(set(ids)) != len(ids):
        raise InvalidInput("the training set lists a work more than once")
    return sorted(ids)


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def register_model(ledger: Ledger, key: ApiKey, req: ModelRequest) -> Model | SignatureRequired:
    if not req.name.strip():
        raise InvalidInput("name must not be empty")
    if len(req.weights_hash) != 32 or req.weights_hash == bytes(32):
        raise InvalidInput("weights_hash must be 32 non-zero bytes (0x + 64 hex digits)")
    if req.base_model_id is not None:
        with Session(ledger.engine) as s:
            if s.get(Model, req.base_model_id) is None:
                raise InvalidInput(f"unknown base model {req.base_model_id}")
    ids = _resolve(ledger, req)
    tree = TrainingSetTree.build(ids)
    set_cid = ledger.store.put(
        _canonical(
            {
                "schema": TRAINING_SET_SCHEMA,
                "workIds": ids,
                "merkleRoot": "0x" + tree.root.hex(),
                "tree": "OpenZeppelin StandardMerkleTree, leaf encoding [uint256]",
            }
        )
    )
    metadata_cid = ledger.store.put(
        _canonical(
            {
                "schema": MODEL_METADATA_SCHEMA,
                "name": req.name.strip(),
                "version": req.version,
                "weightsHash": "0x" + req.weights_hash.hex(),
                "description": req.description,
                "attributes": req.attributes,
            }
        )
    )
    call = ledger.call(
        "ModelRegistry",
        "registerModel",
        (req.name.strip(), req.version, req.weights_hash, metadata_cid, tree.root, len(ids), set_cid, req.base_model_id or 0),
    )
    registered = execute_for_event(ledger, key, call, ledger.models.events.ModelRegistered)
    if isinstance(registered, SignatureRequired):
        return registered
    return get_model(ledger, int(registered["modelId"]))


def get_model(ledger: Ledger, model_id: int) -> Model:
    with Session(ledger.engine) as s:
        model = s.get(Model, model_id)
    if model is None:
        raise NotFound(f"no model with id {model_id}")
    return model


def lineage(ledger: Ledger, model_id: int) -> list[Model]:
    """The model, then its base, then the base's base..."""
    return _lineage(ledger.engine, model_id)


def _lineage(engine: Engine, model_id: int) -> list[Model]:
    def get(m: int) -> Model:
        with Session(engine) as s:
            model = s.get(Model, m)
        if model is None:
            raise NotFound(f"no model with id {m}")
        return model

    chain = [get(model_id)]
    while chain[-1].base_model_id is not None:
        chain.append(get(chain[-1].base_model_id))
    return chain


def _members(session: Session, model_id: int) -> list[int]:
    return sorted(session.exec(select(ModelTrainingWork.work_id).where(ModelTrainingWork.model_id == model_id)).all())


@dataclass(frozen=True)
class MembershipProof:
    model_id: int
    declared_by: int
    work_id: int
    leaf: str
    root: str
    proof: list[str]
    verified_on_chain: bool


def prove(ledger: Ledger, model_id: int, work_id: int) -> MembershipProof:
    """A Merkle proof that ``work_id`` is in the training set of ``model_id`` (own or inherited),
    checked on chain with ModelRegistry.isInTrainingSet before it is handed out."""
    for model in lineage(ledger, model_id):
        if model.training_set_status != "verified":
            continue
        with Session(ledger.engine) as s:
            member = s.get(ModelTrainingWork, (model.model_id, work_id)) is not None
            members = _members(s, model.model_id) if member else []
        if not member:
            continue
        proof = TrainingSetTree.build(members).proof(work_id)
        on_chain = bool(ledger.models.functions.isInTrainingSet(model_id, work_id, proof).call())
        return MembershipProof(
            model_id, model.model_id, work_id, "0x" + leaf_hash(work_id).hex(), model.training_root,
            ["0x" + p.hex() for p in proof], on_chain,
        )  # fmt: skip
    raise NotFound(f"work {work_id} is not in the training set of model {model_id} or its base models: there is no proof")


def audit(ledger: Ledger, model_id: int) -> ModelAudit:
    return audit_in(ledger.engine, model_id)


def audit_in(engine: Engine, model_id: int) -> ModelAudit:
    """The clean-model audit on any database holding the projection (a provenance verifier
    builds one from the chain)."""
    findings: list[AuditFinding] = []
    unavailable: list[int] = []
    with Session(engine) as s:
        for model in _lineage(engine, model_id):
            if model.training_set_status != "verified":
                unavailable.append(model.model_id)
                continue
            ids = _members(s, model.model_id)
            point = (model.block_number, model.log_index)
            works: dict[int, Work] = {}
            history: dict[int, list[WorkTermsVersion]] = {}
            for chunk in chunked(ids):
                works.update({w.work_id: w for w in s.exec(select(Work).where(col(Work.work_id).in_(chunk)))})
                for t in s.exec(select(WorkTermsVersion).where(col(WorkTermsVersion.work_id).in_(chunk))):
                    history.setdefault(t.work_id, []).append(t)
            for work_id in ids:
                findings.append(_judge(model, point, works.get(work_id), history.get(work_id, []), work_id))
    counts = Counter(f.status for f in findings)
    problems = [f for f in findings if f.status != "licensed"]
    return ModelAudit(model_id, not problems and not unavailable, len(findings), dict(counts), problems, unavailable)


def _judge(model: Model, point: tuple[int, int], work: Work | None, history: list[WorkTermsVersion], work_id: int) -> AuditFinding:
    if work is None:
        return AuditFinding(work_id, model.model_id, "unregistered", None)
    if (work.block_number, work.log_index) > point:
        return AuditFinding(work_id, model.model_id, "registered_after_model", None)
    in_force = max(
        (t for t in history if (t.effective_block, t.effective_log_index) < point), key=lambda t: t.version, default=None
    )
    if in_force is None:  # cannot happen for a registered work (version 1 comes with it); be explicit anyway
        raise Unavailable(f"terms history of work {work_id} is incomplete")
    if not in_force.training_allowed:
        status = "training_forbidden"
    elif in_force.expires_at and in_force.expires_at <= model.registered_at:
        status = "expired"
    else:
        status = "licensed"
    return AuditFinding(work_id, model.model_id, status, in_force.version)
