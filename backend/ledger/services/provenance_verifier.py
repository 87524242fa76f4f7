"""Checks a provenance certificate with the chain (and the content store, for the models'
training sets) alone: no ledger database, no trust in the ledger that issued it.

Every record is hashed again from its fields and its signature recovered (the device signed
exactly this); every record's Merkle proof is checked against its batch's root on chain; every
device was enrolled, and not revoked or expired, when its batch was anchored; the work is the
one registered with that content hash; the graph is the one the records describe; each
AI-generated file's model is registered on chain, and its clean-model audit is recomputed from a
projection this verifier builds from the chain's events; the verdict is recomputed from all of it.

What a certificate cannot prove: that the issuing ledger left no record out (the chain anchors
batches of records, not an index by content hash); and the C2PA manifests it declares are taken
as declared (their signatures are checkable with the files, which it does not carry).
"""

import json
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3
from web3.contract import Contract

from ledger.chain.compiler import compile_contract
from ledger.content.store import ContentStore
from ledger.db import make_engine, init_db
from ledger.indexer.runner import Indexer
from ledger.records import typed
from ledger.services.model_audit import DEFAULT_ONE_CREATOR_SHARE_BPS, audit_in
from ledger.services.provenance import CERTIFICATE_SCHEMA
from ledger.services.checks import Check, Checks


def _leaf(record_hash: str) -> bytes:
    return typed.keccak(typed.keccak(bytes.fromhex(record_hash[2:])))


def _root(leaf: bytes, proof: list[str]) -> bytes:
    """OpenZeppelin MerkleProof.processProof: sorted pairs, keccak of their concatenation."""
    node = leaf
    for p in proof:
        sibling = bytes.fromhex(p[2:])
        node = typed.keccak(min(node, sibling) + max(node, sibling))
    return node


def _record(entry: dict[str, Any]) -> typed.Record:
    return typed.Record(
        typed.ACTIONS.index(entry["action"]), bytes.fromhex(entry["contentHash"][2:]), tuple(bytes.fromhex(i[2:]) for i in entry["inputs"]),
        entry["tool"], entry["toolVersion"], int(entry["modelId"]), bytes.fromhex(entry["author"][2:]), int(entry["createdAt"]),
        bytes.fromhex(entry["promptHash"][2:]),
    )  # fmt: skip


def _graph(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The files reachable from the work through the certificate's records (and the C2PA
    manifests it declares): each one's records and inputs (sorted)."""
    by_content: dict[str, list[str]] = {}
    for h, r in doc["records"].items():
        by_content.setdefault(r["contentHash"], []).append(h)
    declared = {f["contentHash"]: [i for m in f.get("manifests", []) for i in m["inputs"]] for f in doc["files"]}
    files: dict[str, dict[str, Any]] = {}
    frontier = [doc["work"]["contentHash"]]
    while frontier:
        current, frontier = frontier, []
        for content in current:
            if content in files:
                continue
            made = sorted(by_content.get(content, []), key=lambda h: (doc["records"][h]["createdAt"], h))
            inputs = sorted({i for h in made for i in doc["records"][h]["inputs"]} | set(declared.get(content, [])))
            files[content] = {"records": made, "inputs": inputs}
            frontier.extend(i for i in inputs if i not in files)
    return files


