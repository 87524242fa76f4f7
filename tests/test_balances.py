"""Property tests of carried-forward balances: per account, what is paid less what is carried equals
what was earned less what was owed, to the unit; nothing pays a negative amount; an account left
owing is paid nothing; and nothing is carried that the account's earnings could have covered."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.accounting.balances import BPS, Balance, Reserve, ReservePolicy, settle

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


CHAIN_ACCOUNTS = ["0x0A", "0x0B", "0x0C"]
PAYOUTS = ["0x01", "0x02"]


@st.composite
def statements_in_a_row(draw: st.DrawFn) -> tuple[list[list[tuple[str, str, int]]], list[dict[str, int]], ReservePolicy]:
    """A currency's statements one after another: each one's entries (account, payout, earned),
    each one's new advances, and a reserve policy."""
    policy = ReservePolicy(draw(st.integers(0, BPS)), draw(st.integers(1, 3)))
    n = draw(st.integers(1, 6))
    rows, advances = [], []
    for _ in range(n):
        keys = draw(st.lists(st.tuples(st.sampled_from(CHAIN_ACCOUNTS), st.sampled_from(PAYOUTS)), unique=True, max_size=5))
        rows.append(sorted((a, p, draw(st.integers(-10**6, 10**9))) for a, p in keys))
        advances.append(draw(st.dictionaries(st.sampled_from(CHAIN_ACCOUNTS), st.integers(1, 10**8), max_size=2)))
    return rows, advances, policy


@settings(max_examples=200, deadline=None)
@given(statements_in_a_row())
def test_advances_and_reserves_conserve_across_statements(case: tuple[list[list[tuple[str, str, int]]], list[dict[str, int]], ReservePolicy]) -> None:
    """Statement after statement, as a currency's chain of statements settles them: every entry pays
    its earnings less what was withheld, plus what was released, less what was recouped; per
    account and statement, paid - carried = earned - brought - advances - withheld + released;
    every tranche is released exactly once, ``release_after`` statements after it was held, into
    its own payee's entry; nothing is ever negative; and over the whole run, what was paid plus
    what is still held, less what is still owed, is what was earned less the advances."""
    rows, advances, policy = case
    owed: dict[str, int] = {}
    reserves: list[Reserve] = []
    paid_total = earned_total = advanced = 0
    released_tranches: list[Reserve] = []
    for ordinal, (entries, new_advances) in enumerate(zip(rows, advances)):
        due = {(r.account, r.payout) for r in reserves if r.release_at <= ordinal}
        entries = sorted(entries + [(a, p, 0) for a, p in due if (a, p) not in {(x, y) for x, y, _ in entries}])  # a release needs an entry
        result = settle([(a, e) for a, _, e in entries], owed, payouts=[p for _, p, _ in entries], advances=new_advances,
                        reserves=reserves, policy=policy, ordinal=ordinal)  # fmt: skip
        assert min(result.payable + result.withheld + result.released + result.recouped, default=0) >= 0
        for (_, _, e), pay, held, back, took in zip(entries, result.payable, result.withheld, result.released, result.recouped):
            assert pay == max(e, 0) - held + back - took
            assert held == max(e, 0) * policy.share_bps // BPS
        balances = {b.account: b for b in result.balances}
        for account in CHAIN_ACCOUNTS:
            mine = [i for i, (a, _, _) in enumerate(entries) if a == account]
            b = balances.get(account, Balance(account, 0, 0, 0))
            assert b.brought_forward == owed.get(account, 0) and b.advances == new_advances.get(account, 0)
            paid = sum(result.payable[i] for i in mine)
            assert paid - b.carried_forward == (sum(entries[i][2] for i in mine) - b.brought_forward - b.advances
                                                - sum(result.withheld[i] for i in mine) + sum(result.released[i] for i in mine))  # fmt: skip
            if b.carried_forward:
                assert paid == 0  # an account still owing is paid nothing
        assert all(r.release_at == ordinal for r in result.releases) and all(r.release_at > ordinal for r in result.reserves)
        assert all(r.release_at - r.held_by == policy.release_after for r in result.reserves + result.releases)
        released_tranches += result.releases
        owed = {b.account: b.carried_forward for b in result.balances if b.carried_forward}
        reserves = result.reserves
        paid_total += sum(result.payable)
        earned_total += sum(e for _, _, e in entries)
        advanced += sum(new_advances.values())
    assert len(set(released_tranches)) == len(released_tranches)
    assert paid_total + sum(r.amount for r in reserves) - sum(owed.values()) == earned_total - advanced


def test_advance_and_reserve_by_hand() -> None:
    """An advance of 1,000 and a 10 % reserve released after 2 statements: statement 0 earns
    3,000 (300 withheld, 1,000 recouped, 1,700 paid), statement 1 earns 500 (50 withheld, 450
    paid), statement 2 earns nothing but releases 300 (paid in the same payee's entry)."""
    policy = ReservePolicy(1000, 2)
    first = settle([("0x0A", 3000)], {}, payouts=["0x01"], advances={"0x0A": 1000}, policy=policy, ordinal=0)
    assert (first.payable, first.withheld, first.recouped) == ([1700], [300], [1000])
    assert first.balances == [Balance("0x0A", 0, 0, 1000)] and first.reserves == [Reserve("0x0A", "0x01", 0, 300, 2)]
    second = settle([("0x0A", 500)], {}, payouts=["0x01"], reserves=first.reserves, policy=policy, ordinal=1)
    assert (second.payable, second.withheld, second.released) == ([450], [50], [0]) and len(second.reserves) == 2
    third = settle([("0x0A", 0)], {}, payouts=["0x01"], reserves=second.reserves, policy=policy, ordinal=2)
    assert (third.payable, third.released) == ([300], [300]) and third.releases == [Reserve("0x0A", "0x01", 0, 300, 2)]
    assert third.reserves == [Reserve("0x0A", "0x01", 1, 50, 3)]
    try:
        settle([("0x0A", 0)], {}, payouts=["0x02"], reserves=second.reserves, policy=policy, ordinal=2)
    except ValueError as exc:
        assert "no entry" in str(exc)
    else:
        raise AssertionError("a release with no entry of its payee was settled")
