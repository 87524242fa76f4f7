"""`ledger disputes ...`: contest a registration or an attribution, and (arbiters) decide."""

import json
import mimetypes
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.table import Table

from ledger.cli.works import ApiKey, ApiUrl, _client, _expect, _get_ok, console

app = typer.Typer(help="Disputes: contest a registration or an attribution; arbiters decide.", no_args_is_help=True, pretty_exceptions_enable=False)


def _post(api_url: str, api_key: str, path: str, **kwargs: object) -> httpx.Response:
    try:
        with _client(api_url, api_key) as client:
            return client.post(path, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the ledger at {api_url}: {exc}[/red]")
        raise typer.Exit(2) from exc


def _show(d: dict[str, object]) -> None:
    subject = f"work {d['work_id']}" if d["kind"] == "registration" else f"output {d['output_hash']}"
    console.print(f"[bold]dispute {d['dispute_id']}[/bold] {d['kind']} about {subject}: [bold]{d['state']}[/bold]")
    for label in ("claimant", "claimed_work_id", "evidence_cid", "opened_tx", "arbiter", "reason_cid", "closed_tx", "correction_tx"):
        if d.get(label) is not None:
            console.print(f"  {label:16} {d[label]}")


@app.command("open")
def open_(
    statement: Annotated[str, typer.Option(help="Why the claim is right, in your words.")],
    work: Annotated[int | None, typer.Option(help="Contest this work's registration (it is yours).")] = None,
    output: Annotated[str | None, typer.Option(help="Contest this output's attribution (it relies on --mine).")] = None,
    mine: Annotated[int | None, typer.Option(help="Your own registered work the claim is about.")] = None,
    file: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Your copy of the file, as evidence.")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Opens a dispute on chain, with your statement (and file) as its evidence."""
    if (work is None) == (output is None):
        raise typer.BadParameter("give --work (a registration) or --output (an attribution)")
    spec = {"kind": "registration" if work else "attribution", "statement": statement, "work_id": work, "output_hash": output, "claimed_work_id": mine}
    if file is not None:
        media = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        resp = _post(api_url, api_key, "/disputes", files={"file": (file.name, file.read_bytes(), media)}, data={"dispute": json.dumps(spec)})
    else:
        resp = _post(api_url, api_key, "/disputes", json=spec)
    _show(_expect(resp, 201).json())


@app.command("list")
def list_(
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    state: Annotated[str | None, typer.Option(help="open, upheld, rejected or withdrawn")] = None,
    work: Annotated[int | None, typer.Option(help="Disputes about this work.")] = None,
) -> None:
    """Lists disputes."""
    params: dict[str, str | int] = {k: v for k, v in (("state", state), ("work_id", work)) if v is not None}
    table = Table("id", "kind", "subject", "claimant", "state")
    for d in _get_ok(api_url, api_key, "/disputes", params):
        subject = f"work {d['work_id']}" if d["kind"] == "registration" else f"output {d['output_hash'][:14]}…"
        table.add_row(str(d["dispute_id"]), d["kind"], subject, d["claimant"], d["state"])
    console.print(table)


@app.command("decide")
def decide(
    dispute_id: int,
    upheld: Annotated[bool, typer.Option("--uphold/--reject", help="Uphold the claim, or reject it.")],
    reason: Annotated[str, typer.Option(help="The decision's reasons.")],
    link: Annotated[
        list[str] | None,
        typer.Option(help="Upholding an attribution dispute: a corrected link WORK:WEIGHT_BPS[:reference], once per work (weights sum to 10000)."),
    ] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """(Arbiters) Decides an open dispute. Upholding a registration dispute gives the work to the
    claimant; upholding an attribution dispute replaces the output's links by the --link ones."""
    body: dict[str, object] = {"upheld": upheld, "reason": reason}
    if link:
        body["links"] = [_link(text) for text in link]
    _show(_expect(_post(api_url, api_key, f"/disputes/{dispute_id}/decision", json=body), 200).json())


def _link(text: str) -> dict[str, object]:
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0].isdigit() or not parts[1].isdigit() or parts[2:] not in ([], ["training"], ["reference"]):
        raise typer.BadParameter(f"a link is WORK:WEIGHT_BPS or WORK:WEIGHT_BPS:reference, not {text!r}")
    return {"work_id": int(parts[0]), "weight_bps": int(parts[1]), "kind": parts[2] if len(parts) == 3 else "training"}


@app.command("withdraw")
def withdraw(dispute_id: int, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """Withdraws your open dispute."""
    _show(_expect(_post(api_url, api_key, f"/disputes/{dispute_id}/withdrawal"), 200).json())
