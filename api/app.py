"""The FastAPI app: thin. Routes parse, authorise and call the service layer (`api/service/`),
which talks to Temporal and the record store."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib.metadata import version

import httpx
import structlog
from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import Counter, Histogram

import console.app as console
from api import errors, permissions
from api.auth import TokenBook
from api.idempotency import IdempotencyKeys
from api.intake import RequestIntake
from api.oidc import OidcVerifier
from api.query_params import reject_unknown_query_params
from api.routes import (
    alerts,
    attachments,
    cis,
    health,
    incidents,
    known_errors,
    problems,
    queues,
    replies,
    reports,
    vendors,
)
from api.routes import integrations as monitoring_integrations
from api.service.context import Services
from core.logconfig import configure_logging
from core.settings import (
    Settings,
    get_settings,
    load_cis,
    load_directory,
    load_models,
    load_policy,
    load_reply_templates,
)
from core.temporal_client import connect
from recordstore import RecordStore

log = structlog.get_logger()
REQUESTS = Counter("incidentflow_api_requests_total", "API requests", ["method", "route", "status"])
LATENCY = Histogram("incidentflow_api_request_seconds", "API request latency", ["method", "route"])
UNHANDLED = Counter(
    "incidentflow_api_unhandled_errors_total", "requests that failed with a 500", ["route"]
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Fail at start-up, with a message naming the file, rather than on the first request.
        policy = load_policy(settings)
        directory = load_directory(settings, policy)
        catalogue = load_cis(settings, directory)
        reply_templates = load_reply_templates(settings)
        models = load_models(settings, policy)
        tokens = TokenBook.load(settings.resolved_tokens_file)
        store = RecordStore(settings.resolved_database_url)
        await store.database.migrate(auto=settings.db_auto_migrate)
        # Lazy: the API starts, and answers 503, while Temporal is still coming up or down.
        client = await connect(settings, lazy=True)
        http = httpx.AsyncClient()
        oidc = OidcVerifier(settings, http, directory) if settings.oidc_enabled else None
        app.state.services = Services(
            settings,
            policy,
            client,
            store,
            tokens,
            directory,
            oidc,
            cis=catalogue,
            replies=reply_templates,
            models=models,
        )
        log.info(
            "api started", temporal=settings.temporal_address, policy=str(settings.policy_file)
        )
        yield
        await http.aclose()
        await store.dispose()

    app = FastAPI(
        title="incidentflow",
        version=version("incidentflow"),
        description="ITIL incident management: each incident is a durable Temporal workflow.",
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_params)],  # a 422 naming them (contract 6)
    )
    errors.install(app)
    app.include_router(incidents.router)
    app.include_router(attachments.router)
    app.include_router(alerts.router)
    app.include_router(monitoring_integrations.router)
    app.include_router(health.router)
    app.include_router(known_errors.router)
    app.include_router(problems.router)
    app.include_router(cis.router)
    app.include_router(vendors.router)
    app.include_router(reports.router)
    app.include_router(queues.router)
    app.include_router(replies.router)
    console.install(app, settings)  # the web console: pages on the same service layer
    app.add_middleware(IdempotencyKeys)  # inside _observe: replays are counted too
    app.middleware("http")(_observe)
    app.add_middleware(RequestIntake, max_bytes=settings.max_body_bytes)  # outermost
    _check_permissions(app)
    return app


_permissions_checked = False


def _check_permissions(app: FastAPI) -> None:
    """Every operation has its row in the permissions table, and every row its operation.
    Once a process: every app has the same routes, and the OpenAPI document this reads takes
    a quarter of a second to build (the tests build an app per test)."""
    global _permissions_checked
    if _permissions_checked:
        return
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    if unmatched := served ^ set(permissions.TABLE):
        raise RuntimeError(f"api/permissions.py TABLE and the routes differ: {sorted(unmatched)}")
    _permissions_checked = True


async def _observe(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(method=request.method, path=request.url.path):
        try:
            response = await call_next(request)
        except Exception:
            # Never expected (every known failure has its handler in api/errors.py); when it
            # happens it is logged with its traceback, counted, and answered in the one shape.
            template = getattr(request.scope.get("route"), "path", "unmatched")
            log.exception("unhandled error")
            UNHANDLED.labels(template).inc()
            response = errors.internal_error_response()
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        REQUESTS.labels(request.method, template, str(response.status_code)).inc()
        LATENCY.labels(request.method, template).observe(elapsed)
        log.info("request", status=int(response.status_code), ms=round(elapsed * 1000, 1))
    return response


def main() -> None:
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_config=None
    )


app = create_app()
