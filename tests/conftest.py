"""Real parts for every test: an anvil node, SQLite and PostgreSQL databases, a uvicorn server.

Each test that needs a ledger gets its own data directory, database and freshly deployed
contracts on the shared anvil, so tests never see each other's works.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from ledger.chain.node import AnvilNode
from ledger.config import Settings
from ledger.models import Role
from ledger.reliability.reorgs import fresh_index
from ledger.runtime import Ledger, open_ledger
from ledger.reliability.api_process import ApiProcess as ServerProcess, ApiThread as Server, free_port  # noqa: F401  (tests import them from here)
from ledger.services.keys import create_api_key

POSTGRES_ADMIN_URL = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    # Never restarted, so it needs no periodic state dump: dumping a state grown by hundreds of
    # deployments every second cost a good part of a core for the whole run.
    node = AnvilNode(tmp_path_factory.mktemp("anvil"), free_port(), state_interval_s=3600)
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The machine's PostgreSQL; each ledger gets its own database on it."""
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5):
        pass
    return POSTGRES_ADMIN_URL


def _postgres_database(admin_url: str) -> tuple[str, str]:
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


def _drop_postgres_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    admin = request.getfixturevalue("postgres_server")
    name, url = _postgres_database(admin)
    yield url
    _drop_postgres_database(admin, name)


def make_settings(data_dir: Path, rpc_url: str, database_url: str) -> Settings:
    # Evidence anchoring in the background is off: tests anchor when they choose (one turns it on).
    return Settings(data_dir=data_dir, rpc_url=rpc_url, database_url=database_url, index_interval_s=0.2, evidence_anchor_interval_s=0)


@pytest.fixture
def settings(tmp_path: Path, anvil: AnvilNode, db_url: str) -> Settings:
    return make_settings(tmp_path / "data", anvil.url, db_url)


def rebuilt_from_chain(ledger: Ledger, directory: Path, blocks: bool = False) -> Ledger:
    """A second ledger over the same chain and deployment with a brand-new database, synced from
    the chain's logs alone (and, with ``blocks``, a copy of the content store, as IPFS would give)."""
    return fresh_index(ledger, directory, blocks)


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    led = open_ledger(settings, deploy=True)
    yield led
    led.engine.dispose()


@pytest.fixture
def server(ledger: Ledger) -> Iterator[Server]:
    with Server(ledger) as srv:
        yield srv


def client_for(srv: Server, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=srv.url, headers=headers, timeout=60)


@pytest.fixture
def holder_key(ledger: Ledger) -> str:
    return create_api_key(ledger, Role.rights_holder, "studio").token


@pytest.fixture
def holder(server: Server, holder_key: str) -> Iterator[httpx.Client]:
    with client_for(server, holder_key) as c:
        yield c


@pytest.fixture
def wallet() -> LocalAccount:
    """A participant's own key, outside the ledger (self-custody)."""
    return Account.create()


def sign_typed(account: LocalAccount, typed: dict[str, object]) -> str:
    """What a wallet's eth_signTypedData_v4 returns for the ledger's typed data."""
    return "0x" + bytes(account.sign_message(encode_typed_data(full_message=typed)).signature).hex()
