"""`ledger advances record|list`: minimum guarantees paid to holders, recouped by statements."""

from typing import Annotated

import typer
from rich.table import Table

from ledger.cli.statements import _post
from ledger.cli.works import ApiKey, ApiUrl, _get_ok, console

app = typer.Typer(help="Advances (minimum guarantees) statements recoup.", no_args_is_help=True, pretty_exceptions_enable=False)


@app.command("record")
def record(
    account: Annotated[str, typer.Option(help="The holder's account the advance was paid to")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code: statements in it recoup the advance")],
    amount: Annotated[int, typer.Option(min=1, help="Minor units (cents, yen)")],
    note: Annotated[str, typer.Option(help="The payer's reference (contract or invoice number); with the account and currency, its identity")],
    payer: Annotated[str | None, typer.Option(help="Who paid it (an address)")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Records an advance on chain (accountant key); recording the same one again changes nothing."""
    resp = _post(api_url, api_key, "/advances", {"account": account, "currency": currency, "amount": amount, "note": note, "payer": payer})
    a = resp.json()
    if resp.status_code == 202:
        console.print(f"[yellow]stored[/yellow]: sign this request and POST it to /relay to record advance {a['advance_id']}")
        console.print_json(data=a["typed_data"])
        return
    console.print(f"{'[green]recorded[/green]' if resp.status_code == 201 else 'already recorded:'} advance {a['advance_id']}")
    console.print(f"  {a['amount']:,} {a['currency']} to {a['account']} ({a['note']}), transaction {a['tx_hash']}, block {a['block_number']}")


@app.command("list")
def list_(
    currency: Annotated[str | None, typer.Option(help="Only this currency")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Advances recorded, newest first (a holder's key: its own)."""
    params = {k: v for k, v in {"currency": currency, "account": account}.items() if v}
    rows = _get_ok(api_url, api_key, "/advances", params)
    table = Table("advance", "account", "amount", "note", "block")
    for a in rows:
        table.add_row(a["advance_id"][:12] + "…", a["account"], f"{a['amount']:,} {a['currency']}", a["note"], str(a["block_number"]))
    console.print(table)
