"""Generated outputs and their attribution links.

Registration is idempotent by output hash: resubmitting an output already on record with the
same model and links answers with the existing record; with different ones it is a conflict.
Links are checked here against the projection (clear errors before any transaction) and again
by the contract, which is authoritative: every linked work must be licensed for training at the
block the output is registered in.
"""

import hashlib
import time
from dataclasses import dataclass, field, replace

from sqlmodel import Session, col, select
from web3.types import TxReceipt

from ledger.chain.links import pack_links
from ledger.consent.uses import State, Use, state_of
from ledger.db import chunked
from ledger.models import ApiKey, ConstraintAcceptance, Model, ModelTrainingWork, Output, OutputLink, OutputLinkCorrection, Work, WorkOwner
from ledger.runtime import Ledger
from ledger.services import credentials, fingerprints, reliance
from ledger.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from ledger.services.reliance import RelianceResult
from ledger.services.similarity import windows_of
from ledger.services.signing import SignatureRequired, execute

TOTAL_WEIGHT = 10_000
#: OutputRegistry.LinkKind: the work is in the model's training set, or was an input of the generation.
TRAINING, REFERENCE = 0, 1
KIND_NAMES = {TRAINING: "training", REFERENCE: "reference"}
MAX_LINKS = 64
MAX_BATCH = 5_000


@dataclass(frozen=True)
class OutputRequest:
    output_hash: bytes
    model_id: int
    links: tuple[tuple[int, int, int], ...]  # (work_id, weight_bps, kind: TRAINING or REFERENCE)
    #: The generated file, or codes the platform computed (name@version -> codes): either one
    #: makes the ledger check the output's reliance on registered works (``services.reliance``).
    file: bytes | None = field(default=None, compare=False, repr=False)
    codes: dict[str, list[bytes]] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class LinkView:
    work_id: int
    weight_bps: int
    owners: list[WorkOwner]
    kind: int = TRAINING
    #: Whether the work is in the training set of the output's model or of a model it was
    #: fine-tuned from (None: a set in that lineage is not available to check). The ledger refuses
    #: a training link outside it; one relayed around that check (the contract checks licenses,
    #: not membership) is recorded and flagged here. For a reference link it is information only.
    in_training_set: bool | None = None


@dataclass(frozen=True)
class CorrectionView:
    """Links an arbiter set on the output, carrying out an upheld attribution dispute."""

    version: int
    dispute_id: int
    tx_hash: str
    effective_at: int
    links: list[tuple[int, int, int]]  # (work, weight bps, kind)


@dataclass(frozen=True)
class OutputView:
    output: Output
    model: Model
    links: list[LinkView]  # as registered
    derived_work_id: int | None  # a work registered with this output's hash as its content hash
    corrections: list[CorrectionView] = field(default_factory=list)  # oldest first; the last one is in force


@dataclass(frozen=True)
class OutputsResult:
    created: list[OutputView]
    existing: list[OutputView]
    #: output hash -> the reliance check made while registering it (outputs sent with a file or codes)
    reliance: dict[str, RelianceResult] = field(default_factory=dict)


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def normalise_links(
    links: tuple[tuple[int, int, int], ...] | list[tuple[int, int, int]], where: str = "", allow_none: bool = False
) -> tuple[tuple[int, int, int], ...]:
    """(work, weight bps, kind) links checked as the contract checks them, sorted by work.
    ``allow_none``: an output registered without links (its usage pays its model's pool)."""
    if not allow_none and not links:
        raise InvalidInput(f"{where}at least one link is needed")
    if len(links) > MAX_LINKS:
        raise InvalidInput(f"{where}an output has at most {MAX_LINKS} attribution links, got {len(links)}")
    if not links:
        return ()
    out = tuple(sorted(links))
    ids = [w for w, *_ in out]
    if len(set(ids)) != len(ids):
        raise InvalidInput(f"{where}a work is linked more than once")
    if any(w <= 0 for w in ids):
        raise InvalidInput(f"{where}work ids must be positive")
    if any(kind not in KIND_NAMES for *_, kind in out):
        raise InvalidInput(f"{where}a link's kind is training or reference")
    if any(weight <= 0 for _, weight, _ in out):
        raise InvalidInput(f"{where}link weights must be positive basis points")
    total = sum(weight for _, weight, _ in out)
    if total != TOTAL_WEIGHT:
        raise InvalidInput(f"{where}link weights sum to {total}; they must sum to {TOTAL_WEIGHT} basis points")
    return out


