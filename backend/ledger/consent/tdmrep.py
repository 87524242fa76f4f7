"""W3C TDMRep (the Text and Data Mining Reservation Protocol): ``tdm-reservation`` and
``tdm-policy``, both ways, and a site's ``/.well-known/tdmrep.json``.

A reservation (1) reserves text and data mining, which the EU's DSM Directive (art. 4) and the
AI Act read as covering AI training: the mining and training uses are not allowed, or
constrained by the policy when one is named. No reservation (0) allows them.
"""

import json
import re
from dataclasses import dataclass

from ledger.consent.signals import TDMREP, Signal
from ledger.consent.uses import Use, State, state_of

NAMESPACE = "http://www.w3.org/ns/tdmrep/"
MAX_FILE = 1 << 20
MAX_RULES = 10_000
_USES = (Use.DATA_MINING, Use.AI_TRAINING, Use.AI_GENERATIVE_TRAINING)


class TdmRepError(ValueError):
    """A tdmrep.json that does not follow the protocol: what is wrong is in the message."""


def read(reservation: object, policy: str = "") -> Signal | None:
    """The signal of one (reservation, policy) pair; None when the reservation is not 0 or 1."""
    try:
        r = int(str(reservation).strip())
    except ValueError:
        return None
    if r not in (0, 1):
        return None
    policy = policy.strip()[:1024]
    value = {"tdm-reservation": r} | ({"tdm-policy": policy} if policy else {})
    if r == 0:
        return Signal(TDMREP, value, {u: State.ALLOWED for u in _USES})
    if policy:
        return Signal(TDMREP, value, {u: State.CONSTRAINED for u in _USES}, policy)
    return Signal(TDMREP, value, {u: State.NOT_ALLOWED for u in _USES})


def from_terms(word: int, constraints: str) -> dict[str, object]:
    """The TDMRep properties for terms: no reservation only when mining and training are all
    allowed; a policy (the constraints) only when none of them is refused outright, since a
    reader takes a policy to govern all three."""
    states = [state_of(word, u) for u in _USES]
    if all(s is State.ALLOWED for s in states):
        return {"tdm-reservation": 0}
    if constraints and State.NOT_ALLOWED not in states:
        return {"tdm-reservation": 1, "tdm-policy": constraints}
    return {"tdm-reservation": 1}


@dataclass(frozen=True)
class Rule:
    location: str
    reservation: int
    policy: str

    def matches(self, path: str) -> bool:
        """robots.txt-style patterns, as TDMRep specifies: ``*`` any sequence, ``$`` end of path."""
        pattern = self.location
        anchored = pattern.endswith("$")
        body = re.escape(pattern[:-1] if anchored else pattern).replace(r"\*", ".*")
        return re.match(body + ("$" if anchored else ""), path) is not None


def parse_well_known(data: bytes) -> list[Rule]:
    """The rules of a ``/.well-known/tdmrep.json`` (a JSON array of {location, tdm-reservation,
    tdm-policy?}), bounded in size and count."""
    if len(data) > MAX_FILE:
        raise TdmRepError(f"tdmrep.json is over {MAX_FILE} bytes")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as e:
        raise TdmRepError(f"tdmrep.json is not JSON: {e}") from None
    if not isinstance(doc, list):
        raise TdmRepError("tdmrep.json must be a JSON array of rules")
    if len(doc) > MAX_RULES:
        raise TdmRepError(f"tdmrep.json has over {MAX_RULES} rules")
    rules = []
    for i, item in enumerate(doc):
        if not isinstance(item, dict) or not isinstance(item.get("location"), str):
            raise TdmRepError(f"rule {i}: needs a location (a path pattern)")
        reservation = item.get("tdm-reservation")
        if reservation not in (0, 1) or isinstance(reservation, bool):
            raise TdmRepError(f"rule {i}: tdm-reservation must be 0 or 1")
        policy = item.get("tdm-policy", "")
        if not isinstance(policy, str) or len(policy) > 1024:
            raise TdmRepError(f"rule {i}: tdm-policy must be a URL of at most 1024 characters")
        location = item["location"]
        if not location.startswith("/") or len(location) > 2048:
            raise TdmRepError(f"rule {i}: location must be a path starting with / (at most 2048 characters)")
        rules.append(Rule(location, reservation, policy))
    return rules


def rule_for(rules: list[Rule], path: str) -> Rule | None:
    """The rule governing ``path``: the first that matches, in the file's order."""
    return next((r for r in rules if r.matches(path)), None)
