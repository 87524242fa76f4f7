"""Writes run in the background for callers that will not wait (``Prefer: respond-async``).

The request is validated and authorised first, as always; then it is answered 202 with the
operation's status URL, and the same service call runs on a small pool. Its outcome, exactly
the status and body the synchronous request would have had, is stored in the ``operation``
table, so it survives the caller disconnecting. An operation still running when the process
stops is marked ``interrupted`` at the next start: its request is safe to send again (every
write is idempotent), and the caller does so.
"""

import json
import logging
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col

from ledger.chain.health import UNREACHABLE
from ledger.db import session_scope
from ledger.models import ApiKey, Operation, Role
from ledger.runtime import Ledger
from ledger.services.errors import LedgerError, NotFound

log = logging.getLogger(__name__)
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="operation")


def start(ledger: Ledger, key: ApiKey, kind: str, work: Callable[[], tuple[int, Any]]) -> Operation:
    """Records the operation, then runs ``work`` (returning the synchronous answer's status and
    JSON body) in the background."""
    op = Operation(id=secrets.token_hex(16), key_id=int(key.id or 0), kind=kind, status="running")
    with session_scope(ledger.engine) as s:
        s.add(op)
        s.flush()
        s.expunge(op)
    _POOL.submit(_run, ledger, op.id, work)
    return op


def _run(ledger: Ledger, op_id: str, work: Callable[[], tuple[int, Any]]) -> None:
    try:
        status, body = work()
    except LedgerError as exc:
        status, body = exc.status, {"detail": exc.message, **exc.extra}
    except UNREACHABLE as exc:
        ledger.chain_health.failed(exc)
        status, body = 503, {"detail": f"the chain at {ledger.settings.rpc_url} did not answer; send the request again"}
    except Exception:  # a defect: kept as the answer, and logged with its traceback
        log.exception("operation %s failed", op_id)
        status, body = 500, {"detail": "internal error; the request is safe to send again"}
    with session_scope(ledger.engine) as s:
        s.execute(
            update(Operation).where(col(Operation.id) == op_id)
            .values(status="done", http_status=status, body=json.dumps(body), finished_at=datetime.now(timezone.utc))
        )  # fmt: skip


def get(ledger: Ledger, key: ApiKey, op_id: str) -> Operation:
    with Session(ledger.engine) as s:
        op = s.get(Operation, op_id)
    if op is None or (op.key_id != key.id and key.role != Role.admin):
        raise NotFound(f"no operation {op_id} of this key")
    return op


def interrupt_running(ledger: Ledger) -> int:
    """At start: operations a stopped process left running will never finish."""
    with session_scope(ledger.engine) as s:
        result = s.execute(
            update(Operation).where(col(Operation.status) == "running").values(status="interrupted", finished_at=datetime.now(timezone.utc))
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def forget_old(ledger: Ledger, now: datetime | None = None) -> int:
    """At start: outcomes finished more than ``operation_keep_days`` ago are removed, so the table
    grows with the writes of that window, not with every write ever answered 202. A caller polls
    an operation within minutes; one that comes back after the window gets 404 and, the write
    being idempotent, sends it again for its answer. Returns how many were removed."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=ledger.settings.operation_keep_days)
    with session_scope(ledger.engine) as s:
        result = s.execute(delete(Operation).where(col(Operation.finished_at).is_not(None), col(Operation.finished_at) < cutoff))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