def _normalise(req: OutputRequest, where: str) -> OutputRequest:
    if len(req.output_hash) != 32 or req.output_hash == bytes(32):
        raise InvalidInput(f"{where}output_hash must be 32 non-zero bytes (0x + 64 hex digits)")
    links = normalise_links(req.links, where, allow_none=True)
    if req.file is not None and hashlib.sha256(req.file).digest() != req.output_hash:
        raise InvalidInput(f"{where}output_hash is not the SHA-256 of the uploaded file")
    return replace(req, links=links)


Trained = dict[int, tuple[set[int], bool]]  # model id -> (training works of its lineage, some set unknown)


def _check_against_projection(session: Session, key: ApiKey, reqs: list[OutputRequest]) -> Trained:
    """Refuses what the contract would, and training links outside the model's lineage; returns
    each model's lineage membership of the training links, looked up once per model."""
    models = {m.model_id: m for m in session.exec(select(Model).where(col(Model.model_id).in_({r.model_id for r in reqs})))}
    work_ids = {w for r in reqs for w, *_ in r.links}
    works = {w.work_id: w for w in session.exec(select(Work).where(col(Work.work_id).in_(work_ids)))}
    now = int(time.time())
    constraints = {w.constraints for w in works.values() if w.constraints}
    accepted = {
        (a.platform, a.constraints)
        for a in session.exec(select(ConstraintAcceptance).where(ConstraintAcceptance.platform == key.holder_address, col(ConstraintAcceptance.constraints).in_(constraints)))
    } if constraints else set()  # fmt: skip
    wanted: dict[int, set[int]] = {}
    for r in reqs:
        wanted.setdefault(r.model_id, set()).update(w for w, _, kind in r.links if kind == TRAINING)
    lineages: Trained = {m: _in_training_sets(session, m, ws) for m, ws in wanted.items() if m in models}
    for i, r in enumerate(reqs):
        where = f"output {i}: " if len(reqs) > 1 else ""
        model = models.get(r.model_id)
        if model is None:
            raise InvalidInput(f"{where}unknown model {r.model_id}")
        if model.platform != key.holder_address:
            raise Forbidden(f"{where}model {r.model_id} belongs to platform {model.platform}, not to this key's account")
        trained, unknown = lineages[r.model_id]
        for work_id, _, kind in r.links:
            work = works.get(work_id)
            if work is None:
                raise InvalidInput(f"{where}work {work_id} is not registered")
            if work.expires_at and work.expires_at <= now:
                raise InvalidInput(f"{where}the license of work {work_id} expired at {work.expires_at}")
            if kind == TRAINING:
                state = state_of(work.uses, Use.AI_GENERATIVE_TRAINING)
                if state is State.NOT_ALLOWED:
                    raise InvalidInput(f"{where}work {work_id} does not allow generative training (terms v{work.terms_version})")
                if state is State.CONSTRAINED and (key.holder_address, work.constraints) not in accepted:
                    raise InvalidInput(
                        f"{where}work {work_id} allows generative training only under the constraints {work.constraints!r}, "
                        "which this platform has not accepted (POST /platform/constraint-acceptances)"
                    )
                if not unknown and work_id not in trained:
                    raise InvalidInput(
                        f"{where}work {work_id} is not in the training set of model {r.model_id} or a model it was fine-tuned "
                        "from: a training link must be (link it as kind reference if it was an input of the generation)"
                    )
            elif state_of(work.uses, Use.REFERENCE) is not State.ALLOWED:
                raise InvalidInput(f"{where}work {work_id} does not allow reference use (terms v{work.terms_version}): a reference link needs it")
    return lineages


