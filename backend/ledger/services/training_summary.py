"""The public summary of a model's training content, in the structure of the EU AI Act's Article
53(1)(d) template (the AI Office's "Template for the public summary of training content for
general-purpose AI models", July 2025): general information, the list of data sources by
category, data processing aspects.

Generated from what the ledger can prove, never from what it is told: the training sets
committed on chain (Merkle roots, lists by CID), the terms each work was under when its model was
registered (their transactions), the platform's acceptances of constraints, the consent evidence
recorded (anchored in evidence batches) and the clean-model audit. Categories the ledger holds
no record of (crawled data, user data, synthetic data...) are stated as not declared here, not
guessed. Every figure carries what it is computed from: work ids, roots, transactions.
"""

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from ledger.consent.uses import Use, state_of
from ledger.content.documents import load_document
from ledger.db import chunked
from ledger.models import ConstraintAcceptance, EvidenceReport, ModelTrainingWork, Work, WorkTermsVersion
from ledger.runtime import Ledger
from ledger.services.model_audit import ModelAudit, terms_in_force
from ledger.services.models import audit, lineage

SCHEMA = "ai-rights-ledger/training-data-summary/v1"
TEMPLATE = "EU AI Act Article 53(1)(d): Template for the public summary of training content for general-purpose AI models (AI Office, July 2025)"
#: The template's size bands per modality (its section 1.3), by count of items the ledger knows.
IMAGE_BANDS = ((1_000_000, "less than 1 million images"), (1_000_000_000, "1 million to 1 billion images"), (None, "more than 1 billion images"))
NOT_DECLARED = "none declared to this ledger: it records licensed works only; the provider states other sources itself"


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def modality(media_type: str | None) -> str:
    if not media_type:
        return "unknown"
    kind = media_type.split("/", 1)[0].lower()
    if kind in ("image", "audio", "video", "text"):
        return kind
    if media_type in ("application/pdf", "application/json", "application/xml"):
        return "text"
    return "other"


def _band(modality_name: str, count: int) -> str:
    if modality_name == "image":
        return next(label for limit, label in IMAGE_BANDS if limit is None or count < limit)
    return f"{count:,} files (the template's {modality_name} bands count tokens or hours, which the ledger does not record)"


