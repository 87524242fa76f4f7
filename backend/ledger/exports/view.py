"""What every export shows: a statement document, optionally narrowed to one holder's entries and
lines, with amounts as exact decimal strings in the currency's major unit next to the integer
minor units (never through a float)."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


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


@dataclass(frozen=True)
class StatementView:
    doc: dict[str, Any]
    statement_id: str
    document_cid: str
    publish_tx: str
    account: str | None = None  # checksummed; None: the whole statement

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
        """Document lines are ``[entry, workId, report, amount]``; here with the entry's holder and
        the report's facts spelled out."""
        entries, reports = self.doc["entries"], self.doc["reports"]
        wanted = None if self.account is None else {e["index"] for e in self.entries}
        out = []
        for entry, work_id, report, amount in self.doc["lines"]:
            if wanted is not None and entry not in wanted:
                continue
            e, r = entries[entry], reports[report]
            out.append(Line(e["account"], e["payout"], int(work_id), int(amount), r["platform"], r["reportId"], r["batchHash"], r["anchorTx"]))
        return out

    @property
    def total(self) -> int:
        """The holder's total, or the holders' total for the whole statement."""
        return sum(int(e["amount"]) for e in self.entries) if self.account else int(self.doc["holdersTotal"])

    def summary(self) -> list[tuple[str, str]]:
        from ledger.dates import iso_day

        rows = [
            ("statement id (SHA-256 of the document)", self.statement_id),
            ("period", f"{iso_day(self.doc['periodStart'])} to {iso_day(self.doc['periodEnd'])} (UTC)"),
            ("currency", f"{self.currency} (minor unit: 10^-{self.doc['minorUnitExponent']})"),
        ]
        if self.account:
            rows += [("holder", self.account), ("holder total", f"{self.major(self.total)} {self.currency}")]
        rows += [
            ("revenue reported", f"{self.major(int(self.doc['revenue']))} {self.currency}"),
            ("platforms' share", f"{self.major(int(self.doc['platformTotal']))} {self.currency}"),
            ("holders' total", f"{self.major(int(self.doc['holdersTotal']))} {self.currency}"),
            ("usage reports", str(len(self.doc["reports"]))),
            ("Merkle root of the entries", str(self.doc["root"])),
            ("document CID", self.document_cid),
            ("published in transaction", self.publish_tx or "(not yet)"),
            ("chain id / distributor", f"{self.doc['chainId']} / {self.doc['distributor']}"),
        ]
        return rows
