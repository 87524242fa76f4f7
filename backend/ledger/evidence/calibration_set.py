"""Measuring every method on the generated calibration set (see ``specimens``).

The set is 200 originals, ten transformed copies of each, 200 distinct pictures, and the harsh
copies reported beside the table; for texts, 200 texts, six edited copies of each and 200
distinct texts. Files go through ``fingerprint`` exactly as uploads do (PNG
bytes in), so the figures describe the path a registration takes.
"""

from collections.abc import Iterable
from typing import Any

from ledger.evidence import specimens
from ledger.evidence.calibration import calibrate, distance_matrix
from ledger.evidence.fingerprints import fingerprint
from ledger.evidence.methods import DEFAULT, Methods

ORIGINALS = 200
DISTINCT = 200


def measure(originals: int = ORIGINALS, distinct: int = DISTINCT, seed: int = 0, methods: Methods = DEFAULT) -> dict[str, Any]:
    """The calibration document: per image method, its table, threshold, recall per transform,
    scores, and its recall on the harsh copies at that threshold."""
    origs = [fingerprint(s.data, methods) for s in specimens.originals(originals, seed)]
    queries: list[specimens.Specimen] = [*specimens.copies(originals, seed), *specimens.distinct(distinct, seed)]
    harsh = list(specimens.copies(originals, seed, specimens.HARSH))
    qprints = [fingerprint(s.data, methods) for s in queries]
    hprints = [fingerprint(s.data, methods) for s in harsh]
    out: dict[str, Any] = {
        "set": {"originals": originals, "copies": len(queries) - distinct, "distinct": distinct, "seed": seed,
                "transforms": sorted(specimens.COPIES), "harsh": sorted(specimens.HARSH)},
        "methods": {},
    }
    text_origs = [fingerprint(s.data, methods) for s in specimens.text_originals(originals, seed)]
    text_queries = [*specimens.text_copies(originals, seed), *specimens.text_distinct(distinct, seed)]
    text_prints = [fingerprint(s.data, methods) for s in text_queries]
    for m in methods.for_media("text"):
        label = methods.keys[m.name]
        d = distance_matrix([f.indexed[label] for f in text_origs], [f.queries[label] for f in text_prints])
        doc = calibrate(label, d, [s.original for s in text_queries], [s.transform for s in text_queries]).as_json()
        doc["harshRecall"] = {}
        out["methods"][label] = doc
    out["set"]["textTransforms"] = sorted(specimens.TEXT_COPIES)
    for m in methods.for_media("image"):
        label = methods.keys[m.name]
        indexed = [f.indexed[label] for f in origs]
        d = distance_matrix(indexed, [f.queries[label] for f in qprints], [f.indexed[label][1:] for f in qprints])
        cal = calibrate(label, d, [s.original for s in queries], [s.transform for s in queries])
        doc = cal.as_json()
        hd = distance_matrix(indexed, [f.queries[label] for f in hprints], [f.indexed[label][1:] for f in hprints])
        doc["harshRecall"] = {
            name: round(sum(int(hd[q, s.original] <= cal.threshold) for q, s in enumerate(harsh) if s.transform == name)  # type: ignore[index]
                        / max(1, sum(1 for s in harsh if s.transform == name)), 4)
            for name in sorted(specimens.HARSH)
        }
        out["methods"][label] = doc
    return out


def rows_at(doc: dict[str, Any], label: str, thresholds: Iterable[int]) -> list[dict[str, Any]]:
    wanted = set(thresholds)
    return [r for r in doc["methods"][label]["table"] if r["threshold"] in wanted]
