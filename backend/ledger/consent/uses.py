"""The consent vocabulary of a work's terms: the uses of the CAWG training-and-data-mining
assertion, plus this ledger's own, each allowed, not allowed or constrained, packed into the
contract's terms word (2 bits per use, WorkRegistry terms format 2).

One module owns the packing so the contract, the projection, the API and every standard's mapping
(CAWG, IPTC, TDMRep) agree on what a word means. Format 1 (one bit per use: training, reference)
is read through ``from_format1``: what "training allowed" meant then is every mining and
training use now, what "reference allowed" meant is reference use and inference.
"""

from collections.abc import Mapping
from enum import IntEnum, StrEnum
from functools import lru_cache


class Use(IntEnum):
    """A use's slot in the terms word (the contract's USE_* constants)."""

    DATA_MINING = 0
    AI_INFERENCE = 1
    AI_GENERATIVE_TRAINING = 2
    AI_TRAINING = 3
    #: A generation took the work as an input (image-to-image, style reference, retrieval) and
    #: the output pays it: the link kind the evidence issue's reliance needs.
    REFERENCE = 4
    #: Additional training on a small set meant to reproduce this creator's expression (Japan's
    #: Agency for Cultural Affairs, General Understanding on AI and Copyright, 2024).
    CREATOR_FINETUNE = 5

    @property
    def key(self) -> str:
        """The name used in the API and documents: CAWG's entry name without its prefix."""
        return _KEYS[self]


class State(StrEnum):
    """CAWG's three values. Absence of consent is no consent: an unset slot reads NOT_ALLOWED."""

    NOT_ALLOWED = "notAllowed"
    ALLOWED = "allowed"
    CONSTRAINED = "constrained"


_KEYS = {
    Use.DATA_MINING: "data_mining",
    Use.AI_INFERENCE: "ai_inference",
    Use.AI_GENERATIVE_TRAINING: "ai_generative_training",
    Use.AI_TRAINING: "ai_training",
    Use.REFERENCE: "reference",
    Use.CREATOR_FINETUNE: "creator_finetune",
}
USE_KEYS: tuple[str, ...] = tuple(_KEYS[u] for u in Use)
BY_KEY: dict[str, Use] = {v: k for k, v in _KEYS.items()}
_CODE = {State.NOT_ALLOWED: 0, State.ALLOWED: 1, State.CONSTRAINED: 2}
_STATE = {v: k for k, v in _CODE.items()}
#: The uses CAWG names (the rest are this ledger's own).
CAWG_USES = (Use.DATA_MINING, Use.AI_INFERENCE, Use.AI_GENERATIVE_TRAINING, Use.AI_TRAINING)
#: Longest constraints reference the contract keeps (bytes of UTF-8).
MAX_CONSTRAINTS_LENGTH = 256

Uses = dict[Use, State]


class UsesError(ValueError):
    """A terms word or uses map that means nothing: what is wrong is in the message."""


def pack(uses: Mapping[Use, State]) -> int:
    word = 0
    for use, state in uses.items():
        word |= _CODE[State(state)] << (2 * Use(use))
    return word


def unpack(word: int) -> Uses:
    if word < 0 or word >> (2 * len(Use)):
        raise UsesError(f"terms word {word} has bits beyond the {len(Use)} known uses")
    out: Uses = {}
    for use in Use:
        code = (word >> (2 * use)) & 3
        if code not in _STATE:
            raise UsesError(f"terms word {word} holds an unknown state in use {use.key}")
        out[use] = _STATE[code]
    return out


def state_of(word: int, use: Use) -> State:
    return _STATE.get((word >> (2 * use)) & 3, State.NOT_ALLOWED)


@lru_cache(maxsize=1024)  # asked of every registration's terms, twice; the words in use are few
def any_constrained(word: int) -> bool:
    return any(state_of(word, u) is State.CONSTRAINED for u in Use)


#: Format 1's bits.
FORMAT1_TRAINING = 1
FORMAT1_REFERENCE = 2
TRAINING_USES = (Use.DATA_MINING, Use.AI_GENERATIVE_TRAINING, Use.AI_TRAINING)
REFERENCE_USES = (Use.REFERENCE, Use.AI_INFERENCE)


@lru_cache(maxsize=4)  # four words in all: built once each, not a dict of every use a request
def from_flags(training: bool, reference: bool) -> int:
    """The word the two flags of format 1 (and the API's shorthand) stand for."""
    uses = {u: State.NOT_ALLOWED for u in Use}
    if training:
        uses.update({u: State.ALLOWED for u in TRAINING_USES})
    if reference:
        uses.update({u: State.ALLOWED for u in REFERENCE_USES})
    return pack(uses)


def from_format1(bits: int) -> int:
    return from_flags(bool(bits & FORMAT1_TRAINING), bool(bits & FORMAT1_REFERENCE))


def as_document(word: int) -> dict[str, str]:
    """``{"data_mining": "allowed", ...}``: every use, in slot order."""
    return {u.key: s.value for u, s in unpack(word).items()}


def from_document(doc: Mapping[str, str]) -> Uses:
    """A uses map from the API's words; uses left out are not allowed."""
    out: Uses = {u: State.NOT_ALLOWED for u in Use}
    for key, value in doc.items():
        if key not in BY_KEY:
            raise UsesError(f"unknown use {key!r}: the uses are {', '.join(USE_KEYS)}")
        try:
            out[BY_KEY[key]] = State(value)
        except ValueError:
            raise UsesError(f"use {key}: {value!r} is not one of allowed, notAllowed, constrained") from None
    return out
