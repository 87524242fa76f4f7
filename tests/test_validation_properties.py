"""Property tests of the share rules the API enforces before anything reaches the chain."""

from hypothesis import given
from hypothesis import strategies as st

from ledger.chain.registry import TOTAL_BPS, Owner, Terms
from ledger.services.errors import InvalidInput
from ledger.services.works import WorkRequest, _validate

HOLDER = "0x" + "aa" * 20
addresses = st.integers(min_value=1, max_value=2**160 - 1).map(lambda n: "0x" + f"{n:040x}")
owners_st = st.lists(st.tuples(addresses, st.integers(min_value=-5, max_value=TOTAL_BPS + 5)), min_size=1, max_size=12)


def _request(owners: list[Owner]) -> WorkRequest:
    return WorkRequest(title="t", terms=Terms.from_flags(True, 0), owners=owners, content_hash=b"\x01" * 32)


@given(owners_st)
def test_accepts_exactly_positive_unique_shares_summing_to_total(raw: list[tuple[str, int]]) -> None:
    owners = [Owner(a, a, s) for a, s in raw]
    valid = (
        all(s > 0 for _, s in raw)
        and sum(s for _, s in raw) == TOTAL_BPS
        and len({a.lower() for a, _ in raw}) == len(raw)
    )
    try:
        _, normalised = _validate(_request(owners), HOLDER, "")
    except InvalidInput:
        assert not valid
        return
    assert valid
    # What goes on chain: same owners and shares, strictly ascending by account, summing to the total.
    assert sorted((o.account.lower(), o.share_bps) for o in normalised) == sorted((a.lower(), s) for a, s in raw)
    keys = [int(o.account, 16) for o in normalised]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert sum(o.share_bps for o in normalised) == TOTAL_BPS


@given(st.integers(min_value=2, max_value=40), st.data())
def test_any_split_of_the_total_is_accepted(n: int, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.lists(st.integers(1, TOTAL_BPS - 1), min_size=n - 1, max_size=n - 1, unique=True)))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, TOTAL_BPS])]
    accounts = data.draw(st.lists(addresses, min_size=n, max_size=n, unique_by=str.lower))
    _, normalised = _validate(_request([Owner(a, a, s) for a, s in zip(accounts, shares)]), HOLDER, "")
    assert sum(o.share_bps for o in normalised) == TOTAL_BPS


def test_default_owner_is_the_holder() -> None:
    _, owners = _validate(WorkRequest(title="t", terms=Terms.from_flags(True, 0), content_hash=b"\x01" * 32), HOLDER, "")
    assert [(o.account.lower(), o.payout.lower(), o.share_bps) for o in owners] == [(HOLDER, HOLDER, TOTAL_BPS)]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(alphabet="ab{}[]\"\\,: ", max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(alphabet="{[]}x\"", max_size=3), inner, max_size=3),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(_JSON, st.integers(min_value=0, max_value=6))
def test_the_nesting_bound_is_the_parsed_documents_depth(value: object, max_depth: int) -> None:
    """``check_json_text`` refuses exactly the documents nested deeper than the bound, whether it
    counts brackets alone (few of them) or walks them (more brackets than the bound), brackets
    inside strings and keys not counting."""
    import json

    from ledger.jsonshape import JsonLimits, JsonShapeError, check_json_text

    text = json.dumps(value).encode()
    try:
        check_json_text(text, JsonLimits(max_depth=max_depth))
        refused = False
    except JsonShapeError:
        refused = True
    assert refused == (_depth(value) > max_depth)
