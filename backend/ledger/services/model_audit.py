"""The clean-model audit: was every work a model was trained on registered and licensed for that
kind of training when the model was registered?

It judges by use, in the CAWG words of the terms: a generative model needs
``ai_generative_training``, another model ``ai_training``. ``constrained`` counts as not
allowed unless the platform recorded its acceptance of the constraints on chain before the
model. Terms are read from their history, so a revocation after the model does not taint it and
one before it does; a fine-tune inherits its base's set, judged at the base's registration.

Two further checks:

- **Fine-tunes aimed at one creator.** Japan's Agency for Cultural Affairs (General
  Understanding on AI and Copyright, 2024) treats additional training on a small set meant to
  reproduce one creator's expression as outside the data-analysis exemption. A fine-tune whose
  own set is mostly one holder's works (``one_creator_share_bps``, by work count, by the works'
  managers) is flagged, and each of that holder's works then needs ``creator_finetune``.
- **Consent evidence.** A signal recorded before the model (the file's IPTC or TDMRep metadata,
  its C2PA ``cawg.training-mining`` assertion, a site's tdmrep.json) that reserves the use the
  terms allow is a ``consent_conflict``: the terms and the file disagree, and the audit does not
  pick the permissive side, unless the work's manager acknowledged that the terms prevail over
  that evidence before the model was registered. The verifier, which has only the chain, cannot see this evidence;
  the certificate says how many conflicts there were.

Everything else is recomputed from chain events alone (terms, acceptances, managers, sets).
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from ledger.consent.signals import Signal, conflicts
from ledger.consent.uses import State, Use, state_of
from ledger.db import chunked
from ledger.models import ConstraintAcceptance, EvidenceReport, Model, ModelTrainingWork, Work, WorkTermsVersion
from ledger.services.consent_evidence import KIND, signals_of, split_acknowledgements
from ledger.services.errors import NotFound, Unavailable

#: A fine-tune whose own set is at least this share one holder's is aimed at that holder.
DEFAULT_ONE_CREATOR_SHARE_BPS = 5000
#: Statuses that are not problems.
OK_STATUSES = frozenset({"licensed", "licensed_under_constraints"})


@dataclass(frozen=True)
class AuditFinding:
    work_id: int
    declared_by: int  # the model in the lineage whose own set lists the work
    #: licensed | licensed_under_constraints | unregistered | registered_after_model |
    #: training_forbidden | constraints_not_accepted | expired | creator_finetune_not_allowed |
    #: consent_conflict
    status: str
    terms_version: int | None
    detail: str = ""


@dataclass(frozen=True)
class OneCreatorFlag:
    """A fine-tune aimed at one holder: that holder's share of its own training set."""

    model_id: int
    holder: str
    works: int
    of: int
    share_bps: int


@dataclass(frozen=True)
class ModelAudit:
    model_id: int
    clean: bool
    works: int
    counts: dict[str, int]
    problems: list[AuditFinding]
    unavailable_sets: list[int]  # models in the lineage whose training list could not be checked
    use: str = Use.AI_GENERATIVE_TRAINING.key  # the use the model's training needs
    one_creator: list[OneCreatorFlag] = field(default_factory=list)
    consent_conflicts: int = 0


def lineage_in(engine: Engine, model_id: int) -> list[Model]:
    """The model, then its base, then the base's base... (one session for the walk)."""
    with Session(engine) as s:
        chain: list[Model] = []
        next_id: int | None = model_id
        while next_id is not None:
            model = s.get(Model, next_id)
            if model is None:
                raise NotFound(f"no model with id {next_id}")
            chain.append(model)
            next_id = model.base_model_id
    return chain


def _accepted(session: Session, platform: str, point: tuple[int, int]) -> set[str]:
    rows = session.exec(select(ConstraintAcceptance).where(ConstraintAcceptance.platform == platform)).all()
    return {r.constraints for r in rows if (r.block_number, r.log_index) < point}


def _consent(session: Session, works: dict[int, Work], model_block: int) -> dict[int, list[Signal]]:
    """Each work's consent signals recorded before the model's block (the chain's head when the
    evidence was observed is below it), less evidence its manager acknowledged before it."""
    by_hash = {w.content_hash: w.work_id for w in works.values()}
    out: dict[int, list[Signal]] = defaultdict(list)
    for chunk in chunked(list(by_hash)):
        stmt = select(EvidenceReport).where(EvidenceReport.kind == KIND, col(EvidenceReport.content_hash).in_(chunk))
        recorded = [(r, d) for r in session.exec(stmt) if int((d := json.loads(r.document)).get("observedAtBlock", 2**63)) < model_block]
        evidence, acknowledged = split_acknowledgements(recorded)
        for report, doc in evidence:
            if report.document_hash not in acknowledged:
                out[by_hash[report.content_hash]].extend(signals_of(doc))
    return out


@dataclass(frozen=True)
class Judged:
    """Every judgement of an audit, licensed works included (a model's revenue pool pays those)."""

    lineage: list[Model]
    use: Use
    findings: list[AuditFinding]
    unavailable: list[int]
    one_creator: list[OneCreatorFlag]


