"""Property tests of the split engine: conservation, non-negativity, determinism, agreement with
the line-by-line reference, and invariance under splitting a report into batches."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.accounting.allocation import MAX_AMOUNT, allocate, allocate_groups, allocate_rows, split_two
from ledger.accounting import splits
from ledger.accounting.splits import Facts, Lines, split, split_reference

BPS = 10_000


def _weights(draw: st.DrawFn, n: int) -> list[int]:
    cuts = sorted(draw(st.lists(st.integers(1, BPS - 1), min_size=n - 1, max_size=n - 1, unique=True)))
    return [b - a for a, b in zip([0, *cuts], [*cuts, BPS])]


@st.composite
def ledgers(draw: st.DrawFn, pools: bool = False) -> tuple[Facts, Lines]:
    """A small ledger and its lines; with ``pools``, some outputs are pools (a model's training
    set: any number of works, weights of any total, 1 each for the default equal split)."""
    n_works = draw(st.integers(1, 12))
    n_payees = draw(st.integers(1, 6))
    own_ptr, own_payee, own_share = [0], [], []
    for _ in range(n_works):
        k = draw(st.integers(1, min(3, n_payees)))
        own_payee += draw(st.lists(st.integers(0, n_payees - 1), min_size=k, max_size=k, unique=True))
        own_share += _weights(draw, k)
        own_ptr.append(len(own_payee))
    # Derivatives only point to lower-numbered works, as registration order guarantees (no cycles).
    src_ptr, src_work, src_weight, src_royalty = [0], [], [], []
    for w in range(n_works):
        if w > 0 and draw(st.booleans()):
            k = draw(st.integers(1, min(3, w)))
            src_work += sorted(draw(st.lists(st.integers(0, w - 1), min_size=k, max_size=k, unique=True)))
            src_weight += _weights(draw, k)
            src_royalty += draw(st.lists(st.integers(0, BPS), min_size=k, max_size=k))
        src_ptr.append(len(src_work))
    n_outputs = draw(st.integers(1, 6))
    out_ptr, link_work, link_weight, pooled = [0], [], [], []
    for _ in range(n_outputs):
        pool = pools and draw(st.booleans())
        k = draw(st.integers(1, n_works if pool else min(8, n_works)))
        link_work += sorted(draw(st.lists(st.integers(0, n_works - 1), min_size=k, max_size=k, unique=True)))
        if pool:
            link_weight += [1] * k if draw(st.booleans()) else draw(st.lists(st.integers(1, 50), min_size=k, max_size=k))
        else:
            link_weight += _weights(draw, k)
        out_ptr.append(len(link_work))
        pooled.append(pool)
    n_lines = draw(st.integers(0, 25))
    a = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    facts = Facts(a(out_ptr), a(link_work), a(link_weight), a(src_ptr), a(src_work), a(src_weight), a(src_royalty),
                  a(own_ptr), a(own_payee), a(own_share), n_payees, np.array(pooled) if pools else None)  # fmt: skip
    lines = Lines(
        a(draw(st.lists(st.integers(0, n_outputs - 1), min_size=n_lines, max_size=n_lines))),
        a(draw(st.lists(st.integers(0, 10**12), min_size=n_lines, max_size=n_lines))),
        a(draw(st.lists(st.integers(0, BPS), min_size=n_lines, max_size=n_lines))),
    )
    return facts, lines


@given(st.integers(0, MAX_AMOUNT), st.lists(st.integers(0, 10**4), min_size=1, max_size=20).filter(lambda w: sum(w) > 0))
def test_allocate_conserves_and_is_proportional(amount: int, weights: list[int]) -> None:
    shares = allocate(amount, weights)
    assert sum(shares) == amount and min(shares) >= 0
    total = sum(weights)
    for s, w in zip(shares, weights):
        assert abs(s * total - amount * w) < total  # within one unit of the exact share
        if w == 0:
            assert s == 0


@given(st.data())
def test_vectorised_allocations_equal_the_reference(data: st.DataObject) -> None:
    k = data.draw(st.integers(1, 8))
    rows = data.draw(st.lists(st.tuples(st.integers(0, MAX_AMOUNT), st.lists(st.integers(0, 50), min_size=k, max_size=k)), min_size=1, max_size=10))
    rows = [(a, w if sum(w) else [1] + w[1:]) for a, w in rows]
    total = max(sum(w) for _, w in rows)
    padded = [(a, w[:-1] + [w[-1] + total - sum(w)]) for a, w in rows]  # rows must share a total
    got = allocate_rows(np.array([a for a, _ in padded]), np.array([w for _, w in padded]), total)
    assert got.tolist() == [allocate(a, w) for a, w in padded]
    ptr = np.cumsum([0] + [len(w) for _, w in rows])
    flat = allocate_groups(np.array([a for a, _ in rows]), ptr, np.array([x for _, w in rows for x in w]))
    assert flat.tolist() == [x for a, w in rows for x in allocate(a, w)]


@given(st.lists(st.tuples(st.integers(0, MAX_AMOUNT), st.integers(0, BPS)), min_size=1, max_size=50))
def test_two_party_split_equals_the_reference(rows: list[tuple[int, int]]) -> None:
    first, second = split_two(np.array([a for a, _ in rows]), np.array([w for _, w in rows]), BPS)
    assert list(zip(first.tolist(), second.tolist())) == [tuple(allocate(a, [w, BPS - w])) for a, w in rows]


def test_a_work_may_earn_far_more_than_one_line_carries() -> None:
    """Regression: a period in which one work's total passed 10^14 minor units made the engine
    raise ValueError (a 500 at close), although every line was within the per-line limit."""
    a = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    facts = Facts(a([0, 1]), a([0]), a([BPS]), a([0, 0]), a([]), a([]), a([]), a([0, 2]), a([0, 1]), a([3333, 6667]), 2)
    lines = Lines(a([0] * 50), a([10**14] * 50), a([3000] * 50))
    result = split(facts, lines)
    assert result.payee_totals.sum() == 50 * 10**14 - result.platform.sum()
    assert result.payee_totals.tolist() == split_reference(facts, lines).payee_totals.tolist()


@settings(max_examples=150, deadline=None)
@given(ledgers())
def test_engine_conserves_every_unit_and_matches_reference(case: tuple[Facts, Lines]) -> None:
    facts, lines = case
    result = split(facts, lines)
    assert (result.platform + result.pool == lines.revenue).all()  # per line
    assert result.work_totals.sum() == result.pool.sum()
    assert result.payee_totals.sum() == lines.revenue.sum() - result.platform.sum()
    assert (result.work_totals >= 0).all() and (result.payee_totals >= 0).all() and (result.platform >= 0).all()
    reference = split_reference(facts, lines)
    for field in ("platform", "pool", "work_totals", "owner_amounts", "payee_totals"):
        assert getattr(result, field).tolist() == getattr(reference, field).tolist(), field
    again = split(facts, lines)
    assert again.payee_totals.tolist() == result.payee_totals.tolist()  # deterministic


@settings(max_examples=100, deadline=None)
@given(ledgers(), st.data())
def test_splitting_a_report_into_batches_changes_nothing(case: tuple[Facts, Lines], data: st.DataObject) -> None:
    facts, lines = case
    n = len(lines.revenue)
    cut = data.draw(st.integers(0, n))
    part = lambda lo, hi: Lines(lines.output[lo:hi], lines.revenue[lo:hi], lines.platform_bps[lo:hi])  # noqa: E731
    whole = split(facts, lines)
    first, second = split(facts, part(0, cut)), split(facts, part(cut, n))
    assert (first.work_totals + second.work_totals).tolist() == whole.work_totals.tolist()
    assert np.concatenate([first.platform, second.platform]).tolist() == whole.platform.tolist()


@settings(max_examples=50, deadline=None)
@given(ledgers(), st.integers(1, 4))
def test_chunked_passes_equal_the_reference(case: tuple[Facts, Lines], chunk: int) -> None:
    """The engine walks lines in chunks to bound memory; tiny chunks must change nothing."""
    facts, lines = case
    default = splits.CHUNK_LINES
    splits.CHUNK_LINES = chunk
    try:
        result = split(facts, lines)
    finally:
        splits.CHUNK_LINES = default
    assert result.payee_totals.tolist() == split_reference(facts, lines).payee_totals.tolist()
    assert result.work_totals.tolist() == split(facts, lines).work_totals.tolist()


@settings(max_examples=100, deadline=None)
@given(ledgers(), st.data())
def test_contributions_by_group_are_each_groups_own_split(case: tuple[Facts, Lines], data: st.DataObject) -> None:
    """Statements trace every work's amount to the usage reports it came from: what the engine
    says a group brought a work is exactly that group's split on its own, and the groups add up
    to the work totals."""
    facts, lines = case
    n = len(lines.revenue)
    groups = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    result = split(facts, lines, groups=groups)
    c = result.contributions
    assert c is not None and (c.amount > 0).all()
    assert list(zip(c.work.tolist(), c.group.tolist())) == sorted(set(zip(c.work.tolist(), c.group.tolist())))
    totals = np.zeros(facts.n_works, dtype=np.int64)
    np.add.at(totals, c.work, c.amount)
    assert totals.tolist() == result.work_totals.tolist() == split(facts, lines).work_totals.tolist()
    for g in range(4):
        mask = groups == g
        alone = split(facts, Lines(lines.output[mask], lines.revenue[mask], lines.platform_bps[mask])).work_totals
        mine = {w: a for w, gg, a in zip(c.work.tolist(), c.group.tolist(), c.amount.tolist()) if gg == g}
        assert {w: a for w, a in enumerate(alone.tolist()) if a} == mine
    default = splits.DENSE_CONTRIBUTIONS
    splits.DENSE_CONTRIBUTIONS = 0  # the sorted-keys path large ledgers take
    try:
        sparse = split(facts, lines, groups=groups).contributions
    finally:
        splits.DENSE_CONTRIBUTIONS = default
    assert sparse is not None
    for field in ("work", "group", "amount"):
        assert getattr(sparse, field).tolist() == getattr(c, field).tolist(), field


def test_policy_by_hand() -> None:
    """One line of 10,000 units, platform 30 %, an output linking works 0 (60 %) and 1 (40 %);
    work 1 is a derivative of work 2 (royalty 25 %); work 0 is owned 50/50 by payees 0 and 1."""
    a = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    facts = Facts(
        out_ptr=a([0, 2]), link_work=a([0, 1]), link_weight=a([6000, 4000]),
        src_ptr=a([0, 0, 1, 1]), src_work=a([2]), src_weight=a([10_000]), src_royalty=a([2500]),
        own_ptr=a([0, 2, 3, 4]), own_payee=a([0, 1, 2, 3]), own_share=a([5000, 5000, 10_000, 10_000]), n_payees=4,
    )  # fmt: skip
    result = split(facts, Lines(a([0]), a([10_001]), a([3000])))
    assert result.platform.tolist() == [3000] and result.pool.tolist() == [7001]  # 3000.3 -> 3000; pool gets the unit
    # 7001 * 60 % = 4200.6 -> 4201 to work 0; 2800.4 -> 2800 to work 1, which passes 25 % = 700 to work 2.
    assert result.work_totals.tolist() == [4201, 2100, 700]
    assert result.payee_totals.tolist() == [2101, 2100, 2100, 700]  # the odd unit of 4201 goes to the first owner


@settings(max_examples=100, deadline=None)
@given(ledgers(), st.data())
def test_traced_lines_add_up_to_every_owner_and_payee(case: tuple[Facts, Lines], data: st.DataObject) -> None:
    """Statement lines: each co-owner's amount of a work apportioned over the reports that brought
    it; the lines of an owner and work add up to its amount, and the int64 path equals the
    Python-integer one big works take."""
    from ledger.accounting import tracing

    facts, lines = case
    n = len(lines.revenue)
    groups = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    result = split(facts, lines, groups=groups)
    traced = tracing.trace(facts, result)
    assert (traced.amount > 0).all()
    by_owner = np.zeros(len(facts.own_payee), dtype=np.int64)
    np.add.at(by_owner, traced.owner, traced.amount)
    assert by_owner.tolist() == result.owner_amounts.tolist()
    own_work = np.repeat(np.arange(facts.n_works), np.diff(facts.own_ptr))
    assert traced.work.tolist() == own_work[traced.owner].tolist()
    c = result.contributions
    assert c is not None
    brought = set(zip(c.work.tolist(), c.group.tolist()))
    assert all((w, g) in brought for w, g in zip(traced.work.tolist(), traced.group.tolist()))  # only reports that brought something
    default = tracing.SAFE_WORK_TOTAL
    tracing.SAFE_WORK_TOTAL = -1  # every work through the Python-integer path
    try:
        scalar = tracing.trace(facts, result)
    finally:
        tracing.SAFE_WORK_TOTAL = default
    for field in ("owner", "work", "group", "amount"):
        assert getattr(scalar, field).tolist() == getattr(traced, field).tolist(), field


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 2**40), st.integers(0, 50), st.integers(1, 10**14)), max_size=30))
def test_statement_lines_are_written_canonically(rows: list[tuple[int, int, int, int]]) -> None:
    """The fast writer of a statement's lines gives byte for byte what ``canonical`` would."""
    from ledger.services.royalties import Traces
    from ledger.content.canonical import canonical
    from ledger.content.statement_document import canonical_with_lines, lines_json

    cols = [np.array([r[i] for r in rows], dtype=np.int64) for i in range(4)]
    doc = {"entries": [{"index": 0, "lines": 3}], "reports": [{"lines": 2}], "root": "0x00", "zeta": None}
    expected = canonical({**doc, "lines": [list(r) for r in rows]})
    assert canonical_with_lines(doc, lines_json(Traces(*cols))) == expected
    from ledger.content import statement_document

    default = statement_document._LINES_CHUNK
    statement_document._LINES_CHUNK = 2  # many pieces, each joined to the next by one comma
    try:
        assert canonical_with_lines(doc, lines_json(Traces(*cols))) == expected
    finally:
        statement_document._LINES_CHUNK = default


