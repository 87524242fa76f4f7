"""Precision and recall of each method on data with a known answer, and the thresholds they give.

Pure: codes in, tables out. A query is a transformed copy of one original (it should match
that original and nothing else) or a distinct picture (it should match nothing). A method
"matches" a query to an original when their distance is at most the threshold, the distance
being the smallest over the query's codes and the original's indexed codes, as the index
computes it. For every threshold:

- recall: copies matched to their own original / copies;
- precision: correct matches / all matches (a copy matched to another original, or a distinct
  picture matched to anything, is a false match);
- false-match rate: false matches / (query, original) pairs that should not match. Multiplied by
  the number of registered files, it is the false matches to expect per query at that scale.

The threshold chosen is the largest one whose precision is at least ``TARGET_PRECISION`` and
whose false-match rate is at most ``MAX_FALSE_MATCH_RATE`` (-1 when none is: the method then
never decides a match and is shown as corroboration only); the score of a distance is the
share of true matches among calibration pairs at that distance (equal priors, smoothed,
non-increasing in the distance).
"""

from dataclasses import dataclass

import numpy as np

from ledger.evidence.index import exact_distances, pack

TARGET_PRECISION = 0.99
MAX_FALSE_MATCH_RATE = 1e-4
MAX_THRESHOLD = 32  # half the bits: beyond it two codes are no more alike than chance


@dataclass(frozen=True)
class Row:
    threshold: int
    precision: float
    recall: float
    false_match_rate: float
    true_matches: int
    false_matches: int


@dataclass(frozen=True)
class MethodCalibration:
    method: str  # name@version
    threshold: int
    table: list[Row]
    recall_by_transform: dict[str, float]  # at the chosen threshold
    scores: list[float]  # scores[d] for d in 0..64

    def as_json(self) -> dict[str, object]:
        return {
            "method": self.method,
            "threshold": self.threshold,
            "table": [r.__dict__ for r in self.table],
            "recallByTransform": self.recall_by_transform,
            "scores": self.scores,
        }


def _grouped_min(stored: list[list[bytes]], queries: list[list[bytes]]) -> np.ndarray:
    """(queries x stored files): the smallest distance between any of their codes."""
    pairwise = exact_distances(pack(c for codes in stored for c in codes), pack(c for codes in queries for c in codes))
    starts = np.cumsum([0] + [len(c) for c in stored[:-1]])  # each file's codes are contiguous
    qstarts = np.cumsum([0] + [len(c) for c in queries[:-1]])
    return np.minimum.reduceat(np.minimum.reduceat(pairwise, starts, axis=1), qstarts, axis=0).astype(np.int32)


def distance_matrix(indexed: list[list[bytes]], queries: list[list[bytes]], windows: list[list[bytes]] | None = None) -> np.ndarray:
    """(queries x originals): the distance search measures. Query codes against every indexed
    code; and, given the queries' ``windows``, those against each original's whole-file code."""
    out = _grouped_min(indexed, queries)
    if windows is not None:
        has = [i for i, w in enumerate(windows) if w]
        if has:
            part = _grouped_min([codes[:1] for codes in indexed], [windows[i] for i in has])
            out[has] = np.minimum(out[has], part)
    return out


def calibrate(
    method: str, distances: np.ndarray, truth: list[int | None], transforms: list[str | None]
) -> MethodCalibration:
    """``distances`` from ``distance_matrix``; ``truth[q]`` the original query q copies (None: a
    distinct picture); ``transforms[q]`` its transformation's name (for recall per transform)."""
    n_q, n_o = distances.shape
    own = np.zeros_like(distances, dtype=bool)
    for q, o in enumerate(truth):
        if o is not None:
            own[q, o] = True
    copies = int(own.sum())
    negative_pairs = n_q * n_o - copies
    table = []
    for t in range(MAX_THRESHOLD + 1):
        hit = distances <= t
        tm = int((hit & own).sum())
        fm = int((hit & ~own).sum())
        table.append(
            Row(t, 1.0 if tm + fm == 0 else tm / (tm + fm), tm / copies if copies else 0.0, fm / negative_pairs if negative_pairs else 0.0, tm, fm)
        )
    good = [r.threshold for r in table if r.precision >= TARGET_PRECISION and r.false_match_rate <= MAX_FALSE_MATCH_RATE]
    threshold = max(good) if good else -1  # no distance is safe: the method never decides a match
    by_transform: dict[str, float] = {}
    for name in sorted({t for t in transforms if t}):
        qs = [q for q, t in enumerate(transforms) if t == name]
        by_transform[name] = round(float(np.mean([distances[q, truth[q]] <= threshold for q in qs])), 4)  # type: ignore[index]
    pos = np.bincount(distances[own].ravel(), minlength=65)[:65].astype(float)
    neg = np.bincount(distances[~own].ravel(), minlength=65)[:65].astype(float)
    pos_rate = (pos + 0.5) / (pos.sum() + 32.5)
    neg_rate = (neg + 0.5) / (neg.sum() + 32.5)
    raw = pos_rate / (pos_rate + neg_rate)
    scores = np.minimum.accumulate(raw)
    return MethodCalibration(method, threshold, table, by_transform, [round(float(s), 4) for s in scores])
