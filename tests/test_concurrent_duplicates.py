"""Concurrent duplicates get the answers sequential ones get: one request does the work, the
others are told it is done (409 with the id, or 200 "already imported"), never a 500."""

import hashlib
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func
from sqlmodel import Session, select

from ledger.models import Role, UsageLine, UsageReport, Work
from ledger.runtime import Ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


def _at_once(n: int, send: Callable[[httpx.Client], httpx.Response], server: Server, token: str) -> list[httpx.Response]:
    clients = [client_for(server, token) for _ in range(n)]
    try:
        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(send, clients))
    finally:
        for c in clients:
            c.close()


def test_identical_work_registrations_at_once(ledger: Ledger, server: Server, holder_key: str) -> None:
    """Regression: 30 identical POST /works at once gave 5 answers of 500."""
    spec = {"title": "same", "terms": TERMS, "content_hash": "0x" + "5a" * 32}
    answers = _at_once(30, lambda c: c.post("/works", json=spec), server, holder_key)
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 1, 409: 29}, [(r.status_code, r.text) for r in answers if r.status_code not in (201, 409)]
    work_id = next(r.json()["work_id"] for r in answers if r.status_code == 201)
    assert all(r.json()["work_id"] == work_id for r in answers if r.status_code == 409)
    with Session(ledger.engine) as s:
        assert s.exec(select(func.count()).select_from(Work)).one() == 1


def test_identical_usage_imports_at_once(ledger: Ledger, server: Server, holder: httpx.Client) -> None:
    """Regression: 20 identical usage imports at once gave 14 answers of 500 (IntegrityError)."""
    issued = create_api_key(ledger, Role.platform, "gen")
    platform = client_for(server, issued.token)
    work = holder.post("/works", json={"title": "w", "terms": TERMS, "content_hash": "0x" + "5b" * 32}).json()["work_id"]
    model = platform.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [work]}).json()["model_id"]
    out = "0x" + hashlib.sha256(b"out").hexdigest()
    assert platform.post("/outputs", json={"output_hash": out, "model_id": model, "links": [{"work_id": work, "weight_bps": 10000}]}).status_code == 201
    csv = f"HEAD,R-dup,{issued.holder_address},2026-10-01,2026-10-31,JPY\nLINE,L1,{out},r,generation,free,JP,1,700\nFOOT,1,700\n"
    answers = _at_once(20, lambda c: c.post("/usage/reports", files={"file": ("r.csv", csv.encode())}), server, issued.token)
    statuses = Counter(r.status_code for r in answers)
    assert statuses == {201: 1, 200: 19}, [(r.status_code, r.text) for r in answers if r.status_code not in (200, 201)]
    assert len({r.json()["batch_hash"] for r in answers}) == 1
    with Session(ledger.engine) as s:
        assert s.exec(select(func.count()).select_from(UsageReport)).one() == 1
        assert s.exec(select(func.count()).select_from(UsageLine)).one() == 1


def test_identical_advances_at_once(ledger: Ledger, server: Server) -> None:
    """Twelve identical POST /advances at once: one records it (201), the others are told it is
    recorded (200, the same advance); one event on chain, one row."""
    from eth_account import Account

    from ledger.models import Advance

    token = create_api_key(ledger, Role.accountant, "books").token
    body = {"account": Account.create().address, "currency": "JPY", "amount": 123_456, "note": "MG-at-once"}
    answers = _at_once(12, lambda c: c.post("/advances", json=body), server, token)
    assert Counter(r.status_code for r in answers) == {201: 1, 200: 11}, [(r.status_code, r.text) for r in answers]
    assert len({r.json()["advance_id"] for r in answers}) == 1
    assert len(ledger.distributor.events.AdvanceRecorded().get_logs(from_block=0)) == 1
    with Session(ledger.engine) as s:
        assert s.exec(select(func.count()).select_from(Advance)).one() == 1