def verify_certificate(w3: Web3, raw: bytes, store: ContentStore, workdir: Path) -> list[Check]:
    c = Checks()
    doc: dict[str, Any] = {}

    def parse() -> tuple[bool, str]:
        doc.update(json.loads(raw))
        return doc.get("schema") == CERTIFICATE_SCHEMA, f"schema {doc.get('schema')!r}"

    if not c.check("certificate format", parse):
        return c.results
    contracts: dict[str, Contract] = {
        name: w3.eth.contract(address=to_checksum_address(a), abi=compile_contract(f"{name}.sol").abi) for name, a in doc["contracts"].items()
    }
    records: dict[str, dict[str, Any]] = doc["records"]
    work = doc["work"]

    def chain() -> tuple[bool, str]:
        return w3.eth.chain_id == int(doc["chainId"]), f"chain {w3.eth.chain_id}, certificate for chain {doc['chainId']}"

    def registered() -> tuple[bool, str]:
        """The work, and every file the certificate says is a registered work, are on chain as such."""
        claims = [(work["contentHash"], int(work["workId"]))] + [(f["contentHash"], int(f["workId"])) for f in doc["files"] if f.get("workId") is not None]
        for content, work_id in dict.fromkeys(claims):
            found = int(contracts["WorkRegistry"].functions.workIdOf(bytes.fromhex(content[2:])).call())
            if found != work_id:
                return False, f"WorkRegistry has content {content} as work {found}, not {work_id}"
        return True, f"work {work['workId']} and {len(set(claims)) - 1} registered works among its files, on chain"

    domain = typed.domain_separator(int(doc["chainId"]), contracts["ProductionRecords"].address)

    def signed() -> tuple[bool, str]:
        for h, r in records.items():
            digest = typed.record_digest(domain, _record(r))
            if "0x" + digest.hex() != h:
                return False, f"record {h} hashes to 0x{digest.hex()}: its fields were changed"
            signer = typed.recover(digest, bytes.fromhex(r["signature"][2:]))
            if signer != to_checksum_address(r["device"]):
                return False, f"record {h} was signed by {signer}, not by the device {r['device']}"
        return True, f"{len(records)} records, each signed by its device"

    anchored_at: dict[int, int] = {}

    def anchored() -> tuple[bool, str]:
        pr = contracts["ProductionRecords"]
        roots: dict[int, bytes] = {}
        for h, r in records.items():
            if r.get("batchId") is None or r.get("proof") is None:
                return False, f"record {h} is not anchored on chain yet"
            b = int(r["batchId"])
            if b not in roots:
                roots[b] = bytes(pr.functions.rootOf(b).call())
                [event] = pr.events.RecordsAnchored().get_logs(from_block=int(doc["contractsFromBlock"]), argument_filters={"batchId": b})
                anchored_at[b] = int(w3.eth.get_block(event["blockNumber"])["timestamp"])
            if _root(_leaf(h), r["proof"]) != roots[b]:
                return False, f"record {h}'s proof does not reach batch {b}'s root on chain"
        return True, f"{len(records)} records in {len(roots)} batches anchored on chain"

    def enrolled() -> tuple[bool, str]:
        pr = contracts["ProductionRecords"]
        devices: dict[str, Any] = {}
        for h, r in records.items():
            d = devices.setdefault(r["device"], pr.functions.deviceOf(to_checksum_address(r["device"])).call())
            owner, scope, expires, revoked = d
            at = anchored_at[int(r["batchId"])]
            action = typed.ACTIONS.index(r["action"])
            if int(owner, 16) == 0:
                return False, f"device {r['device']} of record {h} was never enrolled"
            if not scope >> action & 1 or at >= expires or (revoked and at >= revoked):
                return False, f"device {r['device']} could not record {r['action']} when record {h} was anchored"
        return True, f"{len(devices)} devices, enrolled for what they recorded when it was anchored"

    def graph() -> tuple[bool, str]:
        mine = _graph(doc)
        theirs = {f["contentHash"]: {"records": [r["recordHash"] for r in f["records"]], "inputs": sorted(f["inputs"])} for f in doc["files"]}
        ok = mine == theirs
        return ok, f"{len(mine)} files, as the records describe them" if ok else f"the certificate's files differ from the records' graph ({len(theirs)} vs {len(mine)})"

    engine = make_engine(f"sqlite:///{workdir / 'provenance.db'}")
    models: dict[int, dict[str, Any]] = {}

    def audits() -> tuple[bool, str]:
        init_db(engine)
        Indexer(w3, engine, contracts, store, int(doc["contractsFromBlock"])).sync()
        from sqlmodel import Session

        from ledger.models import Output

        used: set[int] = {int(r["modelId"]) for r in records.values() if r["action"] == "generate" and int(r["modelId"])}
        used.update(int(m["modelId"]) for f in doc["files"] for m in f.get("manifests", []) if m["aiGenerated"] and m["modelId"])
        with Session(engine) as s:
            for f in doc["files"]:
                if f.get("output"):
                    o = s.get(Output, int(contracts["OutputRegistry"].functions.outputIdOf(bytes.fromhex(f["contentHash"][2:])).call()) or 0)
                    if o is None or o.model_id != int(f["output"]["modelId"]):
                        return False, f"file {f['contentHash']} is not registered on chain as an output of model {f['output']['modelId']}"
                    used.add(o.model_id)
        for m in sorted(used):
            platform = contracts["ModelRegistry"].functions.platformOf(m).call()
            if int(platform, 16) == 0:
                models[m] = {"registered": False, "clean": False}
            else:
                threshold = int(doc["models"].get(str(m), {}).get("oneCreatorShareBps", DEFAULT_ONE_CREATOR_SHARE_BPS))
                models[m] = {"registered": True, "clean": audit_in(engine, m, threshold).clean}
        # Consent evidence is the ledger's, not the chain's: a certificate may report conflicts the
        # chain cannot show, which can only turn a clean audit into a failing one, never the reverse.
        conflicts = {int(k): bool(v.get("consentConflicts")) for k, v in doc["models"].items()}
        for m, v in models.items():
            v["clean"] = v["clean"] and not conflicts.get(m, False)
        claimed = {int(k): {"registered": v["registered"], "clean": v["clean"]} for k, v in doc["models"].items()}
        ok = claimed == models
        return ok, f"{len(models)} models: registration and clean-model audits recomputed from the chain" + ("" if ok else f"; the certificate says {claimed}, the chain {models}")

    def verdict() -> tuple[bool, str]:
        mine = _graph(doc)
        failures = []
        ai_models = {}
        for content, f in mine.items():
            found = {int(records[h]["modelId"]) for h in f["records"] if records[h]["action"] == "generate" and int(records[h]["modelId"])}
            entry = next((x for x in doc["files"] if x["contentHash"] == content), {})
            if entry.get("output"):
                found.add(int(entry["output"]["modelId"]))
            manifests = entry.get("manifests", [])
            found.update(int(m["modelId"]) for m in manifests if m["aiGenerated"] and m["modelId"])
            failures.extend((content, None) for m in manifests if m["aiGenerated"] and not m["modelId"])
            ai_models[content] = found
            for m in sorted(found):
                if not models.get(m, {}).get("registered"):
                    failures.append((content, m))
                elif not models[m]["clean"]:
                    failures.append((content, m))
        known = {f["contentHash"] for f in doc["files"] if f["records"] or f.get("workId") is not None or f.get("output") or f.get("manifests")}
        unrecorded = sorted(h for h in mine if h not in known)
        v = doc["verdict"]
        claimed_failures = [(f["contentHash"], None if f["modelId"] is None else int(f["modelId"])) for f in v["failures"]]
        key = lambda x: (x[0], -1 if x[1] is None else x[1])  # noqa: E731
        ok = (sorted(failures, key=key) == sorted(claimed_failures, key=key) and unrecorded == v["unrecorded"] and v["safeAiUse"] == (not failures)
              and v["complete"] == (not unrecorded and not v.get("truncated")))  # fmt: skip
        return ok, f"safe AI use: {'yes' if not failures else 'no'} ({len(failures)} failing), complete: {'yes' if not unrecorded else 'no'} ({len(unrecorded)} unrecorded)"

    try:
        for name, test in (("the certificate's chain", chain), ("work registered on chain", registered), ("records signed by their devices", signed),
                           ("records anchored on chain", anchored), ("devices enrolled for what they recorded", enrolled),
                           ("graph as the records describe it", graph), ("models checked on chain", audits), ("verdict recomputed", verdict)):  # fmt: skip
            if not c.check(name, test) and name in ("the certificate's chain", "records anchored on chain"):
                break
    finally:
        engine.dispose()
    return c.results
