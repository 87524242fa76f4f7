"""A dishonest accountant publishes forged statements on chain. Each forgery is made consistent
with itself (sums, root, totals: what a careless check would look at) and must still fail:
the chain alone catches a statement that leaves anchored usage out, a second statement for a
period, and a platform share other than the chain's; the usage files catch amounts moved
between holders, co-owners, strangers and works. The ledger's own indexer never adopts one.

The forger publishes on a chain of this module's own, snapshotted and reverted around each
forgery, so every forgery is the first publication of a period nobody else closed."""

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlmodel import Session, select

from ledger.chain.errors import ContractRevert
from ledger.chain.merkle import STATEMENT_LEAF_TYPES, StandardMerkleTree
from ledger.chain.node import AnvilNode
from ledger.models import IndexerIncident, Role, Statement
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from ledger.services.statement_verifier import recompute_statement, verify_statement
from ledger.content.canonical import canonical
from tests.conftest import Server, client_for, free_port, make_settings, rebuilt_from_chain
from tests.factories import _csv, _platform_with_outputs, _upload, _work

OCTOBER = {"period_start": "2026-10-01", "period_end": "2026-10-31", "currency": "JPY"}


@dataclass
class Scene:
    ledger: Ledger
    honest: dict[str, Any]  # the statement the ledger closed (then erased from the chain)
    usage: list[Path]
    forger: LocalAccount
    holders: dict[str, str]  # name -> account
    root: Path
    n: int = 0

    def rpc(self, method: str, *params: Any) -> Any:
        return self.ledger.w3.provider.make_request(method, list(params))["result"]  # type: ignore[arg-type]

    def workdir(self) -> Path:
        self.n += 1
        path = self.root / f"work{self.n}"
        path.mkdir()
        return path


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    root = tmp_path_factory.mktemp("forged")
    node = AnvilNode(root / "chain", free_port(), state_interval_s=3600)
    node.start()
    ledger = open_ledger(make_settings(root / "data", node.url, f"sqlite:///{root / 'l.db'}"), deploy=True)
    forger = Account.create()
    ledger.sender.send(ledger.call("RoyaltyDistributor", "grantRole", keccak(text="ACCOUNTANT_ROLE"), forger.address))
    ledger.w3.provider.make_request("anvil_setBalance", [forger.address, hex(10**20)])  # type: ignore[arg-type]
    a_acc, b_acc = Account.create().address, Account.create().address
    with Server(ledger) as server, client_for(server, create_api_key(ledger, Role.rights_holder, "studio").token) as holder:
        a = _work(holder, 0xF001, 1000, [{"account": a_acc, "share_bps": 6000}, {"account": b_acc, "share_bps": 4000}])
        b = _work(holder, 0xF002, 0, [])
        manager = holder.get(f"/works/{b}").json()["manager"]
        platform, address, (h1, h2) = _platform_with_outputs(ledger, server, [[(a, 5000), (b, 5000)], [(a, 10_000)]], 0xF100)
        files = {"oct-a.csv": _csv("OCT-A", address, "2026-10-01", "2026-10-15", "JPY", [(h1, 10_001), (h2, 5_333)]),
                 "oct-b.csv": _csv("OCT-B", address, "2026-10-16", "2026-10-31", "JPY", [(h1, 7_777)])}  # fmt: skip
        for body in files.values():
            assert _upload(platform, body).status_code == 201
        before_close = ledger.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
        with client_for(server, create_api_key(ledger, Role.accountant, "acct").token) as accountant:
            closed = accountant.post("/statements", json=OCTOBER)
            assert closed.status_code == 201, closed.text
            honest = json.loads(accountant.get(f"/statements/{closed.json()['statement_id']}/document").content)
    # The honest statement leaves the chain: the period is one nobody has closed.
    assert ledger.w3.provider.make_request("evm_revert", [before_close])["result"]  # type: ignore[arg-type]
    (root / "usage").mkdir()
    for name, body in files.items():
        (root / "usage" / name).write_bytes(body)
    try:
        yield Scene(ledger, honest, sorted((root / "usage").glob("*.csv")), forger, {"a": a_acc, "b": b_acc, "manager": manager}, root)
    finally:
        ledger.engine.dispose()
        node.stop()


@pytest.fixture
def scratch(scene: Scene) -> Iterator[Scene]:
    """Whatever a test publishes is gone afterwards."""
    snapshot = scene.rpc("evm_snapshot")
    yield scene
    assert scene.rpc("evm_revert", snapshot)


Line = tuple[str, str, int, str, int]  # account, payout, work, report batch hash, amount


