"""What a file or a site says about its uses (a consent signal), and where it disagrees with the
terms a work is registered under.

Every standard is read into the same shape: the uses the signal speaks about, each with a CAWG
state, plus the constraints text it points to. A signal says nothing about the uses it does not
name (IPTC's "prohibited for generative AI/ML training" leaves data mining open), so conflicts
are judged only on named uses.
"""

from dataclasses import dataclass, field
from typing import Any

from ledger.consent.uses import Use, State, state_of

#: How much a state restricts a use, for comparing a signal with the terms.
_STRICTNESS = {State.ALLOWED: 0, State.CONSTRAINED: 1, State.NOT_ALLOWED: 2}

CAWG = "cawg.training-mining"
IPTC = "iptc:plus:DataMining"
TDMREP = "w3c:tdmrep"


@dataclass(frozen=True)
class Signal:
    standard: str  # CAWG, IPTC or TDMREP
    value: dict[str, Any]  # what the source said, in its own words
    uses: dict[Use, State]  # the uses it names
    constraints: str = ""  # the licence, policy or constraints text it points to

    def as_json(self) -> dict[str, Any]:
        return {
            "standard": self.standard, "value": self.value, "constraints": self.constraints,
            "uses": {u.key: s.value for u, s in sorted(self.uses.items())},
        }  # fmt: skip


@dataclass(frozen=True)
class Conflict:
    """A use a signal and the terms judge differently. ``stricter``: the signal reserves what the
    terms allow (the case an audit cannot ignore); otherwise the terms are the narrower."""

    use: Use
    standard: str
    signal: State
    terms: State
    stricter: bool = field(default=False)

    def as_json(self) -> dict[str, Any]:
        return {"use": self.use.key, "standard": self.standard, "signal": self.signal.value, "terms": self.terms.value, "signalIsStricter": self.stricter}


def conflicts(signals: list[Signal], word: int) -> list[Conflict]:
    out = []
    for signal in signals:
        for use, said in sorted(signal.uses.items()):
            terms = state_of(word, use)
            if said is not terms:
                out.append(Conflict(use, signal.standard, said, terms, _STRICTNESS[said] > _STRICTNESS[terms]))
    return out
