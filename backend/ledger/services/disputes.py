"""Disputes: a holder contests a work's registration or an output's attribution; an arbiter decides.

Opening a dispute stores the claimant's evidence as a content-addressed document (their
statement, their own file if they send it, what the ledger's fingerprints say about it, and the
ledger's earlier reports on the subject) and records the dispute on chain
(``DisputeRegistry.openDispute``) under the claimant's account. The arbiter's decision is
another event; an upheld registration dispute is then carried out on the work itself
(``WorkRegistry.reassign``: the claimant becomes manager and owner from that block on), naming
the dispute. Retrying a decision whose correction did not go through finishes it.
"""

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from eth_utils import to_checksum_address
from sqlmodel import Session, col, select

from ledger.chain.registry import TOTAL_BPS, Owner, WorkState, sort_owners
from ledger.models import ApiKey, Dispute, EvidenceReport, FileEvidence, Output, Work, WorkOwner
from ledger.chain.calls import Call
from ledger.chain.links import pack_links
from ledger.runtime import Ledger
from ledger.services import fingerprints, outputs, similarity
from ledger.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from ledger.services.signing import SignatureRequired, execute, execute_for_event
from ledger.content.canonical import canonical

EVIDENCE_SCHEMA = "ai-rights-ledger/dispute-evidence/v1"
DECISION_SCHEMA = "ai-rights-ledger/dispute-decision/v1"
KIND_CODES = {"registration": 0, "attribution": 1}
MAX_STATEMENT = 20_000

Kind = Literal["registration", "attribution"]


@dataclass(frozen=True)
class DisputeRequest:
    kind: Kind
    statement: str
    work_id: int | None = None  # registration: the contested work
    output_hash: str | None = None  # attribution: the contested output
    claimed_work_id: int | None = None  # the claimant's own registered work, if any
    file: bytes | None = None  # the claimant's own copy of the file


def _owned(session: Session, work_id: int, account: str) -> bool:
    work = session.get(Work, work_id)
    if work is None:
        return False
    return work.manager == account or session.get(WorkOwner, (work_id, account)) is not None


def _file_evidence(ledger: Ledger, req: DisputeRequest, contested_hash: str | None) -> dict[str, Any] | None:
    """What the claimant's file shows: its hash, where it is stored, and how it compares with the
    contested file (the same bytes, or the ledger's similarity methods)."""
    if req.file is None:
        return None
    content_hash = "0x" + hashlib.sha256(req.file).hexdigest()
    cid = ledger.store.put(req.file)
    prints = fingerprints.record_file(ledger, content_hash, req.file, "dispute_upload", cid)
    out: dict[str, Any] = {"contentHash": content_hash, "cid": cid, "iscc": prints.iscc}
    if contested_hash is not None:
        out["identicalToContested"] = content_hash == contested_hash
        distances = similarity.distances_to(ledger, prints.queries, similarity.windows_of(prints.indexed), [contested_hash])
        out["distancesToContested"] = distances.get(contested_hash, {})
    return out


