"""`ledger works ...`: talks to a running ledger over HTTP, like any other client would."""

import json
import mimetypes
import os
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

app = typer.Typer(help="Register and inspect works.", no_args_is_help=True, pretty_exceptions_enable=False)
console = Console()

ApiUrl = Annotated[str, typer.Option(envvar="LEDGER_API_URL", help="Base URL of the ledger API.")]
ApiKey = Annotated[str, typer.Option(envvar="LEDGER_API_KEY", help="API key (role rights_holder to register).")]


def _client(api_url: str, api_key: str) -> httpx.Client:
    if not api_key.strip():
        console.print("[red]no API key: give --api-key KEY or set LEDGER_API_KEY (`ledger keys create --role ...` makes one)[/red]")
        raise typer.Exit(2)
    return httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {api_key.strip()}"}, timeout=120)


def _get(api_url: str, api_key: str, path: str, params: dict[str, str | int] | None = None) -> httpx.Response:
    try:
        with _client(api_url, api_key) as client:
            return client.get(path, params=params)
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the ledger at {api_url}: {exc}[/red]")
        raise typer.Exit(2) from exc


def _fail(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("detail"))
    except ValueError:
        return resp.text


def _expect(resp: httpx.Response, *statuses: int) -> httpx.Response:
    """The response if its status is one of ``statuses``; else prints the ledger's message and exits 1."""
    if resp.status_code not in statuses:
        console.print(f"[red]{resp.status_code}: {_fail(resp)}[/red]")
        raise typer.Exit(1)
    return resp


def _get_ok(api_url: str, api_key: str, path: str, params: dict[str, str | int] | None = None) -> Any:
    """GET that prints the ledger's message and exits 1 on anything but 200."""
    return _expect(_get(api_url, api_key, path, params), 200).json()


def _parse_owner(text: str) -> dict[str, object]:
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit():
        raise typer.BadParameter(f"owner must be ACCOUNT:SHARE_BPS[:PAYOUT], got {text!r}")
    return {"account": parts[0], "share_bps": int(parts[1]), "payout": parts[2] if len(parts) == 3 else None}


def _uses(training: bool, use: list[str] | None, constraints: str) -> dict[str, object]:
    """The terms' uses: ``--use NAME=STATE`` (CAWG's words) if given, else the --training shorthand."""
    if not use:
        return {"training_allowed": training}
    states: dict[str, str] = {}
    for text in use:
        name, _, state = text.partition("=")
        if not state:
            raise typer.BadParameter(f"--use must be NAME=STATE (e.g. ai_generative_training=notAllowed), got {text!r}")
        states[name.strip()] = state.strip()
    return {"uses": states, **({"constraints": constraints} if constraints else {})}


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    raise typer.BadParameter(f"{path} is neither a file nor a folder")


@app.command()
def register(
    path: Annotated[Path, typer.Argument(help="A file, or a folder whose files are each registered as a work.")],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    title: Annotated[str | None, typer.Option(help="Title (single file); default: the file name.")] = None,
    training: Annotated[bool, typer.Option("--training/--no-training", help="May models train on it?")] = True,
    royalty_bps: Annotated[int, typer.Option(min=0, max=10_000, help="Royalty share in basis points.")] = 0,
    expires_at: Annotated[int, typer.Option(min=0, help="License end (unix time); 0 = until revoked.")] = 0,
    owner: Annotated[list[str] | None, typer.Option(help="ACCOUNT:SHARE_BPS[:PAYOUT]; repeat. Default: you, 100 %.")] = None,
    use: Annotated[list[str] | None, typer.Option(help="USE=STATE, repeat: data_mining, ai_inference, ai_generative_training, ai_training, "
                                                       "reference, creator_finetune = allowed | notAllowed | constrained (others: notAllowed). "
                                                       "Replaces --training.")] = None,  # fmt: skip
    constraints: Annotated[str, typer.Option(help="What constrained uses are constrained by (a licence's CID or URL).")] = "",
) -> None:
    """Uploads and registers works; already registered files are reported and skipped. A file
    whose own metadata (IPTC, TDMRep, C2PA) reserves a use the terms allow is registered with a warning."""
    if not api_key:
        raise typer.BadParameter("give --api-key or set LEDGER_API_KEY", param_hint="--api-key")
    files = _files(path)
    if not files:
        raise typer.BadParameter(f"{path} contains no files")
    owners = [_parse_owner(o) for o in owner] if owner else None
    registered, skipped, failed = 0, 0, []
    with _client(api_url, api_key) as client, Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as progress:
        task = progress.add_task("registering", total=len(files))
        for f in files:
            spec = {
                "title": title if title and len(files) == 1 else f.name,
                "terms": {**_uses(training, use, constraints), "royalty_bps": royalty_bps, "expires_at": expires_at},
                "owners": owners,
                "attributes": {"sourcePath": os.path.relpath(f, path if path.is_dir() else f.parent)},
            }
            media = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
            try:
                resp = client.post("/works", files={"file": (f.name, f.read_bytes(), media)}, data={"work": json.dumps(spec)})
            except httpx.HTTPError as exc:
                console.print(f"[red]cannot reach the ledger at {api_url}: {exc}[/red]")
                raise typer.Exit(2) from exc
            if resp.status_code == 201:
                body = resp.json()
                registered += 1
                progress.console.print(f"[green]work {body['work_id']}[/green] {f.name}  {body['file_cid']}  tx {body['tx_hash']}")
                for w in body.get("warnings", []):
                    if w.get("kind") == "consent_conflict":
                        progress.console.print(f"  [yellow]consent:[/yellow] {w['message']}")
            elif resp.status_code == 409:
                skipped += 1
                progress.console.print(f"[yellow]already registered as work {resp.json().get('work_id')}[/yellow] {f.name}")
            else:
                failed.append((f, resp.status_code, _fail(resp)))
                progress.console.print(f"[red]{resp.status_code}[/red] {f.name}: {_fail(resp)}")
            progress.advance(task)
    console.print(f"registered {registered}, already registered {skipped}, failed {len(failed)}")
    if failed:
        raise typer.Exit(1)


