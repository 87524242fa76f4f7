"""Content Credentials for registered files: the ledger's manifest signed into a copy of a work's
or an output's file, and the manifests uploaded files carry, read as evidence.

The ledger signs with the certificate and key named in settings (``LEDGER_C2PA_CERT_CHAIN``,
``LEDGER_C2PA_PRIVATE_KEY``); readers judge its manifests against the trust anchors they
choose, and the ledger judges uploaded ones against ``LEDGER_C2PA_TRUST_ANCHORS`` (without
them a valid manifest reads ``Valid`` with ``signingCredential.untrusted``). An ingredient whose
own manifest came from this ledger names the registered work it was, by chain, contract, id and
content hash: that is a link the uploaded file declares itself.
"""

import io
import tempfile
from collections.abc import Iterator
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlmodel import Session, col, select

from ledger.consent import cawg
from ledger.credentials import manifests
from ledger.credentials.manifests import Credentials, CredentialsError
from ledger.models import Output, OutputLink, OutputLinkCorrection, Work
from ledger.models.records import ProductionRecord, RecordBatch
from ledger.runtime import Ledger
from ledger.services.errors import Conflict, InvalidInput, NotFound
from ledger.services.similarity import file_evidence


SPOOL_BYTES = 16 << 20
SNIFF_BYTES = 1 << 20
CHUNK_BYTES = 256 << 10


def mime_of(data: bytes) -> str | None:
    """The picture's media type from its header (the types C2PA manifests embed in), or None."""
    try:
        fmt = Image.open(io.BytesIO(data)).format or ""
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    mime = Image.MIME.get(fmt)
    return mime if mime in manifests.signable_types() else None


def read_upload(ledger: Ledger, data: bytes) -> Credentials | None:
    """The manifest an uploaded file carries (None: none, or a type that cannot carry one)."""
    mime = mime_of(data)
    if mime is None:
        return None
    try:
        return manifests.read(data, mime, ledger.c2pa_trust_anchors)
    except CredentialsError as exc:
        raise InvalidInput(str(exc)) from None


def ledger_works(ledger: Ledger, creds: Credentials) -> list[tuple[int, str]]:
    """(work id, ingredient title) of the ingredients whose own manifest names a work registered
    here (this chain, this WorkRegistry, the work's id and content hash as registered)."""
    named = []
    for ing in creds.ingredients:
        a = ing.ledger or {}
        if a.get("chainId") == ledger.deployment.chain_id and str(a.get("contract", "")).lower() == ledger.registry.contract.address.lower():
            if isinstance(a.get("workId"), int):
                named.append((int(a["workId"]), str(a.get("contentHash", "")), ing.title))
    if not named:
        return []
    with Session(ledger.engine) as s:
        works = {w.work_id: w.content_hash for w in s.exec(select(Work).where(col(Work.work_id).in_([w for w, _, _ in named])))}
    return [(w, title) for w, h, title in named if works.get(w) == h.lower()]


def similar_ingredients(ledger: Ledger, creds: Credentials) -> list[tuple[int, str, dict[str, Any]]]:
    """(work id, ingredient title, the match) of the ingredients whose thumbnail the calibrated
    similarity matches with a registered work (ingredients from other tools name no hash: their
    thumbnail is the evidence of what they were)."""
    from ledger.evidence.fingerprints import fingerprint
    from ledger.evidence.media import Undecodable
    from ledger.services import evidence_reports
    from ledger.services.similarity import search, windows_of

    found = []
    for ing in creds.ingredients:
        if ing.thumbnail is None or ing.ledger:
            continue
        try:
            prints = fingerprint(ing.thumbnail, ledger.methods, max_pixels=ledger.settings.max_fingerprint_pixels)
        except Undecodable:
            continue
        for m in search(ledger, prints.queries, k=3, only_matches=True, windows=windows_of(prints.indexed)):
            if m.work_id is not None and m.match:
                found.append((m.work_id, ing.title, evidence_reports.match_json(m)))
                break
    return found


def _assertion(ledger: Ledger, content_hash: str) -> tuple[str, bool, dict[str, Any], str | None]:
    """(title, AI generated, the ledger assertion, software agent) for a registered file."""
    chain_id = ledger.deployment.chain_id
    with Session(ledger.engine) as s:
        work = s.exec(select(Work).where(Work.content_hash == content_hash)).first()
        output = s.exec(select(Output).where(Output.output_hash == content_hash)).first()
        records = s.exec(
            select(ProductionRecord.record_hash, RecordBatch.batch_id, RecordBatch.tx_hash)
            .join(RecordBatch, col(RecordBatch.batch_id) == col(ProductionRecord.batch_id))
            .where(ProductionRecord.content_hash == content_hash)
            .order_by(col(ProductionRecord.created_at))
            .limit(64)
        ).all()
        assertion: dict[str, Any] = {"ledger": "ai-rights-ledger", "chainId": chain_id, "contentHash": content_hash}
        if records:
            assertion["productionRecords"] = [
                {"recordHash": r, "batchId": b, "anchorTx": tx, "contract": ledger.production_records.address} for r, b, tx in records
            ]
        if output is not None:
            links = s.exec(select(OutputLink).where(OutputLink.output_id == output.output_id).order_by(col(OutputLink.work_id))).all()
            corrected = s.exec(select(OutputLinkCorrection).where(OutputLinkCorrection.output_id == output.output_id)).all()
            assertion |= {
                "contract": ledger.outputs.address, "outputHash": output.output_hash, "modelId": output.model_id,
                "registrationTx": output.tx_hash, "registeredAt": output.registered_at,
                "links": [{"workId": link.work_id, "weightBps": link.weight_bps} for link in links],
            }  # fmt: skip
            if corrected:
                last = max(c.version for c in corrected)
                assertion["correctedLinks"] = [{"workId": c.work_id, "weightBps": c.weight_bps} for c in sorted(corrected, key=lambda c: c.work_id) if c.version == last]
            return f"output {output.output_hash[:18]}", True, assertion, f"model {output.model_id}"
        if work is not None:
            assertion |= {
                "contract": ledger.registry.contract.address, "workId": work.work_id, "registrationTx": work.tx_hash,
                "metadataCid": work.metadata_cid, "termsVersion": work.terms_version,
                "trainingMining": cawg.assertion(work.uses, work.constraints),
            }  # fmt: skip
            return f"work {work.work_id}", False, assertion, None
    raise NotFound(f"nothing is registered with content hash {content_hash}")


