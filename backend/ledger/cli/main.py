"""`ledger`: run the node, deploy, manage keys, register and show works."""

import logging
import signal
import sys
from typing import Annotated

import typer
from rich.console import Console

from ledger.cli import advances, devices, disputes, evidence, models, recorder, statements, usage, works
from ledger.config import get_settings
from ledger.roles import Role

app = typer.Typer(help="AI rights and royalty ledger.", no_args_is_help=True, pretty_exceptions_enable=False)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
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
) -> None:
    """Starts the whole ledger: local anvil (state in the data directory), contracts deployed once, API."""
    import uvicorn

    from ledger.api.app import create_app
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
        console.print(f"API on http://{settings.api_host}:{settings.api_port}  (docs: /docs, holders' portal: /portal)")
        uvicorn.run(create_app(ledger=ledger), host=settings.api_host, port=settings.api_port, log_level="info")
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
