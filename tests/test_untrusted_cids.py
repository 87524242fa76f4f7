"""CIDs that come from outside the ledger: a relayed registration, or a holder calling the
registry itself. The relay refuses what it can check; whatever reaches the chain anyway is shown
with a status that says what is wrong with its metadata, never a 500, and no CID is ever joined
into a file path."""

from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from ledger.chain.registry import Owner, Terms, WorkInput
from ledger.chain.work_codec import pack_works
from ledger.content.cid import compute_cid
from ledger.content.store import LocalBlockStore
from ledger.models import Role
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from ledger.services.signing import jsonable
from tests.conftest import Server, client_for, sign_typed

TERMS = Terms.from_flags(True, 500, 0)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _input(wallet: LocalAccount, n: int, cid: str) -> WorkInput:
    return WorkInput(bytes.fromhex(f"{n:064x}"), cid, TERMS, (Owner(wallet.address, wallet.address, 10_000),))


def _relay(client: httpx.Client, ledger: Ledger, wallet: LocalAccount, contract: str, function: str, *args: Any, **change: int) -> httpx.Response:
    """Prepares and signs the call as the wallet would, then sends the message with ``change``
    applied (fields a wallet could never sign are refused before the signature is checked)."""
    typed = jsonable(ledger.relayer.prepare(wallet.address, ledger.call(contract, function, *args)))
    signature = sign_typed(wallet, typed)
    return client.post("/relay", json={"message": {**typed["message"], **change}, "signature": signature})


def test_the_relay_refuses_a_registration_whose_metadata_cid_is_not_a_cid(ledger: Ledger, server: Server, wallet: LocalAccount) -> None:
    """Regression: /relay mined it, then answered 500, and the work answered 500 from then on."""
    token = create_api_key(ledger, Role.rights_holder, "wallet", address=wallet.address).token
    with client_for(server, token) as c:
        for cid in ("/etc/passwd", "../../keys/operator.json", "Qm" + "1" * 44):
            resp = _relay(c, ledger, wallet, "WorkRegistry", "registerWorks", pack_works([_input(wallet, 1, cid)]))
            assert resp.status_code == 422, resp.text
            assert "is not a CIDv1" in resp.json()["detail"]
        # A batch cut short is refused before anything is sent (the contract would revert MalformedWorks).
        typed = jsonable(ledger.relayer.prepare(wallet.address, ledger.call("WorkRegistry", "registerWorks", pack_works([_input(wallet, 1, ledger.store.put(b"{}"))]))))
        cut = ledger.call("WorkRegistry", "registerWorks", pack_works([_input(wallet, 1, ledger.store.put(b"{}"))])[:-1]).data
        typed["message"]["data"] = "0x" + bytes(cut).hex()
        resp = c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)})
        assert resp.status_code == 422 and "packed format" in resp.json()["detail"], resp.text
        assert ledger.registry.contract.functions.workCount().call() == 0
        good = _relay(c, ledger, wallet, "WorkRegistry", "registerWorks", pack_works([_input(wallet, 1, ledger.store.put(b'{"title": "ok"}'))]))
        assert good.status_code == 201, good.text


def test_the_relay_takes_only_its_roles_contracts_and_bounded_fields(ledger: Ledger, server: Server, wallet: LocalAccount) -> None:
    token = create_api_key(ledger, Role.rights_holder, "wallet", address=wallet.address).token
    cid = ledger.store.put(b'{"title": "ok"}')
    with client_for(server, token) as c:
        to_anchor = _relay(c, ledger, wallet, "WorkRegistry", "registerWorks", pack_works([_input(wallet, 2, cid)]), to=ledger.usage_anchor.address)  # type: ignore[arg-type]
        assert to_anchor.status_code == 403 and "WorkRegistry" in to_anchor.json()["detail"]
        for field, value in (("gas", 2**300), ("deadline", 2**48), ("nonce", -1), ("gas", 10**12)):
            resp = _relay(c, ledger, wallet, "WorkRegistry", "registerWorks", pack_works([_input(wallet, 2, cid)]), **{field: value})
            assert resp.status_code == 422, (field, resp.text)
            assert field in resp.json()["detail"]
    assert ledger.registry.contract.functions.workCount().call() == 0


