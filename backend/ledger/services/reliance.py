"""Reliance reports: does an output look like the works it links to, and only those?

Checked for every output registered with its file (or its fingerprints), before its
transaction. Findings:

- ``undeclared_similar``: a registered work within the calibrated threshold that the output
  does not link to (the copy a platform left out);
- ``outside_training_set``: a training link to a work its model's lineage was not trained on
  (the service refuses those before the check; reported for the record when codes come with
  a request relayed around it);
- ``declared_dissimilar``: a linked work beyond the threshold. Informational: a model trained on
  a work need not reproduce its look, so this never refuses on its own;
- ``declared_unchecked``: a linked work with no fingerprints to compare (registered by hash);
- ``ingredient_not_linked``: the file's own C2PA manifest lists an ingredient that was a work
  registered here (its manifest, signed by this ledger, names it) and the output does not link
  to it: the file says it was made from the work;
- ``ingredient_looks_like_work``: an ingredient from another tool (its manifest keeps only a
  title and a thumbnail) whose thumbnail the calibrated similarity matches with a registered
  work the output does not link to.

The model's policy decides: ``warn`` registers the output and answers with the report;
``refuse`` answers 409 with it when there is an undeclared similar work or a link outside the
training set. Either way the report is kept and hashed (``evidence_reports``).
"""

from dataclasses import dataclass
from typing import Any, Literal

from sqlmodel import Session

from ledger.models import ApiKey, Model, ReliancePolicy
from ledger.runtime import Ledger
from ledger.credentials.manifests import Credentials
from ledger.services import credentials, evidence_reports
from ledger.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from ledger.services.similarity import decisive_label, distances_to, search, work_hashes
from ledger.evidence.thresholds import thresholds

Policy = Literal["warn", "refuse"]
POLICIES: tuple[str, ...] = ("warn", "refuse")
BLOCKING = ("undeclared_similar", "outside_training_set", "ingredient_not_linked", "ingredient_looks_like_work")


@dataclass(frozen=True)
class RelianceResult:
    outcome: str  # clear, warned, refused
    report_hash: str
    findings: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "report": self.report_hash, "findings": self.findings}


def policy_of(ledger: Ledger, model_id: int) -> Policy:
    with Session(ledger.engine) as s:
        row = s.get(ReliancePolicy, model_id)
    return "refuse" if row is not None and row.policy == "refuse" else "warn"


def set_policy(ledger: Ledger, key: ApiKey, model_id: int, policy: str) -> Policy:
    if policy not in POLICIES:
        raise InvalidInput(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    with Session(ledger.engine) as s:
        model = s.get(Model, model_id)
        if model is None:
            raise NotFound(f"no model with id {model_id}")
        if model.platform != key.holder_address:
            raise Forbidden(f"model {model_id} belongs to platform {model.platform}, not to this key's account")
        row = s.get(ReliancePolicy, model_id) or ReliancePolicy(model_id=model_id, policy=policy, updated_at=evidence_reports.now())
        row.policy, row.updated_at = policy, evidence_reports.now()
        s.add(row)
        s.commit()
    return policy  # type: ignore[return-value]


def check(
    ledger: Ledger,
    platform: str,
    output_hash: str,
    model_id: int,
    links: tuple[tuple[int, int, int], ...],
    queries: dict[str, list[bytes]],
    windows: dict[str, list[bytes]],
    trained: tuple[set[int], bool],
    where: str = "",
    creds: "Credentials | None" = None,
) -> RelianceResult:
    """``trained``: (works the model's lineage trained on, whether some set could not be checked).
    Raises Conflict (409) when the model's policy is ``refuse`` and a blocking finding exists."""
    label = decisive_label(queries)
    declared = {w for w, *_ in links}
    training = {w for w, _, kind in links if kind == 0}
    findings: list[dict[str, Any]] = []
    if label is not None:
        cut = thresholds()[label]
        for m in search(ledger, queries, k=ledger.settings.similarity_k, exclude=output_hash, only_matches=True, windows=windows):
            if m.work_id is not None and m.work_id not in declared:
                findings.append({"kind": "undeclared_similar", "workId": m.work_id, **evidence_reports.match_json(m)})
        hashes = work_hashes(ledger, sorted(declared))
        measured = distances_to(ledger, queries, windows, list(hashes.values()))
        for work_id in sorted(declared):
            d = measured.get(hashes.get(work_id, ""), {}).get(label)
            if d is None:
                findings.append({"kind": "declared_unchecked", "workId": work_id, "method": label})
            elif d > cut.distance:
                findings.append({"kind": "declared_dissimilar", "workId": work_id, "method": label, "distance": d,
                                 "threshold": cut.distance, "score": cut.score(d)})  # fmt: skip
    c2pa_json = None
    if creds is not None:
        c2pa_json = {k: v for k, v in creds.as_json().items() if k != "ledger"}
        named = set()
        for work_id, title in credentials.ledger_works(ledger, creds):
            named.add(work_id)
            if work_id not in declared:
                findings.append({"kind": "ingredient_not_linked", "workId": work_id, "ingredient": title})
        for work_id, title, match in credentials.similar_ingredients(ledger, creds):
            if work_id not in declared and work_id not in named:
                findings.append({"kind": "ingredient_looks_like_work", "workId": work_id, "ingredient": title, **match})
    in_set, unknown = trained
    if not unknown:
        for work_id in sorted(training - in_set):
            findings.append({"kind": "outside_training_set", "workId": work_id, "modelId": model_id})
    policy = policy_of(ledger, model_id)
    blocking = [f for f in findings if f["kind"] in BLOCKING]
    outcome = "clear" if not blocking else ("refused" if policy == "refuse" else "warned")
    doc = {
        "schema": evidence_reports.RELIANCE_SCHEMA,
        "outputHash": output_hash,
        "modelId": model_id,
        "platform": platform,
        "links": [{"workId": w, "weightBps": weight, "kind": ("training", "reference")[kind]} for w, weight, kind in links],
        "fingerprints": {m: "0x" + codes[0].hex() for m, codes in sorted(queries.items())},
        "policy": policy,
        "findings": findings,
        "c2pa": c2pa_json,
        "outcome": outcome,
        "checkedAt": evidence_reports.now(),
    }
    report = evidence_reports.save(ledger, "reliance", output_hash, platform, outcome, doc)
    result = RelianceResult(outcome, report.document_hash, findings)
    if outcome == "refused":
        names = ", ".join(f"{f['kind']} work {f['workId']}" for f in blocking)
        raise Conflict(f"{where}model {model_id}'s reliance policy is refuse: {names}", reliance=result.as_json())
    return result
