"""Statement writers: exact amounts in every format (no float on the way)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ledger.codes import currency_exponent
from ledger.exports import StatementView


def _view(currency: str) -> StatementView:
    doc = {"currency": currency, "minorUnitExponent": currency_exponent(currency)}
    return StatementView(doc, "0x" + "00" * 32, "bafy", "")


def test_major_units_by_hand() -> None:
    assert _view("JPY").major(1234) == "1234"
    assert _view("USD").major(1234) == "12.34" and _view("USD").major(5) == "0.05" and _view("USD").major(0) == "0.00"
    assert _view("BHD").major(1234) == "1.234"
    assert _view("USD").major(10**14 - 1) == "999999999999.99"


@given(st.sampled_from(["JPY", "USD", "EUR", "BHD", "KWD", "VND", "CLF"]), st.integers(0, 10**14))
def test_major_units_are_exact(currency: str, minor: int) -> None:
    view = _view(currency)
    text = view.major(minor)
    assert Decimal(text).scaleb(currency_exponent(currency)) == minor
    assert len(text.partition(".")[2]) == currency_exponent(currency)