def test_a_work_whose_metadata_cid_is_unusable_is_shown_with_its_status(ledger: Ledger, server: Server, wallet: LocalAccount) -> None:
    """A holder with the role calls the registry itself (no relay to refuse anything): the
    indexer projects what the chain says, and the API shows it with a status."""
    holder = create_api_key(ledger, Role.rights_holder, "wallet", address=wallet.address).token
    ledger.w3.provider.make_request("anvil_setBalance", [wallet.address, hex(10**18)])  # type: ignore[arg-type]
    image = ledger.store.put(PNG)
    missing = compute_cid(b'{"title": "never stored"}')
    cids = {"/etc/passwd": "invalid_cid", "../../../etc/passwd": "invalid_cid", image: "not_json", missing: "missing"}
    call = ledger.call("WorkRegistry", "registerWorks", pack_works([_input(wallet, 10 + i, cid) for i, cid in enumerate(cids)]))
    tx = {"to": call.to, "data": call.data, "gas": 3_000_000, "gasPrice": ledger.w3.eth.gas_price, "nonce": 0, "chainId": ledger.w3.eth.chain_id}
    tx_hash = ledger.w3.eth.send_raw_transaction(wallet.sign_transaction(tx).raw_transaction)
    receipt = ledger.w3.eth.wait_for_transaction_receipt(tx_hash)
    assert receipt["status"] == 1
    [batch] = ledger.registry.contract.events.WorksRegistered().process_receipt(receipt, errors=DISCARD)
    ids = list(range(batch["args"]["firstId"], batch["args"]["lastId"] + 1))
    ledger.indexer.sync()
    with client_for(server, holder) as c:
        for work_id, (cid, status) in zip(ids, cids.items()):
            resp = c.get(f"/works/{work_id}")
            assert resp.status_code == 200, resp.text
            assert resp.json()["metadata_status"] == status and resp.json()["metadata"] is None and resp.json()["metadata_cid"] == cid
        listed = c.get("/works", params={"owner": wallet.address})
        assert listed.status_code == 200 and len(listed.json()) == len(cids)

    # The chain keeps any bytes as a CID: bytes that are not UTF-8 are projected (with replacement
    # characters), never allowed to stop the indexer.
    raw = bytearray(pack_works([_input(wallet, 40, "ab")]))
    raw[42:44] = b"\xff\xfe"  # the CID's two bytes follow the record's 42-byte head
    call = ledger.call("WorkRegistry", "registerWorks", bytes(raw))
    tx = {"to": call.to, "data": call.data, "gas": 3_000_000, "gasPrice": ledger.w3.eth.gas_price, "nonce": 1, "chainId": ledger.w3.eth.chain_id}
    receipt = ledger.w3.eth.wait_for_transaction_receipt(ledger.w3.eth.send_raw_transaction(wallet.sign_transaction(tx).raw_transaction))
    assert receipt["status"] == 1
    ledger.indexer.sync()
    with client_for(server, holder) as c:
        resp = c.get(f"/works/{ids[-1] + 1}")
        assert resp.status_code == 200 and resp.json()["metadata_cid"] == "\ufffd\ufffd" and resp.json()["metadata_status"] == "invalid_cid", resp.text


def test_the_block_store_never_joins_a_non_cid_into_a_path(tmp_path: Any) -> None:
    """Regression: has() joined the CID into a path, so '../' and absolute paths escaped the store
    and the 200/500 difference told an outsider whether a file existed."""
    store = LocalBlockStore(tmp_path / "blocks")
    (tmp_path / "secret").write_text("x")
    for name in ("../secret", str(tmp_path / "secret"), "/etc/passwd", "b../../secret", ""):
        assert store.has(name) is False
    cid = store.put(b"hello")
    assert store.has(cid) and store.has(cid.upper().replace("B", "b", 1)) and store.get(cid) == b"hello"


def test_concurrent_writers_of_the_same_block_all_succeed(tmp_path: Any) -> None:
    """Regression: every thread of a process wrote the same temporary name, so concurrent
    identical uploads failed with FileNotFoundError (a 500) when another thread renamed it first."""
    from concurrent.futures import ThreadPoolExecutor

    store = LocalBlockStore(tmp_path / "blocks")
    with ThreadPoolExecutor(16) as pool:
        cids = set(pool.map(lambda _: store.put(b"the same metadata" * 1000), range(64)))
    assert len(cids) == 1 and store.get(cids.pop()) == b"the same metadata" * 1000
    assert not list((tmp_path / "blocks").rglob("*.tmp"))