@settings(max_examples=150, deadline=None)
@given(ledgers(pools=True), st.data())
def test_pools_conserve_and_match_the_reference(case: tuple[Facts, Lines], data: st.DataObject) -> None:
    """Model-level revenue: a pooled output's lines are summed per group and the sum split over
    the pool's works. Every unit is conserved, nothing is negative, the engine equals the
    line-by-line reference (in tiny chunks too), and it is deterministic."""
    facts, lines = case
    n = len(lines.revenue)
    groups = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    result = split(facts, lines, groups=groups)
    assert (result.platform + result.pool == lines.revenue).all()
    assert result.work_totals.sum() == result.pool.sum()
    assert result.payee_totals.sum() + result.platform.sum() == lines.revenue.sum()
    assert (result.work_totals >= 0).all() and (result.payee_totals >= 0).all()
    reference = split_reference(facts, lines, groups=groups)
    for field in ("platform", "pool", "work_totals", "owner_amounts", "payee_totals"):
        assert getattr(result, field).tolist() == getattr(reference, field).tolist(), field
    defaults = splits.CHUNK_LINES, splits.CHUNK_CELLS
    splits.CHUNK_LINES, splits.CHUNK_CELLS = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 6))
    try:
        chunked = split(facts, lines, groups=groups)
    finally:
        splits.CHUNK_LINES, splits.CHUNK_CELLS = defaults
    assert chunked.work_totals.tolist() == result.work_totals.tolist()
    assert chunked.contributions is not None and result.contributions is not None
    assert chunked.contributions.amount.tolist() == result.contributions.amount.tolist()
    untraced = split(facts, lines, groups=groups, contributions=False)
    assert untraced.contributions is None and untraced.work_totals.tolist() == result.work_totals.tolist()


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.lists(st.tuples(st.integers(0, 10**12), st.integers(0, BPS), st.integers(0, 2)), max_size=30), st.booleans(), st.data())
def test_a_pool_pays_each_group_its_sum_split_by_weight(n_works: int, rows: list[tuple[int, int, int]], equal: bool, data: st.DataObject) -> None:
    """One model's pool, one owner per work: what each group (usage report) brings each work is
    exactly that group's summed pool split by the works' weights (largest remainder, ties to the
    lower work), within one unit of the exact share."""
    weights = [1] * n_works if equal else data.draw(st.lists(st.integers(1, 50), min_size=n_works, max_size=n_works))
    a = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    facts = Facts(a([0, n_works]), a(range(n_works)), a(weights), a([0] * (n_works + 1)), a([]), a([]), a([]),
                  a(range(n_works + 1)), a(range(n_works)), a([BPS] * n_works), n_works, np.array([True]))  # fmt: skip
    lines = Lines(a([0] * len(rows)), a([r for r, _, _ in rows]), a([p for _, p, _ in rows]))
    groups = a([g for _, _, g in rows])
    result = split(facts, lines, groups=groups)
    assert result.contributions is not None
    got = {(w, g): x for w, g, x in zip(*(c.tolist() for c in (result.contributions.work, result.contributions.group, result.contributions.amount)))}
    for g in range(3):
        total = int(result.pool[groups == g].sum())
        for w, share in enumerate(allocate(total, weights)):
            assert got.get((w, g), 0) == share
            assert abs(share * sum(weights) - total * weights[w]) < sum(weights)
    assert result.payee_totals.tolist() == result.work_totals.tolist()


