"""Usage reports over HTTP: streamed CSV and JSON, all-or-nothing, idempotent, anchored on chain."""

from typing import Any

import httpx
from eth_account.signers.local import LocalAccount
import pytest
from sqlalchemy import delete, func
from sqlmodel import Session, select

from ledger.models import Role, UsageAnchorRecord, UsageLine, UsageReport
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, operation_outcome, sign_typed

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


def _csv(platform: str, hashes: list[str], report_id: str = "R1", lines: list[str] | None = None, foot: str | None = None) -> str:
    body = lines if lines is not None else [
        f"LINE,L{i},{h},ref-{i},generation,subscription,JP,{10 + i},{1000 * (i + 1)}" for i, h in enumerate(hashes)
    ]
    total = sum(int(line.split(",")[8]) for line in body if line.startswith("LINE") and line.split(",")[8].lstrip("-").isdigit())
    return "\n".join([f"HEAD,{report_id},{platform},2026-11-01,2026-11-30,JPY", *body, foot or f"FOOT,{len(body)},{total}"]) + "\n"


def _counts(ledger: Ledger) -> tuple[int, int]:
    with Session(ledger.engine) as s:
        return s.exec(select(func.count()).select_from(UsageReport)).one(), s.exec(select(func.count()).select_from(UsageLine)).one()


def test_csv_report_is_stored_anchored_and_idempotent(ledger: Ledger, platform_setup: tuple[httpx.Client, str, list[str]]) -> None:
    client, platform, hashes = platform_setup
    text = _csv(platform, hashes)
    resp = client.post("/usage/reports", files={"file": ("report.csv", text.encode(), "text/csv")})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["line_count"] == 3 and body["total_revenue"] == 6000 and body["created"]
    receipt = ledger.w3.eth.get_transaction_receipt(body["anchor_tx"])
    assert receipt["status"] == 1
    record = ledger.usage_anchor.functions.anchorOf(bytes.fromhex(body["batch_hash"][2:])).call()
    assert record[0] == platform
    with Session(ledger.engine) as s:
        projected = s.get(UsageAnchorRecord, body["batch_hash"])
    assert projected is not None and projected.report_id == "R1" and projected.total_revenue == 6000

    again = client.post("/usage/reports", content=text.encode(), headers={"content-type": "text/csv"})
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["batch_hash"] == body["batch_hash"]
    assert _counts(ledger) == (1, 3)
    changed = client.post("/usage/reports", content=text.replace(",1000\n", ",1001\n").replace("FOOT,3,6000", "FOOT,3,6001").encode(), headers={"content-type": "text/csv"})
    assert changed.status_code == 409 and "never reused" in changed.json()["detail"]


def test_retry_after_a_crash_between_anchor_and_commit_adopts_the_anchor(
    ledger: Ledger, platform_setup: tuple[httpx.Client, str, list[str]]
) -> None:
    """The anchor is mined but the lines were never committed (the process died in between): the
    retry stores the lines under the anchor already on chain instead of failing or anchoring twice."""
    client, platform, hashes = platform_setup
    text = _csv(platform, hashes)
    first = client.post("/usage/reports", files={"file": ("report.csv", text.encode())}).json()
    with Session(ledger.engine) as s:  # what a crash before commit leaves behind: nothing but the chain
        s.exec(delete(UsageLine))  # type: ignore[call-overload]
        s.exec(delete(UsageReport))  # type: ignore[call-overload]
        s.commit()
    block = ledger.w3.eth.block_number
    retry = client.post("/usage/reports", files={"file": ("report.csv", text.encode())})
    assert retry.status_code == 201, retry.text
    assert retry.json()["anchor_tx"] == first["anchor_tx"] and retry.json()["batch_hash"] == first["batch_hash"]
    assert ledger.w3.eth.block_number == block  # no second transaction
    assert _counts(ledger) == (1, 3)


