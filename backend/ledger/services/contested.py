"""Contested registrations: a file that looks like a work another holder registered first.

Checked for every work registered with its file, before its transaction: the file's
fingerprints are searched for registered works within the calibrated threshold whose manager
and owners do not include the registering holder. The holder chooses what a match does:
``warn`` (registered, 201 with the matches as warnings) or ``refuse`` (409 with them). Either
way the check is kept as an evidence report, whose hash the answer gives.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlmodel import Session, col, select

from ledger.evidence.fingerprints import FileFingerprints
from ledger.models import WorkOwner
from ledger.runtime import Ledger
from ledger.services import evidence_reports
from ledger.services.errors import Conflict
from ledger.services.similarity import Match, search, windows_of

OnSimilar = Literal["warn", "refuse"]


@dataclass(frozen=True)
class RegistrationCheck:
    matches: list[Match]
    report_hash: str
    warnings: list[dict[str, Any]] = field(default_factory=list)


def _others(ledger: Ledger, holder: str, matches: list[Match]) -> list[Match]:
    ids = [m.work_id for m in matches if m.work_id is not None]
    with Session(ledger.engine) as s:
        owned = set(s.exec(select(WorkOwner.work_id).where(col(WorkOwner.work_id).in_(ids), WorkOwner.account == holder)).all()) if ids else set()
    return [m for m in matches if m.work_id is not None and m.work_manager != holder and m.work_id not in owned]


def check(ledger: Ledger, holder: str, content_hash: str, title: str, prints: FileFingerprints, on_similar: OnSimilar, where: str = "") -> RegistrationCheck:
    """Raises Conflict (409) when ``on_similar`` is ``refuse`` and another holder's work matches."""
    found = _others(ledger, holder, search(ledger, prints.queries, k=ledger.settings.similarity_k, exclude=content_hash, only_matches=True, windows=windows_of(prints.indexed)))
    outcome = "clear" if not found else ("refused" if on_similar == "refuse" else "warned")
    matches = [evidence_reports.match_json(m) for m in found]
    doc = {
        "schema": evidence_reports.REGISTRATION_SCHEMA,
        "contentHash": content_hash,
        "account": holder,
        "title": title,
        "iscc": prints.iscc,
        "fingerprints": {label: "0x" + codes[0].hex() for label, codes in sorted(prints.indexed.items())},
        "onSimilar": on_similar,
        "matches": matches,
        "outcome": outcome,
        "checkedAt": evidence_reports.now(),
    }
    report = evidence_reports.save(ledger, "registration", content_hash, holder, outcome, doc)
    if outcome == "refused":
        first = found[0]
        raise Conflict(
            f"{where}the file looks like work {first.work_id}, registered by {first.work_manager} "
            f"({first.method} distance {first.distance} <= {first.threshold}); "
            "register with on_similar=warn to register anyway, or contest that registration",
            matches=matches, evidence_report=report.document_hash,
        )  # fmt: skip
    warnings = [
        {"kind": "similar_to_registered_work", **m,
         "message": f"looks like work {m['workId']} registered by {m['workManager']} ({m['method']} distance {m['distance']})"}
        for m in matches
    ]  # fmt: skip
    return RegistrationCheck(found, report.document_hash, warnings)