MAX_INGREDIENT_FILES = 16


def _linked_files(ledger: Ledger, assertion: dict[str, Any]) -> list[tuple[str, str, bytes]]:
    """An output's linked works whose pictures the ledger holds, as ingredients (title, media
    type, bytes): the manifest then shows what the output was made from. At most 16."""
    links = assertion.get("correctedLinks") or assertion.get("links") or []
    out = []
    with Session(ledger.engine) as s:
        works = {w.work_id: w for w in s.exec(select(Work).where(col(Work.work_id).in_([int(x["workId"]) for x in links])))}
    for link in links[:MAX_INGREDIENT_FILES]:
        work = works.get(int(link["workId"]))
        evidence = file_evidence(ledger, work.content_hash) if work else None
        if work is None or evidence is None or evidence.file_cid is None or not ledger.store.has(evidence.file_cid):
            continue
        data = ledger.store.get(evidence.file_cid)
        mime = mime_of(data)
        if mime is not None:
            out.append((f"work {work.work_id}", mime, data))
    return out


def credentialed_file(ledger: Ledger, content_hash: str) -> tuple[Iterator[bytes], str]:
    """A copy of the registered file with the ledger's manifest signed in, as chunks: the file is
    spooled to a temporary file (in memory up to 16 MiB) on either side of the signing, never held whole."""
    key = ledger.c2pa_key
    if key is None:
        raise Conflict("this ledger has no C2PA signing key: set LEDGER_C2PA_CERT_CHAIN and LEDGER_C2PA_PRIVATE_KEY (PEM files)")
    evidence = file_evidence(ledger, content_hash)
    if evidence is None or evidence.file_cid is None or not ledger.store.has(evidence.file_cid):
        raise NotFound(f"the ledger does not hold the file of {content_hash} (registered by hash, or stored elsewhere)")
    source = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    for chunk in ledger.store.iter_chunks(evidence.file_cid):
        source.write(chunk)
    source.seek(0)
    mime = mime_of(source.read(SNIFF_BYTES))
    source.seek(0)
    if mime is None:
        source.close()
        raise InvalidInput("C2PA manifests are embedded in pictures (JPEG, PNG, WebP, TIFF, ...); this file is not one")
    title, ai, assertion, agent = _assertion(ledger, content_hash)
    training_mining = assertion.pop("trainingMining", None)  # a work's terms, as CAWG's own assertion
    dest = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        manifests.signed_copy(source, dest, mime, title, ai, assertion, key, agent, _linked_files(ledger, assertion), training_mining)
    except CredentialsError as exc:
        dest.close()
        raise InvalidInput(str(exc)) from None
    finally:
        source.close()
    dest.seek(0)

    def chunks() -> Iterator[bytes]:
        with dest:
            while block := dest.read(CHUNK_BYTES):
                yield block

    return chunks(), mime


def record_manifest(ledger: Ledger, content_hash: str, creds: Credentials, source: str) -> bool:
    """Keeps what the file's manifest says about how it was made as a record of the production
    graph (its signer the manifest's certificate); True if new. An ingredient whose own manifest
    is a ledger's names its content hash: that is the record's input."""
    import json
    import time

    from sqlalchemy.exc import IntegrityError

    from ledger.models.records import ManifestRecord

    own = creds.ledger or {}
    model_id = None
    if own.get("chainId") == ledger.deployment.chain_id and str(own.get("contract", "")).lower() == ledger.outputs.address.lower():
        model_id = int(own["modelId"]) if isinstance(own.get("modelId"), int) else None
    ingredients = [
        {"title": i.title, "relationship": i.relationship, "contentHash": (i.ledger or {}).get("contentHash")} for i in creds.ingredients
    ]
    row = ManifestRecord(
        content_hash=content_hash, manifest_label=creds.label[:200], actions=json.dumps(creds.actions)[:20_000], ai_generated=creds.ai_generated,
        software_agent=creds.software_agent[:200], signer=f"{creds.signer['common_name']} (issued by {creds.signer['issuer']})"[:400],
        validation_state=creds.validation_state[:16], inputs=json.dumps(sorted({i["contentHash"] for i in ingredients if isinstance(i["contentHash"], str)})),
        ingredients=json.dumps(ingredients)[:100_000], model_id=model_id, source=source, recorded_at=int(time.time()),
    )  # fmt: skip
    with Session(ledger.engine) as s:
        if s.get(ManifestRecord, (content_hash, row.manifest_label)) is not None:
            return False
        s.add(row)
        try:
            s.commit()
        except IntegrityError:  # recorded by a concurrent upload of the same file
            return False
    return True


def read_and_record(ledger: Ledger, content_hash: str, data: bytes, source: str) -> Credentials | None:
    """A registration's upload: its manifest recorded if it has one. A manifest that cannot be
    read does not stop the registration (the file is what is registered); it is simply not kept."""
    try:
        creds = read_upload(ledger, data)
    except InvalidInput:
        return None
    if creds is not None:
        record_manifest(ledger, content_hash, creds, source)
    return creds