@pytest.mark.parametrize(
    ("lines", "foot", "message"),
    [
        (["LINE,L1,{h0},r,generation,subscription,JP,1,100", "LINE,L2,{h1},r,generation,subscription,JP,1,-5"], None, "line 3: revenue must not be negative"),
        (["LINE,L1,0x" + "99" * 32 + ",r,generation,subscription,JP,1,100"], None, "line 2: output 0x9999"),
        (["LINE,L1,{h0},r,teleport,subscription,JP,1,100"], None, "line 2: use_type 'teleport'"),
        (["LINE,L1,{h0},r,generation,subscription,Japan,1,100"], None, "line 2: territory"),
        (["LINE,L1,{h0},r,generation,subscription,XX,1,100"], None, "line 2: territory must be an ISO 3166-1"),
        (["LINE,L1,{h0},r,generation,subscription,JP,1,100", "LINE,L1,{h1},r,generation,subscription,JP,1,100"], None, "appears twice"),
        (["LINE,L1,{h0},r,generation,subscription,JP,1,100"], "FOOT,1,999", "FOOT says"),
        (["LINE,L1,{h0},r,generation,subscription,JP,1,100"], "", "no FOOT"),
    ],
)
def test_bad_report_is_refused_with_its_line_and_writes_nothing(
    ledger: Ledger, platform_setup: tuple[httpx.Client, str, list[str]], lines: list[str], foot: str | None, message: str
) -> None:
    client, platform, hashes = platform_setup
    body = [line.format(h0=hashes[0], h1=hashes[1]) for line in lines]
    text = _csv(platform, hashes, lines=body, foot=foot)
    if foot == "":
        text = "\n".join(text.splitlines()[:-1]) + "\n"
    before_block = ledger.w3.eth.block_number
    resp = client.post("/usage/reports", files={"file": ("r.csv", text.encode())})
    assert resp.status_code == 422 and message in resp.json()["detail"], resp.text
    assert _counts(ledger) == (0, 0)
    assert ledger.w3.eth.block_number == before_block  # nothing anchored


def test_json_report_and_a_correction(ledger: Ledger, platform_setup: tuple[httpx.Client, str, list[str]]) -> None:
    client, platform, hashes = platform_setup
    report = {"report_id": "J1", "platform": platform, "period_start": "2026-11-01", "period_end": "2026-11-30", "currency": "USD"}
    line = {"line_id": "J1-1", "output_hash": hashes[0], "use_type": "download", "commercial_model": "pay_per_use", "territory": "US", "uses": 1, "revenue": 499}
    assert client.post("/usage", json={"report": report, "lines": [line]}).status_code == 201
    correction = {**line, "line_id": "J2-1", "revenue": 399, "replaces_line_id": "J1-1"}
    resp = client.post("/usage", json={"report": {**report, "report_id": "J2", "corrects_report_id": "J1"}, "lines": [correction]})
    assert resp.status_code == 201, resp.text
    bad = client.post("/usage", json={"report": {**report, "report_id": "J3"}, "lines": [{**line, "line_id": "J3-1", "replaces_line_id": "nope"}]})
    assert bad.status_code == 422 and "replaces_line_id" in bad.json()["detail"]
    for currency in ("ABC", "XAU", "jpy"):  # unknown; no minor unit; not the code's form
        bad = client.post("/usage", json={"report": {**report, "report_id": "J5", "currency": currency}, "lines": [{**line, "line_id": "J5-1"}]})
        assert bad.status_code == 422 and "line 1: currency must be an ISO 4217 code" in bad.json()["detail"], bad.text
    reused = client.post("/usage", json={"report": {**report, "report_id": "J4"}, "lines": [line]})
    assert reused.status_code == 422 and "never reused" in reused.json()["detail"]
    assert _counts(ledger) == (2, 2)  # the original line stays on record


def test_only_the_platform_itself_reports(ledger: Ledger, server: Server, holder: httpx.Client, platform_setup: tuple[httpx.Client, str, list[str]]) -> None:
    client, platform, hashes = platform_setup
    other = create_api_key(ledger, Role.platform, "other").token
    with client_for(server, other) as c:
        resp = c.post("/usage/reports", files={"file": ("r.csv", _csv(platform, hashes).encode())})
        assert resp.status_code == 403 and "reports for" in resp.json()["detail"]
    assert holder.post("/usage/reports", files={"file": ("r.csv", _csv(platform, hashes).encode())}).status_code == 403


