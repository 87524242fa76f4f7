"""The FastAPI application: builds (or receives) a Ledger, polls the indexer, maps errors to 4xx."""

import logging
import threading
import time
from pathlib import Path
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import requests
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout

from ledger.chain.client import ChainUnavailable
from ledger.chain.health import UNREACHABLE
from ledger.api.throttle import FailedAuthThrottle
from ledger.api.limits import BodyLimits, RequestLimits
from ledger.services.evidence_anchoring import anchor_pending
from ledger.services.records import anchor_pending as anchor_records
from ledger.api.routers import (
    admin, advances, consent, disputes, evidence, models, operations, outputs, platforms, records, relay, royalties, statement_drafts, statements, usage, works,
)
from ledger.config import Settings, get_settings
from ledger.jsonshape import JsonLimits
from ledger.runtime import Ledger, open_ledger
from ledger.services.errors import LedgerError
from ledger.services.operations import forget_old, interrupt_running

log = logging.getLogger(__name__)

PORTAL = Path(__file__).with_name("portal") / "index.html"


def _poll(ledger: Ledger, stop: threading.Event) -> None:
    """Keeps the projection close to the chain head, so changes made outside the API show up, and
    anchors new evidence reports and production records every ``evidence_anchor_interval_s``."""
    anchored_at = time.monotonic()
    while not stop.is_set():
        try:
            ledger.indexer.sync()
            ledger.chain_health.answered()
            every = ledger.settings.evidence_anchor_interval_s
            if every and time.monotonic() - anchored_at >= every:
                anchored_at = time.monotonic()
                anchor_pending(ledger)
                anchor_records(ledger)
        except UNREACHABLE as exc:  # keep polling: the chain may be restarting
            if ledger.chain_health.state().up:
                log.warning("the chain at %s does not answer: %s", ledger.settings.rpc_url, exc)
            ledger.chain_health.failed(exc)
        except Exception:  # keep polling; the error is logged
            log.exception("indexer pass failed")
        stop.wait(ledger.settings.index_interval_s)


class Background:
    """What one process does for the whole ledger, besides answering requests: marks operations a
    previous stop interrupted, then keeps the projection at the chain head and anchors evidence
    (``_poll``). One API process does it, or, with several workers, the process that started them."""

    def __init__(self, ledger: Ledger) -> None:
        interrupted = interrupt_running(ledger)
        if interrupted:
            log.warning("%s background operation(s) did not finish before the last stop: marked interrupted (their requests may be sent again)", interrupted)
        forgotten = forget_old(ledger)
        if forgotten:
            log.info("%s background operation(s) finished more than %s days ago: removed", forgotten, ledger.settings.operation_keep_days)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=_poll, args=(ledger, self._stop), name="indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def create_app(settings: Settings | None = None, ledger: Ledger | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.ledger = ledger or open_ledger(settings or get_settings(), deploy=False)
        app.state.ledger.indexer.sync()
        background = Background(app.state.ledger) if app.state.ledger.settings.api_background else None
        try:
            yield
        finally:
            if background is not None:
                background.stop()
            if "similarity" in vars(app.state.ledger):  # only if a search built it
                app.state.ledger.similarity.save()

    app = FastAPI(
        title="AI rights and royalty ledger",
        version="0.1.0",
        description="Licensed works anchored on an EVM chain; see /docs for the endpoints.",
        lifespan=lifespan,
    )

    limits = settings or (ledger.settings if ledger else get_settings())
    app.state.auth_throttle = FailedAuthThrottle(limits.auth_failures_per_minute)
    app.add_middleware(
        RequestLimits,
        limits=BodyLimits(limits.max_json_bytes, limits.max_upload_bytes, JsonLimits(max_depth=limits.max_json_depth)),
    )

    @app.exception_handler(requests.exceptions.RequestException)
    @app.exception_handler(ChainUnavailable)
    async def _chain_down(request: Request, exc: Exception) -> JSONResponse:
        ledger: Ledger = request.app.state.ledger
        if not isinstance(exc, UNREACHABLE):
            raise exc
        state = ledger.chain_health.failed(exc)
        detail = f"the chain at {ledger.settings.rpc_url} does not answer ({state.error}); retry later (a retry of this request is safe)"
        return JSONResponse(status_code=503, headers={"Retry-After": "5"}, content={"detail": detail, "chain_down_since": state.down_since_iso})

    @app.exception_handler(SQLAlchemyTimeout)
    async def _pool_exhausted(_: Request, exc: SQLAlchemyTimeout) -> JSONResponse:
        detail = "the ledger is busy (every database connection is in use); retry shortly"
        return JSONResponse(status_code=503, headers={"Retry-After": "2"}, content={"detail": detail})

    @app.exception_handler(LedgerError)
    async def _ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": exc.message, **exc.extra})

    @app.get("/portal", response_class=HTMLResponse, include_in_schema=False)
    def portal() -> HTMLResponse:
        """Rights holders' page: their statements, verified in the browser, claimed with a click."""
        return HTMLResponse(PORTAL.read_text(encoding="utf-8"))

    app.include_router(works.router)
    app.include_router(models.router)
    app.include_router(outputs.router)
    app.include_router(usage.router)
    app.include_router(royalties.router)
    app.include_router(statement_drafts.router)  # before statements: /statements/drafts is not a statement id
    app.include_router(statements.router)
    app.include_router(statements.claims_router)
    app.include_router(advances.router)
    app.include_router(platforms.router)
    app.include_router(relay.router)
    app.include_router(admin.router)
    app.include_router(operations.router)
    app.include_router(evidence.router)
    app.include_router(disputes.router)
    app.include_router(records.router)
    app.include_router(consent.router)
    return app