def open_dispute(ledger: Ledger, key: ApiKey, req: DisputeRequest) -> Dispute | SignatureRequired:
    claimant = key.holder_address
    if claimant is None:
        raise Forbidden("this key has no on-chain account")
    if req.kind not in KIND_CODES:
        raise InvalidInput(f"kind must be registration or attribution, got {req.kind!r}")
    if not req.statement.strip() or len(req.statement) > MAX_STATEMENT:
        raise InvalidInput(f"statement: say in 1 to {MAX_STATEMENT} characters why the claim is right")
    ledger.indexer.sync()
    with Session(ledger.engine) as s:
        if req.claimed_work_id is not None and not _owned(s, req.claimed_work_id, claimant):
            raise Forbidden(f"work {req.claimed_work_id} is not yours: claim with a work you manage or co-own")
        if req.kind == "registration":
            work = s.get(Work, req.work_id) if req.work_id else None
            if work is None:
                raise NotFound(f"no work with id {req.work_id}")
            if _owned(s, work.work_id, claimant):
                raise InvalidInput(f"work {work.work_id} is already yours")
            contested_hash: str | None = work.content_hash
            subject = {"workId": work.work_id, "contentHash": work.content_hash, "registeredBy": work.manager,
                       "registeredWithFile": (ev := s.get(FileEvidence, work.content_hash)) is not None and ev.file_cid is not None}  # fmt: skip
        else:
            if req.output_hash is None or req.claimed_work_id is None:
                raise InvalidInput("an attribution dispute names the output (output_hash) and your work it relies on (claimed_work_id)")
            output = s.exec(select(Output).where(Output.output_hash == req.output_hash.lower())).first()
            if output is None:
                raise NotFound(f"no output with hash {req.output_hash}")
            contested_hash = output.output_hash
            subject = {"outputHash": output.output_hash, "modelId": output.model_id}
        duplicate = s.exec(
            select(Dispute).where(
                Dispute.claimant == claimant, Dispute.state == "open", Dispute.kind == req.kind,
                Dispute.work_id == req.work_id if req.kind == "registration" else Dispute.output_hash == contested_hash,
            )
        ).first()  # fmt: skip
        if duplicate is not None:
            raise Conflict(f"you already have dispute {duplicate.dispute_id} open about this", dispute_id=duplicate.dispute_id)
        reports = [r.document_hash for r in s.exec(select(EvidenceReport).where(EvidenceReport.content_hash == contested_hash).order_by(col(EvidenceReport.id)))]
    document = {
        "schema": EVIDENCE_SCHEMA,
        "kind": req.kind,
        "claimant": claimant,
        "subject": subject,
        "claimedWorkId": req.claimed_work_id,
        "statement": req.statement.strip(),
        "file": _file_evidence(ledger, req, contested_hash),
        "ledgerReports": reports,
    }
    cid = ledger.store.put(canonical(document))
    output_hash = bytes.fromhex(contested_hash[2:]) if req.kind == "attribution" and contested_hash else bytes(32)
    call = ledger.call(
        "DisputeRegistry", "openDispute", KIND_CODES[req.kind], req.work_id or 0 if req.kind == "registration" else 0,
        output_hash, req.claimed_work_id or 0, cid,
    )  # fmt: skip
    opened = execute_for_event(ledger, key, call, ledger.disputes.events.DisputeOpened)
    if isinstance(opened, SignatureRequired):
        return opened
    return get_dispute(ledger, int(opened["disputeId"]))


def resolve(
    ledger: Ledger, key: ApiKey, dispute_id: int, upheld: bool, reason: str, owners: list[Owner] | None = None,
    links: list[tuple[int, int, int]] | None = None,
) -> Dispute:
    """The arbiter's decision, then the correction that carries it out: for an upheld registration
    dispute the work passes to the claimant (100 %, paid to the claimant's account, unless
    ``owners`` says otherwise); for an upheld attribution dispute the output's links become
    ``links`` (work, weight bps, kind), which the arbiter must name: what the output relies on,
    the claimant's work among it. Escrow held for the output is paid by those links."""
    if key.role.value != "arbiter":
        raise Forbidden("only an arbiter decides disputes")
    if not reason.strip() or len(reason) > MAX_STATEMENT:
        raise InvalidInput(f"reason: say in 1 to {MAX_STATEMENT} characters why")
    named = _owners(owners)  # checked before anything is sent
    corrected = outputs.normalise_links(links, "links: ") if links else None
    ledger.indexer.sync()
    dispute = get_dispute(ledger, dispute_id)
    if named and (dispute.kind != "registration" or not upheld):
        raise InvalidInput("owners are named only when upholding a registration dispute")
    if corrected and (dispute.kind != "attribution" or not upheld):
        raise InvalidInput("links are named only when upholding an attribution dispute")
    if dispute.kind == "attribution" and upheld and dispute.correction_tx is None:
        if corrected is None:
            raise InvalidInput("upholding an attribution dispute corrects the output's links: name them (links), the claimed work among them")
        _check_correction(ledger, dispute, corrected)
    if dispute.state == "open":
        doc = {"schema": DECISION_SCHEMA, "disputeId": dispute_id, "upheld": upheld, "reason": reason.strip(), "arbiter": key.holder_address}
        if corrected:
            doc["links"] = [{"workId": w, "weightBps": weight, "kind": outputs.KIND_NAMES[kind]} for w, weight, kind in corrected]
        cid = ledger.store.put(canonical(doc))
        dispute = _sent(ledger, key, ledger.call("DisputeRegistry", "resolve", dispute_id, upheld, cid), dispute_id, "an arbiter's key must be custodial")
    elif dispute.state != ("upheld" if upheld else "rejected"):
        raise Conflict(f"dispute {dispute_id} is already {dispute.state}", state=dispute.state)
    if dispute.state == "upheld" and dispute.kind == "registration" and dispute.correction_tx is None:
        assert dispute.work_id is not None
        claimant = to_checksum_address(dispute.claimant)
        new_owners = named or [Owner(claimant, claimant, TOTAL_BPS)]
        listed = [o.as_tuple() for o in sort_owners(new_owners)]
        with Session(ledger.engine) as s:
            state = WorkState.of(s.get_one(Work, dispute.work_id)).as_tuple()
        call = ledger.call("WorkRegistry", "reassign", state, dispute_id, claimant, listed)
        dispute = _sent(ledger, key, call, dispute_id, "an arbiter's key must be custodial")
    if dispute.state == "upheld" and dispute.kind == "attribution" and dispute.correction_tx is None:
        assert dispute.output_hash is not None and corrected is not None
        call = ledger.call("OutputRegistry", "correctLinks", bytes.fromhex(dispute.output_hash[2:]), dispute_id, pack_links(corrected))
        dispute = _sent(ledger, key, call, dispute_id, "an arbiter's key must be custodial")
    return dispute


