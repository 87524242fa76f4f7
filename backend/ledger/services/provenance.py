"""How a finished work was made, and whether only safe AI went into it.

The production graph is walked back from the work's content hash: the records that produced
each file (its device, the device's owner, the author, the tool, the model when AI generated
it, the batch anchoring the record), the files each record used as inputs, and so on; a file
registered here as a work or an output says so. The verdict:

- **safe AI use** when every AI-generated file in the graph (a ``generate`` record, or a file
  registered as an output) came from a model registered here whose clean-model audit passes
  (every work of its training set registered and licensed for training when it was registered);
  otherwise each failing file and its model, and why (not registered; the audit's problems);
- **complete** when every file in the graph has a record or a registration; otherwise the
  files with neither (an input nobody recorded: a reference image, a prompt, a file from
  outside the studio).

The walk is bounded (``MAX_NODES`` files); a graph cut short says so.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from ledger.db import chunked
from ledger.models import Model, Output, Work
from ledger.models.records import Device, ManifestRecord, ProductionRecord, RecordBatch, RecordInput
from ledger.records.typed import ACTIONS
from ledger.runtime import Ledger
from ledger.services.errors import NotFound
from ledger.services.models import audit

MAX_NODES = 20_000


@dataclass
class FileNode:
    content_hash: str
    records: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    work_id: int | None = None
    output: dict[str, Any] | None = None
    manifests: list[dict[str, Any]] = field(default_factory=list)  # what C2PA manifests of this file say

    @property
    def models(self) -> set[int]:
        found = {int(r["modelId"]) for r in self.records if r["action"] == "generate" and r["modelId"]}
        if self.output is not None:
            found.add(int(self.output["modelId"]))
        found.update(int(m["modelId"]) for m in self.manifests if m["aiGenerated"] and m["modelId"])
        return found

    @property
    def unmodelled_ai(self) -> list[dict[str, Any]]:
        """Manifests saying AI generated the file, naming no model registered here."""
        return [m for m in self.manifests if m["aiGenerated"] and not m["modelId"]]

    @property
    def ai_generated(self) -> bool:
        return self.output is not None or any(r["action"] == "generate" for r in self.records) or any(m["aiGenerated"] for m in self.manifests)

    @property
    def known(self) -> bool:
        return bool(self.records) or self.work_id is not None or self.output is not None or bool(self.manifests)

    def as_json(self) -> dict[str, Any]:
        return {
            "contentHash": self.content_hash, "workId": self.work_id, "output": self.output, "aiGenerated": self.ai_generated,
            "inputs": self.inputs, "records": self.records, "manifests": self.manifests,
        }  # fmt: skip


@dataclass(frozen=True)
class Provenance:
    work_id: int | None  # None: a file not registered (yet)
    content_hash: str
    nodes: dict[str, FileNode]
    models: dict[int, dict[str, Any]]
    failures: list[dict[str, Any]]
    unrecorded: list[str]
    truncated: bool

    @property
    def safe_ai_use(self) -> bool:
        return not self.failures

    @property
    def complete(self) -> bool:
        return not self.unrecorded and not self.truncated

    def as_json(self) -> dict[str, Any]:
        return {
            "workId": self.work_id, "contentHash": self.content_hash,
            "verdict": {"safeAiUse": self.safe_ai_use, "complete": self.complete, "failures": self.failures,
                        "unrecorded": self.unrecorded, "truncated": self.truncated},
            "models": {str(m): v for m, v in sorted(self.models.items())},
            "files": [n.as_json() for n in self.nodes.values()],
            "authors": authorship(self),
        }  # fmt: skip


def _load(session: Session, hashes: list[str], nodes: dict[str, FileNode]) -> list[str]:
    """Fills the nodes of ``hashes``; returns their inputs."""
    records: list[ProductionRecord] = []
    for chunk in chunked(hashes):
        records.extend(session.exec(select(ProductionRecord).where(col(ProductionRecord.content_hash).in_(chunk))))
        for w in session.exec(select(Work).where(col(Work.content_hash).in_(chunk))):
            nodes[w.content_hash].work_id = w.work_id
        for o in session.exec(select(Output).where(col(Output.output_hash).in_(chunk))):
            nodes[o.output_hash].output = {"outputHash": o.output_hash, "modelId": o.model_id, "txHash": o.tx_hash}
        for m in session.exec(select(ManifestRecord).where(col(ManifestRecord.content_hash).in_(chunk)).order_by(col(ManifestRecord.manifest_label))):
            nodes[m.content_hash].manifests.append({
                "manifest": m.manifest_label, "signer": m.signer, "validationState": m.validation_state, "aiGenerated": m.ai_generated,
                "softwareAgent": m.software_agent, "modelId": m.model_id, "inputs": json.loads(m.inputs), "ingredients": json.loads(m.ingredients),
            })  # fmt: skip
    by_hash = sorted({r.record_hash for r in records})
    inputs: dict[str, list[str]] = defaultdict(list)
    for chunk in chunked(by_hash):
        for i in session.exec(select(RecordInput).where(col(RecordInput.record_hash).in_(chunk)).order_by(col(RecordInput.position))):
            inputs[i.record_hash].append(i.input_hash)
    devices = {d.address: d for chunk in chunked(sorted({r.device for r in records})) for d in session.exec(select(Device).where(col(Device.address).in_(chunk)))}
    batches = {b.batch_id: b for chunk in chunked(sorted({r.batch_id for r in records if r.batch_id})) for b in session.exec(select(RecordBatch).where(col(RecordBatch.batch_id).in_(chunk)))}
    found: list[str] = [i for h in hashes for m in nodes[h].manifests for i in m["inputs"]]
    for h in hashes:
        for m in nodes[h].manifests:
            nodes[h].inputs.extend(i for i in m["inputs"] if i not in nodes[h].inputs)
    for r in sorted(records, key=lambda r: (r.created_at, r.record_hash)):
        node = nodes[r.content_hash]
        device = devices.get(r.device)
        batch = batches.get(r.batch_id) if r.batch_id else None
        node.records.append({
            "recordHash": r.record_hash, "action": ACTIONS[r.action], "device": r.device, "deviceOwner": device.owner if device else None,
            "deviceLabel": device.label if device else None, "author": r.author, "tool": r.tool, "toolVersion": r.tool_version,
            "modelId": r.model_id, "promptHash": r.prompt_hash, "createdAt": r.created_at, "batchId": r.batch_id, "anchorTx": batch.tx_hash if batch else None,
        })  # fmt: skip
        for h in inputs.get(r.record_hash, []):
            if h not in node.inputs:
                node.inputs.append(h)
            found.append(h)
    return found


def provenance(ledger: Ledger, work_id: int, max_nodes: int = MAX_NODES) -> Provenance:
    with Session(ledger.engine) as s:
        work = s.get(Work, work_id)
    if work is None:
        raise NotFound(f"no work with id {work_id}")
    return provenance_of(ledger, work.content_hash, max_nodes)


def provenance_of(ledger: Ledger, content_hash: str, max_nodes: int = MAX_NODES) -> Provenance:
    """The provenance of any file by its content hash: a finished work before it is registered
    too, so the studio sees the verdict and the authors' proposed shares before choosing owners."""
    content_hash = content_hash.lower()
    with Session(ledger.engine) as s:
        work = s.exec(select(Work).where(Work.content_hash == content_hash)).first()
        nodes: dict[str, FileNode] = {content_hash: FileNode(content_hash)}
        frontier, truncated = [content_hash], False
        while frontier:
            found = _load(s, frontier, nodes)
            frontier = []
            for h in dict.fromkeys(found):
                if h in nodes:
                    continue
                if len(nodes) >= max_nodes:
                    truncated = True
                    break
                nodes[h] = FileNode(h)
                frontier.append(h)
        model_ids = sorted({m for n in nodes.values() for m in n.models})
        registered = {m.model_id: m for chunk in chunked(model_ids) for m in s.exec(select(Model).where(col(Model.model_id).in_(chunk)))}
    models: dict[int, dict[str, Any]] = {}
    for m in model_ids:
        if m not in registered:
            models[m] = {"registered": False, "clean": False}
            continue
        a = audit(ledger, m)
        models[m] = {"registered": True, "clean": a.clean, "name": registered[m].name, "platform": registered[m].platform,
                     "trainingRoot": registered[m].training_root, "works": a.works, "counts": a.counts,
                     "unavailableSets": a.unavailable_sets, "consentConflicts": a.consent_conflicts,
                     "oneCreatorShareBps": ledger.settings.one_creator_share_bps}  # fmt: skip
    failures = []
    for n in nodes.values():
        for m in sorted(n.models):
            if not models[m]["registered"]:
                failures.append({"contentHash": n.content_hash, "modelId": m, "reason": "the model is not registered here"})
            elif not models[m]["clean"]:
                failures.append({"contentHash": n.content_hash, "modelId": m, "reason": f"the model's clean-model audit fails: {models[m]['counts']}"})
        for manifest in n.unmodelled_ai:
            failures.append({"contentHash": n.content_hash, "modelId": None,
                             "reason": f"its C2PA manifest says AI generated it ({manifest['softwareAgent'] or 'an unnamed tool'}), with no model registered here"})  # fmt: skip
    unrecorded = sorted(n.content_hash for n in nodes.values() if not n.known)
    return Provenance(work.work_id if work else None, content_hash, nodes, models, failures, unrecorded, truncated)


