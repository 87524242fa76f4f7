"""Models and their training sets: registration and membership proofs. The clean-model audit
is ``model_audit``'s (re-exported here for the routers)."""

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from ledger.content.canonical import canonical
from ledger.chain.merkle import TrainingSetTree, leaf_hash
from ledger.db import chunked
from ledger.indexer.ai_projector import TRAINING_SET_SCHEMA
from ledger.consent.uses import MAX_CONSTRAINTS_LENGTH
from ledger.models import ApiKey, ConstraintAcceptance, Model, ModelTrainingWork, Work
from ledger.runtime import Ledger
from ledger.services.errors import InvalidInput, NotFound
from ledger.services.model_audit import AuditFinding, ModelAudit, audit_in, lineage_in

__all__ = ["AuditFinding", "ModelAudit", "audit", "audit_in", "get_model", "lineage", "prove", "register_model"]
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
    #: Each work's weight in the model's revenue pool (the order of work_ids / content_hashes); None: equal.
    pool_weights: list[int] | None = None
    base_model_id: int | None = None
    description: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    #: Can the model generate assets? Its training then needs ai_generative_training, else ai_training.
    generative: bool = True


def _resolve(ledger: Ledger, req: ModelRequest) -> tuple[list[int], list[int] | None]:
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
    if req.pool_weights is None:
        return sorted(ids), None
    if len(req.pool_weights) != len(ids) or any(not 1 <= w <= 10**9 for w in req.pool_weights):
        raise InvalidInput(f"pool_weights gives one weight (1 to 10^9) per work of the training set, in its order: {len(ids)} expected")
    weight_of = dict(zip(ids, req.pool_weights))
    ordered = sorted(ids)
    return ordered, [weight_of[w] for w in ordered]


def register_model(ledger: Ledger, key: ApiKey, req: ModelRequest) -> Model | SignatureRequired:
    if not req.name.strip():
        raise InvalidInput("name must not be empty")
    if len(req.weights_hash) != 32 or req.weights_hash == bytes(32):
        raise InvalidInput("weights_hash must be 32 non-zero bytes (0x + 64 hex digits)")
    if req.base_model_id is not None:
        with Session(ledger.engine) as s:
            if s.get(Model, req.base_model_id) is None:
                raise InvalidInput(f"unknown base model {req.base_model_id}")
    ids, weights = _resolve(ledger, req)
    tree = TrainingSetTree.build(ids)
    listing: dict[str, Any] = {
        "schema": TRAINING_SET_SCHEMA,
        "workIds": ids,
        "merkleRoot": "0x" + tree.root.hex(),
        "tree": "OpenZeppelin StandardMerkleTree, leaf encoding [uint256]",
    }
    if weights is not None:  # committed with the list: its CID is in the registration event
        listing["poolWeights"] = weights
    set_cid = ledger.store.put(canonical(listing))
    metadata_cid = ledger.store.put(
        canonical(
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
        (req.name.strip(), req.version, req.weights_hash, metadata_cid, tree.root, len(ids), set_cid, req.base_model_id or 0, req.generative),
    )
    registered = execute_for_event(ledger, key, call, ledger.models.events.ModelRegistered)
    if isinstance(registered, SignatureRequired):
        return registered
    return get_model(ledger, int(registered["modelId"]))


def accept_constraints(ledger: Ledger, key: ApiKey, constraints: str) -> ConstraintAcceptance | SignatureRequired:
    """Records on chain that the platform accepts the licence text ``constraints`` names: works
    whose uses are constrained by it count as allowed for its models registered afterwards.
    Accepting again changes nothing (the first acceptance stands)."""
    text = constraints.strip()
    if not text or len(text.encode()) > MAX_CONSTRAINTS_LENGTH:
        raise InvalidInput(f"constraints must be 1 to {MAX_CONSTRAINTS_LENGTH} bytes (the reference a work's terms name, e.g. a licence's CID)")
    platform = key.holder_address
    with Session(ledger.engine) as s:
        known = s.get(ConstraintAcceptance, (platform, text)) if platform else None
    if known is not None:
        return known
    call = ledger.call("ModelRegistry", "acceptConstraints", text)
    accepted = execute_for_event(ledger, key, call, ledger.models.events.ConstraintsAccepted)
    if isinstance(accepted, SignatureRequired):
        return accepted
    with Session(ledger.engine) as s:
        return s.get_one(ConstraintAcceptance, (accepted["platform"], text))


def get_model(ledger: Ledger, model_id: int) -> Model:
    with Session(ledger.engine) as s:
        model = s.get(Model, model_id)
    if model is None:
        raise NotFound(f"no model with id {model_id}")
    return model


def lineage(ledger: Ledger, model_id: int) -> list[Model]:
    """The model, then its base, then the base's base..."""
    return lineage_in(ledger.engine, model_id)


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
    """The clean-model audit (``model_audit``), with this ledger's one-creator threshold."""
    return audit_in(ledger.engine, model_id, ledger.settings.one_creator_share_bps)
