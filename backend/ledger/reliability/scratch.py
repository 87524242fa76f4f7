"""A throw-away ledger for benchmarks: its own anvil on a free port and a data directory in a
temporary folder, both gone afterwards; and in-process API keys, as services take them."""

import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy

from ledger.chain.calls import Encoder
from ledger.chain.compiler import compile_contract
from ledger.chain.deployment import fund_on_dev_chain
from ledger.chain.node import AnvilNode
from ledger.chain.sender import TxSender
from ledger.config import Settings
from ledger.models import ApiKey, Role
from ledger.runtime import Ledger, open_ledger
from ledger.services.keys import authenticate, create_api_key, custodial_signer


@contextmanager
def scratch_ledger(database_url: str | None = None, **settings: object) -> Iterator[tuple[Ledger, Path]]:
    """(a ledger with freshly deployed contracts, its temporary folder); on SQLite in that folder
    unless ``database_url`` names another database (e.g. ``fresh_postgres_database``); other
    ``settings`` as keyword arguments."""
    with tempfile.TemporaryDirectory() as tmp:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        node = AnvilNode(Path(tmp) / "chain", port)
        node.start()
        try:
            config = Settings(data_dir=Path(tmp) / "data", rpc_url=node.url, database_url=database_url or f"sqlite:///{tmp}/ledger.db", **settings)  # type: ignore[arg-type]
            ledger = open_ledger(config, deploy=True)
            try:
                yield ledger, Path(tmp)
            finally:
                ledger.engine.dispose()
        finally:
            node.stop()


def fresh_postgres_database(url: str, name: str) -> str:
    """The URL of a new, empty database ``name`` on the server ``url`` names, dropped first if a
    previous run left it (nothing else on the server is touched)."""
    base = sqlalchemy.make_url(url)
    admin = sqlalchemy.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def key_for(ledger: Ledger, role: Role, label: str = "bench") -> ApiKey:
    """A new key of ``role``, loaded as an authenticated request would have it."""
    token = create_api_key(ledger, role, label).token
    with ledger.engine.connect() as conn:
        key = authenticate(conn, token)  # detached, as a request's
    assert key is not None
    return key


def accountant_with_token(ledger: Ledger) -> tuple[TxSender, str]:
    """An accountant that signs its own transactions (funded on the dev chain), and a test ERC-20
    it holds and lets the RoyaltyDistributor spend: what publishing token-settled statements needs."""
    key = key_for(ledger, Role.accountant)
    assert key.holder_address is not None
    fund_on_dev_chain(ledger.w3, key.holder_address, outbox=ledger.sender.outbox)
    accountant = TxSender(ledger.w3, custodial_signer(ledger, key), ledger.sender.decoder, fees=ledger.sender.fees)
    compiled = compile_contract("test/SettlementTokenForTests.sol")
    token = str(ledger.sender.deploy(compiled.abi, compiled.bytecode, key.holder_address)["contractAddress"])
    accountant.send(Encoder(ledger.w3.eth.contract(address=token, abi=compiled.abi))("approve", ledger.distributor.address, 2**255))
    return accountant, token