def _check_correction(ledger: Ledger, dispute: Dispute, links: tuple[tuple[int, int, int], ...]) -> None:
    """Refuses corrected links the contract would refuse (works must be registered), and ones that
    leave out the claimed work: upholding the claim means the output relies on it."""
    ids = [w for w, *_ in links]
    with Session(ledger.engine) as s:
        known = set(s.exec(select(Work.work_id).where(col(Work.work_id).in_(ids))).all())
    if missing := [w for w in ids if w not in known]:
        raise NotFound(f"links: no work with id {missing[0]}")
    if dispute.claimed_work_id is not None and dispute.claimed_work_id not in ids:
        raise InvalidInput(f"links: the claim is upheld, so the claimed work {dispute.claimed_work_id} must be among the output's links")


def _owners(owners: list[Owner] | None) -> list[Owner]:
    """The owners an arbiter names, checksummed; distinct, non-zero, shares summing to TOTAL_BPS."""
    named = [Owner(to_checksum_address(o.account), to_checksum_address(o.payout), o.share_bps) for o in owners or []]
    if not named:
        return []
    if sum(o.share_bps for o in named) != TOTAL_BPS:
        raise InvalidInput(f"owner shares must sum to {TOTAL_BPS}")
    if len({o.account for o in named}) != len(named) or any(int(a, 16) == 0 for o in named for a in (o.account, o.payout)):
        raise InvalidInput("owners must be distinct, non-zero accounts with non-zero payout addresses")
    return named


def withdraw(ledger: Ledger, key: ApiKey, dispute_id: int) -> Dispute:
    dispute = get_dispute(ledger, dispute_id)
    if dispute.claimant != key.holder_address:
        raise Forbidden(f"dispute {dispute_id} is {dispute.claimant}'s to withdraw")
    if dispute.state != "open":
        raise Conflict(f"dispute {dispute_id} is already {dispute.state}", state=dispute.state)
    call = ledger.call("DisputeRegistry", "withdraw", dispute_id)
    return _sent(ledger, key, call, dispute_id, "withdraw a self-custodied dispute by signing DisputeRegistry.withdraw and POST /relay")


def _sent(ledger: Ledger, key: ApiKey, call: Call, dispute_id: int, self_signed: str) -> Dispute:
    """Sends a custodial key's call and answers with the dispute as the chain left it; a
    self-custodied key is refused with ``self_signed`` (these calls are not prepared for signing)."""
    outcome = execute(ledger, key, call)
    if isinstance(outcome, SignatureRequired):
        raise Forbidden(self_signed)
    ledger.indexer.sync(to_block=int(outcome["blockNumber"]))
    return get_dispute(ledger, dispute_id)


def get_dispute(ledger: Ledger, dispute_id: int) -> Dispute:
    with Session(ledger.engine) as s:
        d = s.get(Dispute, dispute_id)
    if d is None:
        raise NotFound(f"no dispute with id {dispute_id}")
    return d


def list_disputes(
    ledger: Ledger, state: str | None, work_id: int | None, claimant: str | None, limit: int, offset: int
) -> list[Dispute]:
    stmt = select(Dispute).order_by(col(Dispute.dispute_id)).limit(limit).offset(offset)
    if state:
        stmt = stmt.where(Dispute.state == state)
    if work_id is not None:
        stmt = stmt.where((Dispute.work_id == work_id) | (Dispute.claimed_work_id == work_id))
    if claimant:
        stmt = stmt.where(Dispute.claimant == to_checksum_address(claimant))
    with Session(ledger.engine) as s:
        return list(s.exec(stmt).all())
