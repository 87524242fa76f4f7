"""`ledger similar ...` (over HTTP, like any client) and `ledger evidence ...` (on this machine's data)."""

import json
import mimetypes
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ledger.cli.works import ApiKey, ApiUrl, _client, _expect, _files, _get_ok, console

app = typer.Typer(help="Evidence the ledger computes: fingerprints, the similarity index.", no_args_is_help=True, pretty_exceptions_enable=False)


def _row(name: str, body: dict[str, Any]) -> dict[str, Any]:
    matches = [m for m in body["similar"] if m["match"]]
    return {"file": name, "content_hash": body["content_hash"], "media": body["media"], "matches": matches, "nearest": body["similar"][:3]}


def similar(
    path: Annotated[Path, typer.Argument(help="A file, or a folder: each file is compared with everything registered.")],
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
    k: Annotated[int, typer.Option(min=1, max=100, help="Nearest files to ask for.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per file instead of a table.")] = False,
    jobs: Annotated[int, typer.Option(min=1, max=32, help="Files compared at once (the ledger fingerprints them in parallel).")] = 4,
) -> None:
    """Which registered works and outputs each file looks like (method, distance, calibrated score).
    Answers are printed in the files' order whatever order they arrive in."""
    files = _files(path)
    rows = []

    def compare(client: httpx.Client, f: Path) -> httpx.Response:
        media = mimetypes.guess_type(f.name)[0] or "application/octet-stream"
        return client.post("/similar", params={"k": k}, files={"file": (f.name, f.read_bytes(), media)})

    with _client(api_url, api_key) as client, ThreadPoolExecutor(max_workers=jobs) as pool, Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, disable=as_json
    ) as progress:
        task = progress.add_task("comparing", total=len(files))
        # At most 2 x jobs requests in flight, so a folder of 100,000 files is never read at once.
        pending: deque[tuple[Path, Future[httpx.Response]]] = deque()

        def settle() -> None:
            done, future = pending.popleft()
            try:
                resp = future.result()
            except httpx.HTTPError as exc:
                console.print(f"[red]cannot reach the ledger at {api_url}: {exc}[/red]")
                raise typer.Exit(2) from exc
            row = _row(str(done.relative_to(path) if path.is_dir() else done.name), _expect(resp, 200).json())
            rows.append(row)
            if as_json:
                print(json.dumps(row, sort_keys=True))
            progress.advance(task)

        for f in files:
            pending.append((f, pool.submit(compare, client, f)))
            if len(pending) >= 2 * jobs:
                settle()
        while pending:
            settle()
    if as_json:
        return
    table = Table("file", "matches", "method", "distance", "threshold", "score")
    for r in rows:
        m = r["matches"][0] if r["matches"] else None
        if m is None:
            near = r["nearest"][0] if r["nearest"] else None
            table.add_row(r["file"], "[dim]nothing[/dim]", near["method"] if near else "", str(near["distance"]) if near else "", str(near["threshold"]) if near else "", "")
        else:
            what = f"work {m['work_id']}" if m["work_id"] is not None else f"output {m['output_hash'][:14]}…"
            table.add_row(r["file"], what, m["method"], str(m["distance"]), str(m["threshold"]), f"{m['score']:.3f}" if m["score"] is not None else "")
    console.print(table)
    console.print(f"{sum(1 for r in rows if r['matches'])} of {len(rows)} files look like something registered")


@app.command("show")
def show(work_id: int, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """A work's registration checks and what looks like it now."""
    reports = _get_ok(api_url, api_key, f"/works/{work_id}/evidence")
    for r in reports:
        doc = r["document"]
        console.print(f"[bold]{r['kind']}[/bold] {r['outcome']}  report {r['document_hash']}  ISCC {doc.get('iscc', {}).get('iscc', '-')}")
        for m in doc.get("matches", []):
            console.print(f"  looked like work {m['workId']} of {m['workManager']} ({m['method']} distance {m['distance']})")
    body = _get_ok(api_url, api_key, f"/works/{work_id}/similar")
    for m in body["similar"]:
        what = f"work {m['work_id']}" if m["work_id"] is not None else f"output {m['output_hash']}"
        console.print(f"  {'[green]match[/green]' if m['match'] else 'near '} {what}  {m['method']} distance {m['distance']} (threshold {m['threshold']})")


@app.command("backfill")
def backfill() -> None:
    """Fingerprints works registered before fingerprinting existed (or whose file arrived later),
    from the files in this machine's content store. Safe to run again."""
    from ledger.config import get_settings
    from ledger.runtime import open_ledger
    from ledger.services.fingerprints import backfill as run

    ledger = open_ledger(get_settings(), deploy=False)
    ledger.indexer.sync()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("fingerprinting", total=None)
        result = run(ledger, lambda done, total: progress.update(task, completed=done, total=total))
    ledger.similarity.rebuild()
    console.print(f"fingerprinted {result.fingerprinted}, already done {result.already}, file not in the store {result.no_file}, unreadable {result.unreadable}")


@app.command("reindex")
def reindex() -> None:
    """Rebuilds the similarity index files from the database (they are a cache of it)."""
    from ledger.config import get_settings
    from ledger.runtime import open_ledger

    counts = open_ledger(get_settings(), deploy=False).similarity.rebuild()
    for label, n in counts.items():
        console.print(f"{label}: {n} codes")


@app.command("anchor")
def anchor() -> None:
    """Anchors the evidence reports not yet on chain now, as one batch (the API does it every minute)."""
    from ledger.config import get_settings
    from ledger.runtime import open_ledger
    from ledger.services.evidence_anchoring import anchor_pending

    batch = anchor_pending(open_ledger(get_settings(), deploy=False))
    if batch is None:
        console.print("nothing to anchor: every report is on chain")
    else:
        console.print(f"batch {batch.batch_id}: {batch.count} reports, root {batch.root}, tx {batch.tx_hash}")
