"""`ledger statements ...`: close periods, export and verify statements, claim entries."""

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from ledger.cli.works import ApiKey, ApiUrl, _client, _expect, _get_ok, console

app = typer.Typer(help="Royalty statements (closed periods).", no_args_is_help=True, pretty_exceptions_enable=False)


def _post(api_url: str, api_key: str, path: str, body: dict[str, Any]) -> httpx.Response:
    try:
        with _client(api_url, api_key) as client:
            resp = client.post(path, json=body)
    except httpx.HTTPError as exc:
        console.print(f"[red]cannot reach the ledger at {api_url}: {exc}[/red]")
        raise typer.Exit(2) from exc
    return _expect(resp, 200, 201, 202)


def _show(st: dict[str, Any]) -> None:
    console.print(
        f"[bold]{st['currency']}[/bold] {st['period_start']}..{st['period_end']}: revenue {st['revenue']:,} = "
        f"holders {st['holders_total']:,} + platforms {st['platform_total']:,}; {st['entry_count']:,} entries, "
        f"{st['line_count']:,} traced lines from {st['report_count']:,} reports"
    )
    console.print(f"  statement {st['statement_id']}\n  root      {st['root']}\n  document  {st['document_cid']}")
    console.print(f"  published {st['publish_tx'] or '(waiting for the accountant signature)'}")
    settled = f"in token {st['token']} ({st['unit_scale']:,} units per minor unit)" if st["token"] else "off chain"
    console.print(f"  settled   {settled}")


