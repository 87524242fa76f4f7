"""What every export shows: a statement document, optionally narrowed to one holder's entries and
lines, with amounts as exact decimal strings in the currency's major unit next to the integer
minor units (never through a float)."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledger.codes import minor_unit_text


@dataclass(frozen=True)
class Line:
    account: str
    payout: str
    work_id: int
    amount: int
    platform: str
    report_id: str
    batch_hash: str
    anchor_tx: str
    reversal: bool  # a paid line a correction replaced, taken back (negative amount)


@dataclass(frozen=True)
class AccountMoney:
    """One account's money in a statement, in minor units."""

    account: str
    opening: int = 0  # owed, brought forward
    advances: int = 0
    earned: int = 0
    withheld: int = 0
    released: int = 0
    recouped: int = 0
    paid: int = 0
    closing: int = 0  # owed, carried forward
    reserve_held: int = 0  # after this statement

    def row(self) -> list[int]:
        return [self.opening, self.advances, self.earned, self.withheld, self.released, self.recouped, self.paid, self.closing, self.reserve_held]


ACCOUNT_COLUMNS = ["opening balance owed", "advances", "earned", "withheld (reserve)", "released (reserve)", "recouped", "paid", "closing balance owed", "reserve held"]


@dataclass(frozen=True)
class StatementView:
    doc: dict[str, Any]
    statement_id: str
    document_cid: str
    publish_tx: str
    account: str | None = None  # checksummed; None: the whole statement
    titles: dict[int, str] = field(default_factory=dict)  # work id -> title, from its registered metadata
    months: list[tuple[str, int]] = field(default_factory=list)  # the holder's earnings by month, for its extract's chart

    def work_label(self, work_id: int) -> str:
        title = self.titles.get(work_id)
        return f"{title} (#{work_id})" if title else f"#{work_id}"

    @property
    def currency(self) -> str:
        return str(self.doc["currency"])

    def major(self, minor: int) -> str:
        """12345 minor units of a 2-decimal currency -> "123.45" (exact)."""
        exponent = int(self.doc["minorUnitExponent"])
        return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [e for e in self.doc["entries"] if self.account is None or e["account"] == self.account]

    @property
    def lines(self) -> list[Line]:
        return list(self.iter_lines())

    def _rows(self) -> Iterator[list[int]]:
        """The document's lines ``[entry, workId, report, amount]`` of the view's entries, one at a
        time (a statement may have millions)."""
        if self.account is None:
            yield from self.doc["lines"]
            return
        wanted = {e["index"] for e in self.entries}
        yield from (row for row in self.doc["lines"] if row[0] in wanted)

    def iter_lines(self) -> Iterator[Line]:
        """The view's lines with the entry's holder and the report's facts spelled out."""
        entries, reports = self.doc["entries"], self.doc["reports"]
        for entry, work_id, report, amount in self._rows():
            e, r = entries[entry], reports[report]
            yield Line(e["account"], e["payout"], int(work_id), int(amount), r["platform"], r["reportId"], r["batchHash"], r["anchorTx"], bool(r.get("reversal")))

    def line_count(self) -> int:
        return len(self.doc["lines"]) if self.account is None else sum(1 for _ in self._rows())

    def by_work(self) -> list[tuple[int, int]]:
        """(work, amount) of the view's lines, largest first."""
        sums: dict[int, int] = {}
        for _, work_id, _, amount in self._rows():
            sums[int(work_id)] = sums.get(int(work_id), 0) + int(amount)
        return sorted(sums.items(), key=lambda wa: (-wa[1], wa[0]))

    @property
    def work_ids(self) -> set[int]:
        """The works the view's lines come from."""
        return {int(work_id) for _, work_id, _, _ in self._rows()}

    @property
    def total(self) -> int:
        """What the holder's entries pay, or what the whole statement pays."""
        return sum(int(e["amount"]) for e in self.entries) if self.account else int(self.doc.get("payableTotal", self.doc["holdersTotal"]))

    @property
    def balances(self) -> list[dict[str, Any]]:
        """Balances owed, brought forward and carried forward (v1 documents have none)."""
        return [b for b in self.doc.get("balances", []) if self.account is None or b["account"] == self.account]

    def earned(self, entry: dict[str, Any]) -> int:
        return int(entry.get("earned", entry["amount"]))

    def accounts(self) -> list["AccountMoney"]:
        """Per account, how its money moved in this statement (v6: advances, reserves): what it
        owed coming in, new advances, earned, withheld, released, recouped, paid, what it owes
        going out, and the reserve still held for it."""
        balances = {b["account"]: b for b in self.doc.get("balances", [])}
        held: dict[str, int] = {}
        for r in self.doc.get("reserves", []):
            held[r["account"]] = held.get(r["account"], 0) + int(r["amount"])
        out: dict[str, AccountMoney] = {}
        for e in self.entries:
            a = out.get(e["account"]) or AccountMoney(e["account"])
            out[e["account"]] = AccountMoney(
                a.account, 0, 0, a.earned + self.earned(e), a.withheld + int(e.get("withheld", 0)), a.released + int(e.get("released", 0)),
                a.recouped + int(e.get("recouped", 0)), a.paid + int(e["amount"]),
            )  # fmt: skip
        for account in balances:
            if self.account is None or account == self.account:
                out.setdefault(account, AccountMoney(account))
        return [
            AccountMoney(
                a.account, int(balances.get(a.account, {}).get("broughtForward", 0)), int(balances.get(a.account, {}).get("advances", 0)),
                a.earned, a.withheld, a.released, a.recouped, a.paid, int(balances.get(a.account, {}).get("carriedForward", 0)), held.get(a.account, 0),
            )  # fmt: skip
            for a in sorted(out.values(), key=lambda m: int(m.account, 16))
        ]

    def summary(self) -> list[tuple[str, str]]:
        from ledger.dates import iso_day

        rows = [
            ("statement id (SHA-256 of the document)", self.statement_id),
            ("period", f"{iso_day(self.doc['periodStart'])} to {iso_day(self.doc['periodEnd'])} (UTC)"),
            ("currency", f"{self.currency} (minor unit: {minor_unit_text(int(self.doc['minorUnitExponent']))})"),
        ]
        money = lambda minor: f"{self.major(minor)} {self.currency}"  # noqa: E731
        owed = [(int(b["broughtForward"]), int(b["carriedForward"])) for b in self.balances]
        if self.account:
            rows += [("holder", self.account), ("holder earned", money(sum(self.earned(e) for e in self.entries)))]
            if owed:
                rows += [("balance brought forward (owed)", money(owed[0][0])), ("balance carried forward (owed)", money(owed[0][1]))]
            rows += [("holder total", money(self.total))]
        reversals = sum(1 for r in self.doc["reports"] if r.get("reversal"))
        rows += [
            ("revenue reported", money(int(self.doc["revenue"]))),
            ("platforms' share", money(int(self.doc["platformTotal"]))),
            ("holders' total", money(int(self.doc["holdersTotal"]))),
        ]
        if not self.account:
            rows += [("payable after balances owed", money(self.total)), ("balances carried forward", money(sum(c for _, c in owed)))]
        rows += [
            ("usage reports", str(len(self.doc["reports"]) - reversals) + (f" (and {reversals} with paid lines reversed)" if reversals else "")),
            ("Merkle root of the entries", str(self.doc["root"])),
            ("document CID", self.document_cid),
            ("published in transaction", self.publish_tx or "(not yet)"),
            ("chain id / distributor", f"{self.doc['chainId']} / {self.doc['distributor']}"),
        ]
        return rows