def authorship(p: Provenance) -> list[dict[str, Any]]:
    """Each author's share of the graph's records: a proposal for the co-owner shares when the
    studio registers the finished work (the studio decides; nothing is applied)."""
    counts: dict[str, int] = defaultdict(int)
    for n in p.nodes.values():
        for r in n.records:
            counts[r["author"]] += 1
    total = sum(counts.values())
    if not total:
        return []
    from ledger.accounting.allocation import allocate

    authors = sorted(counts, key=lambda a: (-counts[a], int(a, 16)))
    shares = allocate(10_000, [counts[a] for a in authors])
    return [{"account": a, "records": counts[a], "proposedShareBps": s} for a, s in zip(authors, shares)]


CERTIFICATE_SCHEMA = "ai-rights-ledger/provenance-certificate/v1"


def certificate(ledger: Ledger, work_id: int) -> dict[str, Any]:
    """The provenance as a document anyone can check without this ledger: every record whole
    (fields, device, signature) with its Merkle proof in its anchored batch, the contracts to
    check them against, and the verdict (``ledger works verify-provenance``)."""
    from ledger.content.documents import load_document
    from ledger.services.batch_anchoring import tree_of

    p = provenance(ledger, work_id)
    hashes = [r["recordHash"] for n in p.nodes.values() for r in n.records]
    with Session(ledger.engine) as s:
        rows = {r.record_hash: r for chunk in chunked(hashes) for r in s.exec(select(ProductionRecord).where(col(ProductionRecord.record_hash).in_(chunk)))}
        inputs: dict[str, list[str]] = defaultdict(list)
        for chunk in chunked(hashes):
            for i in s.exec(select(RecordInput).where(col(RecordInput.record_hash).in_(chunk)).order_by(col(RecordInput.position))):
                inputs[i.record_hash].append(i.input_hash)
        batches = {b.batch_id: b for chunk in chunked(sorted({r.batch_id for r in rows.values() if r.batch_id})) for b in s.exec(select(RecordBatch).where(col(RecordBatch.batch_id).in_(chunk)))}
    trees = {}
    for batch_id, batch in batches.items():
        listed = [h for h in (load_document(ledger.store, batch.records_cid).value or {}).get("records", []) if isinstance(h, str)]
        trees[batch_id] = tree_of(listed)
    records = {}
    for h, r in sorted(rows.items()):
        entry: dict[str, Any] = {
            "action": ACTIONS[r.action], "contentHash": r.content_hash, "inputs": inputs.get(h, []), "tool": r.tool, "toolVersion": r.tool_version,
            "modelId": r.model_id or 0, "author": r.author, "createdAt": r.created_at, "promptHash": r.prompt_hash or "0x" + "00" * 32,
            "device": r.device, "signature": r.signature, "batchId": r.batch_id, "proof": None,
        }  # fmt: skip
        if r.batch_id in trees:
            entry["proof"] = ["0x" + x.hex() for x in trees[r.batch_id].proof_of((bytes.fromhex(h[2:]),))]
        records[h] = entry
    contracts = {name: ledger.deployment.contracts[name].address for name in ("WorkRegistry", "ModelRegistry", "OutputRegistry", "ProductionRecords")}
    body = p.as_json()
    return {
        "schema": CERTIFICATE_SCHEMA, "chainId": ledger.deployment.chain_id, "contracts": contracts,
        "contractsFromBlock": min(ledger.deployment.contracts[name].block for name in contracts),
        "work": {"workId": p.work_id, "contentHash": p.content_hash}, "verdict": body["verdict"], "models": body["models"],
        "authors": body["authors"], "files": body["files"], "records": records,
    }  # fmt: skip