def _unpack(doc: dict[str, Any]) -> list[Line]:
    entries, reports = doc["entries"], doc["reports"]
    return [(entries[e]["account"], entries[e]["payout"], w, reports[r]["batchHash"], amount) for e, w, r, amount in doc["lines"]]


def _forge(doc: dict[str, Any], lines: list[Line], reports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A document made whole again around ``lines``: entries, indexes, totals and root all agree
    with each other, as a forger who knows the format would make them."""
    reports = reports if reports is not None else doc["reports"]
    payees = sorted({(acc, pay) for acc, pay, *_ in lines}, key=lambda p: (int(p[0], 16), int(p[1], 16)))
    index = {p: i for i, p in enumerate(payees)}
    by_hash = {r["batchHash"]: i for i, r in enumerate(reports)}
    packed = sorted([index[(acc, pay)], work, by_hash[h], amount] for acc, pay, work, h, amount in lines)
    earned = [0] * len(payees)
    for e, _, _, amount in packed:
        earned[e] += amount
    salts = {(e["account"], e["payout"]): e["salt"] for e in doc["entries"]}
    entries = [
        {"index": i, "account": acc, "payout": pay, "earned": x, "withheld": 0, "released": 0, "recouped": 0, "amount": x, "cumulative": x,
         "salt": salts.get((acc, pay), "0x" + f"{i + 1:064x}")}
        for i, ((acc, pay), x) in enumerate(zip(payees, earned))
    ]  # fmt: skip
    tree = StandardMerkleTree.of([(e["account"], e["payout"], e["cumulative"], bytes.fromhex(e["salt"][2:])) for e in entries], STATEMENT_LEAF_TYPES)
    platform_totals: dict[str, int] = {}
    for r in reports:
        platform_totals[r["platform"]] = platform_totals.get(r["platform"], 0) + int(r["platformAmount"])
    return {
        **doc, "reports": reports, "entries": entries, "lines": packed, "root": "0x" + tree.root.hex(),
        "holdersTotal": sum(earned), "payableTotal": sum(earned), "revenue": sum(int(r["revenue"]) for r in reports),
        "platformTotal": sum(platform_totals.values()), "platformTotals": platform_totals,
    }  # fmt: skip


def _publish(scene: Scene, doc: dict[str, Any]) -> bytes:
    """The forger stores the document (so the ledger's indexer could fetch it) and publishes it."""
    raw = canonical(doc)
    cid = scene.ledger.store.put(raw)
    sid = hashlib.sha256(raw).digest()  # the id is the document's SHA-256, as the ledger's
    call = scene.ledger.call(
        "RoyaltyDistributor", "publish", sid,
        (doc["periodStart"], doc["periodEnd"], doc["currency"], doc["sequence"], doc["anchorsUpTo"], len(doc["entries"]),
         doc["payableTotal"], bytes.fromhex(doc["root"][2:]), cid),
        "0x" + "00" * 20, 0,
    )  # fmt: skip
    w3 = scene.ledger.w3
    tx = {"to": call.to, "data": call.data, "gas": 2_000_000, "gasPrice": w3.eth.gas_price, "nonce": w3.eth.get_transaction_count(scene.forger.address), "chainId": w3.eth.chain_id}
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(scene.forger.sign_transaction(tx).raw_transaction))
    assert receipt["status"] == 1
    return raw


def _failed(checks: list[Any]) -> dict[str, str]:
    return {c.name: c.detail for c in checks if not c.ok}


def test_the_honest_statement_verifies_on_every_check(scratch: Scene) -> None:
    """The baseline every forgery below departs from: published as the ledger made it, it passes."""
    raw = _publish(scratch, scratch.honest)
    assert _failed(verify_statement(scratch.ledger.w3, raw)) == {}
    assert _failed(recompute_statement(scratch.ledger.w3, raw, scratch.usage, scratch.workdir())) == {}


def test_a_statement_that_leaves_an_anchored_report_out_fails_and_is_not_adopted(scratch: Scene, tmp_path: Path) -> None:
    """Regression: dropping one of the period's two anchored reports (and its lines) verified,
    with and without --usage, and the ledger's indexer adopted it as the period's statement."""
    doc = scratch.honest
    kept = [r for r in doc["reports"] if r["reportId"] == "OCT-A"]
    dropped = next(r for r in doc["reports"] if r["reportId"] == "OCT-B")
    forged = _forge(doc, [line for line in _unpack(doc) if line[3] != dropped["batchHash"]], kept)
    assert forged["payableTotal"] < doc["payableTotal"]
    raw = _publish(scratch, forged)
    failed = _failed(verify_statement(scratch.ledger.w3, raw))
    assert set(failed) == {"every anchored report paid"} and "OCT-B" in failed["every anchored report paid"]
    rebuilt = rebuilt_from_chain(scratch.ledger, tmp_path / "rebuilt", blocks=True)
    with Session(rebuilt.engine) as s:
        assert s.exec(select(Statement)).all() == []
        [incident] = s.exec(select(IndexerIncident).where(IndexerIncident.kind == "statement_incomplete")).all()
    assert "OCT-B" in incident.detail
    rebuilt.engine.dispose()


def test_a_second_statement_for_a_period_is_refused_on_chain(scratch: Scene) -> None:
    """Regression: a second sequence-0 statement for a period that had one verified, so a
    period could be paid twice."""
    _publish(scratch, scratch.honest)
    lines = _unpack(scratch.honest)
    again = _forge(scratch.honest, lines[1:] + lines[:1])  # the same amounts, another document
    again = {**again, "anchorsUpTo": scratch.honest["anchorsUpTo"] + 1}
    with pytest.raises(ContractRevert) as refused:
        scratch.ledger.sender.simulate(
            scratch.ledger.call(
                "RoyaltyDistributor", "publish", b"\x01" * 32,
                (again["periodStart"], again["periodEnd"], "JPY", 0, again["anchorsUpTo"], 1, 1, b"\x02" * 32, "bafy"), "0x" + "00" * 20, 0,
            ),
            sender=scratch.forger.address,
        )  # fmt: skip
    assert refused.value.name == "SequenceTaken"


def _move(lines: list[Line], take: Callable[[Line], bool], give: Callable[[Line], bool] | Line, units: int) -> list[Line]:
    """``units`` taken from the first line matching ``take`` and given to the first matching
    ``give`` (or to a new line, when ``give`` is one)."""
    out = list(lines)
    i = next(n for n, line in enumerate(out) if take(line) and line[4] > units)
    out[i] = (*out[i][:4], out[i][4] - units)
    if callable(give):
        j = next(n for n, line in enumerate(out) if give(line) and n != i)
        out[j] = (*out[j][:4], out[j][4] + units)
    else:
        out.append((*give[:4], units))
    return out


FORGERIES: dict[str, Callable[[Scene, list[Line]], list[Line]]] = {
    "one unit moved between holders": lambda sc, ls: _move(ls, lambda line: line[0] == sc.holders["a"], lambda line: line[0] == sc.holders["manager"], 1),
    "co-owner shares other than the chain's": lambda sc, ls: _move(
        ls, lambda line: line[0] == sc.holders["a"], lambda line: line[0] == sc.holders["b"] and line[2] == next(x for x in ls if x[0] == sc.holders["a"])[2], 100
    ),
    "an entry for an account that owns nothing": lambda sc, ls: _move(
        ls, lambda line: line[0] == sc.holders["b"], ("0x" + "5e" * 20, "0x" + "5e" * 20, ls[0][2], ls[0][3], 0), 7
    ),
    "revenue moved to a work the output does not link": lambda sc, ls: _move(
        ls, lambda line: line[0] == sc.holders["a"], (sc.holders["manager"], sc.holders["manager"], max(x[2] for x in ls), ls[0][3], 0), 50
    ),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_amounts_other_than_the_chain_and_the_usage_say_fail_with_the_usage_files(scratch: Scene, forgery: str) -> None:
    forged = _forge(scratch.honest, FORGERIES[forgery](scratch, _unpack(scratch.honest)))
    assert forged["payableTotal"] == scratch.honest["payableTotal"] and forged["root"] != scratch.honest["root"]
    raw = _publish(scratch, forged)
    assert _failed(verify_statement(scratch.ledger.w3, raw)) == {}  # consistent with itself and the anchors...
    failed = _failed(recompute_statement(scratch.ledger.w3, raw, scratch.usage, scratch.workdir()))
    assert set(failed) == {"amounts recomputed"}  # ...but not with what the chain and the usage say


def test_a_platform_share_other_than_the_chains_fails_without_the_usage_files(scratch: Scene) -> None:
    doc = scratch.honest
    reports = [{**r, "platformShareBps": 2000} if r["reportId"] == "OCT-A" else r for r in doc["reports"]]
    raw = _publish(scratch, _forge(doc, _unpack(doc), reports))
    assert set(_failed(verify_statement(scratch.ledger.w3, raw))) == {"platform shares on chain"}
