"""Consent evidence: what files carry about a work's uses, recorded with a timestamp as an
evidence report of kind ``consent`` (RFC 8785 JSON, identified by its keccak256, anchored on chain
in the evidence batches like every report), keyed by the file's content hash: what was observed,
when, from where. Conflicts with the terms are not stored: they are recomputed against whichever
terms version is asked about (``consent.consent_of``, the model audit)."""

import json
from typing import Any

from ledger.consent import cawg, xmp
from ledger.consent.signals import Signal, conflicts
from ledger.consent.uses import BY_KEY, State
from ledger.credentials.manifests import Credentials
from ledger.models import EvidenceReport
from ledger.runtime import Ledger
from ledger.services import evidence_reports

SCHEMA = "ai-rights-ledger/consent-evidence/v1"
KIND = "consent"
#: A manager's statement that the terms prevail over one piece of evidence (its source kind).
ACKNOWLEDGEMENT = "acknowledgement"


def file_signals(data: bytes, creds: Credentials | None) -> list[Signal]:
    """The consent signals a file carries: its XMP (IPTC, TDMRep) and its C2PA manifest's
    training-and-data-mining assertion."""
    out = xmp.signals(data)
    if creds is not None and creds.training_mining is not None and (s := cawg.read(*creds.training_mining)):
        out.append(s)
    return out


def save(ledger: Ledger, content_hash: str, account: str, source: dict[str, Any], signals: list[Signal]) -> EvidenceReport:
    """Records the observation, once: the same signals from the same source are the evidence
    already recorded (its first observation's time stands), so retries add nothing."""
    said = [s.as_json() for s in signals]
    for known in evidence_reports.reports_for(ledger, content_hash, KIND):
        doc = json.loads(known.document)
        if doc.get("source") == source and doc.get("signals") == said:
            return known
    observed = evidence_reports.now()
    # The chain's head when observed: a model registered in a later block was registered after
    # the evidence, whatever the clocks of the ledger and the chain say.
    head = int(ledger.w3.eth.block_number)
    document = {"schema": SCHEMA, "contentHash": content_hash, "observedAt": observed, "observedAtBlock": head, "source": source,
                "signals": [s.as_json() for s in signals]}  # fmt: skip
    return evidence_reports.save(ledger, KIND, content_hash, account, "recorded", document)


def record_file(ledger: Ledger, content_hash: str, data: bytes, creds: Credentials | None, account: str) -> list[Signal]:
    """Records the file's own signals, if it carries any, as evidence about its content hash."""
    signals = file_signals(data, creds)
    if signals:
        save(ledger, content_hash, account, {"kind": "embedded", "contentHash": content_hash}, signals)
    return signals


def warnings_for(signals: list[Signal], word: int) -> list[dict[str, Any]]:
    """What a registration answers when the file says less than the terms allow."""
    return [
        {"kind": "consent_conflict", "use": c.use.key, "standard": c.standard, "signal": c.signal.value, "terms": c.terms.value,
         "message": f"the file's {c.standard} says {c.use.key} is {c.signal.value}; the terms say {c.terms.value}"}
        for c in conflicts(signals, word) if c.stricter
    ]  # fmt: skip




def signals_of(document: dict[str, Any]) -> list[Signal]:
    """The signals a consent-evidence document recorded."""
    out = []
    for s in document.get("signals", []):
        uses = {BY_KEY[k]: State(v) for k, v in s.get("uses", {}).items() if k in BY_KEY}
        out.append(Signal(s["standard"], s.get("value", {}), uses, s.get("constraints", "")))
    return out


def split_acknowledgements(
    recorded: list[tuple[EvidenceReport, dict[str, Any]]],
) -> tuple[list[tuple[EvidenceReport, dict[str, Any]]], dict[str, tuple[EvidenceReport, dict[str, Any]]]]:
    """(the evidence, the manager's acknowledgements by the hash of the evidence they settle)."""
    evidence = [(r, d) for r, d in recorded if d["source"].get("kind") != ACKNOWLEDGEMENT]
    acks = {d["source"]["evidence"]: (r, d) for r, d in recorded if d["source"].get("kind") == ACKNOWLEDGEMENT}
    return evidence, acks
