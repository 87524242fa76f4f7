"""`ledger models ...`: register a model with its training set, prove membership, audit."""

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledger.cli.works import ApiKey, ApiUrl, _client, _expect, _get_ok, console

app = typer.Typer(help="Models and their training sets.", no_args_is_help=True, pretty_exceptions_enable=False)


def read_training_set(path: Path) -> dict[str, list[int] | list[str]]:
    """A training-set file: a JSON list, or one entry per line; entries are work ids or 0x content hashes."""
    text = path.read_text()
    entries = json.loads(text) if text.lstrip().startswith("[") else [ln.split("#")[0].strip() for ln in text.splitlines()]
    entries = [str(e).strip() for e in entries if str(e).strip()]
    if not entries:
        raise typer.BadParameter(f"{path} lists no works")
    if all(e.isdigit() for e in entries):
        return {"work_ids": [int(e) for e in entries]}
    if all(re.fullmatch(r"0x[0-9a-fA-F]{64}", e) for e in entries):
        return {"content_hashes": [e.lower() for e in entries]}
    raise typer.BadParameter(f"{path}: every entry must be a work id, or every entry a 0x content hash")


@app.command()
def register(
    training_set: Annotated[Path, typer.Option("--training-set", exists=True, dir_okay=False, help="Work ids or content hashes, one per line (or a JSON list).")],
    name: Annotated[str, typer.Option(help="Model name.")],
    version: Annotated[str, typer.Option(help="Model version.")] = "",
    weights: Annotated[Path | None, typer.Option(exists=True, dir_okay=False, help="Weights file (its SHA-256 is registered).")] = None,
    weights_hash: Annotated[str | None, typer.Option(help="0x SHA-256 of the weights, if the file is not at hand.")] = None,
    base_model: Annotated[int | None, typer.Option(help="Id of the model this one was fine-tuned from.")] = None,
    generative: Annotated[bool, typer.Option(help="Can the model generate assets? (its training then needs ai_generative_training, else ai_training)")] = True,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Builds the training set's Merkle tree (on the ledger), stores the list, registers the root."""
    if (weights is None) == (weights_hash is None):
        raise typer.BadParameter("give --weights FILE or --weights-hash 0x...")
    digest = weights_hash or "0x" + hashlib.sha256(weights.read_bytes()).hexdigest()  # type: ignore[union-attr]
    body = {"name": name, "version": version, "weights_hash": digest, "base_model_id": base_model, "generative": generative, **read_training_set(training_set)}
    with _client(api_url, api_key) as client:
        resp = client.post("/models", json=body)
    _expect(resp, 201)
    m = resp.json()
    console.print(f"[green]model {m['model_id']}[/green] {m['name']} {m['version']}: {m['training_set_size']} works")
    console.print(f"  training root  {m['training_root']}\n  training set   {m['training_set_cid']}\n  tx             {m['tx_hash']}")
    console.print(f"  next: ledger models audit {m['model_id']}")


@app.command()
def prove(model_id: int, work_id: int, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """Prints the Merkle proof that WORK_ID is in MODEL_ID's training set (exit 1 if it is not)."""
    print(json.dumps(_get_ok(api_url, api_key, f"/models/{model_id}/proof/{work_id}"), indent=2))


@app.command()
def audit(model_id: int, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """The clean-model check, by use; exit 1 if any work was not licensed for the model's kind of
    training when declared (or its consent evidence reserves it, or a one-creator fine-tune lacks
    that creator's allowance)."""
    a = _get_ok(api_url, api_key, f"/models/{model_id}/audit")
    verdict = "[green]clean[/green]" if a["clean"] else "[red]NOT clean[/red]"
    console.print(f"model {a['model_id']}: {verdict} ({a['works']} works, judged for {a['use']}: " + ", ".join(f"{k} {v}" for k, v in sorted(a["counts"].items())) + ")")
    for flag in a["one_creator"]:
        console.print(f"[yellow]fine-tune {flag['model_id']} is aimed at one creator[/yellow]: {flag['works']} of {flag['of']} works are {flag['holder']}'s "
                      f"({flag['share_bps'] / 100:.1f} %); each needs creator_finetune")  # fmt: skip
    if a["unavailable_sets"]:
        console.print(f"[red]training list unavailable or not matching its root for models {a['unavailable_sets']}[/red]")
    if a["problems"]:
        table = Table("work", "declared by model", "status", "terms version", "why")
        for p in a["problems"][:200]:
            table.add_row(str(p["work_id"]), str(p["declared_by"]), p["status"], str(p["terms_version"] or ""), p.get("detail", ""))
        console.print(table)
    if not a["clean"]:
        raise typer.Exit(1)


@app.command()
def summary(
    model_id: int,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (.json or .pdf); default: the JSON to standard output.")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """The public summary of the model's training content (EU AI Act art. 53(1)(d) template), as
    JSON or PDF: data sources by category, licensed rights holders, the audit, consent evidence."""
    fmt = "pdf" if output is not None and output.suffix.lower() == ".pdf" else "json"
    with _client(api_url, api_key) as client:
        resp = client.get(f"/models/{model_id}/summary", params={"format": fmt})
    _expect(resp, 200)
    if output is None:
        print(json.dumps(resp.json(), indent=2, ensure_ascii=False))
        return
    output.write_bytes(resp.content)
    digest = hashlib.sha256(resp.content).hexdigest()
    console.print(f"[green]training-data summary of model {model_id}[/green] written to {output} ({len(resp.content):,} bytes, sha256 {digest})")


@app.command("accept-constraints")
def accept_constraints(
    constraints: Annotated[str, typer.Argument(help="The constraints reference works' terms name (e.g. a licence's CID).")],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Records on chain that your platform accepts a licence text: works whose uses are constrained
    by it count as allowed for the models you register afterwards."""
    with _client(api_url, api_key) as client:
        resp = client.post("/constraint-acceptances", json={"constraints": constraints})
    a = _expect(resp, 201).json()
    console.print(f"[green]accepted[/green] {a['constraints']} (tx {a['tx_hash']})")
