"""`ledger`: run the node, deploy, manage keys, register and show works."""

import logging
import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from pathlib import Path

    from web3 import Web3

    from ledger.chain.deployment import Deployment

from ledger.cli import advances, devices, disputes, evidence, models, recorder, statements, usage, works
from ledger.config import get_settings
from ledger.roles import Role

app = typer.Typer(help="AI rights and royalty ledger.", no_args_is_help=True, pretty_exceptions_enable=False)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
deployment_app = typer.Typer(help="The contracts on the configured chain (LEDGER_RPC_URL): where they are, and whether they are this build.", no_args_is_help=True)
app.add_typer(deployment_app, name="deployment")
app.add_typer(works.app, name="works")
app.add_typer(models.app, name="models")
app.add_typer(usage.usage_app, name="usage")
app.add_typer(usage.royalties_app, name="royalties")
app.add_typer(statements.app, name="statements")
app.add_typer(advances.app, name="advances")
app.add_typer(evidence.app, name="evidence")
app.add_typer(disputes.app, name="disputes")
app.add_typer(devices.app, name="devices")
app.add_typer(devices.records_app, name="records")
app.add_typer(recorder.app, name="recorder")
app.command("similar")(evidence.similar)
console = Console()


def _is_local(url: str) -> bool:
    return url.startswith(("http://127.0.0.1", "http://localhost"))


@app.command()
def up(
    no_chain: Annotated[bool, typer.Option("--no-chain", help="Use the chain at LEDGER_RPC_URL instead of starting anvil.")] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="API processes (default LEDGER_API_WORKERS, 1); more than one needs PostgreSQL (LEDGER_DATABASE_URL).")
    ] = None,
) -> None:
    """Starts the whole ledger: local anvil (state in the data directory), contracts deployed once, API.
    With several workers, this process indexes the chain and anchors evidence for all of them."""
    import os

    import uvicorn

    from ledger.api.app import Background, create_app
    from ledger.chain.node import AnvilNode, rpc_answers
    from ledger.runtime import open_ledger

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    node = None
    if not no_chain and _is_local(settings.rpc_url) and not rpc_answers(settings.rpc_url):
        node = AnvilNode(settings.chain_dir, settings.chain_port)
        console.print(f"starting anvil on {node.url} (state: {settings.chain_dir / 'state.json'})")
        node.start()
    # uvicorn handles SIGINT/SIGTERM itself; make sure anvil gets its SIGTERM (state dump) afterwards.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        ledger = open_ledger(settings, deploy=True, node=node)
        console.print(f"WorkRegistry at {ledger.registry.address} on chain {ledger.deployment.chain_id}")
        count = workers or settings.api_workers
        console.print(f"API on http://{settings.api_host}:{settings.api_port}  (docs: /docs, holders' portal: /portal)" + (f", {count} workers" if count > 1 else ""))
        if count == 1:
            uvicorn.run(create_app(ledger=ledger), host=settings.api_host, port=settings.api_port, log_level="info")
            return
        if ledger.engine.dialect.name != "postgresql":
            console.print("[red]several API workers need PostgreSQL[/red] (LEDGER_DATABASE_URL=postgresql+psycopg://...): SQLite has one writer")
            raise typer.Exit(2)
        background = Background(ledger)  # one indexer for every worker (they share its advisory lock)
        os.environ["LEDGER_API_BACKGROUND"] = "false"
        if node is not None:  # the workers write the embedded chain's state before answering, as one process would
            os.environ["LEDGER_CHAIN_STATE_FILE"] = str(node.state_file)
        try:
            uvicorn.run("ledger.api.app:create_app", factory=True, workers=count, host=settings.api_host, port=settings.api_port, log_level="info")
        finally:
            background.stop()
    finally:
        if node is not None:
            node.stop()


@app.command()
def deploy() -> None:
    """Deploys the contracts to LEDGER_RPC_URL if the deployment record does not exist yet."""
    from ledger.runtime import open_ledger

    ledger = open_ledger(get_settings(), deploy=True)
    console.print(f"WorkRegistry at {ledger.registry.address} (block {ledger.deployment.work_registry.block})")


@app.command()
def index() -> None:
    """Projects chain events into the database up to the chain head (the API also does this)."""
    from ledger.runtime import open_ledger

    result = open_ledger(get_settings(), deploy=False).indexer.sync()
    console.print(f"blocks {result.from_block}..{result.to_block}: {result.events} events" + (" (rebuilt)" if result.rebuilt else ""))


