"""A model's training-data summary as a PDF, in the order of the EU template's sections; the JSON
it renders (whose SHA-256 it prints) holds every work and transaction."""

from typing import Any

from ledger.exports.pdf import Document

MAX_ROWS = 2_000  # works listed; the JSON always holds all of them


def summary_pdf(doc: dict[str, Any], sha256: str) -> bytes:
    g = doc["generalInformation"]
    m = g["modelIdentification"]
    size = g["modalitiesAndSize"]
    sources = doc["dataSources"]
    licensed = sources["privateDatasetsFromThirdParties"]["licensedByRightsHolders"]
    rights = doc["dataProcessing"]["respectOfReservationOfRights"]
    out = Document(f"Training data summary, model {m['modelId']}")
    out.heading(f"Public summary of training content: {m['name']} {m['version']}".strip())
    out.facts([("template", doc["template"]), ("as of block", str(doc["asOfBlock"])), ("JSON summary SHA-256", sha256), ("chain", str(doc["chain"]["chainId"])),
               *((f"{name} contract", address) for name, address in doc["chain"]["contracts"].items())])  # fmt: skip
    out.heading("1. General information", size=12)
    out.facts([
        ("1.1 provider (account)", g["providerIdentification"]["account"]),
        ("1.2 model", f"id {m['modelId']}, {m['name']} {m['version']}, registered {m['registeredAt']}"),
        ("    registration transaction", m["registrationTx"]),
        ("    weights hash", m["weightsHash"]),
        ("    generative", "yes" if m["generative"] else "no"),
        ("    fine-tuned from", ", ".join(f"{b['modelId']} ({b['name']} {b['version']})" for b in m["baseModels"]) or "none"),
        ("1.3 modalities", ", ".join(size["modalities"]) or "none"),
        ("    works", f"{size['totalWorks']:,} ({size['registeredWorks']:,} registered, {len(size['unregisteredWorkIds']):,} not registered)"),
    ])  # fmt: skip
    out.table("Size by modality", ("modality", "works", "bytes", "size band"), (40, 30, 40, 167),
              [(k, f"{v['works']:,}", f"{v['bytes']:,}", v["sizeBand"]) for k, v in size["byModality"].items()], right={1, 2})  # fmt: skip
    out.heading("2. List of data sources", size=12)
    out.table("2.2.1 Datasets licensed by rights holders: training sets committed on chain", ("model", "Merkle root", "works", "list (CID)", "transaction"),
              (16, 100, 16, 60, 85), [(str(t["modelId"]), t["merkleRoot"], f"{t['size']:,}", t["trainingSetCid"], t["registrationTx"]) for t in licensed["trainingSets"]],
              right={2})  # fmt: skip
    out.table("Rights holders", ("holder", "works", "work ids (the JSON lists all)"), (90, 20, 167),
              [(h["holder"], f"{h['works']:,}", _ids(h["workIds"])) for h in licensed["rightsHolders"]], right={1})  # fmt: skip
    out.facts([(label, sources[key]["note"] if key in sources else sources["privateDatasetsFromThirdParties"]["otherThirdParties"]["note"])
               for label, key in (("2.1 publicly available datasets", "publiclyAvailableDatasets"), ("2.2.2 other third parties", "_other"),
                                  ("2.3 crawled and scraped data", "crawledAndScrapedData"), ("2.4 user data", "userData"),
                                  ("2.5 synthetic data", "syntheticData"), ("2.6 other sources", "otherSources"))])  # fmt: skip
    out.heading("3. Data processing aspects", size=12)
    a = rights["audit"]
    ev = rights["consentEvidence"]
    out.note(rights["measures"])
    out.facts([
        ("3.1 clean-model audit", f"{'passes' if a['clean'] else 'fails'}; use needed: {a['use']}; " + ", ".join(f"{k} {v:,}" for k, v in sorted(a["counts"].items()))),
        ("    constraints accepted", "; ".join(c["constraints"] for c in rights["constraintsAccepted"]) or "none"),
        ("    consent evidence", f"{ev['reports']:,} reports on {ev['worksWithEvidence']:,} works ({ev['anchoredReports']:,} anchored); "
                               f"signals {ev['signalsByStandard'] or 'none'}; conflicts {ev['conflicts']:,}"),
        ("    one-creator fine-tunes", "; ".join(f"model {f['model_id']}: {f['holder']} {f['share_bps'] / 100:.0f} %" for f in rights["oneCreatorFineTunes"]) or "none"),
        ("3.2 removal of illegal content", doc["dataProcessing"]["removalOfIllegalContent"]["note"]),
    ], label_width=50)  # fmt: skip
    listed = doc["works"][:MAX_ROWS]
    use = a["use"]
    out.table(f"Works ({len(listed):,} of {len(doc['works']):,}; the JSON lists every one)", ("work", "holder", "modality", "terms", use, "terms transaction"),
              (16, 80, 18, 12, 30, 121), [(str(w["workId"]), w["holder"], w["modality"], str(w["termsVersion"]), str(w[use]), str(w["termsTx"])) for w in listed])  # fmt: skip
    out.note("Every figure is computed from the chain: fetch the JSON (GET /models/<id>/summary), check its SHA-256 above, and check each training "
             "set against its Merkle root (ledger models show / proof) and each work's terms against its transaction.")  # fmt: skip
    return out.output()


def _ids(ids: list[int], shown: int = 40) -> str:
    text = ", ".join(str(i) for i in ids[:shown])
    return text + (f" ... ({len(ids) - shown:,} more)" if len(ids) > shown else "")
