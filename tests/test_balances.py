"""Property tests of carried-forward balances: per account, what is paid less what is carried equals
what was earned less what was owed, to the unit; nothing pays a negative amount; an account left
owing is paid nothing; and nothing is carried that the account's earnings could have covered."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.accounting.balances import settle

ACCOUNTS = ["0xA", "0xB", "0xC", "0xD"]

entries = st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.integers(-10**12, 10**12)), max_size=20)
owed = st.dictionaries(st.sampled_from(ACCOUNTS), st.integers(0, 10**12), max_size=4)


@given(entries, owed)
def test_each_account_is_conserved_to_the_unit(earned: list[tuple[str, int]], brought: dict[str, int]) -> None:
    result = settle(earned, brought)
    balances = {b.account: b for b in result.balances}
    assert len(result.payable) == len(earned) and all(p >= 0 for p in result.payable)
    for account in {a for a, _ in earned}:
        paid = sum(p for (a, _), p in zip(earned, result.payable) if a == account)
        got = sum(x for a, x in earned if a == account)
        carried = balances[account].carried_forward if account in balances else 0
        assert paid - carried == got - brought.get(account, 0)
        assert carried >= 0 and (carried == 0 or paid == 0)  # owing and paid at once would pay too early
        positive = sum(max(x, 0) for a, x in earned if a == account)
        owed_total = brought.get(account, 0) + sum(max(-x, 0) for a, x in earned if a == account)
        assert carried == max(0, owed_total - positive)  # carried only what the earnings could not cover
        if account in balances:
            assert balances[account].brought_forward == brought.get(account, 0)
        else:
            assert brought.get(account, 0) == 0 and carried == 0
    for account, amount in brought.items():  # owing and not in this statement: carried as it was
        if amount and account not in {a for a, _ in earned}:
            assert (balances[account].brought_forward, balances[account].carried_forward) == (amount, amount)
    assert [b.account for b in result.balances] == sorted(balances, key=lambda a: int(a, 16))
    assert all(b.brought_forward or b.carried_forward for b in result.balances)


@given(entries, owed)
def test_an_entry_never_pays_more_than_it_earned_and_is_deterministic(earned: list[tuple[str, int]], brought: dict[str, int]) -> None:
    result = settle(earned, brought)
    assert all(p <= max(x, 0) for (_, x), p in zip(earned, result.payable))
    assert settle(list(earned), dict(brought)) == result


@given(st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.integers(0, 10**12)), max_size=20))
def test_without_debts_entries_pay_what_they_earned(earned: list[tuple[str, int]]) -> None:
    result = settle(earned, {})
    assert result.payable == [x for _, x in earned] and result.balances == []


def test_the_shortfall_is_taken_from_the_accounts_entries_in_order() -> None:
    result = settle([("0xA", 300), ("0xA", 500), ("0xB", -40), ("0xC", 10)], {"0xA": 600, "0xD": 9})
    assert result.payable == [0, 200, 0, 10]
    assert [(b.account, b.brought_forward, b.carried_forward) for b in result.balances] == [("0xA", 600, 0), ("0xB", 0, 40), ("0xD", 9, 9)]


def test_a_negative_balance_brought_forward_is_refused() -> None:
    with pytest.raises(ValueError, match="never negative"):
        settle([("0xA", 5)], {"0xA": -1})
