"""Model pools: who is paid from revenue that belongs to a model rather than to one output.

Subscriptions, API plans, training and licensing fees are reported against a model (model-level
usage lines), and so is the usage of an output registered without attribution links (the
platform could not attribute it). The collective licences for AI training that exist today split
such money over every licensed work of the set; so does the ledger:

- the **set** is the model's training set and its bases' (a fine-tune inherits what its base was
  trained on), each work once;
- a work is **paid** when its terms allowed that training when the model of the lineage that
  declared it was registered (the clean-model audit's judgement, from chain events alone, at the
  ledger's one-creator threshold); a work declared by several models of the lineage is paid if
  any of them was allowed to use it;
- a work that is not paid is **reported** with the audit's reason (``training_forbidden``,
  ``unregistered``, ...), never silently skipped: the statement lists it;
- the pool is split **equally per paid work** (largest remainder, ties to the lower work id), or
  **by the weights the platform declared** with the training list (``pool_weights``, committed
  with the list's CID in the registration event) when every model of the lineage that declared a
  paid work declared them (a work takes the weight of the first model, from the top, that paid
  it); then each work's part goes upstream (derivatives) and to its co-owners like any other.

Everything here is recomputable by the statement verifier from the chain and the training-set
lists (content-addressed, checked against the on-chain Merkle roots).
"""

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ledger.db import chunked
from ledger.models import Model, ModelTrainingWork, Output
from ledger.services.model_audit import OK_STATUSES, judge_in
from ledger.services.errors import InvalidInput


@dataclass(frozen=True)
class Excluded:
    """A work of the set that the pool does not pay, and why (an audit status)."""

    work_id: int
    status: str
    declared_by: int


@dataclass(frozen=True)
class Pool:
    model_id: int
    works: list[int]  # paid, ascending
    excluded: list[Excluded]  # by work id
    unavailable: list[int]  # models of the lineage whose training list could not be read (their works are unknown)
    weights: list[int] = field(default_factory=list)  # per paid work: declared, or all 1 (equal)
    declared: bool = False  # the weights are the platform's declaration, not equal shares

    def as_document(self) -> dict[str, object]:
        return {
            "model": self.model_id,
            "works": len(self.works),
            "weights": "declared" if self.declared else "equal",
            "excluded": [{"workId": e.work_id, "status": e.status, "declaredBy": e.declared_by} for e in self.excluded],
            "unavailableSets": self.unavailable,
        }


def pool_of(engine: Engine, model_id: int, one_creator_share_bps: int) -> Pool:
    judged = judge_in(engine, model_id, one_creator_share_bps, consent=False)
    paid_by: dict[int, int] = {}  # work -> the first model (from the top of the lineage) that paid it
    for f in judged.findings:
        if f.status in OK_STATUSES:
            paid_by.setdefault(f.work_id, f.declared_by)
    first_refusal: dict[int, Excluded] = {}
    for f in judged.findings:
        if f.work_id not in paid_by and f.work_id not in first_refusal:
            first_refusal[f.work_id] = Excluded(f.work_id, f.status, f.declared_by)
    works = sorted(paid_by)
    declared = _declared_weights(engine, paid_by)
    weights = [declared[w] for w in works] if declared is not None else [1] * len(works)
    return Pool(model_id, works, [first_refusal[w] for w in sorted(first_refusal)], judged.unavailable, weights, declared is not None)


def _declared_weights(engine: Engine, paid_by: dict[int, int]) -> dict[int, int] | None:
    """Each paid work's weight as its paying model's training list declared it; None unless every
    one of them was declared."""
    out: dict[int, int] = {}
    with Session(engine) as s:
        for model in sorted(set(paid_by.values())):
            mine = [w for w, m in paid_by.items() if m == model]
            for chunk in chunked(mine):
                rows = s.exec(
                    select(ModelTrainingWork.work_id, ModelTrainingWork.pool_weight).where(
                        ModelTrainingWork.model_id == model, col(ModelTrainingWork.work_id).in_(chunk)
                    )
                ).all()
                out.update({int(w): int(x) for w, x in rows})
    if not out or any(out.get(w, 0) <= 0 for w in paid_by):
        return None
    return out


def payable_or_refuse(pool: Pool, where: str = "") -> None:
    """Refuses usage nobody could be paid from (checked at import, so a period always closes)."""
    if pool.works:
        return
    if pool.unavailable:
        raise InvalidInput(
            f"{where}model {pool.model_id}'s training set list is not in the content store (models {pool.unavailable}): "
            "its revenue cannot be split until the list is published (a verifier: pass the content store holding it, --blocks)"
        )
    raise InvalidInput(
        f"{where}model {pool.model_id} has no work whose terms allowed its training: nobody can be paid from its revenue "
        f"({len(pool.excluded)} works excluded)"
    )


class PoolCheck:
    """Pools judged once per import, royalty run or explanation (a 100k-work set is judged in
    seconds: not per chunk, nor per report)."""

    def __init__(self, engine: Engine, one_creator_share_bps: int) -> None:
        self.engine, self.one_creator_share_bps = engine, one_creator_share_bps
        self.pools: dict[int, Pool] = {}

    def pool(self, model_id: int) -> Pool:
        if model_id not in self.pools:
            self.pools[model_id] = pool_of(self.engine, model_id, self.one_creator_share_bps)
        return self.pools[model_id]

    def require(self, model_id: int, where: str = "") -> Pool:
        pool = self.pool(model_id)
        payable_or_refuse(pool, where)
        return pool


def models_of(session: Session, output_ids: list[int]) -> dict[int, int]:
    """output id -> its model."""
    out: dict[int, int] = {}
    for chunk in chunked(output_ids):
        out.update({int(o): int(m) for o, m in session.exec(select(Output.output_id, Output.model_id).where(col(Output.output_id).in_(chunk)))})
    return out


def platform_models(session: Session, platform: str, model_ids: set[int]) -> set[int]:
    """Those of ``model_ids`` registered by ``platform``."""
    found: set[int] = set()
    for chunk in chunked(sorted(model_ids)):
        found.update(int(m) for m in session.exec(select(Model.model_id).where(col(Model.model_id).in_(chunk), Model.platform == platform)))
    return found
