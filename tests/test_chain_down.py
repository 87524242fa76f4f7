"""The chain stops answering: reads from the projection go on, everything that needs the chain is
a 503 that says why, /health says since when, and all of it recovers when the node is back."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.chain.node import AnvilNode
from ledger.models import Role
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, free_port, make_settings

TERMS = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}


@pytest.fixture
def own_chain(tmp_path: Path) -> Iterator[AnvilNode]:
    node = AnvilNode(tmp_path / "chain", free_port())
    node.start()
    yield node
    node.stop()


def test_a_chain_that_does_not_answer_is_a_503_with_its_reason(own_chain: AnvilNode, tmp_path: Path) -> None:
    """Regression: /health and writes answered 500 while the node was down."""
    ledger: Ledger = open_ledger(make_settings(tmp_path / "data", own_chain.url, f"sqlite:///{tmp_path / 'l.db'}"), deploy=True)
    token = create_api_key(ledger, Role.rights_holder, "studio").token
    with Server(ledger) as server, client_for(server, token) as c:
        first = c.post("/works", json={"title": "before", "terms": TERMS, "content_hash": "0x" + "71" * 32})
        assert first.status_code == 201
        up = c.get("/health").json()
        assert up["final_block"] == max(0, min(up["indexed_block"], up["chain_head"] - ledger.settings.finality_depth))
        own_chain.stop()

        health = c.get("/health")
        assert health.status_code == 503, health.text
        body = health.json()
        assert body["status"] == "chain_down" and body["chain_head"] is None
        assert body["chain_down_since"] and body["chain_error"] == "connection refused"
        write = c.post("/works", json={"title": "during", "terms": TERMS, "content_hash": "0x" + "72" * 32})
        assert write.status_code == 503, write.text
        assert own_chain.url in write.json()["detail"] and write.headers["retry-after"]
        assert write.json()["chain_down_since"] == body["chain_down_since"]  # the same outage
        assert c.get(f"/works/{first.json()['work_id']}").status_code == 200  # reads need no chain

        own_chain.start()
        assert c.get("/health").status_code == 200
        again = c.post("/works", json={"title": "during", "terms": TERMS, "content_hash": "0x" + "72" * 32})
        assert again.status_code == 201, again.text
    ledger.engine.dispose()