def summary(ledger: Ledger, model_id: int) -> dict[str, Any]:
    as_of = int(ledger.w3.eth.block_number)  # what the summary is as of: the same chain gives the same document
    models = lineage(ledger, model_id)
    top = models[0]
    result: ModelAudit = audit(ledger, model_id)
    use = Use(Use.AI_GENERATIVE_TRAINING if top.generative else Use.AI_TRAINING)
    d = ledger.deployment
    works_out: list[dict[str, Any]] = []
    holders: dict[str, list[int]] = defaultdict(list)
    modalities: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    unregistered: list[int] = []
    with Session(ledger.engine) as s:
        for model in models:
            ids = sorted(s.exec(select(ModelTrainingWork.work_id).where(ModelTrainingWork.model_id == model.model_id)).all())
            point = (model.block_number, model.log_index)
            for chunk in chunked(ids):
                works = {w.work_id: w for w in s.exec(select(Work).where(col(Work.work_id).in_(chunk)))}
                history: dict[int, list[WorkTermsVersion]] = defaultdict(list)
                for t in s.exec(select(WorkTermsVersion).where(col(WorkTermsVersion.work_id).in_(chunk))):
                    history[t.work_id].append(t)
                for work_id in chunk:
                    work = works.get(work_id)
                    if work is None:
                        unregistered.append(work_id)
                        continue
                    in_force = terms_in_force(history[work_id], point)
                    meta = load_document(ledger.store, work.metadata_cid).value or {}
                    file = meta.get("file") if isinstance(meta.get("file"), dict) else None
                    kind = modality(file.get("mediaType") if file else None)
                    modalities[kind] += 1
                    sizes[kind] += int(file.get("size") or 0) if file else 0
                    holders[work.manager].append(work_id)
                    works_out.append({
                        "workId": work_id, "contentHash": work.content_hash, "holder": work.manager, "declaredBy": model.model_id,
                        "modality": kind, "registrationTx": work.tx_hash,
                        "termsVersion": in_force.version if in_force else None, "termsTx": in_force.tx_hash if in_force else None,
                        use.key: state_of(in_force.uses, use).value if in_force else None,
                        "constraints": in_force.constraints if in_force else "",
                    })  # fmt: skip
        acceptances = s.exec(select(ConstraintAcceptance).where(ConstraintAcceptance.platform == top.platform)).all()
        hashes = [w["contentHash"] for w in works_out]
        evidence: list[EvidenceReport] = []
        for chunk in chunked(hashes):
            evidence += s.exec(select(EvidenceReport).where(EvidenceReport.kind == "consent", col(EvidenceReport.content_hash).in_(chunk))).all()
    by_standard: Counter[str] = Counter()
    for report in evidence:
        for signal in json.loads(report.document).get("signals", []):
            by_standard[signal["standard"]] += 1
    problems = Counter(p.status for p in result.problems)
    training_sets = [
        {"modelId": m.model_id, "name": m.name, "version": m.version, "merkleRoot": m.training_root, "trainingSetCid": m.training_set_cid,
         "size": m.training_set_size, "status": m.training_set_status, "registrationTx": m.tx_hash, "block": m.block_number}
        for m in models
    ]  # fmt: skip
    return {
        "schema": SCHEMA,
        "template": TEMPLATE,
        "asOfBlock": as_of,
        "chain": {
            "chainId": d.chain_id,
            "contracts": {name: d.contracts[name].address for name in ("ModelRegistry", "WorkRegistry", "EvidenceAnchor") if name in d.contracts},
        },
        "generalInformation": {
            "providerIdentification": {"account": top.platform, "note": "the platform's on-chain account that registered the model"},
            "modelIdentification": {
                "modelId": top.model_id, "name": top.name, "version": top.version, "weightsHash": top.weights_hash,
                "registeredAt": _iso(top.registered_at), "registrationTx": top.tx_hash, "generative": top.generative,
                "baseModels": [{"modelId": m.model_id, "name": m.name, "version": m.version, "registrationTx": m.tx_hash} for m in models[1:]],
            },
            "modalitiesAndSize": {
                "modalities": sorted(modalities),
                "byModality": {k: {"works": n, "bytes": sizes[k], "sizeBand": _band(k, n)} for k, n in sorted(modalities.items())},
                "totalWorks": len(works_out) + len(unregistered),
                "registeredWorks": len(works_out),
                "unregisteredWorkIds": unregistered,
            },
        },
        "dataSources": {
            "publiclyAvailableDatasets": {"declared": False, "note": NOT_DECLARED},
            "privateDatasetsFromThirdParties": {
                "licensedByRightsHolders": {
                    "description": "works registered on chain by their rights holders, each under terms that say, in the CAWG vocabulary, "
                    f"whether it may be used for {use.key}; the training sets are committed on chain as Merkle roots",
                    "trainingSets": training_sets,
                    "rightsHolders": [
                        {"holder": h, "works": len(ids), "workIds": sorted(ids)} for h, ids in sorted(holders.items(), key=lambda kv: (-len(kv[1]), kv[0]))
                    ],
                },
                "otherThirdParties": {"declared": False, "note": NOT_DECLARED},
            },
            "crawledAndScrapedData": {"declared": False, "note": NOT_DECLARED},
            "userData": {"declared": False, "note": NOT_DECLARED},
            "syntheticData": {"declared": False, "note": NOT_DECLARED},
            "otherSources": {"declared": False, "note": NOT_DECLARED},
        },
        "dataProcessing": {
            "respectOfReservationOfRights": {
                "measures": (
                    f"Each work's terms state, per use, allowed, notAllowed or constrained (CAWG training-and-data-mining vocabulary); a "
                    f"{'generative' if top.generative else 'non-generative'} model needs {use.key}. Constrained uses count only under "
                    "constraints the provider accepted on chain. Reservations carried by the files (IPTC plus:DataMining, W3C TDMRep, "
                    "C2PA cawg.training-mining) and by sites' tdmrep.json are recorded as consent evidence; a reservation stricter than "
                    "the terms fails the audit. Fine-tunes mostly on one holder's works need that holder's creator_finetune allowance."
                ),
                "audit": {"clean": result.clean, "use": result.use, "counts": result.counts, "problems": dict(problems),
                          "unavailableSets": result.unavailable_sets},  # fmt: skip
                "constraintsAccepted": [{"constraints": a.constraints, "tx": a.tx_hash, "acceptedAt": _iso(a.accepted_at)} for a in acceptances],
                "consentEvidence": {
                    "reports": len(evidence), "worksWithEvidence": len({r.content_hash for r in evidence}), "signalsByStandard": dict(by_standard),
                    "anchoredReports": sum(1 for r in evidence if r.batch_id is not None), "conflicts": result.consent_conflicts,
                },  # fmt: skip
                "oneCreatorFineTunes": [f.__dict__ for f in result.one_creator],
            },
            "removalOfIllegalContent": {"declared": False, "note": "not recorded by this ledger"},
        },
        "works": works_out,
    }
