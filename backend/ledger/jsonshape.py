"""Bounds on JSON text, checked before anything parses it.

Python's ``json`` module recurses in C once per nesting level and relies on the interpreter's
recursion limit to stop; web3's dependency py_ecc raises that limit to 100,000 at import, so a
body of 100,000 ``[`` runs the parser off the C stack and kills the process. The scanner here
measures nesting and number length without recursion (numpy over the bracket positions, strings
removed first), so a hostile document is refused before a parser ever sees it.
"""

import re
from dataclasses import dataclass
import numpy as np

#: A JSON string literal, unrolled so the regex engine does not backtrack or recurse on long strings.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_OPEN = np.zeros(256, dtype=np.int8)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


class JsonShapeError(ValueError):
    """The text nests deeper, or carries a longer number, than the limits allow."""


@dataclass(frozen=True)
class JsonLimits:
    max_depth: int = 32
    #: Digits (with sign, point and exponent) of one number: a uint256 has 78 digits.
    max_number_chars: int = 100


def check_json_text(text: bytes, limits: JsonLimits = JsonLimits()) -> None:
    """Raises JsonShapeError if ``text`` nests deeper than ``limits.max_depth`` or holds a number
    longer than ``limits.max_number_chars``; says nothing about whether it is valid JSON."""
    skeleton = _STRING.sub(b'""', text)
    long_number = re.search(rb"[-+0-9.eE]{%d,}" % (limits.max_number_chars + 1), skeleton)
    if long_number is not None:
        raise JsonShapeError(f"a number in the JSON is longer than {limits.max_number_chars} characters")
    if skeleton.count(b"{") + skeleton.count(b"[") <= limits.max_depth:
        return  # fewer brackets than the limit cannot nest deeper: most bodies, without numpy's setup
    steps = _OPEN[np.frombuffer(skeleton, dtype=np.uint8)]
    moves = steps[steps != 0].astype(np.int32)
    if moves.size and int(np.cumsum(moves).max()) > limits.max_depth:
        raise JsonShapeError(f"the JSON nests deeper than {limits.max_depth} levels")