def test_a_line_of_an_output_without_links_is_refused() -> None:
    """An output registered without links pays through its model's pool; the engine never lets
    such a line reach it directly, where its money would reach no one."""
    a = lambda xs: np.array(xs, dtype=np.int64)  # noqa: E731
    facts = Facts(a([0, 0, 1]), a([0]), a([10_000]), a([0, 0]), a([]), a([]), a([]), a([0, 1]), a([0]), a([10_000]), 1)
    try:
        split(facts, Lines(a([0]), a([5]), a([0])))
    except ValueError as exc:
        assert "no links" in str(exc)
    else:
        raise AssertionError("a line of an output without links was split")
    assert split(facts, Lines(a([1]), a([5]), a([0]))).work_totals.tolist() == [5]  # the same ledger's linked output pays


@settings(max_examples=150, deadline=None)
@given(ledgers(pools=True), st.data())
def test_a_period_fed_in_pieces_splits_as_one(case: tuple[Facts, Lines], data: st.DataObject) -> None:
    """The splitter a period of millions of lines goes through: any cut into pieces, in any
    order, gives the whole split to the unit, contributions by group included."""
    facts, lines = case
    n = len(lines.revenue)
    groups = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64)
    whole = split(facts, lines, groups=groups)
    order = np.array(data.draw(st.permutations(range(n))), dtype=np.int64)
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    splitter = splits.Splitter(facts, n_groups=4, tracing=True)
    platform, pool = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for lo, hi in zip([0, *cuts], [*cuts, n]):
        at = order[lo:hi]
        platform[at], pool[at] = splitter.add(Lines(lines.output[at], lines.revenue[at], lines.platform_bps[at]), groups[at])
    pieces = splitter.finish()
    assert platform.tolist() == whole.platform.tolist() and pool.tolist() == whole.pool.tolist()
    for field in ("work_totals", "owner_amounts", "payee_totals"):
        assert getattr(pieces, field).tolist() == getattr(whole, field).tolist(), field
    assert pieces.contributions is not None and whole.contributions is not None
    for field in ("work", "group", "amount"):
        assert getattr(pieces.contributions, field).tolist() == getattr(whole.contributions, field).tolist(), field


def test_a_piece_with_a_group_beyond_the_splitters_is_refused() -> None:
    facts = Facts(*(np.array(x, dtype=np.int64) for x in ([0, 1], [0], [BPS], [0, 0], [], [], [], [0, 1], [0], [BPS])), n_payees=1)
    splitter = splits.Splitter(facts, n_groups=2, tracing=True)
    one = Lines(np.array([0], np.int64), np.array([100], np.int64), np.array([0], np.int64))
    with pytest.raises(ValueError, match="group number"):
        splitter.add(one, np.array([2], np.int64))
    splitter.add(one, np.array([1], np.int64))
    assert splitter.finish().payee_totals.tolist() == [100]
