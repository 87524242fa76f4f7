"""The indexer against forks of depth 1 to 64: after the chain reorganises, every projected
table equals what a fresh database indexed from the same chain holds, row for row."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from ledger.chain.node import AnvilNode
from ledger.models import IndexerIncident, Role
from ledger.reliability.reorgs import fork, fresh_index, projection
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import create_api_key
from tests.conftest import Server, client_for, free_port, make_settings


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, Path]]:
    root = tmp_path_factory.mktemp("reorg")
    node = AnvilNode(root / "chain", free_port(), state_interval_s=3600)
    node.start()
    ledger = open_ledger(make_settings(root / "data", node.url, f"sqlite:///{root / 'l.db'}"), deploy=True)
    yield ledger, root
    ledger.engine.dispose()
    node.stop()


@pytest.mark.parametrize("depth", [1, 2, 8, 64])
def test_after_a_fork_the_projection_equals_a_fresh_index(chain: tuple[Ledger, Path], depth: int) -> None:
    ledger, root = chain
    holder = create_api_key(ledger, Role.rights_holder, f"h{depth}").token
    platform = create_api_key(ledger, Role.platform, f"p{depth}").token
    with Server(ledger) as server, client_for(server, holder) as h, client_for(server, platform) as p:
        before = projection(ledger)
        fork(ledger, h, p, depth, tag=depth)
    assert projection(ledger) != before  # the winning branch is projected...
    fresh = fresh_index(ledger, root / f"fresh-{depth}")
    assert projection(ledger) == projection(fresh)  # ...exactly as a fresh index sees it, nothing of the abandoned one
    with Session(ledger.engine) as s:
        assert s.exec(select(IndexerIncident).where(IndexerIncident.kind == "divergence")).all()
    fresh.engine.dispose()