def test_self_signing_platform_report_counts_once_its_anchor_is_relayed(
    ledger: Ledger, server: Server, holder: httpx.Client, wallet: LocalAccount
) -> None:
    works = holder.post("/works/batch", json={"works": [{"title": "w", "terms": TERMS, "content_hash": "0x" + "ab" * 32}]}).json()
    token = create_api_key(ledger, Role.platform, "wallet platform", address=wallet.address).token
    accountant = client_for(server, create_api_key(ledger, Role.accountant, "acct").token)
    period = {"period_start": "2026-11-01", "period_end": "2026-11-30"}
    with client_for(server, token) as c:
        typed = c.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [works[0]["work_id"]]}).json()["typed_data"]
        assert c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)}).status_code == 201
        model_id = ledger.models.functions.modelCount().call()
        output = {"output_hash": "0x" + "42" * 32, "model_id": model_id, "links": [{"work_id": works[0]["work_id"], "weight_bps": 10_000}]}
        typed = c.post("/outputs", json=output).json()["typed_data"]
        assert c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)}).status_code == 201

        text = _csv(wallet.address, [output["output_hash"]])
        stored = c.post("/usage/reports", files={"file": ("r.csv", text.encode())})
        assert stored.status_code == 202, stored.text
        body = stored.json()
        assert body["anchor_tx"] == "" and body["typed_data"]["message"]["to"] == ledger.usage_anchor.address
        assert accountant.get("/royalties", params=period).json() == []  # not anchored: does not count yet
        retry = c.post("/usage/reports", files={"file": ("r.csv", text.encode())})  # e.g. the answer was lost
        assert retry.status_code == 202 and retry.json()["batch_hash"] == body["batch_hash"]
        assert _counts(ledger) == (1, 1)
        [waiting] = c.get("/usage/reports").json()
        assert waiting["status"] == "awaiting_signature" and waiting["statement_id"] is None

        typed = retry.json()["typed_data"]
        relayed = c.post("/relay", json={"message": typed["message"], "signature": sign_typed(wallet, typed)})
        assert relayed.status_code == 201, relayed.text
        [run] = accountant.get("/royalties", params=period).json()
        assert run["revenue"] == 1000
        done = c.post("/usage/reports", files={"file": ("r.csv", text.encode())})
        assert done.status_code == 200 and done.json()["anchor_tx"] == relayed.json()["tx_hash"]
        [anchored] = c.get("/usage/reports").json()
        assert anchored["status"] == "anchored" and anchored["anchor_tx"] == relayed.json()["tx_hash"]


def test_a_platform_that_will_not_wait_gets_its_import_in_the_background(ledger: Ledger, platform_setup: tuple[httpx.Client, str, list[str]]) -> None:
    """`Prefer: respond-async` on a usage import, as a CSV body, a multipart file and JSON: 202
    once the report is received; each operation holds what the request would have answered (201,
    200 for the same report again, 422 with the bad line's number), and the report is stored and
    anchored as a synchronous import stores it. The multipart file outlives its request: the
    import reads it after the 202."""
    client, platform, hashes = platform_setup
    later = {"Prefer": "respond-async"}

    def outcome(accepted: httpx.Response) -> dict[str, Any]:
        op = operation_outcome(client, accepted)
        assert op["kind"] == "import_usage", op
        return op

    text = _csv(platform, hashes, report_id="LATER-1")
    op = outcome(client.post("/usage/reports", content=text.encode(), headers={**later, "content-type": "text/csv"}))
    assert op["http_status"] == 201 and op["result"]["line_count"] == 3 and op["result"]["total_revenue"] == 6000, op
    assert ledger.w3.eth.get_transaction_receipt(op["result"]["anchor_tx"])["status"] == 1
    again = outcome(client.post("/usage/reports", files={"file": ("r.csv", text.encode(), "text/csv")}, headers=later))
    assert again["http_status"] == 200 and again["result"]["batch_hash"] == op["result"]["batch_hash"]

    other = _csv(platform, hashes, report_id="LATER-2", lines=[f"LINE,M{i},{h},ref-{i},generation,subscription,JP,1,{100 + i}" for i, h in enumerate(hashes)])
    op = outcome(client.post("/usage/reports", files={"file": ("r.csv", other.encode(), "text/csv")}, headers=later))
    assert op["http_status"] == 201 and op["result"]["report_id"] == "LATER-2", op
    bad = _csv(platform, hashes, report_id="LATER-3", lines=[f"LINE,X1,{hashes[0]},ref,generation,subscription,JP,1,abc"])
    op = outcome(client.post("/usage/reports", content=bad.encode(), headers={**later, "content-type": "text/csv"}))
    assert op["http_status"] == 422 and "line 2" in op["result"]["detail"], op

    report = {"report_id": "LATER-J", "platform": platform, "period_start": "2026-11-01", "period_end": "2026-11-30", "currency": "USD"}
    line = {"line_id": "LATER-J-1", "output_hash": hashes[1], "use_type": "download", "commercial_model": "pay_per_use", "territory": "US", "uses": 1, "revenue": 250}
    op = outcome(client.post("/usage", json={"report": report, "lines": [line]}, headers=later))
    assert op["http_status"] == 201 and op["result"]["total_revenue"] == 250, op
    with Session(ledger.engine) as s:
        stored = {r.report_id for r in s.exec(select(UsageReport)).all()}
    assert {"LATER-1", "LATER-2", "LATER-J"} <= stored and "LATER-3" not in stored
