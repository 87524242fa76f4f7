"""ISO reference codes the ledger accepts: currencies (ISO 4217, with their minor units) and
territories (ISO 3166-1 alpha-2).

Amounts are stored in minor units, so a currency without a defined minor unit (gold, SDR, the
"no currency" code XXX) cannot be reported in: its exponent is unknown and a statement could not
say what "1" means. ``ZZ`` stands for "worldwide", as DDEX flat files allow a worldwide line.
"""

from functools import cache

import iso4217
import pycountry

WORLDWIDE = "ZZ"


@cache
def _currencies() -> dict[str, int]:
    return {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}


@cache
def _territories() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries) | {WORLDWIDE}


def minor_unit_text(exponent: int) -> str:
    """How a person reads a minor unit: "1" (JPY: the unit itself), "0.01" (USD), "0.001" (BHD)."""
    return "1 (no decimals)" if exponent == 0 else f"0.{'0' * (exponent - 1)}1"


def currency_exponent(code: str) -> int:
    """Digits after the decimal point of one minor unit (JPY 0, USD 2, BHD 3).

    Raises ValueError for a code that is not an ISO 4217 currency with a minor unit."""
    try:
        return _currencies()[code]
    except KeyError:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code with a minor unit (e.g. JPY, USD, EUR)") from None


def is_currency(code: str) -> bool:
    return code in _currencies()


def is_territory(code: str) -> bool:
    return code in _territories()


def territory_codes() -> frozenset[str]:
    """Every code ``is_territory`` accepts, for checking many lines without a call each."""
    return _territories()
