#!/usr/bin/env python3
"""Measures every similarity method on the generated calibration set and writes the thresholds
the ledger uses (backend/ledger/evidence/calibration.json), printing the precision/recall table.

    .venv/bin/python scripts/calibrate_similarity.py [--originals 200] [--seed 0] [--check]

--check recomputes and exits 1 if the shipped file differs (the calibration is deterministic).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from ledger.evidence.calibration_set import measure  # noqa: E402
from ledger.evidence.thresholds import CALIBRATION_FILE  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--originals", type=int, default=200)
    ap.add_argument("--distinct", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true", help="compare with the shipped calibration instead of writing it")
    ap.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    args = ap.parse_args()
    console = Console(width=220)
    started = time.perf_counter()
    doc = measure(args.originals, args.distinct, args.seed)
    console.print(f"calibration set: {doc['set']['originals']} originals, {doc['set']['copies']} copies, "
                  f"{doc['set']['distinct']} distinct ({time.perf_counter() - started:.0f} s)")
    for transforms, harsh in ((doc["set"]["transforms"], doc["set"]["harsh"]), (doc["set"]["textTransforms"], [])):
        summary = Table("method", "threshold", "precision", "recall", "false-match rate", *transforms, *(f"{h} (harsh)" for h in harsh))
        for label, m in doc["methods"].items():
            if set(m["recallByTransform"]) != set(transforms) and m["threshold"] >= 0:
                continue
            if m["threshold"] < 0 and not harsh:
                continue
            row = m["table"][m["threshold"]] if m["threshold"] >= 0 else {"precision": float("nan"), "recall": 0.0, "false_match_rate": float("nan")}
            summary.add_row(
                label, str(m["threshold"]) if m["threshold"] >= 0 else "none", f"{row['precision']:.4f}", f"{row['recall']:.4f}",
                f"{row['false_match_rate']:.1e}", *(f"{m['recallByTransform'].get(t, 0.0):.3f}" for t in transforms),
                *(f"{m['harshRecall'].get(h, 0.0):.3f}" for h in harsh),
            )  # fmt: skip
        console.print(summary)
    for label, m in doc["methods"].items():
        t = Table("threshold", "precision", "recall", "false-match rate", "true", "false", title=label)
        for r in m["table"]:
            if r["threshold"] <= m["threshold"] + 6:
                t.add_row(str(r["threshold"]), f"{r['precision']:.4f}", f"{r['recall']:.4f}", f"{r['false_match_rate']:.1e}",
                          str(r["true_matches"]), str(r["false_matches"]))
        console.print(t)
    text = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    if args.check:
        same = args.out.read_text() == text
        console.print("the shipped calibration is reproduced" if same else f"[red]{args.out} differs from this run[/red]")
        return 0 if same else 1
    args.out.write_text(text)
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
