"""`create_app(settings, pm)`: the FastAPI app = kernel routes + plugin routes + the WS gateway."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pluggy
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi_offline import FastAPIOffline
from starlette.routing import Route, WebSocketRoute

from myspinbot import __version__
from myspinbot.api.auth_routes import build_auth_router, build_login_router
from myspinbot.api.batch_routes import build_batch_router
from myspinbot.api.batches import BatchService
from myspinbot.api.deps import current_principal
from myspinbot.api.errors import install_error_handlers
from myspinbot.api.gateway import EventGateway
from myspinbot.api.job_routes import build_job_router, build_submit_router
from myspinbot.api.queue_feed import QueueFeed
from myspinbot.api.queue_routes import build_queue_router
from myspinbot.api.queue_service import QueueService
from myspinbot.api.resubmission import Resubmitter
from myspinbot.api.revocations import RevocationWatcher
from myspinbot.api.security import install_security
from myspinbot.api.submission import Submitter
from myspinbot.api.system_routes import catalog_router, health_router
from myspinbot.api.telemetry_relay import TelemetryRelay
from myspinbot.api.telemetry_routes import telemetry_router
from myspinbot.api.user_routes import build_user_router
from myspinbot.api.ws_routes import ws_router
from myspinbot.core.kernel import Kernel
from myspinbot.core.plugins import PluginError, call_each, call_lifecycle_hook
from myspinbot.core.settings import Settings
from myspinbot.worker.broker_queues import BrokerQueues
from myspinbot.worker.maintenance import Maintenance
from myspinbot.worker.wire import JobPublisher

log = logging.getLogger(__name__)

DESCRIPTION = """Queue LoRA-training and video-generation jobs and watch them run live.

Every error answers `{"error": {"status", "code", "message", "details"}}`. Live events are on
the WebSocket `/ws` (see docs/api.md). Whenever auth is on, `/api/*` (but `POST /api/auth/login`)
and `/ws` need `Authorization: Bearer <API key>`; a member sees and acts on its own jobs only
(another's job is a 404), a viewer reads every job, an admin does everything.
"""


def settle_garbage_collector() -> None:
    """Freeze what start-up allocated and collect less often: under submit load full collections
    of ~100k objects stopped the event loop 50–190 ms every few seconds (docs/performance.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def create_app(settings: Settings, pm: pluggy.PluginManager | None = None, *, kernel: Kernel | None = None) -> FastAPI:
    """Build the API. Fails with PluginError when plugins clash on a route."""
    kernel = kernel or Kernel(settings, pm)
    publisher = JobPublisher(settings)
    broker = BrokerQueues(publisher)
    kernel.broker = broker
    gateway = EventGateway(kernel.store, settings.ws_outbox_size, kernel.live_stats)
    relay = TelemetryRelay(kernel.store.telemetry, gateway, kernel.live_stats, jobs=kernel.store)
    maintenance = Maintenance(kernel, publisher, settings.maintenance_seconds)
    queues = QueueService(kernel, broker)
    queue_feed = QueueFeed(queues, gateway)
    revocations = RevocationWatcher(kernel, gateway)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        await relay.start()
        await maintenance.start()
        await queue_feed.start()
        await revocations.start()
        await call_lifecycle_hook(kernel.pm, "startup", kernel=kernel)
        settle_garbage_collector()
        try:
            yield
        finally:
            await call_lifecycle_hook(kernel.pm, "shutdown", kernel=kernel)
            await queue_feed.stop()
            await revocations.stop()
            await maintenance.stop()
            await relay.stop()
            await gateway.stop()
            app.state.submitter.publisher.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(kernel.store.close(), timeout=2.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(kernel.close_identity(), timeout=2.0)

    # FastAPIOffline serves /docs with the Swagger UI files of its own wheel: FastAPI's default page
    # loads them from a CDN and stays blank on a machine without internet. No /redoc: ReDoc's page
    # still loads its logo from Redocly's CDN (tests/ui/test_offline.py counts such requests).
    app = FastAPIOffline(
        title="MySpinBot API", version=__version__, description=DESCRIPTION, lifespan=lifespan, redoc_url=None
    )
    app.state.kernel = kernel
    app.state.gateway = gateway
    app.state.telemetry_relay = relay
    app.state.submitter = Submitter(kernel, publisher)
    app.state.maintenance = maintenance
    app.state.queues = queues
    app.state.resubmitter = Resubmitter(app.state.submitter)
    app.state.batches = BatchService(app.state.submitter)
    install_error_handlers(app)
    install_security(app, settings)

    # Every route under /api/ authenticates its caller (the login route checks a password instead;
    # the submit routes, tried first as the busiest, call the same check in their first line).
    protected = [Depends(current_principal)]
    kernel_routers = [
        (build_submit_router(kernel), None),
        (health_router, None),
        (build_login_router(), None),
        (catalog_router, protected),
        (build_job_router(), protected),
        (telemetry_router, protected),
        (build_queue_router(), protected),
        (build_batch_router(), protected),
        (build_auth_router(), protected),
        (build_user_router(), protected),
        (ws_router, None),
    ]
    owners = {key: "kernel" for key in route_keys(app)}
    for router, dependencies in kernel_routers:
        app.include_router(router, dependencies=dependencies)
        owners.update({key: "kernel" for key in route_keys(router)})
    add_plugin_routes(app, kernel, protected, owners)
    kernel.pm.hook.instrument_app(app=app, kernel=kernel)
    document_body_errors(app)
    return app


def document_body_errors(app: FastAPI) -> None:
    """Every operation that reads a request body may answer 400 for one that does not parse: say so
    in the OpenAPI document, so the schema and the behaviour agree (schemathesis checks it)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            body_error = {
                "description": "Malformed request body",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
            }
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        operation.setdefault("responses", {}).setdefault("400", body_error)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def route_keys(router: APIRouter | FastAPI) -> dict[tuple[str, str], str]:
    """(method, path) of every route declared directly on a router or app, mapped to its name."""
    keys: dict[tuple[str, str], str] = {}
    for route in router.routes:
        if isinstance(route, APIWebSocketRoute | WebSocketRoute):
            keys[("WS", route.path)] = route.name
        elif isinstance(route, APIRoute | Route):
            for method in route.methods or ():
                keys[(method, route.path)] = route.name
    return keys


def add_plugin_routes(app: FastAPI, kernel: Kernel, protected: list[Any], owners: dict[tuple[str, str], str]) -> None:
    """Mount each plugin's routers, refusing a route that another owner already has."""
    for plugin, routers in call_each(kernel.pm, "register_routes", settings=kernel.settings, kernel=kernel):
        for router in routers or []:
            if not isinstance(router, APIRouter):
                raise PluginError(f"plugin {plugin!r} returned {router!r} from register_routes, not an APIRouter")
            for key in route_keys(router):
                if key in owners:
                    raise PluginError(f"route {key[0]} {key[1]} is claimed by {owners[key]!r} and plugin {plugin!r}")
                owners[key] = plugin
            needs_token = any(path.startswith("/api/") for _, path in route_keys(router))
            app.include_router(router, dependencies=protected if needs_token else None)
