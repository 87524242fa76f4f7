"""IPTC Photo Metadata's data-mining property (PLUS ``plus:DataMining``, vocabulary of 2023.1),
both ways.

A value names what it prohibits; the ledger reads it into the uses it names and leaves the rest
open. Mapping terms back picks the one value that says exactly what the terms say, and falls
back to "prohibited, see constraints" (with the terms' own words in ``plus:OtherConstraints``)
where the vocabulary has no exact value: a file never claims more freedom than the terms give.
"""

from ledger.consent.signals import IPTC, Signal
from ledger.consent.uses import Use, State, state_of

NAMESPACE = "http://ns.useplus.org/ldf/xmp/1.0/"
VOCAB = "http://ns.useplus.org/ldf/vocab/"
UNSPECIFIED = "DMI-UNSPECIFIED"
ALLOWED = "DMI-ALLOWED"
PROHIBITED_AI = "DMI-PROHIBITED-AIMLTRAINING"
PROHIBITED_GENAI = "DMI-PROHIBITED-GENAIMLTRAINING"
PROHIBITED_EXCEPT_SEARCH = "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING"
PROHIBITED = "DMI-PROHIBITED"
SEE_CONSTRAINT = "DMI-PROHIBITED-SEECONSTRAINT"
SEE_EMBEDDED = "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR"
SEE_LINKED = "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR"

_MINING_AND_TRAINING = (Use.DATA_MINING, Use.AI_TRAINING, Use.AI_GENERATIVE_TRAINING)
_EVERY_MACHINE_USE = (*_MINING_AND_TRAINING, Use.AI_INFERENCE)
_MEANING: dict[str, dict[Use, State]] = {
    ALLOWED: {u: State.ALLOWED for u in _MINING_AND_TRAINING},
    PROHIBITED_AI: {Use.AI_TRAINING: State.NOT_ALLOWED, Use.AI_GENERATIVE_TRAINING: State.NOT_ALLOWED},
    PROHIBITED_GENAI: {Use.AI_GENERATIVE_TRAINING: State.NOT_ALLOWED},
    PROHIBITED_EXCEPT_SEARCH: {u: State.NOT_ALLOWED for u in _EVERY_MACHINE_USE},
    PROHIBITED: {u: State.NOT_ALLOWED for u in _EVERY_MACHINE_USE},
    SEE_CONSTRAINT: {u: State.CONSTRAINED for u in _MINING_AND_TRAINING},
    SEE_EMBEDDED: {u: State.CONSTRAINED for u in _MINING_AND_TRAINING},
    SEE_LINKED: {u: State.CONSTRAINED for u in _MINING_AND_TRAINING},
}
VALUES = (UNSPECIFIED, *_MEANING)


def code(value: str) -> str:
    """``DMI-...`` from the full vocabulary URI or the bare code (case as the vocabulary has it)."""
    v = value.strip()
    if v.lower().startswith(VOCAB.lower()):
        v = v[len(VOCAB):]
    return v.upper()


def read(value: str, other_constraints: str = "") -> Signal | None:
    """The signal of a ``plus:DataMining`` value; None for "unspecified" and unknown values."""
    c = code(value)
    meaning = _MEANING.get(c)
    if meaning is None:
        return None
    constrained = any(s is State.CONSTRAINED for s in meaning.values())
    text = other_constraints.strip()[:1024] if constrained else ""
    if constrained and not text:
        text = {SEE_EMBEDDED: "see the embedded encoded rights expression", SEE_LINKED: "see the linked encoded rights expression"}.get(c, "see plus:OtherConstraints")
    said = {"plus:DataMining": VOCAB + c} | ({"plus:OtherConstraints": other_constraints[:1024]} if other_constraints else {})
    return Signal(IPTC, said, dict(meaning), text)


def from_terms(word: int, constraints: str) -> tuple[str, str]:
    """(``plus:DataMining`` URI, ``plus:OtherConstraints`` text or "") saying what the terms say."""
    s = {u: state_of(word, u) for u in _EVERY_MACHINE_USE}
    mining, training, generative = s[Use.DATA_MINING], s[Use.AI_TRAINING], s[Use.AI_GENERATIVE_TRAINING]
    if mining is training is generative is State.ALLOWED:
        return VOCAB + ALLOWED, ""
    if all(v is State.NOT_ALLOWED for v in s.values()):
        return VOCAB + PROHIBITED, ""
    if mining is State.ALLOWED and training is generative is State.NOT_ALLOWED:
        return VOCAB + PROHIBITED_AI, ""
    if mining is training is State.ALLOWED and generative is State.NOT_ALLOWED:
        return VOCAB + PROHIBITED_GENAI, ""
    summary = ", ".join(f"{u.key} {s[u].value}" for u in _EVERY_MACHINE_USE)
    return VOCAB + SEE_CONSTRAINT, f"{summary}" + (f"; constraints: {constraints}" if constraints else "")
