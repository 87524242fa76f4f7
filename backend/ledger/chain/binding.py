"""Which chain a database belongs to. A database projects one chain's events (works, models,
outputs, anchors); its usage lines and statements refer to them by id. Pointed at another chain,
the indexer would take the other chain's facts for a reorganisation of the first and rebuild the
projection under the platforms' own records. So the first start binds the database to its chain
and WorkRegistry, and any later start on another is refused, saying what to change."""

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from ledger.chain.deployment import Deployment
from ledger.db import session_scope
from ledger.models import ChainBinding


class ChainMismatch(RuntimeError):
    """The database projects another chain (or another deployment) than the one configured."""


def bind_database(engine: Engine, deployment: Deployment) -> None:
    registry = deployment.work_registry.address
    try:
        with session_scope(engine) as s:
            row = s.get(ChainBinding, 1)
            if row is None:
                s.add(ChainBinding(chain_id=deployment.chain_id, work_registry=registry))
                return
            bound = (row.chain_id, row.work_registry)
    except IntegrityError:  # another process bound it at the same moment: read what it wrote
        with session_scope(engine) as s:
            row = s.get_one(ChainBinding, 1)
            bound = (row.chain_id, row.work_registry)
    if bound != (deployment.chain_id, registry):
        raise ChainMismatch(
            f"this database holds the facts of chain {bound[0]} (WorkRegistry {bound[1]}); the node is chain "
            f"{deployment.chain_id} with WorkRegistry {registry}. Give each chain its own database (LEDGER_DATABASE_URL), "
            "or point LEDGER_RPC_URL back at the chain this database belongs to"
        )