@app.command()
def show(work_id: int, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """Shows a work: terms, owners, terms history, on-chain transaction."""
    w = _get_ok(api_url, api_key, f"/works/{work_id}")
    console.print(f"[bold]work {w['work_id']}[/bold]  {(w.get('metadata') or {}).get('title', '')}")
    for label in ("content_hash", "metadata_cid", "manager", "tx_hash", "block_number"):
        console.print(f"  {label:14} {w[label]}")
    t = w["terms"]
    console.print(f"  terms v{w['terms_version']}      royalty={t['royalty_bps']} bps expires={t['expires_at'] or 'until revoked'}" + (f" constraints={t['constraints']}" if t["constraints"] else ""))
    console.print("  uses           " + "  ".join(f"{u}={state}" for u, state in t["uses"].items()))
    table = Table("owner", "payout", "share (bps)")
    for o in w["owners"]:
        table.add_row(o["account"], o["payout"], str(o["share_bps"]))
    console.print(table)


@app.command()
def consent(work_id: int, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """A work's uses in CAWG's, IPTC's and TDMRep's words, the consent evidence recorded about it
    (conflicts with the terms marked), and each co-owner's position."""
    c = _get_ok(api_url, api_key, f"/works/{work_id}/consent")
    console.print(f"[bold]work {c['work_id']}[/bold] terms v{c['terms_version']}")
    table = Table("use", "terms", *(o["account"][:10] + "..." for o in c["owners"] if o["positions"]))
    for use, state in c["terms"]["uses"].items():
        table.add_row(use, state, *(o["positions"][use] for o in c["owners"] if o["positions"]))
    console.print(table)
    console.print(f"  as IPTC    {c['as_iptc']}\n  as TDMRep  {c['as_tdmrep']}\n  co-owners  {c['veto']}")
    for o in c["owners"]:
        if o["dissent"]:
            console.print(f"  [yellow]{o['account']}[/yellow] ({o['share_bps']} bps) dissents on {', '.join(o['dissent'])}")
    for e in c["evidence"]:
        console.print(f"  evidence {e['document_hash'][:18]}... {e['source']['kind']} at {e['observed_at']}: "
                      + "; ".join(f"{s['standard']} {s['uses']}" for s in e["signals"]))  # fmt: skip
        for x in e["conflicts"]:
            if x["signalIsStricter"]:
                console.print(f"    [red]conflict[/red] {x['use']}: {x['standard']} says {x['signal']}, the terms {x['terms']}")


@app.command("tdmrep")
def record_tdmrep(
    work_id: int,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The site's /.well-known/tdmrep.json, saved.")],
    url: Annotated[str, typer.Option(help="The work's address on that site.")],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Records what a site's tdmrep.json says about the work's address as consent evidence."""
    with _client(api_url, api_key) as client:
        resp = client.post(f"/works/{work_id}/consent/tdmrep", files={"file": ("tdmrep.json", file.read_bytes())}, data={"url": url})
    e = _expect(resp, 201).json()
    console.print(f"[green]recorded[/green] {e['document_hash']}: rule {e['source']['rule']}")


@app.command()
def position(
    work_id: int,
    use: Annotated[list[str], typer.Option(help="USE=STATE, repeat (others: notAllowed).")],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Records your own position, as a co-owner, on each use (the manager's terms still govern)."""
    states = _uses(False, use, "")["uses"]
    with _client(api_url, api_key) as client:
        resp = client.put(f"/works/{work_id}/position", json=states)
    _expect(resp, 200)
    console.print(f"[green]position recorded[/green] on work {work_id}: {states}")


@app.command("provenance")
def provenance(
    work_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="The whole graph and verdict as JSON.")] = False,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """How the work was made, and whether only safe AI went into it (its production graph's verdict)."""
    p = _get_ok(api_url, api_key, f"/works/{work_id}/provenance")
    if as_json:
        console.print_json(data=p)
        return
    v = p["verdict"]
    ai = sum(1 for f in p["files"] if f["aiGenerated"])
    console.print(f"[bold]work {work_id}[/bold]: {len(p['files'])} files in its production graph, {ai} AI-generated")
    console.print(f"  safe AI use: {'[green]yes[/green]' if v['safeAiUse'] else '[red]no[/red]'}   complete: {'yes' if v['complete'] else 'no'}")
    for f in v["failures"]:
        console.print(f"  [red]fails[/red] {f['contentHash']} (model {f['modelId']}): {f['reason']}")
    for h in v["unrecorded"][:20]:
        console.print(f"  no record {h}")
    if len(v["unrecorded"]) > 20:
        console.print(f"  ... and {len(v['unrecorded']) - 20} more without a record")
    table = Table("author", "records", "proposed share (bps)")
    for a in p["authors"]:
        table.add_row(a["account"], str(a["records"]), str(a["proposedShareBps"]))
    console.print(table)


@app.command("verify-provenance")
def verify_provenance(
    certificate: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A provenance certificate (GET /works/{id}/provenance/certificate).")],
    rpc_url: Annotated[str | None, typer.Option(envvar="LEDGER_RPC_URL", help="An RPC endpoint of the certificate's chain.")] = None,
    blocks: Annotated[Path | None, typer.Option(exists=True, file_okay=False, help="A content store folder holding the models' training-set lists.")] = None,
    ipfs: Annotated[str | None, typer.Option(envvar="LEDGER_IPFS_API_URL", help="An IPFS node to fetch the training-set lists from.")] = None,
) -> None:
    """Checks a provenance certificate against the chain alone (no ledger needed): every record's
    signature and Merkle proof, the devices' enrolments, the graph, the models' registrations and
    clean-model audits (recomputed from the chain's events), and the verdict. Exits 1 if any check fails."""
    import tempfile

    from web3 import Web3
    from web3.providers.rpc import HTTPProvider

    from ledger.config import get_settings
    from ledger.content.store import open_store
    from ledger.services.provenance_verifier import verify_certificate

    w3 = Web3(HTTPProvider(rpc_url or get_settings().rpc_url, request_kwargs={"timeout": 60}))
    with tempfile.TemporaryDirectory() as work:
        store = open_store(blocks or Path(work) / "blocks", ipfs)
        checks = verify_certificate(w3, certificate.read_bytes(), store, Path(work))
    table = Table("check", "", "detail")
    for check in checks:
        table.add_row(check.name, "[green]ok[/green]" if check.ok else "[red]FAILED[/red]", check.detail)
    console.print(table)
    if not all(check.ok for check in checks):
        raise typer.Exit(1)


@app.command("list")
def list_(
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    owner: Annotated[str | None, typer.Option(help="Only works this address co-owns.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many works.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many works (the next page).")] = 0,
) -> None:
    """Lists works, a page at a time."""
    params: dict[str, str | int] = {"limit": limit + 1, "offset": offset} if limit < 1000 else {"limit": limit, "offset": offset}
    if owner:
        params["owner"] = owner
    table = Table("id", "content hash", "metadata CID", "tx")
    works = _get_ok(api_url, api_key, "/works", params)
    for w in works[:limit]:
        table.add_row(str(w["work_id"]), w["content_hash"][:18] + "…", w["metadata_cid"], w["tx_hash"][:18] + "…")
    console.print(table)
    if len(works) > limit or len(works) == 1000:
        console.print(f"works {offset + 1}..{offset + limit} shown; there are more: add --offset {offset + limit}")