def _same(existing: OutputView, req: OutputRequest) -> bool:
    return existing.output.model_id == req.model_id and tuple((l.work_id, l.weight_bps, l.kind) for l in existing.links) == req.links


def register_outputs(ledger: Ledger, key: ApiKey, requests: list[OutputRequest]) -> OutputsResult | SignatureRequired:
    if not requests:
        raise InvalidInput("no outputs given")
    if len(requests) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} outputs per request")
    reqs = [_normalise(r, f"output {i}: " if len(requests) > 1 else "") for i, r in enumerate(requests)]
    unique: dict[bytes, OutputRequest] = {}
    for r in reqs:
        if r.output_hash in unique and unique[r.output_hash] != r:
            raise InvalidInput(f"output {_hex(r.output_hash)} appears twice with different model or links")
        unique[r.output_hash] = r
    ledger.indexer.sync()
    existing = {v.output.output_hash: v for v in get_outputs(ledger, [_hex(h) for h in unique])}
    for h, r in unique.items():
        seen = existing.get(_hex(h))
        if seen is not None and not _same(seen, r):
            raise Conflict(
                f"output {_hex(h)} is already registered (output {seen.output.output_id}) with another model or links",
                output_id=seen.output.output_id,
            )
    new = [r for h, r in unique.items() if _hex(h) not in existing]
    created: list[OutputView] = []
    if new:
        with Session(ledger.engine) as s:
            lineages = _check_against_projection(s, key, new)
        checked = _check_reliance(ledger, key, new, lineages)
        per_tx = ledger.settings.max_outputs_per_tx
        batches = [new[i : i + per_tx] for i in range(0, len(new), per_tx)]
        receipts: list[TxReceipt] = []
        for batch in batches:
            call = ledger.call(
                "OutputRegistry", "registerOutputs", [(r.output_hash, r.model_id, pack_links(r.links)) for r in batch]
            )
            outcome = execute(ledger, key, call)
            if isinstance(outcome, SignatureRequired):
                if len(batches) > 1:
                    raise InvalidInput(f"a self-signed batch holds at most {per_tx} new outputs (one transaction)")
                return outcome
            receipts.append(outcome)
        ledger.indexer.sync(to_block=max(int(r["blockNumber"]) for r in receipts))
        created = get_outputs(ledger, [_hex(r.output_hash) for r in new])
    else:
        checked = {}
    return OutputsResult(created, [v for v in existing.values()], checked)


def _check_reliance(ledger: Ledger, key: ApiKey, reqs: list[OutputRequest], lineages: Trained) -> dict[str, RelianceResult]:
    """Fingerprints each output sent with its file or codes and checks it; a refusal (409) stops
    the whole request before any transaction."""
    out: dict[str, RelianceResult] = {}
    platform = key.holder_address or ""
    for i, r in enumerate(reqs):
        where = f"output {i}: " if len(reqs) > 1 else ""
        h = _hex(r.output_hash)
        creds = None
        if r.file is not None:
            cid = ledger.store.put(r.file)
            prints = fingerprints.record_file(ledger, h, r.file, "output_upload", cid)
            queries, windows = prints.queries, windows_of(prints.indexed)
            creds = credentials.read_and_record(ledger, h, r.file, "output_upload")
        elif r.codes:
            fingerprints.record_codes(ledger, h, r.codes, "output_fingerprints")
            queries, windows = r.codes, windows_of(r.codes)
        else:
            continue
        out[h] = reliance.check(ledger, platform, h, r.model_id, r.links, queries, windows, lineages[r.model_id], where, creds)
    return out


def get_outputs(ledger: Ledger, hashes: list[str]) -> list[OutputView]:
    """Outputs by hash with their model, links and the linked works' owners, in the given order."""
    hashes = [h.lower() for h in hashes]
    with Session(ledger.engine) as s:
        outputs: dict[str, Output] = {}
        for chunk in chunked(hashes):
            outputs.update({o.output_hash: o for o in s.exec(select(Output).where(col(Output.output_hash).in_(chunk)))})
        return _views(s, [outputs[h] for h in hashes if h in outputs])