@app.command("close")
def close(
    period_start: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    period_end: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code")],
    token: Annotated[str | None, typer.Option(help="ERC-20 to pay claims in (funded from the accountant's account); default: off chain")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Closes a period for a currency and publishes its statement on chain (accountant key)."""
    body = {"period_start": period_start, "period_end": period_end, "currency": currency, "settlement_token": token}
    resp = _post(api_url, api_key, "/statements", body)
    st = resp.json()
    console.print({201: "[green]closed[/green]", 200: "already closed:", 202: "[yellow]stored[/yellow], sign to publish:"}[resp.status_code])
    _show(st)
    if st.get("typed_data"):
        console.print("Sign this EIP-712 request in the accountant's wallet and POST its message with the signature to /relay:")
        console.print_json(json.dumps(st["typed_data"]))


@app.command("draft")
def draft(
    period_start: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
    period_end: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
    currency: Annotated[str, typer.Option(help="ISO 4217 code")],
    token: Annotated[str | None, typer.Option(help="ERC-20 to pay claims in; default: off chain")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Computes a period into a draft statement: nothing is published, funded or marked paid.
    Then: ledger statements review ID, and publish ID (or discard ID)."""
    body = {"period_start": period_start, "period_end": period_end, "currency": currency, "settlement_token": token}
    d = _post(api_url, api_key, "/statements/drafts", body).json()
    console.print(f"[green]draft[/green] {d['draft_id']}  {d['currency']} {d['period_start']}..{d['period_end']} #{d['sequence']}: "
                  f"revenue {d['revenue']:,}, holders {d['holders_total']:,}, {d['entries']:,} entries")  # fmt: skip
    console.print(f"  next: ledger statements review {d['draft_id']}")


@app.command("review")
def review(draft_id: str, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """How a draft differs from the previous period: per holder, work and platform, largest movers first."""
    r = _get_ok(api_url, api_key, f"/statements/drafts/{draft_id}/review")
    since = "..".join(r["previous_period"]) if r["previous_period"] else "nothing before it"
    console.print(f"draft {r['draft_id']} against {since}")
    for name, t in r["totals"].items():
        console.print(f"  {name:9} {t['previous']:>14,} -> {t['current']:>14,}  ({t['change']:+,})")
    for dimension in ("holders", "works", "platforms"):
        table = Table(dimension[:-1], "previous", "current", "change", title=f"{dimension}: largest movers first ({r['moved'][dimension]} moved)")
        for m in r[dimension][:20]:
            table.add_row(m["key"], f"{m['previous']:,}", f"{m['current']:,}", f"{m['change']:+,}")
        console.print(table)


@app.command("publish")
def publish(draft_id: str, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """Publishes a reviewed draft, only if the period still comes out exactly as reviewed."""
    resp = _post(api_url, api_key, f"/statements/drafts/{draft_id}/publication", {})
    st = resp.json()
    console.print({201: "[green]published[/green]", 200: "already published:", 202: "[yellow]stored[/yellow], sign to publish:"}[resp.status_code])
    _show(st)


@app.command("discard")
def discard(draft_id: str, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """Discards a draft."""
    d = _post(api_url, api_key, f"/statements/drafts/{draft_id}/discard", {}).json()
    console.print(f"draft {d['draft_id']}: {d['status']}")


@app.command("list")
def list_(currency: Annotated[str | None, typer.Option()] = None, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """Every statement, oldest period first."""
    for st in _get_ok(api_url, api_key, "/statements", {"currency": currency} if currency else None):
        _show(st)


@app.command("balances")
def balances(
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code")] = None,
    account: Annotated[str | None, typer.Option(help="Only this holder")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Balances holders owe now (corrections took back more than they had earned since); their
    next statements in the currency deduct them before paying."""
    params = {k: v for k, v in (("currency", currency), ("account", account)) if v}
    owed = _get_ok(api_url, api_key, "/statements/balances", params or None)
    if not owed:
        console.print("no balance owed")
        return
    table = Table("currency", "account", "owed (minor units)", "carried forward by")
    for o in owed:
        table.add_row(o["currency"], o["account"], f"{o['amount']:,}", o["statement_id"])
    console.print(table)


@app.command("export")
def export(
    statement_id: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    fmt: Annotated[str, typer.Option("--format", help="json (the document as hashed), csv, xlsx or pdf")] = "json",
    account: Annotated[str | None, typer.Option(help="Only this holder's entries and lines (csv, xlsx, pdf).")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Writes a statement to a file; the JSON document is checked against the statement id first.
    The file is streamed to disk (a statement may run to millions of lines) and only renamed into
    place once complete and, for JSON, once it hashes to the id."""
    if fmt == "json":
        if account:
            console.print("[red]the JSON document is the whole statement (its hash is the id); use csv, xlsx or pdf for one holder[/red]")
            raise typer.Exit(1)
        path, params = f"/statements/{statement_id}/document", None
    else:
        path, params = f"/statements/{statement_id}/export", {"format": fmt, **({"account": account} if account else {})}
    partial = out.with_name(out.name + ".partial")
    digest, size = hashlib.sha256(), 0
    try:
        with _client(api_url, api_key) as client, client.stream("GET", path, params=params, timeout=3600) as resp:
            if resp.status_code != 200:
                resp.read()
                _expect(resp, 200)
            with partial.open("wb") as fh:
                for chunk in resp.iter_bytes(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
                    fh.write(chunk)
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        console.print(f"[red]cannot read the statement from {api_url}: {exc}[/red]")
        raise typer.Exit(2) from exc
    if fmt == "json" and "0x" + digest.hexdigest() != statement_id.lower():
        partial.unlink(missing_ok=True)
        console.print("[red]the document does not hash to the statement id: not written[/red]")
        raise typer.Exit(1)
    partial.replace(out)
    console.print(f"wrote {out} ({size:,} bytes)" + (", SHA-256 = statement id" if fmt == "json" else ""))


@app.command("claim-all")
def claim_all(
    account: str,
    currency: Annotated[str | None, typer.Option(help="Only this currency's statements")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Claims everything a holder is owed, across statements, in one transaction."""
    claims = _post(api_url, api_key, "/claims", {"account": account, "currency": currency}).json()
    table = Table("book", "payout", "statements", "paid", "claim tx")
    for c in claims:
        table.add_row(f"{c['currency']} {c['token'] or 'off chain'}", c["payout"], str(c["statements"]), f"{c['amount']:,}", c["tx_hash"])
    console.print(table)


@app.command("claim")
def claim(statement_id: str, account: str, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """Claims a holder's open entries of a statement on chain (and its earlier unclaimed ones in the same book)."""
    entries = _post(api_url, api_key, f"/statements/{statement_id}/claims", {"account": account}).json()
    table = Table("index", "payout", "amount", "claim tx")
    for e in entries:
        table.add_row(str(e["index"]), e["payout"], f"{e['amount']:,}", e["claimed_tx"] or "")
    console.print(table)


@app.command("verify")
def verify(
    document: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A statement document (ledger statements export).")],
    statement_id: Annotated[str | None, typer.Option("--id", help="The id you were told it has (default: its own hash).")] = None,
    rpc_url: Annotated[str | None, typer.Option(envvar="LEDGER_RPC_URL", help="An RPC endpoint of the statement's chain.")] = None,
    usage: Annotated[Path | None, typer.Option(exists=True, file_okay=False, help="A folder with the usage report files (*.csv): recompute every amount.")] = None,
    previous: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="The document of the statement before it in its currency (its balancesFrom): check the balances brought forward.")
    ] = None,
    blocks: Annotated[
        Path | None,
        typer.Option(exists=True, file_okay=False, help="A content store with the training-set lists of the models whose pools the statement pays (e.g. a copy of the ledger's data/blocks); each list is checked against its root on chain."),
    ] = None,
) -> None:
    """Checks a statement against the chain alone (no ledger needed): its hash, the published
    root and totals, every sum to the unit, and the anchors of the usage reports behind it; with
    --usage, also recomputes every amount from the chain's events and those files; with
    --previous, checks the balances brought forward against the statement before it.
    Exits 1 if any check fails."""
    import tempfile

    from web3 import Web3
    from web3.providers.rpc import HTTPProvider

    from ledger.config import get_settings
    from ledger.services.statement_verifier import recompute_statement, verify_statement

    w3 = Web3(HTTPProvider(rpc_url or get_settings().rpc_url, request_kwargs={"timeout": 60}))
    raw = document.read_bytes()
    checks = verify_statement(w3, raw, statement_id, previous.read_bytes() if previous else None)
    if usage is not None and all(c.ok for c in checks):
        with tempfile.TemporaryDirectory() as work:
            checks += recompute_statement(w3, raw, sorted(usage.glob("*.csv")), Path(work), blocks)
    table = Table("check", "", "detail")
    for check in checks:
        table.add_row(check.name, "[green]ok[/green]" if check.ok else "[red]FAILED[/red]", check.detail)
    console.print(table)
    if not all(c.ok for c in checks):
        console.print("[red]the statement does not verify[/red]")
        raise typer.Exit(1)
    not_checked = []
    if usage is None:
        not_checked.append("the amounts were not recomputed from the usage reports (the chain holds only their hashes): add --usage DIR with the report files")
    if previous is None and json.loads(raw).get("balancesFrom"):
        not_checked.append("the balances brought forward were not compared with the previous statement: add --previous FILE")
    for note in not_checked:
        console.print(f"[yellow]not checked:[/yellow] {note}")
    console.print("[green]verified[/green]" + (" (with what was not checked above)" if not_checked else ""))


@app.command("explain")
def explain(
    statement_id: Annotated[str, typer.Argument(help="The statement id (0x...)")],
    account: Annotated[str, typer.Option(help="The holder whose amounts to explain")],
    work: Annotated[int | None, typer.Option(help="Only the amount from this work")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the explanation as JSON")] = False,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Why this amount: each amount of the holder, from its works back to the outputs or model
    pools, the usage lines and the anchored usage reports behind it."""
    from decimal import Decimal

    from rich.tree import Tree

    params: dict[str, str | int] = {"account": account, **({"work": work} if work else {})}
    e = _get_ok(api_url, api_key, f"/statements/{statement_id}/explanation", params)
    if as_json:
        console.print_json(json.dumps(e))
        return
    exponent = int(e["minorUnitExponent"])

    def money(minor: int) -> str:
        return f"{Decimal(minor).scaleb(-exponent):,.{exponent}f} {e['currency']}"

    root = Tree(f"[bold]{e['account']}[/bold] in statement {e['statementId'][:18]}…")
    for entry in e["entries"]:
        root.add(
            f"entry {entry['index']} to {entry['payout']}: earned {money(entry['earned'])}, withheld {money(entry['withheld'])}, "
            f"released {money(entry['released'])}, recouped {money(entry['recouped'])}, [bold]paid {money(entry['amount'])}[/bold]"
        )
    for w in e["works"]:
        branch = root.add(f"work #{w['workId']} {w['title']}: [bold]{money(w['amount'])}[/bold] (its share {w['ownerShareBps'] / 100:g} %)")
        for part in w["reports"]:
            r = part["report"]
            note = "" if part["asPublished"] else f" [yellow](the usage now gives {money(part['recomputedTotal'])})[/yellow]"
            report = branch.add(
                f"report {r['reportId']} of {r['platform']}{' (reversed)' if r.get('reversal') else ''}: {money(part['amount'])} of the work's "
                f"{money(part['workTotal'])}{note}; anchored in {r['anchorTx']}"
            )
            for src in part["sources"]:
                if src["kind"] == "pool":
                    how = f"model {src['modelId']}'s pool, " + (
                        f"split by declared weights over {src['poolWorks']:,} works (this one's {src['poolWeight']:,} of {src['poolWeightTotal']:,})"
                        if src["poolDeclared"] else f"split equally over {src['poolWorks']:,} works"
                    )
                else:
                    how = f"output {src['outputHash'][:18]}… (model {src['modelId']})" + (
                        f", linked at {src['linkWeightBps'] / 100:g} %" if src["linkWeightBps"] is not None else f", through derivative works {src['through']}"
                    )
                node = report.add(f"{money(src['amount'])} from {how}: {src['lines']:,} usage lines, revenue {money(src['revenue'])}")
                for line in src["topLines"]:
                    node.add(f"line {line['line_id']} (file line {line['line_number']}): {line['use_type']}, {line['territory']}, {line['uses']:,} uses, {money(line['revenue'])}")
            if part["moreSources"]:
                report.add(f"... and {part['moreSources']} smaller sources")
    if e["moreWorks"]:
        root.add(f"... and {e['moreWorks']} more works (--work ID explains one)")
    console.print(root)


@app.command("verify-entry")
def verify_entry(
    statement_id: Annotated[str, typer.Argument(help="The statement id (0x...)")],
    account: Annotated[str, typer.Option(help="Your account: the entries to check")],
    rpc_url: Annotated[str | None, typer.Option(envvar="LEDGER_RPC_URL", help="An RPC endpoint of the statement's chain.")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Checks a holder's own entries against the root published on chain, without the whole
    statement (whose other amounts are private): each leaf (account, payout, cumulative amount,
    salt) with its proof must give the root the distributor holds. Exits 1 if one does not."""
    from eth_utils import to_checksum_address
    from web3 import Web3
    from web3.providers.rpc import HTTPProvider

    from ledger.chain.compiler import compile_contract
    from ledger.chain.merkle import STATEMENT_LEAF_TYPES, process_proof, standard_leaf
    from ledger.config import get_settings

    entries = _get_ok(api_url, api_key, f"/statements/{statement_id}/entries/{account}")
    st = _get_ok(api_url, api_key, f"/statements/{statement_id}")
    w3 = Web3(HTTPProvider(rpc_url or get_settings().rpc_url, request_kwargs={"timeout": 60}))
    distributor = w3.eth.contract(address=to_checksum_address(st["distributor"]), abi=compile_contract("RoyaltyDistributor.sol").abi)
    root = bytes(distributor.functions.statementOf(bytes.fromhex(statement_id[2:])).call()[0])
    table = Table("payout", "amount", "cumulative", "proof")
    ok = True
    for e in entries:
        leaf = standard_leaf(STATEMENT_LEAF_TYPES, (to_checksum_address(e["account"]), to_checksum_address(e["payout"]), int(e["cumulative"]), bytes.fromhex(e["salt"][2:])))
        good = process_proof(leaf, [bytes.fromhex(p[2:]) for p in e["proof"]]) == root
        ok &= good
        table.add_row(e["payout"], f"{e['amount']:,}", f"{e['cumulative']:,}", "[green]gives the root on chain[/green]" if good else "[red]does not give the root[/red]")
    console.print(table)
    if not ok or root == bytes(32):
        console.print("[red]your entries do not verify against the chain[/red]")
        raise typer.Exit(1)
    console.print(f"verified: your entries are leaves of the root {('0x' + root.hex())[:18]}… published on chain")
