"""build_app(settings): the Starlette application with every resource's routes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from chinwag import clock, collector, logsetup
from chinwag.api.media import media_routes
from chinwag.api.render import dumps
from chinwag.api.routes import RouteIndex, routes_for
from chinwag.console.live import end_streams_on_exit
from chinwag.console.routes import console_mount
from chinwag.demo.routes import demo_routes
from chinwag.events import outbox
from chinwag.events.delivery import Deliverer
from chinwag.logs import RequestLog
from chinwag.model.errors import ApiError
from chinwag.realtime import aim, cds, registrations, writes  # noqa: F401  (routes register)
from chinwag.realtime.mcs import mcs_routes
from chinwag.realtime.presence import Presence
from chinwag.realtime.route import wsconnect
from chinwag.resources import REGISTRY, TABLES
from chinwag.runtime import Runtime
from chinwag.settings import Settings
from chinwag.store import sweeper
from chinwag.store.db import Database
from chinwag.store.errors import DatabaseError
from chinwag.store.sweeper import Sweeper
from chinwag.sync.live import Hub
from chinwag.sync.projection import project

log = logging.getLogger("chinwag")

HTTP_CODES = {404: 20404, 405: 20004}
HTTP_MESSAGES = {404: "The requested resource {path} was not found", 405: "Method not allowed"}


def error_response(error: ApiError) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="chinwag"'} if error.status == 401 else {}
    headers.update(error.headers)
    return Response(dumps(error.body()), error.status, headers, media_type="application/json")


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)  # noqa: S101  (registered for ApiError only)
    return error_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)  # noqa: S101
    code = HTTP_CODES.get(exc.status_code, exc.status_code * 100)
    message = HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    return error_response(ApiError(exc.status_code, code, message.format(path=request.url.path)))


async def on_client_gone(request: Request, exc: Exception) -> Response:
    """The client closed its connection before its body was all read: no one hears this
    answer, and nothing failed here (no traceback); the access log still shows the request."""
    return error_response(ApiError(400, 20001, "The request body ended early"))


async def on_database_error(request: Request, exc: Exception) -> Response:
    # `request` is a WebSocket for an error its handler did not catch: it has no method
    method = request.scope.get("method", "WebSocket")
    log.error("database error on %s %s: %s", method, request.url.path, exc)
    return error_response(ApiError(503, 20503, "Service unavailable: the database did not answer"))


async def on_crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(ApiError(500, 20500, "Internal server error"))


async def healthz(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        await runtime.db.ping()
    except (DatabaseError, OSError):
        return JSONResponse({"status": "unavailable"}, 503)
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    gauges: dict[str, float] = {}
    for name, (checked_out, size) in runtime.db.pool_stats().items():
        gauges[f"chinwag_db_pool_{name}_checked_out"] = float(checked_out)
        gauges[f"chinwag_db_pool_{name}_size"] = float(size)
    for name, count in runtime.db.commit_stats().items():
        gauges[f"chinwag_db_{name}_committed"] = float(count)
    try:
        async with runtime.db.read_aside() as conn:  # the backlog's size: off the loop
            waiting = await outbox.depth(conn, runtime.tables)
            sweeps = await sweeper.pending(conn, runtime.tables)
    except (DatabaseError, OSError):
        gauges["chinwag_database_up"] = 0.0
    else:
        gauges["chinwag_database_up"] = 1.0
        gauges["chinwag_outbox_depth"] = float(min(waiting, outbox.DEPTH_COUNTED))
        gauges["chinwag_outbox_depth_exceeded"] = float(waiting > outbox.DEPTH_COUNTED)
        gauges["chinwag_sweeps_pending"] = float(sweeps)
    body = runtime.metrics.render(gauges)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


CLOCK_WARN_AT = 1.0  # seconds apart: worth telling an operator (leases last tens of seconds)


class ClockWatch:
    """Keeps `clock` on the database's time (at start, then every `clock.CHECK_EVERY` seconds),
    and tells the operator when this machine's clock is off, once per change of a second."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.told: float | None = None  # the offset last logged

    async def measure(self) -> None:
        """A database that does not answer keeps the last offset (requests say so themselves)."""
        try:
            offset = await self.db.measure_clock()
        except (DatabaseError, OSError) as exc:
            log.warning("could not read the database's clock: %s", exc)
            return
        if abs(offset) < CLOCK_WARN_AT:
            return
        if self.told is None or abs(offset - self.told) >= CLOCK_WARN_AT:
            self.told = offset
            log.warning(
                "this machine's clock is %.1f s %s the database's: chinwag keeps the database's"
                " time",
                abs(offset),
                "behind" if offset > 0 else "ahead of",
            )

    async def run(self) -> None:
        while True:
            await asyncio.sleep(clock.CHECK_EVERY)
            await self.measure()


SETTINGS_VARIABLE = "CHINWAG_WORKER_SETTINGS"


def from_environment() -> Starlette:
    """The app of one of several worker processes: settings come from the parent's environment."""
    settings = Settings(**json.loads(os.environ[SETTINGS_VARIABLE]))
    logsetup.configure(settings.log_format)
    return build_app(settings)


def build_app(settings: Settings) -> Starlette:
    runtime = Runtime(
        settings,
        Database(
            settings.database,
            synchronous=settings.sqlite_synchronous,
            max_connections=settings.pg_connections,
        ),
        TABLES,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        clock_watch = ClockWatch(runtime.db)
        await clock_watch.measure()  # before any lease is taken or compared
        clock_task = asyncio.create_task(clock_watch.run(), name="chinwag-clock")
        runtime.deliverer = Deliverer(
            runtime.db,
            runtime.tables,
            timeout=settings.webhook_timeout,
            backoff_base=settings.webhook_backoff,
            metrics=runtime.metrics,
            log_format=settings.log_format,
        )
        runtime.deliverer.start()
        runtime.sweeper = Sweeper(runtime.db, runtime.tables)
        runtime.sweeper.start()
        hub.start()
        if settings.console:
            end_streams_on_exit()  # the console's live streams end at once on SIGTERM
        await presence.start()
        collector.settle()
        log.info("chinwag started")
        yield
        clock_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await clock_task
        await presence.stop()
        await hub.stop()
        await runtime.sweeper.stop()
        await runtime.deliverer.stop()
        await runtime.db.close()
        log.info("chinwag stopped cleanly")

    hub = Hub(runtime.db, runtime.tables)
    presence = Presence(runtime)  # SDK connections and their users' reachability
    runtime.observers.append(project)  # every change, from any front door, into Sync
    rest = [route for res in REGISTRY for route in routes_for(res)] + media_routes()
    routes: list[BaseRoute] = [
        RouteIndex(rest),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        WebSocketRoute("/v3/wsconnect", wsconnect),  # the client SDK (realtime/)
        *mcs_routes(),  # the client SDK's media uploads (realtime/mcs.py)
    ]
    if settings.console:
        routes.append(console_mount())  # the web console (console/), at /console
    if settings.demo:  # the token endpoint must not exist otherwise (demo/)
        routes += demo_routes()
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: on_api_error,
            ClientDisconnect: on_client_gone,
            HTTPException: on_http_error,
            DatabaseError: on_database_error,
            Exception: on_crash,
        },
    )
    app.state.runtime = runtime
    app.state.hub = hub
    app.state.presence = presence
    app.add_middleware(RequestLog, metrics=runtime.metrics)
    return app