def _deployment() -> "tuple[Web3, Deployment, Path]":
    from ledger.chain.client import connect
    from ledger.chain.deployment import Deployment
    from ledger.runtime import deployment_record

    settings = get_settings()
    w3 = connect(settings)
    record = deployment_record(settings, w3)
    if not record.exists():
        console.print(f"[red]no deployment record for chain {w3.eth.chain_id} at {record}[/red]: `ledger deploy` deploys there")
        raise typer.Exit(1)
    return w3, Deployment.load(record), record


@deployment_app.command("show")
def deployment_show() -> None:
    """Chain id, deployer and each contract's address and block, from this chain's record."""
    _, deployment, record = _deployment()
    console.print(f"chain {deployment.chain_id}, deployer {deployment.deployer} ({record})", soft_wrap=True)
    for name, rec in deployment.contracts.items():  # lines, not a table: addresses are never cut short
        console.print(f"  {name:<20} {rec.address}  block {rec.block:,}  tx {rec.tx_hash}", soft_wrap=True)


@deployment_app.command("verify")
def deployment_verify() -> None:
    """Checks the runtime bytecode at every recorded address against this checkout's build (byte
    for byte outside constructor-set immutables) and the contracts' wiring to each other. Exit
    code 1 if anything differs."""
    from ledger.chain.deployment import verify_code

    w3, deployment, _ = _deployment()
    checks = verify_code(w3, deployment)
    console.print(f"chain {deployment.chain_id}: the code on chain against this build", soft_wrap=True)
    for c in checks:
        mark = "[green]ok    [/green]" if c.ok else "[red]FAILED[/red]"
        console.print(f"  {mark} {c.name:<32} {c.address}  {c.detail}", soft_wrap=True)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option(help="rights_holder, platform, accountant, arbiter, auditor (reads every statement, writes nothing) or admin")],
    label: Annotated[str, typer.Option(help="Who the key is for.")] = "",
    address: Annotated[str | None, typer.Option(help="The participant's own address (self-signing, not custodial).")] = None,
) -> None:
    """Creates an API key (printed once). Rights holders, platforms and accountants get an on-chain
    account with their role on the contracts."""
    from ledger.runtime import open_ledger
    from ledger.services.errors import LedgerError
    from ledger.services.keys import create_api_key

    ledger = open_ledger(get_settings(), deploy=False)
    try:
        issued = create_api_key(ledger, role, label, address)
    except LedgerError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"role {issued.role.value}" + (f", holder {issued.holder_address} ({'custodial' if issued.custodial else 'self-signing'})" if issued.holder_address else ""))
    print(issued.token)


@keys_app.command("revoke")
def keys_revoke(prefix: str) -> None:
    """Revokes the API key whose second part (lk_<prefix>_...) is PREFIX."""
    from ledger.runtime import open_ledger
    from ledger.services.errors import LedgerError
    from ledger.services.keys import revoke_api_key

    try:
        revoke_api_key(open_ledger(get_settings(), deploy=False), prefix)
    except LedgerError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    console.print("revoked")


def _problem(exc: BaseException) -> str | None:
    """A one-line explanation of a failure a user can fix, or None for a defect."""
    import requests
    from sqlalchemy.exc import OperationalError

    from ledger.chain.client import ChainUnavailable
    from ledger.services.errors import LedgerError

    if isinstance(exc, ChainUnavailable | requests.exceptions.ConnectionError):
        return (f"no chain answers at {get_settings().rpc_url}: start the ledger (`scripts/run.sh` or `ledger up`), or set "
                "LEDGER_RPC_URL (and LEDGER_DATA_DIR, as the running ledger has them) to reach it")  # fmt: skip
    if isinstance(exc, LedgerError):
        return exc.message
    if isinstance(exc, OperationalError):
        return f"the database does not answer ({str(exc.orig).splitlines()[0]}): check LEDGER_DATABASE_URL and LEDGER_DATA_DIR"
    if isinstance(exc, FileNotFoundError | PermissionError | RuntimeError):
        return str(exc)
    return None


def main() -> None:
    """The `ledger` command: a failure is one line that says what to do, never a traceback
    (LEDGER_DEBUG=1 shows it)."""
    import os

    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the last place anything can be told to the user
        if os.environ.get("LEDGER_DEBUG"):
            raise
        problem = _problem(exc)
        if problem is None:
            console.print(f"[red]unexpected error: {type(exc).__name__}: {exc}[/red] (LEDGER_DEBUG=1 shows the traceback; please report it)")
            sys.exit(1)
        console.print(f"[red]{problem}[/red]")
        sys.exit(2)


if __name__ == "__main__":
    main()