def _views(s: Session, outputs: list[Output]) -> list[OutputView]:
    if not outputs:
        return []
    ids = [o.output_id for o in outputs]
    links: dict[int, list[OutputLink]] = {}
    for chunk in chunked(ids):
        for link in s.exec(select(OutputLink).where(col(OutputLink.output_id).in_(chunk))):
            links.setdefault(link.output_id, []).append(link)
    work_ids = {l.work_id for ls in links.values() for l in ls}
    owners: dict[int, list[WorkOwner]] = {}
    for o in s.exec(select(WorkOwner).where(col(WorkOwner.work_id).in_(work_ids))):
        owners.setdefault(o.work_id, []).append(o)
    models = {m.model_id: m for m in s.exec(select(Model).where(col(Model.model_id).in_({o.model_id for o in outputs})))}
    derived = dict(
        s.exec(select(Work.content_hash, Work.work_id).where(col(Work.content_hash).in_([o.output_hash for o in outputs]))).all()
    )
    trained = {model_id: _in_training_sets(s, model_id, work_ids) for model_id in models}
    corrections: dict[int, dict[int, list[OutputLinkCorrection]]] = {}
    for chunk in chunked(ids):
        for c in s.exec(select(OutputLinkCorrection).where(col(OutputLinkCorrection.output_id).in_(chunk))):
            corrections.setdefault(c.output_id, {}).setdefault(c.version, []).append(c)
    return [
        OutputView(
            o,
            models[o.model_id],
            [
                LinkView(
                    l.work_id, l.weight_bps, sorted(owners.get(l.work_id, []), key=lambda w: int(w.account, 16)), l.kind,
                    True if l.work_id in trained[o.model_id][0] else (None if trained[o.model_id][1] else False),
                )
                for l in sorted(links.get(o.output_id, []), key=lambda l: l.work_id)
            ],
            derived.get(o.output_hash),
            [
                CorrectionView(v, rows[0].dispute_id, rows[0].tx_hash, rows[0].effective_at, sorted((c.work_id, c.weight_bps, c.kind) for c in rows))
                for v, rows in sorted(corrections.get(o.output_id, {}).items())
            ],
        )
        for o in outputs
    ]


def _in_training_sets(s: Session, model_id: int, work_ids: set[int]) -> tuple[set[int], bool]:
    """Which of ``work_ids`` the model's lineage (itself, then each base) trained on, and whether
    some set in that lineage could not be checked (its list unavailable, or a base unknown)."""
    lineage, unknown, current = [], False, s.get(Model, model_id)
    while current is not None and len(lineage) < 16:
        lineage.append(current.model_id)
        unknown = unknown or current.training_set_status != "verified"
        if current.base_model_id is None:
            break
        base = s.get(Model, current.base_model_id)
        unknown = unknown or base is None
        current = base
    found: set[int] = set()
    for chunk in chunked(sorted(work_ids)):
        found.update(
            s.exec(select(ModelTrainingWork.work_id).where(col(ModelTrainingWork.model_id).in_(lineage), col(ModelTrainingWork.work_id).in_(chunk))).all()
        )
    return found, unknown


def get_output(ledger: Ledger, output_hash: str) -> OutputView:
    found = get_outputs(ledger, [output_hash])
    if not found:
        raise NotFound(f"no output with hash {output_hash}")
    return found[0]


def outputs_of_work(ledger: Ledger, work_id: int, limit: int, offset: int) -> list[OutputView]:
    with Session(ledger.engine) as s:
        if s.get(Work, work_id) is None:
            raise NotFound(f"no work with id {work_id}")
        stmt = (
            select(Output)
            .where(col(Output.output_id).in_(select(OutputLink.output_id).where(OutputLink.work_id == work_id)))
            .order_by(col(Output.output_id))
            .limit(limit)
            .offset(offset)
        )
        return _views(s, list(s.exec(stmt).all()))
