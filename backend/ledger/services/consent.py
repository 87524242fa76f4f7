"""A work's consent as a reader sees it: the terms, the evidence recorded about it (its file's
signals, ``consent_evidence``; a site's tdmrep.json, recorded here) with where it disagrees with
the terms, and each co-owner's position.

Co-owners do not veto: the manager's terms govern (an anime title's 300 staff would otherwise
let any one of them block everyone), each owner's recorded position is shown beside them, and a
use the terms allow against an owner's position is that owner's dissent, with its share.
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, select

from ledger.consent import tdmrep
from ledger.consent.signals import Conflict, Signal, conflicts
from ledger.consent.uses import State, Use, as_document, state_of
from ledger.models import ApiKey, EvidenceReport, OwnerPosition
from ledger.runtime import Ledger
from ledger.services import evidence_reports
from ledger.services.consent_evidence import ACKNOWLEDGEMENT, KIND, save, signals_of, split_acknowledgements
from ledger.services.errors import Forbidden, InvalidInput
from ledger.services.works import WorkView, get_work

VETO_RULE = (
    "no veto: the manager's terms govern; each owner's recorded position is shown, and a use the terms allow "
    "against it is that owner's dissent (with its share)"
)


def record_site(ledger: Ledger, key: ApiKey, work_id: int, well_known: bytes, url: str) -> tuple[EvidenceReport, Signal]:
    """Records what a site's ``/.well-known/tdmrep.json`` says about the work's URL on it."""
    view = get_work(ledger, work_id)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2048:
        raise InvalidInput("url must be the work's http(s) address on the site whose tdmrep.json this is (at most 2048 characters)")
    try:
        rules = tdmrep.parse_well_known(well_known)
    except tdmrep.TdmRepError as e:
        raise InvalidInput(str(e)) from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    rule = tdmrep.rule_for(rules, path)
    if rule is None:
        raise InvalidInput(f"no rule of this tdmrep.json covers {path}: it says nothing about the work's address")
    signal = tdmrep.read(rule.reservation, rule.policy)
    assert signal is not None  # parse_well_known accepts 0 and 1 only
    source = {
        "kind": "tdmrep.json", "site": f"{parts.scheme}://{parts.netloc}", "url": url.strip(), "path": path,
        "fileSha256": "0x" + hashlib.sha256(well_known).hexdigest(), "rule": {"location": rule.location, "tdm-reservation": rule.reservation, "tdm-policy": rule.policy},
    }  # fmt: skip
    report = save(ledger, view.work.content_hash, str(key.holder_address or key.role), source, [signal])
    return report, signal


def acknowledge(ledger: Ledger, key: ApiKey, work_id: int, document_hash: str) -> EvidenceReport:
    """The manager records that the terms prevail over a piece of the work's consent evidence
    (e.g. a file's old metadata, from before the studio licensed the work): an evidence report of
    its own, anchored like the rest; the audit stops counting that evidence for models registered
    after it. Recording it again changes nothing."""
    view = get_work(ledger, work_id)
    if view.work.manager != key.holder_address:
        raise Forbidden(f"only the work's manager {view.work.manager} may acknowledge its consent evidence")
    report = evidence_reports.get_report(ledger, document_hash)
    doc = json.loads(report.document)
    if report.kind != KIND or report.content_hash != view.work.content_hash or doc["source"].get("kind") == ACKNOWLEDGEMENT:
        raise InvalidInput(f"{document_hash} is not consent evidence about work {work_id}")
    source = {"kind": ACKNOWLEDGEMENT, "evidence": report.document_hash, "termsVersion": view.work.terms_version,
              "statement": "the work's terms prevail over this evidence"}  # fmt: skip
    return save(ledger, view.work.content_hash, str(key.holder_address), source, [])


@dataclass(frozen=True)
class Evidence:
    report: EvidenceReport
    document: dict[str, Any]
    signals: list[Signal]
    conflicts: list[Conflict]
    #: The manager's acknowledgement that the terms prevail over this evidence, if recorded.
    acknowledged: dict[str, Any] | None = None


@dataclass(frozen=True)
class OwnerStand:
    account: str
    share_bps: int
    positions: dict[str, str] | None  # None: no position recorded
    dissent: list[str]  # uses the terms allow and this owner does not


@dataclass(frozen=True)
class Consent:
    view: WorkView
    evidence: list[Evidence]
    owners: list[OwnerStand]


def consent_of(ledger: Ledger, work_id: int) -> Consent:
    view = get_work(ledger, work_id)
    word = view.work.uses
    evidence = []
    recorded = [(r, json.loads(r.document)) for r in evidence_reports.reports_for(ledger, view.work.content_hash, KIND)]
    observed, acks = split_acknowledgements(recorded)
    for report, doc in observed:
        signals = signals_of(doc)
        ack = acks.get(report.document_hash)
        settled = None if ack is None else {"documentHash": ack[0].document_hash, "by": ack[0].account, "at": ack[1]["observedAt"], "termsVersion": ack[1]["source"]["termsVersion"]}
        evidence.append(Evidence(report, doc, signals, conflicts(signals, word), settled))
    with Session(ledger.engine) as s:
        positions = {p.account: p.positions for p in s.exec(select(OwnerPosition).where(OwnerPosition.work_id == work_id))}
    owners = []
    for o in view.owners:
        mine = positions.get(o.account)
        dissent = []
        if mine is not None:
            dissent = [u.key for u in Use if state_of(word, u) is not State.NOT_ALLOWED and state_of(mine, u) is State.NOT_ALLOWED]
        owners.append(OwnerStand(o.account, o.share_bps, as_document(mine) if mine is not None else None, dissent))
    return Consent(view, evidence, owners)
