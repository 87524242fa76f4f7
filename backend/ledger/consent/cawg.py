"""The CAWG training-and-data-mining assertion (``cawg.training-mining``, CAWG 1.1), both ways.

Read from a C2PA manifest's assertions (the C2PA 1.x form, ``c2pa.training-mining`` with
``c2pa.``-prefixed entries, is read too); written into the manifests the ledger signs, so a
copy of a registered work carries its terms in the words other tools read.
"""

from typing import Any

from ledger.consent.signals import CAWG, Signal
from ledger.consent.uses import CAWG_USES, Use, State, state_of

LABEL = "cawg.training-mining"
LEGACY_LABEL = "c2pa.training-mining"
_ENTRY = {u: f"cawg.{u.key}" for u in CAWG_USES}
_BY_ENTRY = {name: u for u, name in _ENTRY.items()} | {f"c2pa.{u.key}": u for u in CAWG_USES}
MAX_TEXT = 1024


def read(label: str, data: Any) -> Signal | None:
    """The signal of one assertion, or None when it is not a training-mining assertion (or says
    nothing this ledger understands). Unknown entries and states are kept in ``value`` only."""
    if label.split("__")[0] not in (LABEL, LEGACY_LABEL) or not isinstance(data, dict):
        return None
    entries = data.get("entries", data)  # CAWG 1.0 documents omitted the "entries" map
    if not isinstance(entries, dict):
        return None
    uses: dict[Use, State] = {}
    constraints: list[str] = []
    value: dict[str, Any] = {}
    for name, entry in list(entries.items())[:64]:
        if not isinstance(entry, dict) or not isinstance(name, str):
            continue
        said = entry.get("use")
        info = entry.get("constraint_info", entry.get("constraints_info"))
        value[name[:100]] = {"use": str(said)[:32]} | ({"constraint_info": str(info)[:MAX_TEXT]} if info is not None else {})
        use = _BY_ENTRY.get(name)
        if use is None or said not in (s.value for s in State):
            continue
        uses[use] = State(said)
        if said == State.CONSTRAINED and isinstance(info, str) and info and info[:MAX_TEXT] not in constraints:
            constraints.append(info[:MAX_TEXT])
    if not uses:
        return None
    return Signal(CAWG, value, uses, "; ".join(constraints))


def assertion(word: int, constraints: str) -> dict[str, Any]:
    """The assertion's data for terms: one entry per CAWG use, constraint_info on constrained ones."""
    entries: dict[str, Any] = {}
    for use in CAWG_USES:
        state = state_of(word, use)
        entries[_ENTRY[use]] = {"use": state.value} | ({"constraint_info": constraints} if state is State.CONSTRAINED else {})
    return {"entries": entries}
