"""Real parts for every test: an anvil node, SQLite and PostgreSQL databases, a uvicorn server.

Each test that needs a ledger gets its own data directory, database and a chain holding only the
contracts, so tests never see each other's works. The contracts are deployed once per session
and the chain is taken back to that point (anvil's ``evm_revert``) for every test, and databases
are copied from one migrated at the start (a file copy for SQLite, ``CREATE DATABASE ...
TEMPLATE`` for PostgreSQL): the same fresh state as deploying and migrating each time, without
paying for it four hundred times. Tests that build their own ledger (``open_ledger`` on the
``settings`` fixture) still deploy their own contracts.
"""

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from hypothesis import settings as hypothesis_settings
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from ledger.chain.node import AnvilNode
from ledger.config import Settings
from ledger.db import init_db, make_engine
from ledger.models import Role
from ledger.reliability.reorgs import fresh_index
from ledger.runtime import Ledger, open_ledger
from ledger.reliability.api_process import ApiProcess as ServerProcess, ApiThread as Server, free_port  # noqa: F401  (tests import them from here)
from ledger.services.keys import create_api_key

POSTGRES_ADMIN_URL = os.environ.get("LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

# pytest-xdist's workers run with COLUMNS=80, which rich reads once, when a CLI module creates its
# console at import: the width would then be fixed for every test. CLI tests give their own
# COLUMNS to each invocation (CliRunner's env), read at each use while none is set here.
os.environ.pop("COLUMNS", None)

# A test must pass on a busy machine as on a quiet one: no property test's example has a time
# limit (hypothesis' default, 200 ms an example, failed tests on a loaded machine as "flaky").
hypothesis_settings.register_profile("ledger", deadline=None)
hypothesis_settings.load_profile("ledger")


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


def _postgres_database(admin_url: str, template: str | None = None) -> tuple[str, str]:
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated to the newest revision, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL database migrated to the newest revision, the template of each test's."""
    name, url = _postgres_database(postgres_server)
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()  # a template may have no other connection while it is copied
    yield name
    _drop_postgres_database(postgres_server, name)


def _drop_postgres_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database, already migrated (``@pytest.mark.empty_database``: not even that)."""
    empty = request.node.get_closest_marker("empty_database") is not None
    if request.param == "sqlite":
        if not empty:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "ledger.db")
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    admin = request.getfixturevalue("postgres_server")
    name, url = _postgres_database(admin, None if empty else request.getfixturevalue("postgres_template"))
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


@dataclass
class Deployed:
    """The session's contracts: the deployment record, the operator's keystore, and the anvil
    snapshot taken right after deploying them."""

    anvil: AnvilNode
    root: Path
    snapshot: str = ""

    def _rpc(self, method: str, *params: object) -> object:
        return httpx.post(self.anvil.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30).json().get("result")

    def deploy(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
        settings = make_settings(self.root / "data", self.anvil.url, f"sqlite:///{self.root / 'ledger.db'}")
        open_ledger(settings, deploy=True).engine.dispose()
        self.snapshot = str(self._rpc("evm_snapshot"))

    def into(self, settings: Settings) -> None:
        """Takes the chain back to just after the deployment (deploying again if a test restarted
        anvil and the snapshot is gone) and gives ``settings`` its record and operator key."""
        if self._rpc("evm_revert", self.snapshot) is not True:
            self.deploy()
        else:
            self.snapshot = str(self._rpc("evm_snapshot"))  # a revert uses its snapshot up
        source = self.root / "data"
        settings.keys_dir.mkdir(parents=True, exist_ok=True)
        for name in ("operator.json", ".password"):
            shutil.copyfile(source / "keys" / name, settings.keys_dir / name)
        chain_id = int(str(self._rpc("eth_chainId")), 16)
        record = settings.deployment_record(chain_id)
        record.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "deployments" / f"{chain_id}.json", record)


@pytest.fixture(scope="session")
def deployed(anvil: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    d = Deployed(anvil, tmp_path_factory.mktemp("deployed") / "baseline")
    d.deploy()
    return d


@pytest.fixture
def ledger(settings: Settings, deployed: Deployed) -> Iterator[Ledger]:
    deployed.into(settings)
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
def platform_setup(ledger: Ledger, server: Server, holder: httpx.Client) -> tuple[httpx.Client, str, list[str]]:
    """A platform with a model over two works and three registered outputs (usage reports' tests)."""
    issued = create_api_key(ledger, Role.platform, "gen")
    client = client_for(server, issued.token)
    terms = {"training_allowed": True, "royalty_bps": 500, "expires_at": 0}
    works = holder.post("/works/batch", json={"works": [{"title": f"w{i}", "terms": terms, "content_hash": "0x" + f"{i + 1:064x}"} for i in range(2)]}).json()
    a, b = works[0]["work_id"], works[1]["work_id"]
    model = client.post("/models", json={"name": "m", "weights_hash": "0x" + "11" * 32, "work_ids": [a, b]}).json()
    hashes = ["0x" + hashlib.sha256(f"img{i}".encode()).hexdigest() for i in range(3)]
    body = {"outputs": [{"output_hash": h, "model_id": model["model_id"], "links": [{"work_id": a, "weight_bps": 6000}, {"work_id": b, "weight_bps": 4000}]} for h in hashes]}
    assert client.post("/outputs/batch", json=body).status_code == 201
    assert issued.holder_address is not None
    return client, issued.holder_address, hashes


def operation_outcome(client: httpx.Client, accepted: httpx.Response, timeout_s: float = 120) -> dict[str, object]:
    """The outcome of a write answered 202 (`Prefer: respond-async`), once done: polls its status
    URL until the operation is no longer running (waits for a state, not for a time)."""
    import time

    assert accepted.status_code == 202 and accepted.headers["preference-applied"] == "respond-async", accepted.text
    deadline = time.monotonic() + timeout_s
    while (op := client.get(accepted.json()["status_url"]).json())["status"] == "running":
        assert time.monotonic() < deadline, "the operation did not finish"
        time.sleep(0.05)
    return dict(op)


@pytest.fixture
def wallet() -> LocalAccount:
    """A participant's own key, outside the ledger (self-custody)."""
    return Account.create()


def sign_typed(account: LocalAccount, typed: dict[str, object]) -> str:
    """What a wallet's eth_signTypedData_v4 returns for the ledger's typed data."""
    return "0x" + bytes(account.sign_message(encode_typed_data(full_message=typed)).signature).hex()


def on_chain_state_is_projected(ledger: Ledger, work_id: int) -> bool:
    """Whether the work's state as the projection has it (manager, terms, version, owner-list hash)
    is the one the registry's word commits to: the projection and the chain agree on all of it."""
    from sqlmodel import Session

    from ledger.chain.registry import WorkState
    from ledger.models import Work

    ledger.indexer.sync()
    with Session(ledger.engine) as s:
        return ledger.registry.is_current(WorkState.of(s.get_one(Work, work_id)))
