"""`ledger usage import` and `ledger royalties compute`: clients of a running ledger."""

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from ledger.cli.works import ApiKey, ApiUrl, _expect, _get_ok, console

usage_app = typer.Typer(help="Usage reports.", no_args_is_help=True, pretty_exceptions_enable=False)
royalties_app = typer.Typer(help="Royalty runs.", no_args_is_help=True, pretty_exceptions_enable=False)


def _chunks(path: Path, progress: Progress, task: object) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            progress.advance(task, len(chunk))  # type: ignore[arg-type]
            yield chunk


@usage_app.command("import")
def import_(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A usage report file (docs/usage-format.md).")],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Streams the report to the ledger (never loaded whole); it is validated line by line, stored
    all-or-nothing and anchored on chain. Importing the same file again changes nothing."""
    with Progress(TextColumn("[bold]uploading"), BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=console) as progress:
        task = progress.add_task("upload", total=os.path.getsize(path))
        try:
            resp = httpx.post(
                f"{api_url}/usage/reports",
                content=_chunks(path, progress, task),
                headers={"Authorization": f"Bearer {api_key}", "content-type": "text/csv"},
                timeout=httpx.Timeout(60, read=3600),
            )
        except httpx.HTTPError as exc:
            console.print(f"[red]cannot reach the ledger at {api_url}: {exc}[/red]")
            raise typer.Exit(2) from exc
    r = _expect(resp, 200, 201, 202).json()
    if resp.status_code == 202:  # a self-signing platform: the anchor is theirs to sign
        console.print(f"[yellow]stored[/yellow] report {r['report_id']}: {r['line_count']:,} lines, revenue {r['total_revenue']:,}; "
                      "it counts once its anchor is on chain. Sign this EIP-712 request in the platform's wallet and "
                      "POST its message with the signature to /relay:")  # fmt: skip
        console.print_json(json.dumps(r["typed_data"]))
        return
    verb = "imported" if r["created"] else "already imported, nothing changed:"
    console.print(f"[green]{verb}[/green] report {r['report_id']}: {r['line_count']:,} lines, revenue {r['total_revenue']:,}")
    console.print(f"  batch hash {r['batch_hash']}\n  anchored   {r['anchor_tx']}")


@royalties_app.command("compute")
def compute(
    period_start: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    period_end: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Who is owed what for the period, per currency (accountant key)."""
    runs = _get_ok(api_url, api_key, "/royalties", {"period_start": period_start, "period_end": period_end})
    if not runs:
        console.print("no usage in that period")
    for run in runs:
        console.print(
            f"[bold]{run['currency']}[/bold]: {run['lines']:,} lines, revenue {run['revenue']:,} = "
            f"holders {run['holders_total']:,} + platform {run['platform_total']:,}"
        )
        for platform, amount in run.get("platform_totals", {}).items():
            console.print(f"  platform {platform}: {amount:,}")
        table = Table("account", "payout", "amount")
        for p in sorted(run["payees"], key=lambda p: -p["amount"]):
            table.add_row(p["account"], p["payout"], f"{p['amount']:,}")
        console.print(table)