def judge_in(engine: Engine, model_id: int, one_creator_share_bps: int = DEFAULT_ONE_CREATOR_SHARE_BPS, consent: bool = True) -> Judged:
    """Judges every work of the model's lineage (``consent``: weigh the recorded consent evidence
    too; without it, from chain events alone)."""
    findings: list[AuditFinding] = []
    unavailable: list[int] = []
    flags: list[OneCreatorFlag] = []
    lineage = lineage_in(engine, model_id)
    top = lineage[0]
    use = Use.AI_GENERATIVE_TRAINING if top.generative else Use.AI_TRAINING
    with Session(engine) as s:
        for model in lineage:
            if model.training_set_status != "verified":
                unavailable.append(model.model_id)
                continue
            ids = sorted(s.exec(select(ModelTrainingWork.work_id).where(ModelTrainingWork.model_id == model.model_id)).all())
            point = (model.block_number, model.log_index)
            works: dict[int, Work] = {}
            history: dict[int, list[WorkTermsVersion]] = defaultdict(list)
            for chunk in chunked(ids):
                works.update({w.work_id: w for w in s.exec(select(Work).where(col(Work.work_id).in_(chunk)))})
                for t in s.exec(select(WorkTermsVersion).where(col(WorkTermsVersion.work_id).in_(chunk))):
                    history[t.work_id].append(t)
            accepted = _accepted(s, model.platform, point)
            evidence = _consent(s, works, model.block_number) if consent else {}
            aimed_at = None
            if model.base_model_id is not None:  # a fine-tune: is its own set mostly one holder's?
                aimed_at = _one_creator(model, works, len(ids), one_creator_share_bps)
                if aimed_at is not None:
                    flags.append(aimed_at)
            for work_id in ids:
                finding = _judge(model, point, use, works.get(work_id), history[work_id], work_id, accepted, evidence.get(work_id, []))
                if finding.status in OK_STATUSES and aimed_at is not None and works[work_id].manager == aimed_at.holder:
                    finding = _judge_finetune(finding, history[work_id], point, accepted)
                findings.append(finding)
    return Judged(lineage, use, findings, unavailable, flags)


def audit_in(engine: Engine, model_id: int, one_creator_share_bps: int = DEFAULT_ONE_CREATOR_SHARE_BPS) -> ModelAudit:
    """The audit on any database holding the projection (a provenance verifier builds one from
    the chain; it has no consent evidence)."""
    judged = judge_in(engine, model_id, one_creator_share_bps)
    findings = judged.findings
    counts = Counter(f.status for f in findings)
    problems = [f for f in findings if f.status not in OK_STATUSES]
    return ModelAudit(
        model_id, not problems and not judged.unavailable, len(findings), dict(counts), problems, judged.unavailable, judged.use.key,
        judged.one_creator, counts.get("consent_conflict", 0),
    )  # fmt: skip


def _one_creator(model: Model, works: dict[int, Work], total: int, threshold_bps: int) -> OneCreatorFlag | None:
    by_holder = Counter(w.manager for w in works.values())
    if not by_holder or total == 0:
        return None
    holder, n = min(by_holder.items(), key=lambda kv: (-kv[1], kv[0]))
    share = n * 10_000 // total
    return OneCreatorFlag(model.model_id, holder, n, total, share) if share >= threshold_bps else None


def terms_in_force(history: list[WorkTermsVersion], point: tuple[int, int]) -> WorkTermsVersion | None:
    """The work's terms version in force at ``point`` (block, log index): the last one logged before it."""
    return max((t for t in history if (t.effective_block, t.effective_log_index) < point), key=lambda t: t.version, default=None)


def _state(terms: WorkTermsVersion, use: Use, accepted: set[str]) -> str | None:
    """None when the use is allowed (or constrained by accepted constraints), else the status."""
    state = state_of(terms.uses, use)
    if state is State.ALLOWED:
        return None
    if state is State.CONSTRAINED:
        return None if terms.constraints in accepted else "constraints_not_accepted"
    return "training_forbidden"


def _judge(model: Model, point: tuple[int, int], use: Use, work: Work | None, history: list[WorkTermsVersion], work_id: int,
           accepted: set[str], signals: list[Signal]) -> AuditFinding:  # fmt: skip
    if work is None:
        return AuditFinding(work_id, model.model_id, "unregistered", None)
    if (work.block_number, work.log_index) > point:
        return AuditFinding(work_id, model.model_id, "registered_after_model", None)
    in_force = terms_in_force(history, point)
    if in_force is None:  # cannot happen for a registered work (version 1 comes with it); be explicit anyway
        raise Unavailable(f"terms history of work {work_id} is incomplete")
    if in_force.expires_at and in_force.expires_at <= model.registered_at:
        return AuditFinding(work_id, model.model_id, "expired", in_force.version)
    refused = _state(in_force, use, accepted)
    if refused is not None:
        detail = f"{use.key} is {state_of(in_force.uses, use).value}" + (f" (constraints: {in_force.constraints})" if in_force.constraints else "")
        return AuditFinding(work_id, model.model_id, refused, in_force.version, detail)
    reserved = [c for c in conflicts(signals, in_force.uses) if c.use is use and c.stricter]
    if reserved:
        said = "; ".join(f"{c.standard} says {c.signal.value}" for c in reserved)
        return AuditFinding(work_id, model.model_id, "consent_conflict", in_force.version, f"the terms allow {use.key}, but {said}")
    constrained = state_of(in_force.uses, use) is State.CONSTRAINED
    return AuditFinding(work_id, model.model_id, "licensed_under_constraints" if constrained else "licensed", in_force.version)


def _judge_finetune(finding: AuditFinding, history: list[WorkTermsVersion], point: tuple[int, int], accepted: set[str]) -> AuditFinding:
    in_force = terms_in_force(history, point)
    assert in_force is not None  # judged licensed above
    if _state(in_force, Use.CREATOR_FINETUNE, accepted) is None:
        return finding
    detail = "the fine-tune's set is mostly this holder's works, and creator_finetune is " + state_of(in_force.uses, Use.CREATOR_FINETUNE).value
    return AuditFinding(finding.work_id, finding.declared_by, "creator_finetune_not_allowed", finding.terms_version, detail)
