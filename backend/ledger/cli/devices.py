"""`ledger devices ...` and `ledger records ...`: enrol a machine to record production, and look
at what the devices recorded.

`ledger devices enrol` makes the device key here, on the machine being enrolled, and keeps it in
an encrypted keystore file (the password from LEDGER_DEVICE_PASSWORD, or asked); the ledger
never sees it. The owner's API key (LEDGER_API_KEY) sends the enrolment, with the device's
signed consent.
"""

import json
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledger.cli.disputes import _post
from ledger.cli.works import ApiKey, ApiUrl, _client, _expect, _get_ok, console
from ledger_recorder import RecorderConfig

app = typer.Typer(help="Devices and apps that record production: enrol, list, revoke.", no_args_is_help=True, pretty_exceptions_enable=False)
records_app = typer.Typer(help="Production records: show one, anchor the pending ones.", no_args_is_help=True, pretty_exceptions_enable=False)
DEFAULT_KEYSTORE = Path.home() / ".ledger" / "device-key.json"


def _password(confirm: bool) -> str:
    password = os.environ.get("LEDGER_DEVICE_PASSWORD")
    if password:
        return password
    return str(typer.prompt("device keystore password", hide_input=True, confirmation_prompt=confirm))


@app.command("enrol")
def enrol(
    actions: Annotated[str, typer.Option(help="What the device may record, comma-separated: create, edit, generate, import, export.")],
    label: Annotated[str, typer.Option(help="What the device is, for people.")] = "",
    days: Annotated[int, typer.Option(min=1, max=3650, help="How long the enrolment lasts.")] = 365,
    keystore: Annotated[Path, typer.Option(dir_okay=False, help="Where the new device key is kept, encrypted.")] = DEFAULT_KEYSTORE,
    author: Annotated[str | None, typer.Option(help="The account of the person at this device (default: the enrolling account).")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Makes a device key on this machine, stores it encrypted, enrols it under your account, and
    writes the recorder's configuration beside it (recorder.json: what signing needs offline)."""
    from eth_account import Account  # here, not at the top: every other command starts a second sooner
    from eth_account.messages import encode_typed_data
    if keystore.exists():
        raise typer.BadParameter(f"{keystore} exists: this machine has a device key already (revoke it and remove the file to start again)")
    wanted = [a.strip() for a in actions.split(",") if a.strip()]
    owner = _get_ok(api_url, api_key, "/keys/me").get("holder_address")
    if not owner:
        console.print("[red]this API key has no on-chain account to enrol devices under[/red]")
        raise typer.Exit(1)
    device = Account.create()
    expires = int(time.time()) + days * 86_400
    with _client(api_url, api_key) as client:
        data = _expect(client.get("/devices/enrolment-data", params={"owner": owner, "actions": wanted, "expires_at": expires}), 200).json()
    signature = device.sign_message(encode_typed_data(full_message=data)).signature
    keystore.parent.mkdir(parents=True, exist_ok=True)
    keystore.write_text(json.dumps(Account.encrypt(device.key, _password(confirm=True))))
    keystore.chmod(0o600)
    body = {"device": device.address, "actions": wanted, "expires_at": expires, "label": label, "device_signature": "0x" + bytes(signature).hex()}
    d = _expect(_post(api_url, api_key, "/devices", json=body), 201).json()
    console.print(f"[bold]device {d['address']}[/bold] enrolled for {', '.join(d['actions'])} until {time.strftime('%Y-%m-%d', time.gmtime(d['expires_at']))}")
    config = RecorderConfig(
        ledger_url=api_url, chain_id=int(data["domain"]["chainId"]), contract=str(data["domain"]["verifyingContract"]), device=d["address"],
        keystore=str(keystore.resolve()), author=author or owner, queue=str((keystore.parent / "records.sqlite").resolve()),
    )  # fmt: skip
    config.save(keystore.parent / "recorder.json")
    console.print(f"  key kept in {keystore} (encrypted); enrolment tx {d['enrolled_tx']}")
    console.print(f"  recorder configuration: {keystore.parent / 'recorder.json'} (ledger recorder watch FOLDER)")


@app.command("list")
def list_(
    owner: Annotated[str | None, typer.Option(help="Only this owner's devices.")] = None,
    api_url: ApiUrl = "http://127.0.0.1:8000",
    api_key: ApiKey = "",
) -> None:
    """Enrolled devices, with what they may record and whether they are revoked."""
    rows = _get_ok(api_url, api_key, "/devices", params={"owner": owner} if owner else None)
    table = Table("device", "owner", "actions", "expires", "state", "label")
    for d in rows:
        state = f"revoked {time.strftime('%Y-%m-%d %H:%M', time.gmtime(d['revoked_at']))}" if d["revoked_at"] else "active"
        table.add_row(d["address"], d["owner"], ", ".join(d["actions"]), time.strftime("%Y-%m-%d", time.gmtime(d["expires_at"])), state, d["label"])
    console.print(table)


@app.command("revoke")
def revoke(address: str, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """Revokes your device now: what it records from now on is refused; what it recorded stays."""
    d = _expect(_post(api_url, api_key, f"/devices/{address}/revocation"), 200).json()
    console.print(f"device {d['address']} revoked at {d['revoked_at']} (tx {d['revoked_tx']})")


@records_app.command("show")
def show(record_hash: str, api_url: ApiUrl = "http://127.0.0.1:8000", api_key: ApiKey = "") -> None:
    """A production record, and the batch anchoring it with its proof."""
    console.print_json(data=_get_ok(api_url, api_key, f"/records/{record_hash}"))


@records_app.command("anchor")
def anchor() -> None:
    """(Operator) Anchors the production records not yet on chain now (the API does it every minute)."""
    from ledger.config import get_settings
    from ledger.runtime import open_ledger
    from ledger.services.records import anchor_pending

    ledger = open_ledger(get_settings(), deploy=False)
    batches = 0
    while (batch := anchor_pending(ledger)) is not None:
        batches += 1
        console.print(f"batch {batch.batch_id}: {batch.count} records, root {batch.root}, tx {batch.tx_hash}")
    if not batches:
        console.print("nothing to anchor: every record is on chain")
